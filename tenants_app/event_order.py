"""Events inserted in commit order: the one engine-specific piece of the event feed.

The feed's cursor is the event id (``GET /v1/events?after=<id>``). Ids come from an autoincrement, handed out
when a row is inserted, not when its transaction commits: on PostgreSQL, transaction A may take id 7, B id 8,
and B commit first; a consumer that reads 8 then asks for ``after=8`` never sees 7. ``in_commit_order``
closes that gap, behind one interface for both engines:

- PostgreSQL: a transaction-scoped advisory lock (``pg_advisory_xact_lock``) taken right before the event's
  insert and held until the transaction ends. A second writer's event insert waits until the first has
  committed or rolled back, so ids become visible in increasing order. Only the tail of writing
  transactions is serialised: services write their events as the last statement of their transaction. The
  lock is per database (advisory locks are), that is per tenant.
- SQLite: nothing to do. Every write transaction already holds the database's write lock from its first
  statement (``BEGIN IMMEDIATE``) to its commit, so no two of them interleave.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from django.db import connections

from tenants_app.models import Event

# The advisory lock's key: any constant bigint the registry uses for nothing else (b"events" as a number).
EVENT_LOCK_KEY = int.from_bytes(b"events", "big")
_COLUMNS = ("type", "timestamp", "actor", "resource", "target", "document", "audience")
_ROW = "(%s, %s::timestamptz, %s, %s, %s, %s::jsonb, %s::jsonb)"


def insert_in_commit_order(using: str, events: Sequence[Event]) -> None:
    """Insert ``events`` inside the current transaction of database ``using``, their ids after those of every
    transaction that inserted events before and has not ended yet.

    On PostgreSQL, one statement both takes the lock and inserts: a materialised CTE takes it before any row
    (and so any id) leaves the ``SELECT``, which saves a round trip on every change.
    """
    connection = connections[using]
    if connection.vendor != "postgresql" or not events:
        Event.objects.using(using).bulk_create(events)
        return
    columns = ", ".join(connection.ops.quote_name(name) for name in _COLUMNS)
    sql = (
        f"WITH ordered AS MATERIALIZED (SELECT pg_advisory_xact_lock(%s)) "
        f"INSERT INTO {connection.ops.quote_name(Event._meta.db_table)} ({columns}) "
        f"SELECT rows.* FROM ordered, (VALUES {', '.join([_ROW] * len(events))}) AS rows({columns})"
    )
    params: list[Any] = [EVENT_LOCK_KEY]
    for event in events:
        audience = None if event.audience is None else json.dumps(event.audience)
        params += [event.type, event.timestamp, event.actor, event.resource, event.target]
        params += [json.dumps(event.document), audience]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


def in_commit_order(using: str) -> None:
    """Take the lock ``insert_in_commit_order`` takes, without inserting: a writer with no event to write
    that must keep the order in which writers take their locks (``items_app.generation.changing``)."""
    connection = connections[using]
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [EVENT_LOCK_KEY])
