"""A worker class for ``registry_project/tests/test_workers.py`` only.

The suite runs on SQLite and on PostgreSQL side by side on two cores, so a worker can be starved of CPU for
longer than the 50 ms a busy worker defers a new connection; the busy one then takes it itself, as designed
(a stuck worker must not hold connections back), and the spread the test checks becomes a matter of luck.
The test checks the spreading, not the scheduler: this worker defers for up to 2 s instead.
"""

from __future__ import annotations

from registry_project.server.workers import BalancedThreadWorker


class PatientBalancedThreadWorker(BalancedThreadWorker):
    max_defer = 2.0
