"""Statements allowed to run as long as they need: the one place that knows how, per engine.

Every PostgreSQL connection of the registry cancels a statement after ``DATABASE_STATEMENT_TIMEOUT`` (30 s,
settings.py), a backstop for a request that runs away. A migration is not a request: one that rewrites
every tag and metadata row of a large tenant (``items.0024`` at 1,000,000 items: 15 million rows) runs for
minutes, and was cancelled after 30 s (and rolled back: PostgreSQL migrations are transactional), so the
upgrade could not finish. SQLite has no statement timeout: nothing to do.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from django.db import connections


@contextmanager
def without_statement_timeout(alias: str) -> Iterator[None]:
    """Statements sent to ``alias`` inside run to the end (PostgreSQL: ``statement_timeout`` 0 for the session,
    back to the connection's own setting afterwards)."""
    connection = connections[alias]
    if connection.vendor != "postgresql":
        yield
        return
    with connection.cursor() as cursor:
        cursor.execute("SET statement_timeout = 0")
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute("RESET statement_timeout")  # the value the connection started with
