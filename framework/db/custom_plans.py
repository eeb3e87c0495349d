"""Statements planned for their values every time they run: the one place that knows how, per engine.

The registry prepares the statements it repeats on PostgreSQL (psycopg's ``prepare_threshold``, settings.py):
parsed once, and planned once PostgreSQL finds a generic plan (made without the values) no dearer than
the custom ones so far. That pays for creates, whose statements are the same whatever the values (about a
fifth of their speed: 220-225 against 180 items/s, bench/README.md). It does not pay for a list's count and
page: the values decide the plan (which index drives, whether a walk of the newest items or a hash of the
matches), and after a statement's tenth run on a connection PostgreSQL took a generic plan that scanned
(issue 18, 1,000,000 items, a tag AND a metadata value: 88 ms a request, then 720-860 ms from the eleventh
on). Inside ``planned_for_values`` statements are not prepared, so they are planned for their values at
every run. SQLite plans every statement as it comes: nothing to do.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from django.db import connections


@contextmanager
def planned_for_values(alias: str) -> Iterator[None]:
    """Statements sent to ``alias`` inside are planned for their values (PostgreSQL: not prepared)."""
    connection = connections[alias]
    if connection.vendor != "postgresql":
        yield
        return
    connection.ensure_connection()
    driver = connection.connection
    threshold = driver.prepare_threshold
    driver.prepare_threshold = None  # psycopg: never prepare
    try:
        yield
    finally:
        driver.prepare_threshold = threshold
