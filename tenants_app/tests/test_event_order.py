"""The feed's cursor never skips an event (docs/events.md, "Order"): events become visible in id order,
whatever the order in which concurrent transactions took their ids and committed."""

from __future__ import annotations

import threading
import time
from typing import Any

from django.db import connections

from tenants_app import tenancy
from tenants_app.events import readable_events, record_event
from tenants_app.models import Event
from tenants_app.transactions import tenant_atomic
from testing.helpers import run_together
from testing.postgres import only_on_postgres

WRITERS = 4
CHANGES_EACH = 10
DEADLINE = 30.0  # seconds: how long a test waits for what must happen before calling it a failure


def note(handle: Any, text: str) -> None:
    """One event, as a change would record it, in its own transaction."""
    record_event("item.updated", actor="test", resource="models", target=text, document={}, audience=None)


def ids_after(handle: Any, cursor: int) -> list[int]:
    with tenancy.using_tenant(handle.tenant):
        return list(Event.objects.filter(id__gt=cursor).order_by("id").values_list("id", flat=True))


def a_writer_waits_for_the_event_lock(handle: Any) -> bool:
    with tenancy.using_tenant(handle.tenant) as active, connections[active.alias].cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted")
        return bool(cursor.fetchone()[0])


@only_on_postgres
def test_a_later_writer_takes_its_id_only_after_the_earlier_one_commits(acme):
    """Transaction A inserts its event and stays open; B's event insert waits for A's commit, so a consumer
    never sees B's id while A's smaller one is still to come."""
    start = ids_after(acme, 0)[-1]
    a_inserted, release_a = threading.Event(), threading.Event()

    def a() -> None:
        with tenancy.using_tenant(acme.tenant), tenant_atomic():
            note(acme, "a")
            a_inserted.set()
            assert release_a.wait(DEADLINE)

    def b() -> None:
        assert a_inserted.wait(DEADLINE)
        with tenancy.using_tenant(acme.tenant):
            note(acme, "b")

    threads = [threading.Thread(target=run) for run in (a, b)]
    for thread in threads:
        thread.start()
    try:
        assert a_inserted.wait(DEADLINE)
        deadline = time.monotonic() + DEADLINE
        while not a_writer_waits_for_the_event_lock(acme):
            assert time.monotonic() < deadline, "B was not made to wait for A"
            time.sleep(0.01)
        assert ids_after(acme, start) == []  # neither is visible: A has not committed, B has no id yet
    finally:
        release_a.set()
        for thread in threads:
            thread.join()
        connections.close_all()
    with tenancy.using_tenant(acme.tenant):
        targets = list(Event.objects.filter(id__gt=start).order_by("id").values_list("target", flat=True))
    assert targets == ["a", "b"]


def test_a_consumer_polling_during_concurrent_writes_sees_every_event_once_in_order(acme, admin):
    """Writers commit events concurrently while a consumer walks the feed with its cursor, as a mirror would:
    it ends with every event, none skipped, none twice."""
    cursor = ids_after(acme, 0)[-1]
    seen: list[int] = []
    writing = threading.Event()
    writing.set()
    ada = acme.user("ada")
    failures: list[BaseException] = []

    def consume() -> None:
        nonlocal cursor
        try:
            with tenancy.using_tenant(acme.tenant):
                while True:
                    still_writing = writing.is_set()
                    page = list(readable_events(ada).filter(id__gt=cursor).order_by("id").values_list("id", flat=True))
                    seen.extend(page)
                    cursor = page[-1] if page else cursor
                    if not still_writing and not page:
                        return
        except BaseException as exc:
            failures.append(exc)
        finally:
            connections.close_all()

    def write(writer: int) -> Any:
        def run() -> None:
            with tenancy.using_tenant(acme.tenant):
                for change in range(CHANGES_EACH):
                    note(acme, f"{writer}-{change}")

        return run

    consumer = threading.Thread(target=consume)
    consumer.start()
    try:
        run_together(*(write(writer) for writer in range(WRITERS)))
    finally:
        writing.clear()
        consumer.join()
    assert not failures, failures
    assert len(seen) == WRITERS * CHANGES_EACH
    assert seen == sorted(set(seen))
