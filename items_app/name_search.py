"""Indexed name search: ``$regex`` on an item's name served by an index instead of a scan.

Two shapes of pattern are common (autocomplete, the browse page's search box) and provably need no regex
engine: a literal prefix (``^resnet-``) and a literal substring (``resnet`` with ``$options: "i"``). For
those, ``narrowing`` returns a condition the database answers from an index and that matches *at least* the
rows the regex matches; the filter keeps the regex beside it, so results are exactly the regex's while
the regex only runs on the rows the index leaves. Anything else (metacharacters, a case-insensitive
non-ASCII literal, a substring shorter than a trigram) gets no narrowing and scans as before.

The engine specifics live here and only here, behind ``NameSearch``:

- SQLite: a B-tree range on ``name`` (index ``item_kind_name``) or on its folded form (expression index
  ``item_kind_folded_name``); substrings through an FTS5 ``trigram`` table kept in step by triggers on the
  items table, so every write path (services, bulk creates, admin) updates it in the same transaction.
- PostgreSQL: ``LIKE 'prefix%'`` on ``text_pattern_ops`` B-trees (right whatever the database's collation,
  where a ``>=``/``<`` range would follow a linguistic order), and ``LIKE '%text%'`` on a ``pg_trgm`` GIN
  index of the folded form.

The *folded* form is ``lower()`` of the name with the two non-ASCII letters RE2's case folding equates
with ASCII ones (U+212A KELVIN SIGN ~ k, U+017F LONG S ~ s) replaced: for an ASCII literal, a name matches
``(?i)literal`` exactly when its folded form contains the lowercased literal.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from django.db import DEFAULT_DB_ALIAS, connections
from django.db.models import CharField, F, Func, Q
from django.db.models.expressions import RawSQL
from django.db.models.lookups import Contains, GreaterThanOrEqual, LessThan, StartsWith

from framework.api.filtering import requires

TRIGRAM = 3  # shortest substring a trigram index can find
FOLDED_SQL = "lower(replace(replace({column}, '\u212a', 'k'), '\u017f', 's'))"
SQLITE_TRIGRAM_TABLE = "items_item_name_trigram"
MAX_CODE_POINT = 0x10FFFF
_SYNTAX = set("\\.^$|?*+()[]{}")


@dataclass(frozen=True)
class Literal:
    """A pattern that is plain text: anchored at the start (``prefix``) or anywhere."""

    text: str
    prefix: bool


def literal(pattern: str) -> Literal | None:
    """``pattern`` as literal text if it provably is one (``^`` then literal characters, or literal
    characters only), else None. ``\\`` before ASCII punctuation or a space is that character, as RE2 and
    ``re.escape`` (the browse page's words) have it; any other escape or metacharacter is not literal."""
    prefix = pattern.startswith("^")
    text: list[str] = []
    characters = iter(pattern[1:] if prefix else pattern)
    for character in characters:
        if character == "\\":
            escaped = next(characters, "")
            if not (escaped.isascii() and escaped.isprintable() and not escaped.isalnum()):
                return None
            text.append(escaped)
        elif character in _SYNTAX:
            return None
        else:
            text.append(character)
    return Literal("".join(text), prefix) if text else None


def successor(text: str) -> str | None:
    """The smallest string greater than every string starting with ``text`` (code point order), or None
    if there is none (``text`` is all U+10FFFF)."""
    while text and ord(text[-1]) == MAX_CODE_POINT:
        text = text[:-1]
    if not text:
        return None
    following = ord(text[-1]) + 1
    if 0xD800 <= following <= 0xDFFF:  # surrogates are no characters: skip them
        following = 0xE000
    return text[:-1] + chr(following)


class Folded(Func):
    """The folded form of a text column (see the module's docstring); the same SQL as the indexes'."""

    output_field = CharField()
    template = FOLDED_SQL.format(column="%(expressions)s")


class FoldedContains(Contains):
    """PostgreSQL's substring search: the folded name ``LIKE '%text%'`` (trigram index)."""


class TrigramMatch(RawSQL):
    """SQLite's substring search: the ids whose folded name the FTS5 trigram table finds."""


def searches_substring(condition: Q) -> bool:
    """Whether ``condition`` requires a substring of the name (``contains``): the condition bounds its matches
    to those the trigram index finds, whatever else it ANDs."""
    return requires(condition, _is_substring_search)


def _is_substring_search(term: Any) -> bool:
    return isinstance(term, FoldedContains) or (isinstance(term, tuple) and isinstance(term[1], TrigramMatch))


class NameSearch(Protocol):
    """One engine's index-backed conditions on ``Item.name``, and the DDL of the indexes they use."""

    def prefix(self, text: str, ignore_case: bool) -> Q: ...

    def contains(self, folded_text: str) -> Q: ...

    def create(self, schema_editor: Any) -> None: ...

    def drop(self, schema_editor: Any) -> None: ...


class SqliteNameSearch:
    def prefix(self, text: str, ignore_case: bool) -> Q:
        # A range in code point order (SQLite's BINARY collation), on the (kind, name) or folded index.
        column: Any = Folded("name") if ignore_case else F("name")
        query = Q(GreaterThanOrEqual(column, text))
        upper = successor(text)
        return query & Q(LessThan(column, upper)) if upper is not None else query

    def contains(self, folded_text: str) -> Q:
        # A quoted FTS5 phrase of the trigram tokenizer is a substring test; quotes are doubled inside it.
        phrase = 'name:"' + folded_text.replace('"', '""') + '"'
        matching = f"SELECT item_id FROM {SQLITE_TRIGRAM_TABLE} WHERE {SQLITE_TRIGRAM_TABLE} MATCH %s"
        return Q(pk__in=TrigramMatch(matching, [phrase]))  # constant SQL; the phrase is a parameter

    def create(self, schema_editor: Any) -> None:
        table = SQLITE_TRIGRAM_TABLE
        folded_new = FOLDED_SQL.format(column="new.name")
        # Ids are found by their own trigrams (a MATCH on the id column), not by a scan of the table.
        remove_old = (
            f"DELETE FROM {table} WHERE {table} MATCH 'item_id:\"' || replace(old.id, '\"', '\"\"') || '\"' "
            "AND item_id = old.id;"
        )
        add_new = f"INSERT INTO {table} (item_id, name) VALUES (new.id, {folded_new});"
        for statement in (
            f"CREATE INDEX item_kind_folded_name ON items_item (kind, {FOLDED_SQL.format(column='name')})",
            f"CREATE VIRTUAL TABLE {table} USING fts5(item_id, name, tokenize='trigram')",
            f"INSERT INTO {table} (item_id, name) SELECT id, {FOLDED_SQL.format(column='name')} FROM items_item",
            f"CREATE TRIGGER {table}_insert AFTER INSERT ON items_item BEGIN {add_new} END",
            f"CREATE TRIGGER {table}_update AFTER UPDATE OF id, name ON items_item BEGIN {remove_old} {add_new} END",
            f"CREATE TRIGGER {table}_delete AFTER DELETE ON items_item BEGIN {remove_old} END",
        ):
            schema_editor.execute(statement)

    def drop(self, schema_editor: Any) -> None:
        table = SQLITE_TRIGRAM_TABLE
        for statement in (
            f"DROP TRIGGER IF EXISTS {table}_insert",
            f"DROP TRIGGER IF EXISTS {table}_update",
            f"DROP TRIGGER IF EXISTS {table}_delete",
            f"DROP TABLE IF EXISTS {table}",
            "DROP INDEX IF EXISTS item_kind_folded_name",
        ):
            schema_editor.execute(statement)


class PostgresNameSearch:
    def prefix(self, text: str, ignore_case: bool) -> Q:
        # LIKE escapes %, _ and \ in ``text``; the planner turns a LIKE prefix into a range of a
        # text_pattern_ops index.
        if ignore_case:
            return Q(StartsWith(Folded("name"), text))
        return Q(name__startswith=text)

    def contains(self, folded_text: str) -> Q:
        return Q(FoldedContains(Folded("name"), folded_text))

    def create(self, schema_editor: Any) -> None:
        folded = FOLDED_SQL.format(column="name")
        for statement in (
            "CREATE EXTENSION IF NOT EXISTS pg_trgm",
            "CREATE INDEX item_kind_name_pattern ON items_item (kind, name varchar_pattern_ops)",
            f"CREATE INDEX item_kind_folded_name ON items_item (kind, ({folded}) text_pattern_ops)",
            f"CREATE INDEX item_folded_name_trigram ON items_item USING gin (({folded}) gin_trgm_ops)",
        ):
            schema_editor.execute(statement)

    def drop(self, schema_editor: Any) -> None:
        for index in ("item_kind_name_pattern", "item_kind_folded_name", "item_folded_name_trigram"):
            schema_editor.execute(f"DROP INDEX IF EXISTS {index}")


ENGINES: dict[str, NameSearch] = {"sqlite": SqliteNameSearch(), "postgresql": PostgresNameSearch()}


def engine(vendor: str | None = None) -> NameSearch:
    """The implementation for ``vendor`` (default: the catalog's; tenant databases share its engine)."""
    return ENGINES[vendor or connections[DEFAULT_DB_ALIAS].vendor]


def narrowing(pattern: str, ignore_case: bool) -> Q | None:
    """An index-backed condition matching at least the names ``pattern`` matches, or None (scan)."""
    found = literal(pattern)
    if found is None:
        return None
    if found.prefix:
        if ignore_case:
            return engine().prefix(found.text.lower(), True) if found.text.isascii() else None
        return engine().prefix(found.text, False)
    # Case-sensitive or not, a name containing the text has a folded form containing it lowercased.
    if len(found.text) < TRIGRAM or not found.text.isascii():
        return None
    return engine().contains(found.text.lower())


def create_indexes(apps: Any, schema_editor: Any) -> None:
    """Migration step: this engine's name-search indexes (and, on SQLite, the trigram table's backfill)."""
    engine(schema_editor.connection.vendor).create(schema_editor)


def drop_indexes(apps: Any, schema_editor: Any) -> None:
    engine(schema_editor.connection.vendor).drop(schema_editor)
