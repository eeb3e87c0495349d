"""SQLite's writers are served in the order they came, and a wait past DATABASE_LOCK_TIMEOUT is a 503.

Issue 17: 4 clients POSTing batches of 1,000 items got "database is locked" (a 500 then, a 503 since),
because SQLite's busy handler is no queue: a writer that has waited long looks for the lock least often
(every 100 ms), and writers that came after it take the lock first. ``framework.db.write_queue`` queues them.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator

import pytest
from django.db import connections

from framework.db import write_queue
from items_app.models import Item
from tenants_app.context import require_tenant
from tenants_app.tenancy import using_tenant
from tenants_app.transactions import tenant_atomic
from testing.helpers import error_of

pytestmark = pytest.mark.skipif(
    os.environ.get("DATABASE", "sqlite:").startswith("postgres"), reason="SQLite's one write lock"
)


def tenant_database(acme) -> str:
    with using_tenant(acme.tenant) as active:
        return str(connections[active.alias].settings_dict["NAME"])


def in_thread(acme, work: Callable[[], None]) -> threading.Thread:
    """``work`` on a thread of its own, inside acme's database (its own connection, closed afterwards)."""

    def run() -> None:
        try:
            with using_tenant(acme.tenant):
                work()
        finally:
            connections.close_all()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


@pytest.fixture
def held_lock(acme) -> Iterator[threading.Event]:
    """A writer inside acme's database holds the write lock until the returned event is set."""
    holding, release = threading.Event(), threading.Event()

    def hold() -> None:
        with tenant_atomic():
            holding.set()
            release.wait(30)

    holder = in_thread(acme, hold)
    assert holding.wait(10)
    yield release
    release.set()
    holder.join(30)


@pytest.fixture
def served_table(acme) -> str:
    """A scratch table of acme's database whose rows say in which order writers got the lock (rowid order)."""
    with using_tenant(acme.tenant) as active, connections[active.alias].cursor() as cursor:
        cursor.execute("CREATE TABLE served_order (name TEXT NOT NULL)")
    return "served_order"


def record(name: str) -> None:
    """Write ``name`` as the next row of ``served_order``: the order of the rows is the order of the writes."""
    with connections[require_tenant().alias].cursor() as cursor:
        cursor.execute("INSERT INTO served_order (name) VALUES (%s)", [name])


def served_names(acme) -> list[str]:
    with using_tenant(acme.tenant) as active, connections[active.alias].cursor() as cursor:
        cursor.execute("SELECT name FROM served_order ORDER BY rowid")
        return [row[0] for row in cursor.fetchall()]


@pytest.mark.parametrize("early_write", ["transaction", "statement"])
def test_a_writer_that_waits_is_served_before_writers_that_came_after_it(acme, served_table, held_lock, early_write):
    def write(name: str) -> Callable[[], None]:
        def work() -> None:
            if name == "early" and early_write == "statement":
                record(name)  # one INSERT outside any transaction
                return
            with tenant_atomic():
                record(name)

        return work

    threads = [in_thread(acme, write("early"))]
    time.sleep(1.0)  # the early writer waits: SQLite's busy handler now looks every 100 ms
    threads += [in_thread(acme, write(f"late {n}")) for n in range(6)]
    time.sleep(0.05)  # the late writers wait too; SQLite's busy handler has them look every few ms
    held_lock.set()
    for thread in threads:
        thread.join(30)

    served = served_names(acme)
    assert served[0] == "early", served
    assert sorted(served[1:]) == [f"late {n}" for n in range(6)]


def test_a_write_that_waits_longer_than_the_bound_answers_503_with_retry_after(acme, owner, held_lock, monkeypatch):
    with using_tenant(acme.tenant) as active:
        options = connections[active.alias].settings_dict["OPTIONS"]
    monkeypatch.setitem(options, "timeout", 0.5)  # DATABASE_LOCK_TIMEOUT

    response = owner.post("/v1/models", {"name": "waited too long"}, format="json")

    assert error_of(response) == (503, "service_unavailable")
    assert response["Retry-After"] == "5"
    assert acme.count(Item, name="waited too long") == 0


def test_a_writer_that_gave_up_lets_the_writers_behind_it_in(acme, held_lock):
    database = tenant_database(acme)
    first_turn: list[write_queue.Turn] = []
    with pytest.raises(write_queue.QueueTimeout):
        write_queue.wait_for_turn(database, timeout=0.2)

    behind = threading.Thread(target=lambda: first_turn.append(write_queue.wait_for_turn(database, timeout=30)))
    behind.start()
    held_lock.set()
    behind.join(30)

    assert first_turn, "the writer behind the one that gave up never got its turn"
    first_turn[0].release()


def test_a_writer_killed_in_its_turn_lets_the_next_one_in(acme):
    database = tenant_database(acme)
    holder = subprocess.Popen(  # noqa: S603 - this interpreter, a fixed program
        [
            sys.executable,
            "-c",
            "import sys, time; from framework.db import write_queue; "
            "write_queue.wait_for_turn(sys.argv[1], 10); print('holding', flush=True); time.sleep(60)",
            database,
        ],
        stdout=subprocess.PIPE,
    )
    try:
        assert holder.stdout is not None
        assert holder.stdout.readline() == b"holding\n"
        holder.send_signal(signal.SIGKILL)
        holder.wait(10)

        turn = write_queue.wait_for_turn(database, timeout=10)
    finally:
        holder.kill()
        holder.wait()

    turn.release()
