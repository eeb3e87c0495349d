"""Tenant databases: registering their connection aliases at run time, and creating, cloning and dropping them.

Each tenant has its own database: a SQLite file beside the catalog (the embedded default) or a PostgreSQL
database on the catalog's server. This is the only module that knows how a database is created or
dropped on each engine; everything else goes through the ORM.

New tenant databases are cloned from a *template* database that is migrated once, so creating a tenant
costs a file copy (SQLite) or ``CREATE DATABASE … TEMPLATE`` (PostgreSQL) instead of replaying every
migration.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sqlite3
import threading
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from django.core.management import call_command
from django.db import DEFAULT_DB_ALIAS, connections, transaction
from django.db.migrations.executor import MigrationExecutor

from framework.db import write_queue
from framework.db.long_statements import without_statement_timeout

logger = logging.getLogger(__name__)

ALIAS_PREFIX = "tenant:"
TEMPLATE_SUFFIX = "-template"
# SQLite tables whose statistics are gathered from every row rather than a sample (see ``analyze``); the
# apps that own such tables add them when they load.
FULLY_ANALYSED_TABLES: set[str] = set()
WRITES_PER_ANALYSIS = 5000  # see ``count_write``
_write_counts: Counter[str] = Counter()
_write_counts_lock = threading.Lock()
_registration_lock = threading.Lock()


def alias_for(database: str) -> str:
    return f"{ALIAS_PREFIX}{database}"


def _catalog_settings() -> dict[str, Any]:
    return connections[DEFAULT_DB_ALIAS].settings_dict


def _is_sqlite() -> bool:
    return connections[DEFAULT_DB_ALIAS].vendor == "sqlite"


def _sqlite_path(database: str) -> Path:
    """Tenant files live in ``tenants/`` beside the catalog file."""
    return Path(_catalog_settings()["NAME"]).parent / "tenants" / f"{database}.sqlite3"


def register(database: str) -> str:
    """Make ``database`` reachable as a connection alias in this process (idempotent) and return the alias."""
    alias = alias_for(database)
    if alias in connections.settings:
        return alias
    with _registration_lock:
        if alias not in connections.settings:
            tenant_settings = dict(_catalog_settings())
            tenant_settings["NAME"] = str(_sqlite_path(database)) if _is_sqlite() else database
            tenant_settings["TEST"] = {**tenant_settings.get("TEST", {}), "NAME": tenant_settings["NAME"]}
            connections.settings[alias] = tenant_settings
    return alias


def forget(database: str) -> None:
    """Close this thread's connection to ``database`` and drop its alias from this process."""
    alias = alias_for(database)
    if alias not in connections.settings:
        return
    try:
        connections[alias].close()
    finally:
        with _registration_lock:
            connections.settings.pop(alias, None)
            with contextlib.suppress(AttributeError):  # never used in this thread
                del connections[alias]


def template_name() -> str:
    if _is_sqlite():
        return "_template"
    return f"{_catalog_settings()['NAME']}{TEMPLATE_SUFFIX}"[:63]


def migrate(database: str) -> None:
    """Bring one tenant database (or the template) up to the code's migrations."""
    migrate_alias(register(database))


def migrate_alias(alias: str) -> None:
    """Apply the code's migrations to the database of ``alias`` (a tenant's, or the catalog's ``default``),
    however long their statements run: some rewrite every row of a large tenant."""
    with without_statement_timeout(alias):
        call_command("migrate", database=alias, interactive=False, verbosity=0)


def analyze(database: str) -> None:
    """Refresh the query planner's statistics of a SQLite tenant database (PostgreSQL's autovacuum does it there).

    Without ``sqlite_stat1`` SQLite takes ``kind = 'model'`` for a selective index and walks every item instead
    of starting from the few rows a tag or metadata filter matches. ``analysis_limit`` keeps the large row
    tables (tags, metadata: ten rows per item and more) to milliseconds, but a sampled index whose leading
    column has few values (an item's ``kind``) is recorded as matching ~1,000 rows. So the tables in
    ``FULLY_ANALYSED_TABLES`` (the items table) are analysed in full: counting a user's readable items then
    uses a ``MULTI-INDEX OR`` over the visibility, owner and share indexes instead of a walk over every item.
    """
    if not _is_sqlite():
        return
    _analyze_alias(register(database))


def _analyze_alias(alias: str) -> None:
    with connections[alias].cursor() as cursor:
        cursor.execute("PRAGMA analysis_limit=1000")
        cursor.execute("ANALYZE")
        cursor.execute("PRAGMA analysis_limit=0")
        for table in sorted(FULLY_ANALYSED_TABLES):
            cursor.execute(f'ANALYZE "{table}"')  # a table name from the code, never from input


def count_write(alias: str) -> None:
    """Count one write to a tenant database (called inside its transaction): every ``WRITES_PER_ANALYSIS``-th
    write of this process to a SQLite database refreshes its statistics once that write has committed.

    ``bootstrap`` analyses at start-up, but a registry that starts empty and grows to 100,000 items without a
    restart would otherwise keep the plans of an empty database (a count of every readable item walked
    them all). A refresh costs the writing request some tens of milliseconds at 100,000 items, and holds
    the write lock as long, so it happens once per ``WRITES_PER_ANALYSIS`` writes of each worker process.
    """
    if not _is_sqlite():
        return
    with _write_counts_lock:
        _write_counts[alias] += 1
        due = _write_counts[alias] % WRITES_PER_ANALYSIS == 0
    if due:
        transaction.on_commit(lambda: _analyze_alias(alias), using=alias)


def is_up_to_date(database: str) -> bool:
    connection = connections[register(database)]
    executor = MigrationExecutor(connection)
    return not executor.migration_plan(executor.loader.graph.leaf_nodes())


_template_checked = False


def ensure_template() -> str:
    """Create or migrate the template database if needed (checked once per process) and return its name."""
    global _template_checked
    name = template_name()
    if not _template_checked:
        if not exists(name):
            _create_empty(name)
        with briefly(name):
            if not is_up_to_date(name):
                migrate(name)
        _template_checked = True
    return name


@contextlib.contextmanager
def briefly(database: str) -> Iterator[str]:
    """Use ``database`` through its alias (yielded) and close this thread's connection to it afterwards.

    For the template: PostgreSQL refuses to copy a database another session is connected to, so a connection
    left open on it (even idle) would keep every tenant creation waiting.
    """
    alias = register(database)
    try:
        yield alias
    finally:
        connections[alias].close()


def refresh_template() -> str:
    """Migrate the template again (``migrate_tenants``), even if this process checked it before."""
    global _template_checked
    _template_checked = False
    return ensure_template()


def exists(database: str) -> bool:
    if _is_sqlite():
        return _sqlite_path(database).exists()
    with connections[DEFAULT_DB_ALIAS].cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", [database])
        return cursor.fetchone() is not None


def create_from_template(database: str) -> None:
    """Create ``database`` as a copy of the migrated template."""
    template = ensure_template()
    if _is_sqlite():
        _sqlite_clone(_sqlite_path(template), _sqlite_path(database))
    else:
        _postgres_clone(template, database)


def drop(database: str) -> None:
    """Remove ``database`` and everything in it. Missing databases are not an error."""
    forget(database)
    if _is_sqlite():
        path = _sqlite_path(database)
        for suffix in ("", "-wal", "-shm", "-journal", write_queue.SUFFIX):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        return
    quoted = connections[DEFAULT_DB_ALIAS].ops.quote_name(database)
    with connections[DEFAULT_DB_ALIAS].cursor() as cursor:
        # WITH (FORCE) ends the sessions other workers still hold, so a deleted tenant is gone at once.
        cursor.execute(f"DROP DATABASE IF EXISTS {quoted} WITH (FORCE)")


def _create_empty(database: str) -> None:
    if _is_sqlite():
        _sqlite_path(database).parent.mkdir(parents=True, exist_ok=True)
        return  # SQLite creates the file on first connection
    quoted = connections[DEFAULT_DB_ALIAS].ops.quote_name(database)
    with connections[DEFAULT_DB_ALIAS].cursor() as cursor:
        cursor.execute(f"CREATE DATABASE {quoted}")


def _sqlite_clone(source: Path, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(f".{target.name}.{os.getpid()}.partial")
    # The backup API copies a consistent snapshot even while other connections have the template open.
    with sqlite3.connect(source) as src, sqlite3.connect(partial) as dst:
        src.backup(dst)
    dst.close()
    src.close()
    os.replace(partial, target)


def _postgres_clone(template: str, database: str) -> None:
    from psycopg import errors

    ops = connections[DEFAULT_DB_ALIAS].ops
    statement = f"CREATE DATABASE {ops.quote_name(database)} TEMPLATE {ops.quote_name(template)}"
    for attempt in range(20):
        try:
            with connections[DEFAULT_DB_ALIAS].cursor() as cursor:
                cursor.execute(statement)
            return
        except Exception as exc:
            # PostgreSQL copies a database no other session is connected to, and waits 5 s for them to leave
            # before it says the source "is being accessed by other users": another process migrating or
            # reading the template (wait for it and retry), or a connection left open on it (end it).
            if not isinstance(exc.__cause__, errors.ObjectInUse) or attempt == 19:
                raise
            _end_idle_sessions(template)
            time.sleep(0.05 * (attempt + 1))


def _end_idle_sessions(database: str) -> None:
    """End the sessions connected to ``database`` that run nothing and hold no transaction."""
    with connections[DEFAULT_DB_ALIAS].cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FILTER (WHERE pg_terminate_backend(pid)) FROM pg_stat_activity "
            "WHERE datname = %s AND state = 'idle' AND pid <> pg_backend_pid()",
            [database],
        )
        ended = cursor.fetchone()[0]
    if ended:
        logger.warning("ended %d idle session(s) on %s, which kept it from being copied", ended, database)


# ------------------------------------------------------------------ the catalog's server at start-up


class CatalogUnavailable(Exception):
    """The catalog's database server cannot serve the registry as configured; the message says why and what
    to change, in a line or two (``registry_project.startup`` prints it instead of a traceback)."""


def describe_catalog() -> str:
    """Where the catalog lives, for messages: never the password of the DATABASE URL."""
    catalog = _catalog_settings()
    if _is_sqlite():
        return f"sqlite:///{catalog['NAME']}"
    user = f"{catalog.get('USER') or ''}:***@" if catalog.get("PASSWORD") else f"{catalog.get('USER') or ''}@"
    return f"postgres://{user}{_postgres_address()}/{catalog['NAME']}"


def ensure_catalog() -> bool:
    """Check that the catalog's server lets the registry work, and create the catalog database on PostgreSQL
    when it is missing and the role may (it may create tenants' databases, so it may). True when created.

    SQLite creates the catalog file on first connection; its folder is checked with DATA_DIR (settings.py).
    """
    if _is_sqlite():
        return False
    return _postgres_ensure_catalog()


def _postgres_address() -> str:
    catalog = _catalog_settings()
    return f"{catalog.get('HOST') or 'localhost'}:{catalog.get('PORT') or 5432}"


def _postgres_connect(database: str) -> Any:
    """A plain psycopg connection to ``database`` with the catalog's parameters (Django's connection would
    turn a missing catalog into a traceback before any check could explain it)."""
    import psycopg

    parameters = connections[DEFAULT_DB_ALIAS].get_connection_params()
    parameters.update(dbname=database, connect_timeout=10, autocommit=True)
    parameters.pop("cursor_factory", None)
    try:
        return psycopg.connect(**parameters)
    except psycopg.OperationalError as exc:
        raise _ConnectFailed(str(exc)) from None


class _ConnectFailed(Exception):
    """psycopg could not connect; its message (libpq's, which never contains the password)."""

    @property
    def reason(self) -> str:
        # "connection failed: connection to server at "h", port p failed: FATAL:  <reason>" -> "<reason>"
        text = str(self).splitlines()[0]
        return text.rsplit("failed: ", 1)[-1].removeprefix("FATAL:").strip()

    @property
    def server_answered(self) -> bool:
        return "FATAL:" in str(self)

    @property
    def database_missing(self) -> bool:
        return self.server_answered and self.reason.startswith("database ") and "does not exist" in self.reason


def _postgres_ensure_catalog() -> bool:
    name = _catalog_settings()["NAME"]
    try:
        connection = _postgres_connect(name)
    except _ConnectFailed as exc:
        if not exc.database_missing:
            raise _explained(exc) from None
        connection = None
    try:
        if connection is None:
            connection = _postgres_maintenance_connection()
        _postgres_check_createdb(connection, name)
        if connection.info.dbname == name:
            return False
        return _postgres_create_catalog(connection, name)
    finally:
        if connection is not None:
            connection.close()


def _postgres_maintenance_connection() -> Any:
    """The server's ``postgres`` database (``template1`` where an operator dropped it), to create the catalog."""
    try:
        return _postgres_connect("postgres")
    except _ConnectFailed as exc:
        if not exc.database_missing:
            raise _explained(exc) from None
    try:
        return _postgres_connect("template1")
    except _ConnectFailed as exc:
        raise _explained(exc) from None


def _postgres_check_createdb(connection: Any, catalog: str) -> None:
    row = connection.execute("SELECT current_user, rolcreatedb OR rolsuper FROM pg_roles WHERE rolname = current_user")
    user, may_create = row.fetchone()
    if may_create:
        return
    grant = f"ALTER ROLE {connections[DEFAULT_DB_ALIAS].ops.quote_name(user)} CREATEDB;"
    if connection.info.dbname == catalog:
        raise CatalogUnavailable(
            f"DATABASE: role {user!r} may not create databases, and every tenant is a database of its own "
            f"({describe_catalog()}).\nGrant it as a superuser: {grant}"
        )
    raise CatalogUnavailable(
        f"DATABASE: the catalog database {catalog!r} does not exist and role {user!r} may not create it "
        f"({describe_catalog()}).\nGrant it as a superuser (every tenant is a database too): {grant}"
    )


def _postgres_create_catalog(connection: Any, catalog: str) -> bool:
    from psycopg import errors

    try:
        connection.execute(f"CREATE DATABASE {connections[DEFAULT_DB_ALIAS].ops.quote_name(catalog)}")
    except (errors.DuplicateDatabase, errors.UniqueViolation):
        # another server of this registry, starting at the same moment, created it first (PostgreSQL says
        # so either way, depending on how far that creation had gone)
        return False
    logger.info("created the catalog database %r", catalog)
    return True


def _explained(exc: _ConnectFailed) -> CatalogUnavailable:
    """The connection failure as the setting to change and the fix."""
    catalog = describe_catalog()
    if not exc.server_answered:
        return CatalogUnavailable(
            f"DATABASE: no PostgreSQL server answers at {_postgres_address()} ({exc.reason}).\n"
            f"Start it, or fix the host and port of DATABASE ({catalog})."
        )
    return CatalogUnavailable(
        f"DATABASE: PostgreSQL at {_postgres_address()} refused the connection ({exc.reason}).\n"
        f"Fix the user or password of DATABASE ({catalog}), or the server's pg_hba.conf."
    )
