"""On PostgreSQL, ``manage.py bootstrap`` (the first half of ``make run``) creates the catalog database when
it is missing, and a role the server refuses, or one that may not create databases, ends the start in a line
or two naming DATABASE and the fix. Against the PostgreSQL run's server, with a catalog name and roles of
each test's own."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from testing.helpers import assert_refused, manage
from testing.postgres import only_on_postgres, own_names, role_with_password, run_server

pytestmark = only_on_postgres


@pytest.fixture
def names() -> Iterator[str]:
    with own_names() as prefix:
        yield prefix


def bootstrap(tmp_path, database_url: str, prefix: str):
    return manage("bootstrap", tmp_path, DATABASE=database_url, DEFAULT_TENANT_DATABASE=f"{prefix}-default")


def test_a_missing_catalog_database_is_created_at_first_start(tmp_path, names):
    server = run_server()
    catalog = f"{names}_catalog"

    result = bootstrap(tmp_path, server.url(catalog), names)

    assert result.returncode == 0, result.stdout + result.stderr
    assert "created the catalog database" in result.stdout
    assert server.databases(names) == [f"{names}-default", catalog, f"{names}_catalog-template"]


def test_a_second_start_finds_the_catalog_and_creates_nothing(tmp_path, names):
    server = run_server()
    bootstrap(tmp_path, server.url(f"{names}_catalog"), names)

    result = bootstrap(tmp_path, server.url(f"{names}_catalog"), names)

    assert result.returncode == 0, result.stdout + result.stderr
    assert "created the catalog database" not in result.stdout


def test_a_role_without_createdb_is_told_to_get_it_before_a_catalog_is_made(tmp_path, names):
    server = run_server()
    server.execute(f'CREATE ROLE "{names}_plain" LOGIN')

    result = bootstrap(tmp_path, server.url(f"{names}_catalog", user=f"{names}_plain"), names)

    assert_refused(
        result,
        f"DATABASE: the catalog database '{names}_catalog' does not exist and role '{names}_plain' may not create it",
        f'ALTER ROLE "{names}_plain" CREATEDB;',
    )
    assert server.databases(names) == []


def test_a_role_without_createdb_is_refused_even_with_a_catalog_made_for_it(tmp_path, names):
    server = run_server()
    server.execute(f'CREATE ROLE "{names}_plain" LOGIN', f'CREATE DATABASE "{names}_catalog" OWNER "{names}_plain"')

    result = bootstrap(tmp_path, server.url(f"{names}_catalog", user=f"{names}_plain"), names)

    assert_refused(
        result,
        f"DATABASE: role '{names}_plain' may not create databases, and every tenant is a database",
        f'ALTER ROLE "{names}_plain" CREATEDB;',
    )


def test_a_wrong_password_is_named_with_the_fix_and_never_printed(tmp_path, names):
    server = run_server()
    role = f"{names}_guarded"
    url = f"postgres://{role}:not-the-password@{server.host}:{server.port}/{names}_catalog"

    with role_with_password(server, role, "the-right-password"):
        result = bootstrap(tmp_path, url, names)

    message = assert_refused(
        result,
        f"DATABASE: PostgreSQL at {server.host}:{server.port} refused the connection",
        f'password authentication failed for user "{role}"',
        f"postgres://{role}:***@",
    )
    assert "not-the-password" not in message


def test_a_role_the_server_refuses_is_named_with_the_fix(tmp_path, names):
    server = run_server()

    result = bootstrap(tmp_path, server.url(f"{names}_catalog", user=f"{names}_nobody"), names)

    assert_refused(
        result,
        f"DATABASE: PostgreSQL at {server.host}:{server.port} refused the connection",
        f'role "{names}_nobody" does not exist',
        "Fix the user or password of DATABASE",
    )
