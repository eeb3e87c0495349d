"""Postings: for each tag, each short string or boolean metadata value and each bucket of numbers, the
items that carry it, as compressed bitmaps kept in the transaction of every write, so that a filter's total
is a bitmap operation instead of a count or a merge of rows that grows with the catalogue (issue 18).

At 1,000,000 items, a tag AND `quantized = true` intersects 25,900 and 155,000 rows: ~31 ms for SQLite to
merge them, ~65 ms for PostgreSQL to hash them; the same two postings (16 chunks each, 183 KB) are read and
intersected in ~0.2 ms. A numeric range is the union of the buckets wholly inside it (8 per power of two)
and its two edges, read from the metadata rows' index (``_edges``).

What is kept:

- ``ItemOrdinal``: a number per item (the bit that stands for it), given by a trigger on the items table
  when the item is inserted, dropped by another after it is deleted.
- ``Posting``: per kind, public flag and term (a tag; a metadata name and a string or boolean value of at
  most ``MAX_VALUE`` characters, or a number's bucket), a roaring bitmap of ordinals per 65,536 of them
  (``chunk``).
- ``PostingChange``: the terms' items added or removed, recorded by triggers on the tag and metadata rows
  (every writer alike: services, batch creates, imports, the admin, bulk seeding) and folded into the
  postings by the write that finds ``FOLD_AT`` of them waiting (``fold``, from ``generation.changing``,
  before the locks that queue writers at their end: one writer folds at a time, under the engine's fold
  lock, and the others do not wait for it). Readers add the changes waiting to the postings they read, in
  the same statement: one snapshot.

The engine specifics (the triggers, the fold lock, a number's bucket in SQL) live here and only here,
behind ``PostingEngine`` and ``ENGINE_BUCKETS``.
"""

from __future__ import annotations

import json
import math
import secrets
import threading
from collections import OrderedDict, defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar, cast

from django.conf import settings
from django.db import connections, models
from django.db.models.lookups import Exact, In
from django.db.models.sql.where import WhereNode
from pyroaring import AbstractBitMap, BitMap, FrozenBitMap

from framework.api.filtering import parts_of
from items_app import recency

CHUNK_BITS = 16  # 65,536 ordinals per posting row: a write rewrites at most 8 KB of a term
MAX_VALUE = 255  # longer string values have no posting (filters on them count from the rows)
POSTED_TYPES = ("string", "boolean")  # posted by their text; numbers by their bucket (``bucket_key``)
TAG = "tag"  # ``Posting.field`` of a tag; a metadata value's is its value type

POSTINGS = "items_posting"
CHANGES = "items_postingchange"
ORDINALS = "items_itemordinal"
ITEMS = "items_item"
TAGS = "items_itemtag"
METADATA = "items_metadataentry"
COLUMNS = "kind, public, field, name, value, ordinal, change"

NUMBER = "number"  # ``Posting.field`` of a number's bucket (``bucket_key``)

# A term: (field, name, value).
Term = tuple[str, str, str]
# A set of ordinals: a posting kept by the process is frozen (``KEPT``), one being built is not.
Bits = AbstractBitMap
# SQL of a number's bucket key (as text) from SQL of the number, per engine (``ENGINE_BUCKETS``).
Bucket = Callable[[str], str]


# --- the triggers, per engine ------------------------------------------------------------------------------


class PostingEngine(Protocol):
    """One engine's triggers that number the items and record the changes to their postings, and its lock
    that lets one writer at a time fold them."""

    def create(self, schema_editor: Any, copies_created: bool = True) -> None:
        """The triggers; ``copies_created``: the ordinals' with the items' creation times (since 0026)."""
        ...

    def drop(self, schema_editor: Any) -> None: ...

    def may_fold(self, cursor: Any) -> bool:
        """Whether this transaction may fold now: it holds the fold lock (to its end) or none is needed."""
        ...

    # The items at least as new as a creation time (first parameter) numbered below an ordinal (second), read
    # from the ordinals' recency index ``(created, ordinal)``: ``ordinal, item, created`` rows.
    newer_numbered_lower: str

    # A range's edge rows (``_edges``): the metadata rows as ``r`` with their items' ordinals, and the SQL of
    # a row's ordinal among them.
    edge_rows: str
    edge_ordinal: str

    def carry_ordinals(self, schema_editor: Any) -> None:
        """Have every metadata row carry its item's ordinal (``MetadataEntry.ordinal``), if this engine does."""
        ...

    def stop_carrying_ordinals(self, schema_editor: Any) -> None: ...

    def rows_of(self, rows: Sequence[tuple[Any, ...]], columns: dict[str, str]) -> tuple[str, list[Any]]:
        """A SELECT of ``rows`` (of ``columns``: name -> SQL type) sent as parameters, and the parameters."""
        ...


def _posted(row: str) -> str:
    """SQL: whether a metadata row (``new``, ``old``, or a transition table's alias) has a posting: a number
    (its bucket's), or a string or boolean of at most ``MAX_VALUE`` characters."""
    types = ", ".join(f"'{value_type}'" for value_type in POSTED_TYPES)
    short = f"{row}.value_type IN ({types}) AND length({row}.text) <= {MAX_VALUE}"
    return f"(({row}.value_type = '{NUMBER}' AND {row}.number IS NOT NULL) OR ({short}))"


def _every_row(row: str) -> str:
    """SQL: every tag row has a posting."""
    return "TRUE"


def _tag_columns(row: str, change: int, bucket: Bucket, ordinal: str) -> str:
    """SQL: a tag row's posting change (``COLUMNS``), its item's ordinal ``ordinal``."""
    return f"{row}.kind, {row}.public, '{TAG}', {row}.tag_id, '', {ordinal}, {change}"


def _metadata_columns(row: str, change: int, bucket: Bucket, ordinal: str) -> str:
    """SQL: a metadata row's posting change (``COLUMNS``): its text, or a number's bucket key; its item's
    ordinal ``ordinal``."""
    value = f"CASE WHEN {row}.value_type = '{NUMBER}' THEN {bucket(f'{row}.number')} ELSE {row}.text END"
    return f"{row}.kind, {row}.public, {row}.value_type, {row}.name_id, {value}, {ordinal}, {change}"


# Per table of rows: its posting change, and which of its rows have a posting.
SOURCES: dict[str, tuple[Callable[[str, int, Bucket, str], str], Callable[[str], str]]] = {
    TAGS: (_tag_columns, _every_row),
    METADATA: (_metadata_columns, _posted),
}


def _change_of(table: str, row: str, change: int, bucket: Bucket) -> str:
    """SQL selecting the posting change of a SQLite trigger's row ``row`` (``new``, ``old``) of ``table``, with
    its item's ordinal; nothing for a row without a posting."""
    columns, posted = SOURCES[table]
    return (
        f"SELECT {columns(row, change, bucket, 'o.ordinal')} FROM {ORDINALS} o "
        f"WHERE o.item = {row}.item_id AND {posted(row)}"
    )


def _changes_of(table: str, rows: str, change: int, bucket: Bucket, each: bool = False, carried: bool = False) -> str:
    """SQL selecting the posting changes of the rows ``rows`` of ``table`` (a transition table, or the table
    itself), each joined to its item's ordinal (``each``: looked up row by row), or with the ordinal the row
    carries (``carried``, ``MetadataEntry.ordinal``); rows without a posting left out."""
    columns, posted = SOURCES[table]
    source, ordinal = (f"{rows} r", "r.ordinal") if carried else (f"{rows} r {_ordinal_join('r', each)}", "o.ordinal")
    return f"SELECT {columns('r', change, bucket, ordinal)} FROM {source} WHERE {posted('r')}"


def _ordinal_join(row: str, each: bool) -> str:
    """SQL joining ``row`` to its item's ordinal as ``o``; ``each``: one index lookup per row (PostgreSQL's
    ``LATERAL``). PostgreSQL, not knowing how few rows a transition table holds, hashed all 1,000,000
    ordinals for every create (35 creates/s)."""
    if each:
        return f"CROSS JOIN LATERAL (SELECT ordinal FROM {ORDINALS} WHERE item = {row}.item_id) o"
    return f"JOIN {ORDINALS} o ON o.item = {row}.item_id"


def _numbered(vendor: str, items: str, copies_created: bool) -> str:
    """SQL numbering the items ``items`` (``VALUES`` of a SQLite trigger's ``new``, or a ``SELECT … FROM`` a
    PostgreSQL transition table), with their creation times when ``copies_created`` (since 0026)."""
    if vendor == "sqlite":
        created = recency.ENGINES[vendor].of(f"{items}.timestamp")
        values = f"VALUES ({items}.id, {created})" if copies_created else f"VALUES ({items}.id)"
    else:
        created = recency.ENGINES[vendor].of("timestamp")
        values = f"SELECT id{f', {created}' if copies_created else ''} FROM {items} ORDER BY timestamp, id"
    return f"INSERT INTO {ORDINALS} (item{', created' if copies_created else ''}) {values}"


# --- numbers in buckets -------------------------------------------------------------------------------------

# A number's posting is its bucket's: ``PER_OCTAVE`` buckets per power of two, in an order that follows the
# numbers' (negatives, zero, positives), as fixed-width text so that a range of buckets is a range of
# ``Posting.value``. A range of numbers is then the buckets wholly inside it, plus its edges read from the
# metadata rows (``_edges``).
PER_OCTAVE = 8
POSITIVE, ZERO, NEGATIVE = 50_000, 30_000, 10_000  # key = 50,000 + b, 30,000, or 10,000 - b (b of |number|)
LOWEST, HIGHEST = NEGATIVE - 8_191, POSITIVE + 8_191  # b: floor(log2|x| * 8), -8,592 … 8,191 for a double
HIGHEST_NEGATIVE, LOWEST_POSITIVE = NEGATIVE + 8_592, POSITIVE - 8_592


def bucket_key(number: float) -> int:
    """The bucket of ``number``, as the engines' SQL computes it (``ENGINE_BUCKETS``)."""
    if number > 0:
        return POSITIVE + math.floor(math.log2(number) * PER_OCTAVE)
    if number < 0:
        return NEGATIVE - math.floor(math.log2(-number) * PER_OCTAVE)
    return ZERO


def _bucket_sql(number: str, log2: Callable[[str], str], padded: Callable[[str], str]) -> str:
    """SQL of ``bucket_key`` of the SQL number ``number``, zero-padded to five characters, from an engine's
    ``log2`` and padding."""

    def octaves(value: str) -> str:
        return f"floor({log2(value)} * {PER_OCTAVE})"

    return padded(
        f"CASE WHEN {number} > 0 THEN {POSITIVE} + {octaves(number)} "
        f"WHEN {number} < 0 THEN {NEGATIVE} - {octaves(f'-{number}')} ELSE {ZERO} END"
    )


def _sqlite_bucket(number: str) -> str:
    # ``substr`` pads without a ``%`` (``printf``) that query parameters would eat.
    return _bucket_sql(
        number, lambda value: f"log2({value})", lambda key: f"substr('00000' || CAST({key} AS INTEGER), -5)"
    )


def _postgres_bucket(number: str) -> str:
    return _bucket_sql(
        number,
        lambda value: f"(ln(({value})::float8) / ln(2::float8))",
        lambda key: f"lpad(({key})::integer::text, 5, '0')",
    )


ENGINE_BUCKETS: dict[str, Bucket] = {"sqlite": _sqlite_bucket, "postgresql": _postgres_bucket}


def _key_text(key: int) -> str:
    return f"{key:05d}"


class SqlitePostings:
    """Row triggers: SQLite has no statement triggers (and one writer at a time)."""

    # The unary plus keeps the ordinal out of the plan: SQLite has no statistics on ranges and prefers a range
    # of its primary key, here every lower ordinal (at 1,000,000 items a 50 ms scan for the few newer rows).
    newer_numbered_lower = f"SELECT ordinal, item, created FROM {ORDINALS} WHERE created >= %s AND +ordinal < %s"

    # Each edge row's ordinal looked up: ~1 µs in-process, where a trigger copying it into the row would cost
    # every create a second write of each metadata row (SQLite's triggers cannot change the row they insert).
    edge_rows = f"{METADATA} r {_ordinal_join('r', each=False)}"
    edge_ordinal = "o.ordinal"

    def carry_ordinals(self, schema_editor: Any) -> None:
        """Nothing: the rows carry no ordinal on SQLite (``edge_rows`` looks them up)."""

    def stop_carrying_ordinals(self, schema_editor: Any) -> None:
        """Nothing: see ``carry_ordinals``."""

    def may_fold(self, cursor: Any) -> bool:
        return True  # a writer holds the database's one write lock: nobody folds beside it

    def rows_of(self, rows: Sequence[tuple[Any, ...]], columns: dict[str, str]) -> tuple[str, list[Any]]:
        """A ``VALUES`` list: a parameter per value (binding them costs little)."""
        row = f"({', '.join(['%s'] * len(columns))})"
        return f"VALUES {', '.join([row] * len(rows))}", [value for values in rows for value in values]

    def create(self, schema_editor: Any, copies_created: bool = True) -> None:
        record, bucket = f"INSERT INTO {CHANGES} ({COLUMNS})", _sqlite_bucket
        for statement in (
            f"CREATE TRIGGER {ORDINALS}_insert AFTER INSERT ON {ITEMS} BEGIN "
            f"{_numbered('sqlite', 'new', copies_created)}; END",
            f"CREATE TRIGGER {ORDINALS}_delete AFTER DELETE ON {ITEMS} BEGIN "
            f"DELETE FROM {ORDINALS} WHERE item = old.id; END",
            f"CREATE TRIGGER {POSTINGS}_tag_insert AFTER INSERT ON {TAGS} BEGIN "
            f"{record} {_change_of(TAGS, 'new', 1, bucket)}; END",
            f"CREATE TRIGGER {POSTINGS}_tag_delete AFTER DELETE ON {TAGS} BEGIN "
            f"{record} {_change_of(TAGS, 'old', -1, bucket)}; END",
            f"CREATE TRIGGER {POSTINGS}_tag_update AFTER UPDATE OF kind, public, tag_id, item_id ON {TAGS} BEGIN "
            f"{record} {_change_of(TAGS, 'old', -1, bucket)}; {record} {_change_of(TAGS, 'new', 1, bucket)}; END",
            f"CREATE TRIGGER {POSTINGS}_metadata_insert AFTER INSERT ON {METADATA} BEGIN "
            f"{record} {_change_of(METADATA, 'new', 1, bucket)}; END",
            f"CREATE TRIGGER {POSTINGS}_metadata_delete AFTER DELETE ON {METADATA} BEGIN "
            f"{record} {_change_of(METADATA, 'old', -1, bucket)}; END",
            f"CREATE TRIGGER {POSTINGS}_metadata_update "
            f"AFTER UPDATE OF kind, public, name_id, value_type, text, number, item_id ON {METADATA} BEGIN "
            f"{record} {_change_of(METADATA, 'old', -1, bucket)}; "
            f"{record} {_change_of(METADATA, 'new', 1, bucket)}; END",
        ):
            schema_editor.execute(statement, None)  # None: no parameters, strftime's '%s' stays as written

    def drop(self, schema_editor: Any) -> None:
        for name in (f"{ORDINALS}_insert", f"{ORDINALS}_delete"):
            schema_editor.execute(f"DROP TRIGGER IF EXISTS {name}")
        for table in ("tag", "metadata"):
            for operation in ("insert", "delete", "update"):
                schema_editor.execute(f"DROP TRIGGER IF EXISTS {POSTINGS}_{table}_{operation}")


class PostgresPostings:
    """Statement triggers with transition tables: one statement per write statement, whatever its rows; a
    transaction-scoped advisory lock for folds, tried, not waited for: a writer that finds another folding
    leaves its changes to the next fold."""

    FOLD_LOCK_KEY = int.from_bytes(b"postings", "big")  # any constant bigint the registry uses for nothing else

    # The ordinal is a condition of the index scan: entries of newer items numbered higher (nearly all) are
    # passed over in the index. Written ``+ordinal`` as for SQLite, it was a filter after each one's row was
    # fetched: at 1,000,000 items and 35,705 newer ones, 17,436 buffers and 4.1 ms against 149 and ~1 ms.
    newer_numbered_lower = f"SELECT ordinal, item, created FROM {ORDINALS} WHERE created >= %s AND ordinal < %s"

    # The ordinals the rows carry, included in the number reader index: an edge is one index range. Looked up
    # row by row, at 1,000,000 items the 1,683 rows of the edge of `epochs < 20000` took 6,732 buffers of the
    # ordinals' index and 9.3 ms; a covering index of the ordinals still took 5,050 and 7.1 ms.
    edge_rows = f"{METADATA} r"
    edge_ordinal = "r.ordinal"
    ORDINAL_COPIED = f"{METADATA}_ordinal"

    def carry_ordinals(self, schema_editor: Any) -> None:
        """A row trigger that sets each new metadata row's ordinal before it is written (nothing is written
        twice), the metadata rows' changes recorded with the ordinals they carry (the lookup moves, no write
        makes two), then the ordinals of the rows there are: a change to no posting, which the update
        trigger would have recorded as every row taken out of its postings and put back."""
        schema_editor.execute(f"""
            CREATE FUNCTION {self.ORDINAL_COPIED}() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                NEW.ordinal := (SELECT ordinal FROM {ORDINALS} WHERE item = NEW.item_id);
                RETURN NEW;
            END $$
        """)
        schema_editor.execute(
            f"CREATE TRIGGER {self.ORDINAL_COPIED} BEFORE INSERT ON {METADATA} "
            f"FOR EACH ROW EXECUTE FUNCTION {self.ORDINAL_COPIED}()"
        )
        schema_editor.execute(self._function(self.FUNCTIONS[METADATA], METADATA, carried=True))
        recorded = _trigger(self.FUNCTIONS[METADATA], "UPDATE")
        schema_editor.execute(f"ALTER TABLE {METADATA} DISABLE TRIGGER {recorded}")
        schema_editor.execute(f"UPDATE {METADATA} r SET ordinal = o.ordinal FROM {ORDINALS} o WHERE o.item = r.item_id")
        schema_editor.execute(f"ALTER TABLE {METADATA} ENABLE TRIGGER {recorded}")

    def stop_carrying_ordinals(self, schema_editor: Any) -> None:
        schema_editor.execute(self._function(self.FUNCTIONS[METADATA], METADATA))
        schema_editor.execute(f"DROP TRIGGER IF EXISTS {self.ORDINAL_COPIED} ON {METADATA}")
        schema_editor.execute(f"DROP FUNCTION IF EXISTS {self.ORDINAL_COPIED}()")

    def may_fold(self, cursor: Any) -> bool:
        cursor.execute("SELECT pg_try_advisory_xact_lock(%s)", [self.FOLD_LOCK_KEY])
        return bool(cursor.fetchone()[0])

    def rows_of(self, rows: Sequence[tuple[Any, ...]], columns: dict[str, str]) -> tuple[str, list[Any]]:
        """One JSON document, bytes as hex: Django's psycopg cursors write every parameter into the statement
        as a literal, client-side, and parse its placeholders each time (a ``VALUES`` list of 500 keys: ~9 ms
        for its 3,000 placeholders; arrays of them: ~5 ms to quote each string)."""
        document = json.dumps([dict(zip(columns, map(_hex_bytes, row), strict=True)) for row in rows])
        hexed = {name for name, sql_type in columns.items() if sql_type == "bytea"}
        selected = ", ".join(f"decode({name}, 'hex')" if name in hexed else name for name in columns)
        record = ", ".join(f"{name} {'text' if name in hexed else sql_type}" for name, sql_type in columns.items())
        return f"SELECT {selected} FROM json_to_recordset(%s::json) AS r({record})", [document]

    @staticmethod
    def _function(name: str, table: str, carried: bool = False) -> str:
        """The function of ``table``'s triggers; ``carried``: its rows carry their ordinals (0031, metadata)."""
        old = _changes_of(table, "old_rows", -1, _postgres_bucket, each=True, carried=carried)
        new = _changes_of(table, "new_rows", 1, _postgres_bucket, each=True, carried=carried)
        return f"""
            CREATE OR REPLACE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                IF TG_OP IN ('DELETE', 'UPDATE') THEN
                    INSERT INTO {CHANGES} ({COLUMNS}) {old};
                END IF;
                IF TG_OP IN ('INSERT', 'UPDATE') THEN
                    INSERT INTO {CHANGES} ({COLUMNS}) {new};
                END IF;
                RETURN NULL;
            END $$
        """

    FUNCTIONS = {TAGS: f"{POSTINGS}_tag_changed", METADATA: f"{POSTINGS}_metadata_changed"}

    @staticmethod
    def _ordinals_function(copies_created: bool) -> str:
        """Ordinals in the order the statement's items were created: a bulk load numbers them as it dates them."""
        return f"""
            CREATE FUNCTION {ORDINALS}_changed() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                IF TG_OP = 'INSERT' THEN
                    {_numbered("postgresql", "new_rows", copies_created)};
                ELSE
                    DELETE FROM {ORDINALS} WHERE item IN (SELECT id FROM old_rows);
                END IF;
                RETURN NULL;
            END $$
        """

    def create(self, schema_editor: Any, copies_created: bool = True) -> None:
        schema_editor.execute(self._ordinals_function(copies_created))
        for operation, tables in (("INSERT", "NEW TABLE AS new_rows"), ("DELETE", "OLD TABLE AS old_rows")):
            schema_editor.execute(
                f"CREATE TRIGGER {ORDINALS}_{operation.lower()} AFTER {operation} ON {ITEMS} "
                f"REFERENCING {tables} FOR EACH STATEMENT EXECUTE FUNCTION {ORDINALS}_changed()"
            )
        for table, function in self.FUNCTIONS.items():
            schema_editor.execute(self._function(function, table))
            for operation, tables in (
                ("INSERT", "NEW TABLE AS new_rows"),
                ("DELETE", "OLD TABLE AS old_rows"),
                ("UPDATE", "OLD TABLE AS old_rows NEW TABLE AS new_rows"),
            ):
                schema_editor.execute(
                    f"CREATE TRIGGER {_trigger(function, operation)} AFTER {operation} ON {table} "
                    f"REFERENCING {tables} FOR EACH STATEMENT EXECUTE FUNCTION {function}()"
                )

    def drop(self, schema_editor: Any) -> None:
        for operation in ("insert", "delete"):
            schema_editor.execute(f"DROP TRIGGER IF EXISTS {ORDINALS}_{operation} ON {ITEMS}")
        schema_editor.execute(f"DROP FUNCTION IF EXISTS {ORDINALS}_changed()")
        for table, function in self.FUNCTIONS.items():
            for operation in ("INSERT", "DELETE", "UPDATE"):
                schema_editor.execute(f"DROP TRIGGER IF EXISTS {_trigger(function, operation)} ON {table}")
            schema_editor.execute(f"DROP FUNCTION IF EXISTS {function}()")


def _trigger(function: str, operation: str) -> str:
    """The name of the PostgreSQL statement trigger on ``operation`` that runs ``function``."""
    return f"{function}_{operation.lower()}"


ENGINES: dict[str, PostingEngine] = {"sqlite": SqlitePostings(), "postgresql": PostgresPostings()}


def _hex_bytes(value: Any) -> Any:
    """A value as JSON carries it: bytes as hex text (``PostgresPostings.rows_of``)."""
    return value.hex() if isinstance(value, bytes) else value


def create_triggers(apps: Any, schema_editor: Any) -> None:
    """Migration step (0025): number the items there are (oldest first), build their postings, then keep both
    with this engine's triggers, as 0025 made them (0026 adds the creation times)."""
    schema_editor.execute(f"INSERT INTO {ORDINALS} (item) SELECT id FROM {ITEMS} ORDER BY timestamp, id")
    build(schema_editor.connection)
    ENGINES[schema_editor.connection.vendor].create(schema_editor, copies_created=False)


def set_triggers_aside(apps: Any, schema_editor: Any) -> None:
    """Migration step (0026) before the ordinals' table changes: SQLite remakes a table to add or drop a
    column, and the rename that ends a remake fails while a trigger names the table it dropped."""
    ENGINES[schema_editor.connection.vendor].drop(schema_editor)


def copy_creation_times(apps: Any, schema_editor: Any) -> None:
    """Migration step (0026, after ``set_triggers_aside`` and the new column): the creation time of the items
    there are beside their ordinals, then the triggers again, copying it for each new item."""
    vendor = schema_editor.connection.vendor
    created = recency.ENGINES[vendor].of(f"{ITEMS}.timestamp")
    # No parameters (None): SQLite's strftime('%s') stays as written.
    schema_editor.execute(
        f"UPDATE {ORDINALS} SET created = (SELECT {created} FROM {ITEMS} WHERE {ITEMS}.id = {ORDINALS}.item)", None
    )
    ENGINES[vendor].create(schema_editor)


def carry_ordinals(apps: Any, schema_editor: Any) -> None:
    """Migration step (0031): the metadata rows carry their items' ordinals, where the engine has them do so."""
    ENGINES[schema_editor.connection.vendor].carry_ordinals(schema_editor)


def stop_carrying_ordinals(apps: Any, schema_editor: Any) -> None:
    """Migration step (0031 reversed)."""
    ENGINES[schema_editor.connection.vendor].stop_carrying_ordinals(schema_editor)


def restore_triggers_of_0025(apps: Any, schema_editor: Any) -> None:
    """Migration step (0026 reversed, after the column is gone): the triggers as 0025 made them."""
    ENGINES[schema_editor.connection.vendor].create(schema_editor, copies_created=False)


def build(connection: Any) -> None:
    """Every item's postings from its rows, one chunk of ordinals at a time (memory stays that of a chunk)."""
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT max(ordinal) FROM {ORDINALS}")
        (highest,) = cursor.fetchone()
        bucket = ENGINE_BUCKETS[connection.vendor]
        chunks = [f"{_changes_of(table, table, 1, bucket)} AND o.ordinal >= %s AND o.ordinal < %s" for table in SOURCES]
        for start in range(0, (highest or 0) + 1, 1 << CHUNK_BITS):
            for changes in chunks:
                cursor.execute(changes, [start, start + (1 << CHUNK_BITS)])
                _apply(connection, cursor.fetchall())


def drop_triggers(apps: Any, schema_editor: Any) -> None:
    ENGINES[schema_editor.connection.vendor].drop(schema_editor)
    for table in (POSTINGS, CHANGES, ORDINALS):
        schema_editor.execute(f"DELETE FROM {table}")


# --- folding the changes into the postings -----------------------------------------------------------------

# A posting row's key: (kind, public, field, name, value, chunk); its columns with their SQL types
# (``PostingEngine.rows_of``).
Key = tuple[str, bool, str, str, str, int]
KEY_TYPES = {
    "kind": "varchar", "public": "boolean", "field": "varchar", "name": "varchar", "value": "varchar",
    "chunk": "smallint",
}  # fmt: skip
KEY_COLUMNS = tuple(KEY_TYPES)
K = TypeVar("K")


# Changes wait in ``PostingChange`` until there are this many, then one write folds them all: rewriting the
# postings a create touches (15 rows of up to 8 KB each) at every create cost single creates 17 % on SQLite
# at 100,000 items. Readers add the waiting changes to what they read (a scan of about this many rows; more
# while a fold is under way).
FOLD_AT = 1_000


def fold(alias: str) -> None:
    """Move the changes the triggers recorded into the postings once ``FOLD_AT`` of them wait: statements of
    every item write, inside its transaction, before the locks that queue writers to their commit
    (``generation.changing``). A fold of 1,000 changes takes ~100 ms on PostgreSQL at 1,000,000 items; done
    while holding those locks, it held every other writer too (batch creates 1,200 -> 700 items/s)."""
    connection = connections[alias]
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT 1 FROM {CHANGES} LIMIT 1 OFFSET %s", [max(FOLD_AT - 1, 0)])
        if cursor.fetchone() is None or not ENGINES[connection.vendor].may_fold(cursor):
            return
        cursor.execute(f"DELETE FROM {CHANGES} RETURNING {COLUMNS}")
        changes = cursor.fetchall()
        new_version(cursor)
    _apply(connection, changes)


def _netted(changes: Iterable[tuple[K, int, int]]) -> dict[K, tuple[BitMap, BitMap]]:
    """Changes ``(key, ordinal, ±1)`` as the ordinals each key gains and loses: an ordinal's changes summed,
    so an item removed and added again within them is kept."""
    net: dict[tuple[K, int], int] = defaultdict(int)
    for key, ordinal, change in changes:
        net[(key, ordinal)] += change
    edits: dict[K, tuple[BitMap, BitMap]] = defaultdict(lambda: (BitMap(), BitMap()))
    for (key, ordinal), change in net.items():
        if change:
            edits[key][0 if change > 0 else 1].add(ordinal)
    return edits


def _edited(bits: Bits, edit: tuple[BitMap, BitMap]) -> Bits:
    added, removed = edit
    return (bits | added) - removed


def _apply(connection: Any, changes: Iterable[tuple[Any, ...]]) -> None:
    """Add and remove the changes' ordinals to and from the postings they name: one read of the rows they
    touch, one write of those that still hold an item, one delete of those that no longer do."""
    edits = _netted(
        ((kind, bool(public), field, name, value, ordinal >> CHUNK_BITS), ordinal, change)
        for kind, public, field, name, value, ordinal, change in changes
    )
    keys = sorted(edits)  # one order in every writer
    stored = _stored(connection, keys)
    kept, emptied = [], []
    for key in keys:
        bits = _edited(stored.get(key, BitMap()), edits[key])
        if bits:
            kept.append((*key, bits.serialize()))
        elif key in stored:
            emptied.append(key)
    columns = ", ".join(KEY_COLUMNS)
    _each_batch(
        connection,
        kept,
        {**KEY_TYPES, "bits": "bytea"},
        f"INSERT INTO {POSTINGS} ({columns}, bits) SELECT {columns}, bits FROM given WHERE true "
        f"ON CONFLICT ({columns}) DO UPDATE SET bits = excluded.bits",  # WHERE: SQLite's parser needs one there
    )
    _each_batch(connection, emptied, KEY_TYPES, f"DELETE FROM {POSTINGS} WHERE ({columns}) IN (SELECT * FROM given)")


def _each_batch(connection: Any, rows: Sequence[tuple[Any, ...]], columns: dict[str, str], statement: str) -> list[Any]:
    """Run ``statement`` on each 500 of ``rows`` (of ``columns``: name -> SQL type), given to it as the
    relation ``given``; the rows it returns."""
    rows_of = ENGINES[connection.vendor].rows_of
    found: list[Any] = []
    with connection.cursor() as cursor:
        for start in range(0, len(rows), 500):
            given, params = rows_of(rows[start : start + 500], columns)
            cursor.execute(f"WITH given ({', '.join(columns)}) AS ({given}) {statement}", params)
            found += cursor.fetchall() if cursor.description else []
    return found


def _stored(connection: Any, keys: list[Key]) -> dict[Key, BitMap]:
    """The posting rows ``keys`` that exist (no other fold writes them meanwhile: ``may_fold``).

    The keys are joined as a relation: PostgreSQL took 15 ms to plan each 200 keys written as ``OR``ed
    conditions (a fold of 1,000 keys at 1,000,000 items: 92 ms), and its driver ~9 ms to send each 500 as
    a ``VALUES`` list (``PostingEngine.rows_of``)."""
    found = _each_batch(
        connection,
        keys,
        KEY_TYPES,
        f"SELECT {', '.join(f'p.{column}' for column in KEY_COLUMNS)}, p.bits FROM {POSTINGS} p "
        f"JOIN given ON {' AND '.join(f'p.{column} = given.{column}' for column in KEY_COLUMNS)}",
    )
    return {
        (kind, bool(public), field, name, value, chunk): BitMap.deserialize(bytes(bits))
        for kind, public, field, name, value, chunk, bits in found
    }


# --- the postings a process keeps ---------------------------------------------------------------------------

# A read takes the stored postings it needs from those the process read before, while the postings' version
# (``PostingsVersion``: a random number each fold draws anew) is the same, read in the read's own statement;
# only the changes waiting and the ranges' edges are read every time. At 1,000,000 items two numeric ranges
# read ~1,500 posting rows, a third of that read's time on SQLite. A range on a metadata name reads every
# bucket of the name's numbers once, kept for the next range on it, whatever its bounds.
VERSION = "items_postingsversion"
EMPTY = FrozenBitMap()
ENTRY_SIZE = 200  # bytes counted for an entry besides its postings: its key, and an empty posting's bits


class KeptPostings:
    """Per database alias, the stored postings read under one version: a term's (``("term", kind, public,
    field, name, value)``: its chunks unioned) and every number bucket of a metadata name
    (``("numbers", kind, public, name)``: bucket value -> bits); the least recently used dropped past
    ``budget`` bytes (their stored size). Thread-safe: a worker's request threads share it."""

    def __init__(self, budget: Callable[[], int]) -> None:
        self._budget = budget
        self._versions: dict[str, int] = {}
        self._entries: OrderedDict[tuple[str, tuple[Any, ...]], tuple[Any, int]] = OrderedDict()
        self._size = 0
        self._lock = threading.Lock()

    def version(self, alias: str) -> int | None:
        return self._versions.get(alias)

    def get(self, alias: str, version: int | None, key: tuple[Any, ...]) -> Any | None:
        with self._lock:
            if version is None or self._versions.get(alias) != version:
                return None
            entry = self._entries.get((alias, key))
            if entry is None:
                return None
            self._entries.move_to_end((alias, key))
            return entry[0]

    def put(self, alias: str, version: int, key: tuple[Any, ...], value: Any, size: int) -> None:
        """Keep ``value`` (``size`` bytes stored, and ``ENTRY_SIZE`` more for the entry itself)."""
        budget = self._budget()
        size += ENTRY_SIZE
        if size > budget:
            return
        with self._lock:
            if self._versions.get(alias) != version:
                self._renew(alias, version)
            previous = self._entries.pop((alias, key), None)
            self._size += size - (previous[1] if previous else 0)
            self._entries[(alias, key)] = (value, size)
            while self._size > budget:
                _key, (_value, dropped) = self._entries.popitem(last=False)
                self._size -= dropped

    def _renew(self, alias: str, version: int) -> None:
        """Drop what is kept for ``alias``: its postings are now those of ``version``."""
        for key in [key for key in self._entries if key[0] == alias]:
            self._size -= self._entries.pop(key)[1]
        self._versions[alias] = version


def _budget() -> int:
    return int(getattr(settings, "POSTINGS_CACHE_SIZE", 0))


KEPT = KeptPostings(_budget)


def _token() -> int:
    return secrets.randbits(63)  # a bigint's positive range


def new_version(cursor: Any) -> None:
    """Draw the postings' version anew: every write of ``Posting`` does, in its transaction."""
    cursor.execute(f"UPDATE {VERSION} SET token = %s", [_token()])


def first_version(apps: Any, schema_editor: Any) -> None:
    """Migration step (0028): the postings' first version."""
    schema_editor.execute(f"INSERT INTO {VERSION} (token) VALUES (%s)", [_token()])


# --- reading: a filter's id set as terms, and its matches --------------------------------------------------


@dataclass(frozen=True)
class AnyOf:
    """Items carrying any of ``terms`` (a tag, a metadata value, or ``$in`` of them)."""

    terms: tuple[Term, ...]


@dataclass(frozen=True)
class Range:
    """Items whose metadata ``name`` is a number within the bounds: ``(lookup, number)`` each, ``gt``/``gte``
    below and ``lt``/``lte`` above, or None."""

    name: str
    lower: tuple[str, float] | None
    upper: tuple[str, float] | None


@dataclass(frozen=True)
class Combined:
    """Items in every one (``intersection``) or any one (``union``) of ``parts``."""

    combinator: str
    parts: tuple[Expression, ...]


Leaf = AnyOf | Range
Expression = AnyOf | Range | Combined
BOUNDS = {"gt": "lower", "gte": "lower", "lt": "upper", "lte": "upper"}
SQL_OPERATORS = {"gt": ">", "gte": ">=", "lt": "<", "lte": "<="}


def expression_of(rows: models.QuerySet[Any], kind: str) -> Expression | None:
    """The id set ``rows`` (``framework.api.filtering.row_set``, of the items of ``kind``) as postings, if every
    part of it is tags, posted metadata values (``$in`` of them too) or a numeric range; else None."""
    combinator = rows.query.combinator
    if combinator in ("intersection", "union"):
        parts = [expression_of(part, kind) for part in parts_of(rows)]
        if any(part is None for part in parts):
            return None
        return Combined(combinator, tuple(part for part in parts if part is not None))
    return None if combinator else _leaf_of(rows, kind)


def _leaf_of(part: models.QuerySet[Any], kind: str) -> Leaf | None:
    """One uncombined part of an id set, of the rows of ``kind`` whatever their public flag
    (``models.rows_of_kind``): ``tag IN (…)``; ``name = n AND value_type = t AND text IN (…)`` for a posted
    type; ``name = n AND value_type = 'number'`` and bounds on ``number``; else None."""
    from items_app.models import ItemTag, MetadataEntry

    compared = _compared(part.query.where) if part.query.values_select == ("item",) else None
    if compared is None or _values(compared.pop("kind", [])) != (kind,):
        return None
    if set(_values(compared.pop("public", [])) or ()) != {True, False}:
        return None
    if part.model is ItemTag and set(compared) == {"tag"}:
        return _any_of(TAG, _values(compared["tag"]), ("",))
    if part.model is not MetadataEntry or set(compared) - {"text", "number"} != {"name", "value_type"}:
        return None
    names, types = _values(compared["name"]), _values(compared["value_type"])
    if names is None or len(names) != 1 or types is None or len(types) != 1:
        return None
    if types[0] in POSTED_TYPES and set(compared) == {"name", "value_type", "text"}:
        return _any_of(types[0], names, _values(compared["text"]))
    if types[0] == NUMBER and set(compared) == {"name", "value_type", "number"}:
        return _range(names[0], compared["number"])
    return None


def _values(lookups: list[Any]) -> tuple[Any, ...] | None:
    """The values the ``=`` and ``IN`` lookups ANDed on one field allow (``value_type = 'number'`` comes once
    per bound of a range), else None."""
    if not lookups or not all(isinstance(lookup, Exact | In) for lookup in lookups):
        return None
    allowed = [[lookup.rhs] if isinstance(lookup, Exact) else list(lookup.rhs) for lookup in lookups]
    return tuple(value for value in dict.fromkeys(allowed[0]) if all(value in other for other in allowed[1:]))


def _any_of(field: str, names: tuple[Any, ...] | None, values: tuple[Any, ...] | None) -> AnyOf | None:
    if names is None or values is None:
        return None
    if not all(isinstance(text, str) and len(text) <= MAX_VALUE for text in (*names, *values)):
        return None
    return AnyOf(tuple(sorted((field, name, value) for name in names for value in values)))


def _range(name: Any, lookups: list[Any]) -> Range | None:
    """``number`` compared with one lower bound, one upper bound, or both, or equal to one number."""
    bounds: dict[str, tuple[str, float]] = {}
    for lookup in lookups:
        number = lookup.rhs
        if not isinstance(number, int | float) or isinstance(number, bool) or not math.isfinite(number):
            return None
        if isinstance(lookup, Exact):
            pairs = [("lower", ("gte", float(number))), ("upper", ("lte", float(number)))]
        elif lookup.lookup_name in BOUNDS:
            pairs = [(BOUNDS[lookup.lookup_name], (lookup.lookup_name, float(number)))]
        else:
            return None
        for side, bound in pairs:
            if side in bounds:
                return None
            bounds[side] = bound
    return Range(str(name), bounds.get("lower"), bounds.get("upper")) if bounds else None


def _compared(node: WhereNode) -> dict[str, list[Any]] | None:
    """The lookups a part's condition ANDs, by field, if it is only lookups of a column with a value ANDed;
    else None."""
    compared: dict[str, list[Any]] = defaultdict(list)
    if node.negated or (node.connector != "AND" and len(node.children) > 1):
        return None
    for child in node.children:
        if isinstance(child, WhereNode):
            inner = _compared(child)
            if inner is None:
                return None
            for name, lookups in inner.items():
                compared[name] += lookups
            continue
        lookup = cast("Any", child)
        target = getattr(lookup.lhs, "target", None)
        if target is None or hasattr(lookup.rhs, "resolve_expression"):
            return None
        compared[target.name].append(lookup)
    return compared


def _leaves(expression: Expression) -> set[Leaf]:
    if isinstance(expression, AnyOf | Range):
        return {expression}
    return set().union(*(_leaves(part) for part in expression.parts))


def _full_keys(bounds: Range) -> tuple[int, int]:
    """The first and last bucket whose every number lies within the range (first > last: none).

    A bucket's numbers as each engine files them may stray from its exact bounds by a rounding of ``log2``;
    ``SLACK`` keeps such strays inside the range, and ``_edges`` reads every number of the range that is
    filed outside these buckets."""
    first, last = LOWEST, HIGHEST
    if bounds.lower is not None:
        lowest = bounds.lower[1] + abs(bounds.lower[1]) * SLACK
        first = bucket_key(bounds.lower[1])
        while _interval(first)[0] <= lowest and first < HIGHEST:
            first = _next_key(first)
    if bounds.upper is not None:
        highest = bounds.upper[1] - abs(bounds.upper[1]) * SLACK
        last = bucket_key(bounds.upper[1])
        while _interval(last)[1] >= highest and last > LOWEST:
            last = _previous_key(last)
    return first, last


SLACK = 1e-9  # relative: far wider than the few units in the last place ``log2`` may be off by


def _interval(key: int) -> tuple[float, float]:
    """The exact bounds of the numbers of bucket ``key`` (``bucket_key``)."""
    if key == ZERO:
        return 0.0, 0.0
    if key > ZERO:
        b = key - POSITIVE
        return _power(b / PER_OCTAVE), _power((b + 1) / PER_OCTAVE)
    b = NEGATIVE - key
    return -_power((b + 1) / PER_OCTAVE), -_power(b / PER_OCTAVE)


def _power(exponent: float) -> float:
    return math.inf if exponent >= 1024 else 2.0**exponent


def _next_key(key: int) -> int:
    return ZERO if key == HIGHEST_NEGATIVE else LOWEST_POSITIVE if key == ZERO else key + 1


def _previous_key(key: int) -> int:
    return ZERO if key == LOWEST_POSITIVE else HIGHEST_NEGATIVE if key == ZERO else key - 1


def _edges(
    kind: str, bounds: Range, index: int, flags: list[bool], vendor: str, counted: bool = False
) -> tuple[list[str], list[Any]]:
    """SELECTs (with their parameters) of the ordinals of the items of ``kind`` whose number ``bounds.name``
    lies in the range but outside its full buckets (``_full_keys``), or of how many there are (``counted``):
    index ranges of the metadata rows at each end of the range, where a number's bucket is computed as the
    triggers filed it."""
    first, last = _full_keys(bounds)
    bucket = ENGINE_BUCKETS[vendor]("r.number")
    engine = ENGINES[vendor]
    found = (
        f"SELECT 'n', NULL, %s, NULL, NULL, NULL, COUNT(*), NULL FROM {METADATA} r"
        if counted
        else f"SELECT 'e', NULL, %s, NULL, r.public, NULL, {engine.edge_ordinal}, 1 FROM {engine.edge_rows}"
    )
    rows = (
        f"{found} WHERE r.name_id = %s AND r.value_type = '{NUMBER}' "
        f"AND r.kind = %s AND r.public IN ({', '.join(['%s'] * len(flags))})"
    )
    start: list[Any] = [str(index), bounds.name, kind, *flags]
    within, within_params = [], []
    for bound in (bounds.lower, bounds.upper):
        if bound is not None:
            within.append(f"r.number {SQL_OPERATORS[bound[0]]} %s")
            within_params.append(bound[1])
    if first > last:  # no bucket wholly inside: the whole range is its edges
        return [f"{rows} AND {' AND '.join(within)}"], [*start, *within_params]
    selects, params = [], []
    if bounds.lower is not None:
        below = _interval(first)[0]
        selects.append(f"{rows} AND {within[0]} AND r.number < %s AND {bucket} < %s")
        params += [*start, bounds.lower[1], below + abs(below) * SLACK + 1e-300, _key_text(first)]
    if bounds.upper is not None:
        above = _interval(last)[1]
        selects.append(f"{rows} AND {within[-1]} AND r.number > %s AND {bucket} > %s")
        params += [*start, bounds.upper[1], above - abs(above) * SLACK - 1e-300, _key_text(last)]
    return selects, params


@dataclass(frozen=True)
class Posted:
    """A filter's matches as their postings gave them: their ordinals."""

    ordinals: BitMap


def matches(
    alias: str, kind: str, expression: Expression, public: tuple[bool, ...], keep: int
) -> tuple[int, Posted | None]:
    """How many items of ``kind`` with one of the ``public`` flags ``expression`` selects, and the matches
    (None for a lone range of more than ``keep`` matches). Such a range is counted without its edges'
    ordinals: a count of their index entries (at 1,000,000 items, `accuracy >= 0.9` has 17,000 numbers in
    the edge bucket below 0.917, whose ordinals took 50 ms to look up, the count 1 ms)."""
    if isinstance(expression, Range):
        bits, edges = _read(alias, kind, expression, public, counted=True)
        total = len(bits[expression]) + edges[expression]
        if total > keep:
            return total, None
    bits_of = _read(alias, kind, expression, public)[0]
    found = _evaluated(expression, bits_of)
    return len(found), Posted(found)


def _read(
    alias: str, kind: str, expression: Expression, public: tuple[bool, ...], counted: bool = False
) -> tuple[dict[Leaf, BitMap], dict[Leaf, int]]:
    """Each leaf's ordinals (a range's edges counted instead when ``counted``), and the edges' counts: in
    one statement, the postings this process does not keep (``KEPT``), the changes waiting, the ranges'
    edges and the postings' version; read again whole when the version is not the one kept."""
    leaves = sorted(_leaves(expression), key=repr)
    ranges = dict(enumerate(leaf for leaf in leaves if isinstance(leaf, Range)))
    kept = KEPT.version(alias)
    read = _Read(alias, kind, public, kept)
    found, version = read.run(leaves, ranges, counted)
    if version != kept and read.taken:  # kept under another version: read every posting afresh
        read = _Read(alias, kind, public, version)
        found, version = read.run(leaves, ranges, counted)
    counts: dict[Leaf, int] = defaultdict(int)
    for source, _field, name, _value, _flag, _bits, count, _change in found:
        if source == "n":
            counts[ranges[int(name)]] += count
    return _leaf_bits(found, leaves, ranges, read.stored(found, version)), counts


class _Read:
    """The statement of one read of postings (``_read``): which postings it takes from those the process keeps
    under version ``kept``, which it reads (to keep them), and the rest it reads always."""

    def __init__(self, alias: str, kind: str, public: tuple[bool, ...], kept: int | None) -> None:
        self.alias, self.kind, self.flags, self.kept = alias, kind, list(public), kept
        self.taken: dict[tuple[Term, bool], Bits] = {}
        self.terms_read: list[Term] = []  # AnyOf terms whose postings are read, kept per flag afterwards
        self.numbers_read: list[str] = []  # metadata names whose every number bucket is read

    def run(self, leaves: list[Leaf], ranges: dict[int, Range], counted: bool) -> tuple[list[Any], int | None]:
        among = f"kind = %s AND public IN ({', '.join(['%s'] * len(self.flags))})"
        postings: list[str] = []
        posting_params: list[Any] = []
        changes: list[str] = []
        change_params: list[Any] = []
        for leaf in leaves:
            if isinstance(leaf, AnyOf):
                for term in leaf.terms:
                    changes.append(f"({among} AND field = %s AND name = %s AND value = %s)")
                    change_params += [self.kind, *self.flags, *term]
                    if not self._take_term(term):
                        postings.append(f"({among} AND field = %s AND name = %s AND value = %s)")
                        posting_params += [self.kind, *self.flags, *term]
                        self.terms_read.append(term)
                continue
            first, last = _full_keys(leaf)
            if first > last:
                continue
            changes.append(f"({among} AND field = '{NUMBER}' AND name = %s AND value >= %s AND value <= %s)")
            change_params += [self.kind, *self.flags, leaf.name, _key_text(first), _key_text(last)]
            if self._take_numbers(leaf.name, first, last) or leaf.name in self.numbers_read:
                continue
            if _budget() > 0:  # every bucket of the name, kept for the next range on it
                postings.append(f"({among} AND field = '{NUMBER}' AND name = %s)")
                posting_params += [self.kind, *self.flags, leaf.name]
                self.numbers_read.append(leaf.name)
            else:  # none kept: the range's buckets alone
                postings.append(f"({among} AND field = '{NUMBER}' AND name = %s AND value >= %s AND value <= %s)")
                posting_params += [self.kind, *self.flags, leaf.name, _key_text(first), _key_text(last)]
        selects: list[str] = []
        params: list[Any] = []
        if postings:
            selects.append(
                f"SELECT 'p', field, name, value, public, bits, NULL, NULL FROM {POSTINGS} "
                f"WHERE {' OR '.join(postings)}"
            )
            params += posting_params
        if changes:
            selects.append(
                f"SELECT 'c', field, name, value, public, NULL, ordinal, change FROM {CHANGES} "
                f"WHERE {' OR '.join(changes)}"
            )
            params += change_params
        vendor = connections[self.alias].vendor
        for index, leaf in ranges.items():
            edge_selects, edge_params = _edges(self.kind, leaf, index, self.flags, vendor, counted)
            selects += edge_selects
            params += edge_params
        # Last: PostgreSQL types a UNION's columns from its first SELECTs, whose NULLs would make them text.
        selects.append(f"SELECT 'v', NULL, NULL, NULL, NULL, NULL, token, NULL FROM {VERSION}")
        with connections[self.alias].cursor() as cursor:
            cursor.execute(" UNION ALL ".join(selects), params)
            found = cursor.fetchall()
        versions = [count for source, _field, _name, _value, _flag, _bits, count, _change in found if source == "v"]
        return found, versions[0] if versions else None

    def _take_term(self, term: Term) -> bool:
        """Take ``term``'s postings of every flag from those kept, if all are."""
        kept = [KEPT.get(self.alias, self.kept, ("term", self.kind, flag, *term)) for flag in self.flags]
        if any(bits is None for bits in kept):
            return False
        self.taken.update({(term, flag): cast(Bits, bits) for flag, bits in zip(self.flags, kept, strict=True)})
        return True

    def _take_numbers(self, name: str, first: int, last: int) -> bool:
        """Take the postings of ``name``'s buckets ``first`` to ``last`` of every flag from those kept, if all are."""
        kept = [KEPT.get(self.alias, self.kept, ("numbers", self.kind, flag, name)) for flag in self.flags]
        if any(buckets is None for buckets in kept):
            return False
        for flag, buckets in zip(self.flags, kept, strict=True):
            for value, bits in cast(dict[str, Bits], buckets).items():
                if first <= int(value) <= last:
                    self.taken[((NUMBER, name, value), flag)] = bits
        return True

    def stored(self, found: list[Any], version: int | None) -> dict[tuple[Term, bool], Bits]:
        """The stored postings this read took or read (their chunks unioned), those read kept under
        ``version``."""
        chunks: dict[tuple[Term, bool], list[BitMap]] = defaultdict(list)
        sizes: dict[tuple[Term, bool], int] = defaultdict(int)
        for source, field, name, value, flag, bits, _ordinal, _change in found:
            if source == "p":
                data = bytes(bits)
                chunks[((field, name, value), bool(flag))].append(BitMap.deserialize(data))
                sizes[((field, name, value), bool(flag))] += len(data)
        read = {key: FrozenBitMap(BitMap.union(*parts)) for key, parts in chunks.items()}
        if version is not None:
            for term in self.terms_read:
                for flag in self.flags:
                    bits = read.get((term, flag), EMPTY)
                    KEPT.put(self.alias, version, ("term", self.kind, flag, *term), bits, sizes[(term, flag)])
            for name in self.numbers_read:
                for flag in self.flags:
                    buckets = {
                        value: bits for ((field, of, value), of_flag), bits in read.items()
                        if field == NUMBER and of == name and of_flag == flag
                    }  # fmt: skip
                    size = sum(sizes[((NUMBER, name, value), flag)] for value in buckets)
                    KEPT.put(self.alias, version, ("numbers", self.kind, flag, name), buckets, size)
        return {**self.taken, **read}


def _leaf_bits(
    found: list[tuple[Any, ...]], leaves: list[Leaf], ranges: dict[int, Range], stored: dict[tuple[Term, bool], Bits]
) -> dict[Leaf, BitMap]:
    """Each leaf's ordinals from the ``stored`` postings (per term and public flag) and the rows ``_read``
    read: the changes not folded yet applied to the postings, then the flags and a range's edges added
    together.

    One pass sorts the rows by source, and each set is built in one call: at 1,000,000 items two ranges
    read ~2,000 edge rows, which row-by-row unions (and hashing the ``Range`` each edge row belongs to)
    took 3.5 ms to add up with the postings, of which 1.3 ms is the bitmaps' own work."""
    edges: dict[str, list[int]] = defaultdict(list)
    waiting: list[tuple[tuple[Term, bool], int, int]] = []
    for source, field, name, value, flag, _bits, ordinal, change in found:
        if source == "e":
            edges[name].append(ordinal)
        elif source == "c":
            waiting.append((((field, name, value), bool(flag)), ordinal, change))
    stored = dict(stored)
    for key, edit in _netted(waiting).items():
        stored[key] = _edited(stored.get(key, EMPTY), edit)
    terms: dict[Term, list[Bits]] = defaultdict(list)
    for (term, _flag), bits in stored.items():
        terms[term].append(bits)
    bits_of: dict[Leaf, BitMap] = {}
    for leaf in leaves:
        if isinstance(leaf, AnyOf):
            bits_of[leaf] = BitMap.union(BitMap(), *(part for term in leaf.terms for part in terms.get(term, ())))
    for index, leaf in ranges.items():
        first, last = _full_keys(leaf)
        full = [
            part
            for (field, name, value), parts in terms.items()
            if field == NUMBER and name == leaf.name and first <= int(value) <= last
            for part in parts
        ]
        bits_of[leaf] = BitMap.union(BitMap(edges[str(index)]), *full)
    return bits_of


def _evaluated(expression: Expression, bits_of: dict[Leaf, BitMap]) -> BitMap:
    if isinstance(expression, AnyOf | Range):
        return bits_of[expression]
    parts = [_evaluated(part, bits_of) for part in expression.parts]
    if expression.combinator == "union":
        return BitMap.union(*parts)
    return BitMap.intersection(*parts)


def items_of(alias: str, ordinals: BitMap) -> list[tuple[str, int]]:
    """The id and creation time (``recency.created_number``) of the items numbered ``ordinals``, read from the
    ordinals alone: at 1,000,000 items, 883 matches looked up through the items took 5.8 ms on SQLite,
    from the ordinals' copy 1.4."""
    numbers = list(ordinals)
    found: list[tuple[str, int]] = []
    with connections[alias].cursor() as cursor:
        for start in range(0, len(numbers), 500):
            batch = numbers[start : start + 500]
            cursor.execute(
                f"SELECT item, created FROM {ORDINALS} WHERE ordinal IN ({', '.join(['%s'] * len(batch))})", batch
            )
            found += cursor.fetchall()
    return found


# A page of posted matches, newest first, is read from the newest of their ordinals (``newest``) while at
# most this many items are newer than the oldest of them: the check for older ordinals of newer items scans
# that many index entries (~0.05 µs each); past it, when there are at most ``LOOKUPS`` matches, each is looked
# up (``items_of``, ~1.5 µs each on SQLite and ~5 on PostgreSQL at 1,000,000 items) and sorted.
NEWER_SCANNED = 200_000
LOOKUPS = 20_000


def newest(alias: str, ordinals: BitMap, offset: int, end: int) -> list[str] | None:
    """Ids ``offset:end`` of the items numbered ``ordinals``, newest first then by id (the lists' default
    order), or None when neither way pays (many matches, all old: a walk of the items finds them sooner).

    Items are numbered as they are inserted, so the newest matches are nearly always those of the highest
    ordinals: those ``end`` are looked up, then every item at least as new as the last of them that has a
    lower ordinal (an import of older items, writers committing out of order) from the ordinals' recency
    index, and those that match join them. At 1,000,000 items, a tag AND a boolean and a numeric range
    (4,000 matches): 20 ms to look every match up on PostgreSQL, ~1 ms this way."""
    if len(ordinals) <= end:
        return _every_match_newest_first(alias, ordinals, offset, end)
    top = ordinals[-end:]
    lowest = top.min()
    with connections[alias].cursor() as cursor:
        cursor.execute(f"SELECT max(ordinal) FROM {ORDINALS}")
        (highest,) = cursor.fetchone()
        if (highest or 0) - lowest > NEWER_SCANNED:  # None: every item deleted since the postings were read
            return _every_match_newest_first(alias, ordinals, offset, end) if len(ordinals) <= LOOKUPS else None
        found = items_of(alias, top)
        last = sorted(found, key=recency.newest_key)[end - 1]
        cursor.execute(ENGINES[connections[alias].vendor].newer_numbered_lower, [last[1], lowest])
        found += [(item, created) for ordinal, item, created in cursor.fetchall() if ordinal in ordinals]
    return recency.newest_first(found, offset, end)


def _every_match_newest_first(alias: str, ordinals: BitMap, offset: int, end: int) -> list[str]:
    return recency.newest_first(items_of(alias, ordinals), offset, end)
