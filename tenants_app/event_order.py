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

from django.db import connections

# The advisory lock's key: any constant bigint the registry uses for nothing else (b"events" as a number).
EVENT_LOCK_KEY = int.from_bytes(b"events", "big")


def in_commit_order(using: str) -> None:
    """Called inside the transaction, right before inserting events on database ``using``: on return,
    every other transaction that inserted events before this one has ended."""
    connection = connections[using]
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [EVENT_LOCK_KEY])
