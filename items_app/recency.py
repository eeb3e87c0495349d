"""An item's creation time as the whole number of microseconds since 1970 (UTC): the copy its tag and metadata
rows order a list's page by (``models.reader_copies``, ``querysets.newest_of``).

A number rather than a second datetime column: SQLite keeps a datetime as 26 characters of text, and the copy
sits in 15 rows and 25 index entries per item. As text it cost creates 12-14 % on SQLite at 100,000 items
(one per request and batches, alternating runs; bench/README.md); as a number 8 bytes, as PostgreSQL keeps
either. The number orders exactly as the time does (one microsecond apart stays one apart), so a page read
from the rows is the page read from the items.

The migration that fills the copy for existing rows computes it in SQL, the one place per engine: SQLite
keeps ``YYYY-MM-DD HH:MM:SS[.ffffff]`` in UTC (Django's text form, without the fraction when it is zero),
PostgreSQL a ``timestamptz`` whose epoch it extracts exactly (``numeric``).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
MICROSECOND = timedelta(microseconds=1)


def created_number(timestamp: datetime) -> int:
    """``timestamp`` (aware) as whole microseconds since 1970 UTC, in integer arithmetic (no float rounding)."""
    return (timestamp - EPOCH) // MICROSECOND


def newest_key(match: tuple[str, int]) -> tuple[int, str]:
    """Sort key of an ``(id, created_number)`` pair in the lists' default order: newest first, then by id."""
    return -match[1], match[0]


def newest_first(found: list[tuple[str, int]], offset: int, end: int) -> list[str]:
    """Ids ``offset:end`` of ``(id, created_number)`` pairs in the lists' default order."""
    return [item for item, _created in sorted(found, key=newest_key)[offset:end]]


class RecencySql(Protocol):
    def of(self, column: str) -> str:
        """SQL for ``created_number`` of the datetime column ``column``."""


class SqliteRecency:
    def of(self, column: str) -> str:
        # The seconds of the text without its fraction: strftime rounds .999999 up to the next second.
        whole_seconds = f"CAST(strftime('%s', substr({column}, 1, 19)) AS INTEGER)"
        fraction = f"CAST(substr({column} || '.000000', 21, 6) AS INTEGER)"  # '' fraction when it is zero
        return f"({whole_seconds} * 1000000 + {fraction})"


class PostgresRecency:
    def of(self, column: str) -> str:
        return f"(extract(epoch FROM {column}) * 1000000)::bigint"


ENGINES: dict[str, RecencySql] = {"sqlite": SqliteRecency(), "postgresql": PostgresRecency()}


def copy_to_rows(schema_editor: Any, tables: list[str]) -> None:
    """Fill the ``item_created`` copy of every row of ``tables`` from its item (a migration's step)."""
    number = ENGINES[schema_editor.connection.vendor].of("items_item.timestamp")
    for table in tables:  # table names from the migration, never from input
        of_item = f"SELECT {number} FROM items_item WHERE items_item.id = {table}.item_id"
        # No parameters (None, not an empty tuple): the SQL's own % stays as written on SQLite.
        schema_editor.execute(f"UPDATE {table} SET item_created = ({of_item})", None)
