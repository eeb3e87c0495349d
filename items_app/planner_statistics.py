"""Statistics the query planner needs beyond single columns': the engine specifics of the lists' estimates.

A metadata condition is three equalities on columns that depend on one another: ``name = 'quantized' AND
value_type = 'boolean' AND text = 'true'``. PostgreSQL multiplies the three columns' frequencies (3 %, 16 %
and 8 % of 10,000,000 rows: 3,725) where the name decides the type and half the values (155,327 rows): 42
times too few. A plan built on that hashes 2,000 walked items against what it takes for a small set and
reads all 155,327 rows (issue 18, 1,000,000 items: a first page of a tag AND ``quantized = true``, 56 ms;
9 ms with the estimate right). An extended statistics object of the most common combinations of the three
columns corrects it (``mcv``); ANALYZE, autovacuum's included, keeps it current.

SQLite plans from ``sqlite_stat1``, the rows per prefix of each index (``tenants_app.databases.analyze``),
which already counts the columns of each ``metadata_readers_<type>`` together: it needs nothing more.
"""

from __future__ import annotations

from typing import Any, Protocol

METADATA = "items_metadataentry"
NAME_VALUE = "metadata_name_value"  # the statistics object of (name, value_type, text)


class PlannerStatistics(Protocol):
    def create(self, schema_editor: Any) -> None: ...

    def drop(self, schema_editor: Any) -> None: ...


class SqliteStatistics:
    """Nothing to create: the index statistics count the columns together."""

    def create(self, schema_editor: Any) -> None:
        pass

    def drop(self, schema_editor: Any) -> None:
        pass


class PostgresStatistics:
    def create(self, schema_editor: Any) -> None:
        schema_editor.execute(f"CREATE STATISTICS {NAME_VALUE} (mcv) ON name_id, value_type, text FROM {METADATA}")
        schema_editor.execute(f"ANALYZE {METADATA}")

    def drop(self, schema_editor: Any) -> None:
        schema_editor.execute(f"DROP STATISTICS IF EXISTS {NAME_VALUE}")


ENGINES: dict[str, PlannerStatistics] = {"sqlite": SqliteStatistics(), "postgresql": PostgresStatistics()}


def create(apps: Any, schema_editor: Any) -> None:
    """Migration step: this engine's statistics objects."""
    ENGINES[schema_editor.connection.vendor].create(schema_editor)


def drop(apps: Any, schema_editor: Any) -> None:
    ENGINES[schema_editor.connection.vendor].drop(schema_editor)
