"""Small helpers for tests (fixtures live in the root ``conftest.py``)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from django.db import connections
from django.test.utils import CaptureQueriesContext

from framework.api.errors import CATALOGUE
from tenants_app.databases import alias_for

PASSWORD = "correct horse battery staple"  # noqa: S105 - the personas' test password
_NAMES = {kind.value: name for name, kind in CATALOGUE.items()}


def error_of(response: Any) -> tuple[int, str]:
    """(status, error name) of an error envelope, after checking the envelope's shape."""
    body = response.json()
    assert set(body) == {"status", "value", "message", "details"}, body
    assert body["status"] == response.status_code
    return response.status_code, _NAMES[body["value"]]


def run_together(*calls: Callable[[], Any]) -> list[Any]:
    """Run every call in its own thread, all released at the same moment; their results in order."""
    barrier = threading.Barrier(len(calls))
    results: list[Any] = [None] * len(calls)
    failures: list[BaseException] = []

    def run(index: int, call: Callable[[], Any]) -> None:
        try:
            barrier.wait()
            results[index] = call()
        except BaseException as exc:
            failures.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(index, call)) for index, call in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not failures, failures
    return results


def assert_logged_inside_its_transaction(tenant: Any, change: Callable[[], Any]) -> None:
    """Run ``change`` (one write through the API) and check that its audit entry is written inside the
    change's transaction, before it commits: the entry exists exactly when the change does. (Later clean-up,
    such as releasing a file nobody uses any more, may commit on its own.)"""
    with CaptureQueriesContext(connections[alias_for(tenant.database)]) as captured:
        change()
    sent = [query["sql"].upper() for query in captured.captured_queries]
    begin = next(index for index, sql in enumerate(sent) if sql.startswith("BEGIN"))
    commit = next(index for index, sql in enumerate(sent) if sql.startswith("COMMIT"))
    audit = [index for index, sql in enumerate(sent) if 'INTO "TENANTS_APP_AUDITENTRY"' in sql]
    assert len(audit) == 1, sent
    assert begin < audit[0] < commit, sent
