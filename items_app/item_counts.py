"""Maintained counts of items per kind and visibility, kept by triggers on the items table.

An unfiltered list's total is the public items of its kind, plus the viewer's own hidden ones, plus the
hidden ones shared with them (``querysets.count_readable``). The first part is every public item: counting
it reads one index entry per item, which grows with the catalogue (PostgreSQL: ~16 ms at 100,000 public
items). The ``ItemCount`` table keeps that number instead: one row per (kind, visibility), changed in the
transaction of every write to the items table (services, batch creates, imports, restores, the admin, bulk
seeding alike), by triggers, so it is as exact, at every snapshot, as the count it replaces.

The engine specifics live here and only here, behind ``CountTriggers``:

- SQLite: row triggers update the counts (one writer at a time: an upsert per inserted, deleted or
  re-classified item).
- PostgreSQL: statement triggers with transition tables append the statement's changes to
  ``ItemCountChange`` (inserts only: concurrent writers never wait for each other there), and ``fold``, the
  last statement of every item write (``generation.changing``, after the Generation row, whose lock already
  queues writers at their end), moves them into the counts in one grouped upsert, in a fixed order. Updating
  the counts from the triggers themselves held a counter's lock from a create's first statement to its
  commit: creates queued on it (175 → 126 items/s with 4 clients) and batches of mixed visibility deadlocked.
  Readers add any changes not folded yet (a write outside ``changing``), which are normally none.
"""

from __future__ import annotations

from typing import Any, Protocol

from django.db import connections

TABLE = "items_itemcount"
CHANGES = "items_itemcountchange"
ITEMS = "items_item"


class CountTriggers(Protocol):
    """One engine's triggers that keep ``ItemCount`` in step with the items table."""

    def create(self, schema_editor: Any) -> None: ...

    def drop(self, schema_editor: Any) -> None: ...

    def fold(self, connection: Any) -> None: ...


# Rows inserted into the counts add to a counter that exists.
ADD_TO_COUNTER = f"ON CONFLICT (kind, visibility) DO UPDATE SET items = {TABLE}.items + excluded.items"


def _add(kind: str, visibility: str, amount: str) -> str:
    """An upsert adding ``amount`` to one counter (SQL expressions of the trigger's rows)."""
    return f"INSERT INTO {TABLE} (kind, visibility, items) VALUES ({kind}, {visibility}, {amount}) {ADD_TO_COUNTER};"


class SqliteCountTriggers:
    def create(self, schema_editor: Any) -> None:
        added = _add("new.kind", "new.visibility", "1")
        removed = f"UPDATE {TABLE} SET items = items - 1 WHERE kind = old.kind AND visibility = old.visibility;"
        changed = "old.kind IS NOT new.kind OR old.visibility IS NOT new.visibility"
        for statement in (
            f"CREATE TRIGGER {TABLE}_insert AFTER INSERT ON {ITEMS} BEGIN {added} END",
            f"CREATE TRIGGER {TABLE}_delete AFTER DELETE ON {ITEMS} BEGIN {removed} END",
            f"CREATE TRIGGER {TABLE}_update AFTER UPDATE OF kind, visibility ON {ITEMS} WHEN {changed} "
            f"BEGIN {removed} {added} END",
        ):
            schema_editor.execute(statement)

    def drop(self, schema_editor: Any) -> None:
        for name in ("insert", "delete", "update"):
            schema_editor.execute(f"DROP TRIGGER IF EXISTS {TABLE}_{name}")

    def fold(self, connection: Any) -> None:
        """Nothing to fold: the triggers update the counts."""


class PostgresCountTriggers:
    # The rows a statement added count +1, those it removed -1; an update's pairs cancel out unless it
    # changed the kind or the visibility (a transition table cannot go with ``UPDATE OF column``).
    FUNCTION = f"""
        CREATE FUNCTION {TABLE}_changed() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            IF TG_OP = 'INSERT' THEN
                INSERT INTO {CHANGES} (kind, visibility, change)
                    SELECT kind, visibility, count(*) FROM new_rows GROUP BY kind, visibility;
            ELSIF TG_OP = 'DELETE' THEN
                INSERT INTO {CHANGES} (kind, visibility, change)
                    SELECT kind, visibility, -count(*) FROM old_rows GROUP BY kind, visibility;
            ELSE
                INSERT INTO {CHANGES} (kind, visibility, change)
                    SELECT kind, visibility, sum(change) FROM (
                        SELECT kind, visibility, 1 AS change FROM new_rows
                        UNION ALL SELECT kind, visibility, -1 FROM old_rows
                    ) AS changes GROUP BY kind, visibility HAVING sum(change) <> 0;
            END IF;
            RETURN NULL;
        END $$
    """
    # The changes this transaction sees (its own; other writers fold theirs before they commit), moved into
    # the counts; ``ORDER BY``: every writer locks the counters in one order.
    FOLD = f"""
        WITH folded AS (DELETE FROM {CHANGES} RETURNING kind, visibility, change)
        INSERT INTO {TABLE} (kind, visibility, items)
            SELECT kind, visibility, sum(change) FROM folded GROUP BY kind, visibility ORDER BY kind, visibility
        {ADD_TO_COUNTER}
    """

    def create(self, schema_editor: Any) -> None:
        schema_editor.execute(self.FUNCTION)
        for operation, tables in (
            ("INSERT", "NEW TABLE AS new_rows"),
            ("DELETE", "OLD TABLE AS old_rows"),
            ("UPDATE", "OLD TABLE AS old_rows NEW TABLE AS new_rows"),
        ):
            schema_editor.execute(
                f"CREATE TRIGGER {TABLE}_{operation.lower()} AFTER {operation} ON {ITEMS} "
                f"REFERENCING {tables} FOR EACH STATEMENT EXECUTE FUNCTION {TABLE}_changed()"
            )

    def drop(self, schema_editor: Any) -> None:
        for operation in ("insert", "delete", "update"):
            schema_editor.execute(f"DROP TRIGGER IF EXISTS {TABLE}_{operation} ON {ITEMS}")
        schema_editor.execute(f"DROP FUNCTION IF EXISTS {TABLE}_changed()")

    def fold(self, connection: Any) -> None:
        with connection.cursor() as cursor:
            cursor.execute(self.FOLD)


ENGINES: dict[str, CountTriggers] = {"sqlite": SqliteCountTriggers(), "postgresql": PostgresCountTriggers()}


def create_triggers(apps: Any, schema_editor: Any) -> None:
    """Migration step: count the items there are, then keep counting them with this engine's triggers."""
    schema_editor.execute(
        f"INSERT INTO {TABLE} (kind, visibility, items) "
        f"SELECT kind, visibility, count(*) FROM {ITEMS} GROUP BY kind, visibility"
    )
    ENGINES[schema_editor.connection.vendor].create(schema_editor)


def drop_triggers(apps: Any, schema_editor: Any) -> None:
    ENGINES[schema_editor.connection.vendor].drop(schema_editor)
    schema_editor.execute(f"DELETE FROM {TABLE}")
    schema_editor.execute(f"DELETE FROM {CHANGES}")


def fold(alias: str) -> None:
    """Move the changes the triggers recorded into the counts (PostgreSQL; nothing to do on SQLite): the last
    statement of every item write, inside its transaction."""
    connection = connections[alias]
    ENGINES[connection.vendor].fold(connection)
