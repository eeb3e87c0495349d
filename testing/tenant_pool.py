"""Spare tenant databases for the PostgreSQL test run: a test's tenant database is a used one, reset to the
template's exact state, instead of a fresh ``CREATE DATABASE … TEMPLATE`` (~370 ms each on PostgreSQL).

The root ``conftest.py`` swaps ``databases.create_from_template`` for ``TenantPool.create_from_template``
(which renames a spare, ``ALTER DATABASE … RENAME``, and falls back to the real clone when there is none) and
gives each test's tenant databases back with ``TenantPool.give_back`` instead of dropping them. SQLite keeps
the real path: a file copy of the template costs a few milliseconds there.

Giving a database back resets it to the template (``_reset``), in one transaction on a connection of its own
once every other session on it has ended:

- tables the template keeps empty that now hold blocks (or whose indexes or TOAST grew): one ``TRUNCATE …
  RESTART IDENTITY CASCADE`` (a fresh, zero-page relfilenode, as in a fresh clone);
- tables with rows in the template (``django_migrations``, ``django_content_type``, ``auth_permission``,
  ``items_generation``): when their rows or row positions differ, truncated and refilled from a snapshot of
  the template's rows (``COPY … (FORMAT binary)``, taken once per session);
- every sequence set back to the template's ``last_value``/``is_called``;
- planner statistics: the database's ``pg_statistic``/``pg_statistic_ext_data`` rows for its relations are
  deleted, the template's analysed tables analysed again (the same rows give the same statistics), and
  ``pg_class.relpages``/``reltuples``/``relallvisible`` set back to the template's; ``pg_stat_reset()`` clears
  the activity counters that drive autovacuum;
- then it checks what a reset does not restore and refuses the database (it is dropped) if anything differs:
  the schema (relations, columns, constraints, indexes, functions, triggers, types, extensions, policies,
  rules, namespaces, ACLs), every relation's size on disk, per-database settings (``ALTER DATABASE … SET``),
  large objects, prepared transactions and replication slots. Session state (advisory locks, ``LISTEN``,
  temporary tables, prepared statements, ``SET``) ends with the sessions.

Any failure of a reset drops the database: a doubtful spare is never handed out. At most ``LIMIT`` spares are
kept per process (pytest-xdist worker); their names derive from the worker's catalog name, so workers never
share them, and ``drop_all`` (the session's teardown) removes them.

To keep the template itself stable, the pool analyses the template's non-empty tables once when the session
takes its first tenant (autovacuum would analyse ``auth_permission``, 128 rows, a minute into the run anyway):
every fresh clone and every reset database then carries the same statistics.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.db import DEFAULT_DB_ALIAS, connections

from tenants_app import databases

logger = logging.getLogger(__name__)

LIMIT = 4  # spares kept per worker; more are dropped
SPARE_SUFFIX = "-spare-"

# Everything of a database's schema that a reset does not restore, as text: a reset database must match the
# template's. System namespaces and the sessions' temporary namespaces are left out.
_USER_NAMESPACES = (
    "SELECT oid FROM pg_namespace WHERE nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast') "
    "AND nspname NOT LIKE 'pg\\_temp\\_%' AND nspname NOT LIKE 'pg\\_toast\\_temp\\_%'"
)
_USER_RELATIONS = f"SELECT oid FROM pg_class WHERE relnamespace IN ({_USER_NAMESPACES})"
_SCHEMA_PARTS = [
    f"SELECT concat_ws('|', 'n', oid, nspname, nspacl) FROM pg_namespace WHERE oid IN ({_USER_NAMESPACES})",
    "SELECT concat_ws('|', 'c', oid, relname, relkind, relpersistence, relnatts, reloptions, relacl, relrowsecurity, "
    f"reltoastrelid) FROM pg_class WHERE oid IN ({_USER_RELATIONS})",
    "SELECT concat_ws('|', 'a', attrelid, attnum, attname, atttypid, atttypmod, attnotnull, atthasdef, attisdropped, "
    f"attidentity, attgenerated, attstattarget) FROM pg_attribute WHERE attrelid IN ({_USER_RELATIONS})",
    "SELECT concat_ws('|', 'd', adrelid, adnum, md5(adbin::text)) FROM pg_attrdef "
    f"WHERE adrelid IN ({_USER_RELATIONS})",
    "SELECT concat_ws('|', 'k', oid, conname, contype, conrelid, confrelid, conkey, confkey, convalidated, "
    f"condeferrable, md5(conbin::text)) FROM pg_constraint WHERE connamespace IN ({_USER_NAMESPACES})",
    "SELECT concat_ws('|', 'i', indexrelid, indrelid, indisunique, indisvalid, indisready, indislive, indkey, "
    f"indclass, md5(indexprs::text), md5(indpred::text)) FROM pg_index WHERE indrelid IN ({_USER_RELATIONS})",
    f"SELECT concat_ws('|', 'p', oid, proname, md5(prosrc)) FROM pg_proc WHERE pronamespace IN ({_USER_NAMESPACES})",
    f"SELECT concat_ws('|', 't', oid, tgname, tgenabled, tgrelid) FROM pg_trigger WHERE tgrelid IN ({_USER_RELATIONS})",
    f"SELECT concat_ws('|', 'y', oid, typname) FROM pg_type WHERE typnamespace IN ({_USER_NAMESPACES})",
    "SELECT concat_ws('|', 'x', oid, extname, extversion) FROM pg_extension",
    f"SELECT concat_ws('|', 'r', oid, rulename, ev_class) FROM pg_rewrite WHERE ev_class IN ({_USER_RELATIONS})",
    f"SELECT concat_ws('|', 'l', oid, polname, polrelid) FROM pg_policy WHERE polrelid IN ({_USER_RELATIONS})",
    f"SELECT concat_ws('|', 's', oid, stxname) FROM pg_statistic_ext WHERE stxnamespace IN ({_USER_NAMESPACES})",
    "SELECT concat_ws('|', 'e', oid, evtname) FROM pg_event_trigger",
    "SELECT concat_ws('|', 'g', oid, defaclrole, defaclobjtype) FROM pg_default_acl",
    f"SELECT concat_ws('|', 'o', oid, collname) FROM pg_collation WHERE collnamespace IN ({_USER_NAMESPACES})",
    "SELECT concat_ws('|', 'b', oid, pubname) FROM pg_publication",
]
SCHEMA_DIGEST = (
    "SELECT md5(string_agg(part, E'\\n' ORDER BY part)) FROM ("
    + " UNION ALL ".join(f"({part})" for part in _SCHEMA_PARTS)
    + ") AS parts(part)"
)

# Things of a database that live outside its schema and its tables; all must be absent (zero).
LEFTOVERS = """
SELECT (SELECT count(*) FROM pg_db_role_setting WHERE setdatabase = d.oid)
     + (SELECT count(*) FROM pg_largeobject_metadata)
     + (SELECT count(*) FROM pg_prepared_xacts WHERE database = d.datname)
     + (SELECT count(*) FROM pg_replication_slots WHERE database = d.datname)
     + (SELECT count(*) FROM pg_subscription WHERE subdbid = d.oid)
     + CASE WHEN d.datallowconn AND NOT d.datistemplate AND d.datconnlimit = -1 THEN 0 ELSE 1 END
FROM pg_database d WHERE d.datname = current_database()
"""

# Every table of the user namespaces: its oid, quoted name, heap blocks and total size (indexes, TOAST).
TABLES = f"""
SELECT c.oid, format('%I.%I', n.nspname, c.relname), pg_relation_size(c.oid), pg_total_relation_size(c.oid)
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind IN ('r', 'p') AND c.oid IN ({_USER_RELATIONS})
ORDER BY c.oid
"""

# Every relation's size on disk and planner figures (tables, indexes, TOAST, sequences' own excepted).
RELATIONS = f"""
SELECT c.oid, pg_relation_size(c.oid), c.relpages, c.reltuples, c.relallvisible
FROM pg_class c WHERE c.relkind IN ('r', 'p', 'i', 't', 'm') AND c.oid IN ({_USER_RELATIONS})
   OR c.oid IN (SELECT reltoastrelid FROM pg_class WHERE oid IN ({_USER_RELATIONS}))
   OR c.oid IN (SELECT i.indexrelid FROM pg_index i JOIN pg_class t ON t.reltoastrelid = i.indrelid
                WHERE t.oid IN ({_USER_RELATIONS}))
ORDER BY c.oid
"""

SEQUENCES = f"""
SELECT c.oid, format('%I.%I', n.nspname, c.relname), s.seqstart
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace JOIN pg_sequence s ON s.seqrelid = c.oid
WHERE c.relkind = 'S' AND c.oid IN ({_USER_RELATIONS}) ORDER BY c.oid
"""

# The tables the template's planner statistics cover.
ANALYSED = f"SELECT DISTINCT starelid FROM pg_statistic WHERE starelid IN ({_USER_RELATIONS}) ORDER BY 1"


def _rows_digest(cursor: Any, table: str) -> str:
    """Each row's text and physical position: an updated row moves (a new tuple version), so it shows."""
    cursor.execute(f"SELECT md5(string_agg(t.ctid::text || ':' || t::text, E'\\n' ORDER BY t.ctid)) FROM {table} t")
    return str(cursor.fetchone()[0])


def _sequence_states(cursor: Any, sequences: list[tuple[int, str, int]]) -> dict[int, tuple[int, bool]]:
    if not sequences:
        return {}
    cursor.execute(
        " UNION ALL ".join(f"SELECT {oid}::oid, last_value, is_called FROM {name}" for oid, name, _ in sequences)
    )
    return {oid: (last_value, is_called) for oid, last_value, is_called in cursor.fetchall()}


@dataclass
class Snapshot:
    """What a reset restores and checks: the template's state, read once per session."""

    schema: str
    tables: dict[int, tuple[str, int, int]]  # oid -> (name, heap size, total size)
    rows: dict[int, tuple[bytes, str]]  # tables with rows: oid -> (COPY binary data, rows digest)
    relations: dict[int, tuple[int, int, float, int]]  # oid -> (size, relpages, reltuples, relallvisible)
    sequences: list[tuple[int, str, int]]
    sequence_states: dict[int, tuple[int, bool]]
    analysed: list[int]

    @classmethod
    def of(cls, connection: Any) -> Snapshot:
        with connection.cursor() as cursor:
            cursor.execute(SCHEMA_DIGEST)
            schema = cursor.fetchone()[0]
            cursor.execute(TABLES)
            tables = {oid: (name, size, total) for oid, name, size, total in cursor.fetchall()}
            rows: dict[int, tuple[bytes, str]] = {}
            for oid, (name, _, _) in tables.items():
                cursor.execute(f"SELECT EXISTS (SELECT FROM {name})")
                if not cursor.fetchone()[0]:
                    continue
                with cursor.copy(f"COPY {name} TO STDOUT (FORMAT binary)") as copy:
                    data = b"".join(bytes(chunk) for chunk in copy)
                rows[oid] = (data, _rows_digest(cursor, name))
            cursor.execute(RELATIONS)
            relations = {oid: (size, pages, tuples, visible) for oid, size, pages, tuples, visible in cursor.fetchall()}
            cursor.execute(SEQUENCES)
            sequences = list(cursor.fetchall())
            sequence_states = _sequence_states(cursor, sequences)
            cursor.execute(ANALYSED)
            analysed = [row[0] for row in cursor.fetchall()]
        return cls(schema, tables, rows, relations, sequences, sequence_states, analysed)


class ResetRefused(Exception):
    """The database differs from the template in a way a reset does not restore: it is dropped instead."""


@dataclass
class TenantPool:
    """This process's spare tenant databases (PostgreSQL only) and the template's snapshot."""

    catalog: str
    real_create: Callable[[str], None]
    limit: int = LIMIT
    spares: list[str] = field(default_factory=list)
    snapshot: Snapshot | None = None
    taken: int = 0
    reused: int = 0
    refused: int = 0
    seconds_giving_back: float = 0.0
    seconds_cloning: float = 0.0
    _counter: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    # ------------------------------------------------------------------ names

    @property
    def spare_prefix(self) -> str:
        return f"{self.catalog[: 63 - len(SPARE_SUFFIX) - 6]}{SPARE_SUFFIX}"

    def _next_spare_name(self) -> str:
        with self._lock:
            self._counter += 1
            return f"{self.spare_prefix}{self._counter}"

    # ------------------------------------------------------------------ taking and giving back

    def create_from_template(self, database: str) -> None:
        """``databases.create_from_template``'s stand-in: rename a spare, or clone the template when none is left."""
        self._ensure_snapshot()
        with self._lock:
            self.taken += 1
            spare = self.spares.pop() if self.spares else None
        if spare is not None:
            try:
                _execute_on_catalog(f"ALTER DATABASE {_quote(spare)} RENAME TO {_quote(database)}")
            except Exception:
                logger.exception("spare %s could not become %s; cloning the template instead", spare, database)
                databases.drop(spare)
            else:
                with self._lock:
                    self.reused += 1
                return
        started = time.perf_counter()
        self.real_create(database)
        with self._lock:
            self.seconds_cloning += time.perf_counter() - started

    def give_back(self, database: str) -> None:
        """Reset a test's tenant database to the template's state and keep it as a spare (or drop it)."""
        with self._lock:
            full = len(self.spares) >= self.limit
        if full or self.snapshot is None:
            databases.drop(database)
            return
        started = time.perf_counter()
        try:
            connection, borrowed = _connect(database)
            try:
                _end_sessions(database, keep=connection.info.backend_pid)
                self._reset(connection, database)
            finally:
                if borrowed:
                    databases.forget(database)
                else:
                    connection.close()
            _end_sessions(database)  # a rename waits in steps of 100 ms for a closing session: wait here instead
            spare = self._next_spare_name()
            _execute_on_catalog(f"ALTER DATABASE {_quote(database)} RENAME TO {_quote(spare)}")
        except Exception as exc:
            with self._lock:
                self.refused += 1
            if not isinstance(exc, ResetRefused | databases._ConnectFailed):
                logger.exception("resetting %s failed; dropping it", database)
            databases.drop(database)
            return
        with self._lock:
            self.spares.append(spare)
            self.seconds_giving_back += time.perf_counter() - started

    def drop_all(self) -> None:
        """Drop every spare of this process (and any left by an earlier session of the same catalog)."""
        with self._lock:
            self.spares.clear()
        with connections[DEFAULT_DB_ALIAS].cursor() as cursor:
            pattern = self.spare_prefix.replace("\\", "\\\\").replace("_", "\\_").replace("%", "\\%") + "%"
            cursor.execute("SELECT datname FROM pg_database WHERE datname LIKE %s", [pattern])
            names = [row[0] for row in cursor.fetchall()]
        for name in names:
            databases.drop(name)

    # ------------------------------------------------------------------ the template's state

    def _ensure_snapshot(self) -> None:
        if self.snapshot is not None:
            return
        with self._lock:
            if self.snapshot is not None:
                return
            template = databases.ensure_template()
            connection = databases._postgres_connect(template)
            try:
                with connection.cursor() as cursor:
                    cursor.execute(TABLES)
                    for _, name, size, _ in cursor.fetchall():
                        if size:
                            cursor.execute(f"ANALYZE {name}")
                self.snapshot = Snapshot.of(connection)
            finally:
                connection.close()  # PostgreSQL refuses to copy a template that has sessions

    # ------------------------------------------------------------------ the reset

    def _reset(self, connection: Any, database: str) -> None:
        snapshot = self.snapshot
        assert snapshot is not None
        with connection.transaction(), connection.cursor() as cursor:
            cursor.execute("SET LOCAL lock_timeout = '5s'")
            cursor.execute(SCHEMA_DIGEST)
            if cursor.fetchone()[0] != snapshot.schema:
                raise ResetRefused(f"{database}: its schema differs from the template's")
            cursor.execute(LEFTOVERS)
            if cursor.fetchone()[0]:
                raise ResetRefused(f"{database}: settings, large objects or transactions outside its tables")
            cursor.execute(TABLES)
            current = {oid: (size, total) for oid, _, size, total in cursor.fetchall()}
            if current.keys() != snapshot.tables.keys():
                raise ResetRefused(f"{database}: its tables differ from the template's")
            dirty = [
                oid
                for oid, (_, size, total) in snapshot.tables.items()
                if oid not in snapshot.rows and current[oid] != (size, total)
            ]
            restored = {
                oid for oid in snapshot.rows if _rows_digest(cursor, snapshot.tables[oid][0]) != snapshot.rows[oid][1]
            }
            if dirty or restored:
                names = ", ".join(snapshot.tables[oid][0] for oid in [*dirty, *sorted(restored)])
                cursor.execute(f"TRUNCATE {names} RESTART IDENTITY CASCADE")
                for oid in snapshot.rows:  # refill: the changed ones and any emptied by the cascade
                    name = snapshot.tables[oid][0]
                    if oid not in restored:
                        cursor.execute(f"SELECT EXISTS (SELECT FROM {name})")
                        if cursor.fetchone()[0]:
                            continue
                        restored.add(oid)
                    with cursor.copy(f"COPY {name} FROM STDIN (FORMAT binary)") as copy:
                        copy.write(snapshot.rows[oid][0])
            self._restore_sequences(cursor, snapshot)
            cursor.execute(f"DELETE FROM pg_statistic WHERE starelid IN ({_USER_RELATIONS})")
            cursor.execute(
                f"DELETE FROM pg_statistic_ext_data WHERE stxoid IN "
                f"(SELECT oid FROM pg_statistic_ext WHERE stxrelid IN ({_USER_RELATIONS}))"
            )
            for oid in snapshot.analysed:
                cursor.execute(f"ANALYZE {snapshot.tables[oid][0]}")
            self._restore_relation_figures(cursor, snapshot, database)
            cursor.execute("SELECT pg_stat_reset()")

    @staticmethod
    def _restore_sequences(cursor: Any, snapshot: Snapshot) -> None:
        states = _sequence_states(cursor, snapshot.sequences)
        changed = [(oid, name) for oid, name, _ in snapshot.sequences if states[oid] != snapshot.sequence_states[oid]]
        for oid, name in changed:
            last_value, is_called = snapshot.sequence_states[oid]
            cursor.execute("SELECT setval(%s::regclass, %s, %s)", [name, last_value, is_called])

    @staticmethod
    def _restore_relation_figures(cursor: Any, snapshot: Snapshot, database: str) -> None:
        """The planner's figures (``pg_class``) back to the template's; every relation's size must match it."""
        cursor.execute(RELATIONS)
        current = {oid: (size, pages, tuples, visible) for oid, size, pages, tuples, visible in cursor.fetchall()}
        if current.keys() != snapshot.relations.keys():
            raise ResetRefused(f"{database}: its relations differ from the template's")
        for oid, (size, pages, tuples, visible) in current.items():
            template = snapshot.relations[oid]
            if size != template[0]:
                raise ResetRefused(f"{database}: relation {oid} has {size} bytes, the template's {template[0]}")
            if (pages, tuples, visible) != template[1:]:
                cursor.execute(
                    "UPDATE pg_class SET relpages = %s, reltuples = %s, relallvisible = %s WHERE oid = %s",
                    [*template[1:], oid],
                )


def _quote(name: str) -> str:
    return str(connections[DEFAULT_DB_ALIAS].ops.quote_name(name))


def _execute_on_catalog(statement: str) -> None:
    with connections[DEFAULT_DB_ALIAS].cursor() as cursor:
        cursor.execute(statement)


def _connect(database: str) -> tuple[Any, bool]:
    """This thread's open connection to ``database`` (its catalog caches are warm: the reset's catalog queries
    cost half as much), or a new one; and whether it was borrowed from Django."""
    alias = databases.alias_for(database)
    if alias in connections.settings:
        wrapper = connections[alias]
        if wrapper.connection is not None and not wrapper.in_atomic_block and wrapper.is_usable():
            return wrapper.connection, True
    return databases._postgres_connect(database), False


def _end_sessions(database: str, keep: int | None = None) -> None:
    """End every other session on ``database`` (a live server's keep-alive threads) and wait until they are gone."""
    with connections[DEFAULT_DB_ALIAS].cursor() as cursor:
        query = "FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid() AND pid IS DISTINCT FROM %s"
        cursor.execute(f"SELECT pg_terminate_backend(pid) {query}", [database, keep])
        deadline = time.monotonic() + 5
        while True:
            cursor.execute(f"SELECT count(*) {query}", [database, keep])
            if not cursor.fetchone()[0]:
                return
            if time.monotonic() > deadline:
                raise ResetRefused(f"{database}: sessions would not end")
            time.sleep(0.002)


# ------------------------------------------------------------------ the session's pool (conftest.py)

_installed: TenantPool | None = None
_patch: Any = None


def install() -> TenantPool | None:
    """On PostgreSQL, route this process's tenant creation through a new pool (``conftest.django_db_setup``)."""
    global _installed, _patch
    import pytest

    if connections[DEFAULT_DB_ALIAS].vendor != "postgresql":
        return None
    _installed = TenantPool(catalog=databases._catalog_settings()["NAME"], real_create=databases.create_from_template)
    _installed.drop_all()  # spares an interrupted earlier session of this catalog left behind
    _patch = pytest.MonkeyPatch()
    _patch.setattr(databases, "create_from_template", _installed.create_from_template)
    return _installed


def uninstall() -> None:
    """Drop the spares and give tenant creation back its real path."""
    global _installed, _patch
    if _patch is not None:
        _patch.undo()
    if _installed is not None:
        logger.info(
            "tenant pool: %d databases taken, %d of them reused spares (%.1f s resetting), %d clones (%.1f s), "
            "%d resets refused",
            _installed.taken,
            _installed.reused,
            _installed.seconds_giving_back,
            _installed.taken - _installed.reused,
            _installed.seconds_cloning,
            _installed.refused,
        )
        _installed.drop_all()
    _installed = _patch = None


def installed() -> TenantPool | None:
    return _installed


def release(database: str) -> None:
    """A test's tenant database is done with: back to the pool on PostgreSQL, dropped on SQLite."""
    if _installed is None:
        databases.drop(database)
    else:
        _installed.give_back(database)
