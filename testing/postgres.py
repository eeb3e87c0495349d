"""The PostgreSQL server of the test run (``scripts/test.sh`` exports its DATABASE), for tests that start
registry processes with catalogs and roles of their own on it."""

from __future__ import annotations

import os
import secrets
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

ON_POSTGRES = os.environ.get("DATABASE", "sqlite:").startswith("postgres")
only_on_postgres = pytest.mark.skipif(not ON_POSTGRES, reason="needs the PostgreSQL run's server")


@dataclass(frozen=True)
class Server:
    host: str
    port: int
    user: str

    def url(self, database: str, user: str | None = None) -> str:
        return f"postgres://{user or self.user}@{self.host}:{self.port}/{database}"

    def execute(self, *statements: str) -> list[Any]:
        """Run ``statements`` on the server's ``postgres`` database as the run's superuser; the last one's rows."""
        import psycopg

        rows: list[Any] = []
        with psycopg.connect(host=self.host, port=self.port, user=self.user, dbname="postgres", autocommit=True) as db:
            for statement in statements:
                cursor = db.execute(statement)  # statements of the tests themselves, never input
                rows = cursor.fetchall() if cursor.description else []
        return rows

    def databases(self, prefix: str) -> list[str]:
        rows = self.execute(f"SELECT datname FROM pg_database WHERE datname LIKE '{prefix}%' ORDER BY datname")
        return [row[0] for row in rows]


@contextmanager
def role_with_password(server: Server, role: str, password: str) -> Iterator[None]:
    """``role``, which must log in with ``password``: the run's server trusts every local connection, so a line
    for this role alone goes first in its ``pg_hba.conf`` (the test runs on the server's machine, as the user
    who started it) until the block ends."""
    server.execute(f"CREATE ROLE \"{role}\" LOGIN PASSWORD '{password}'")
    hba = Path(server.execute("SHOW hba_file")[0][0])
    trusted = hba.read_text()
    hba.write_text(f"host all {role} 127.0.0.1/32 scram-sha-256\n{trusted}")
    try:
        server.execute("SELECT pg_reload_conf()")
        _wait_until_password_needed(server, role)
        yield
    finally:
        hba.write_text(trusted)
        server.execute("SELECT pg_reload_conf()")


def _wait_until_password_needed(server: Server, role: str) -> None:
    """The server reloads its configuration a moment after ``pg_reload_conf`` returns."""
    import psycopg

    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            psycopg.connect(host=server.host, port=server.port, user=role, dbname="postgres").close()
        except psycopg.OperationalError:
            return
        time.sleep(0.1)
    raise RuntimeError(f"{role} still logs in without a password")


def run_server() -> Server:
    url = urlsplit(os.environ["DATABASE"])
    return Server(host=url.hostname or "127.0.0.1", port=url.port or 5432, user=url.username or "postgres")


@contextmanager
def own_names() -> Iterator[str]:
    """A prefix for the databases and roles of one test; every one of them is dropped at the end."""
    prefix = f"t{secrets.token_hex(4)}"
    yield prefix
    server = run_server()
    for database in server.databases(prefix):
        server.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
    roles = server.execute(f"SELECT rolname FROM pg_roles WHERE rolname LIKE '{prefix}%'")
    for (role,) in roles:
        server.execute(f'DROP ROLE IF EXISTS "{role}"')
