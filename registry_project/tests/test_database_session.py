"""What every database connection of the registry sets for its session (settings.py, DATABASE_* variables)."""

from __future__ import annotations

import json

import pytest
from django.db import connections

from tenants_app import tenancy
from tenants_app.models import User
from testing.helpers import create_model


def session_setting(acme, name: str) -> str:
    with tenancy.using_tenant(acme.tenant) as active, connections[active.alias].cursor() as cursor:
        if connections[active.alias].vendor != "postgresql":
            pytest.skip("a PostgreSQL session setting")
        cursor.execute(f"SHOW {name}")  # a name from this file
        return str(cursor.fetchone()[0])


def test_sqlite_tenant_connections_keep_a_page_cache_of_the_configured_size(acme, settings):
    with tenancy.using_tenant(acme.tenant) as active, connections[active.alias].cursor() as cursor:
        if connections[active.alias].vendor != "sqlite":
            pytest.skip("a SQLite connection setting")
        cursor.execute("PRAGMA cache_size")
        (pages_or_kib,) = cursor.fetchone()

    assert pages_or_kib == -(settings.DATABASE_CACHE_SIZE // 1024) == -16_384  # negative: KiB, not pages


def test_tenant_connections_price_random_reads_for_ssd_so_lookups_beat_scans(acme):
    assert session_setting(acme, "random_page_cost") == "1.1"


def test_tenant_connections_never_spend_time_compiling_queries(acme):
    assert session_setting(acme, "jit") == "off"


def test_tenant_connections_cancel_runaway_statements(acme):
    assert session_setting(acme, "statement_timeout") == "30s"


def test_tenant_connections_prepare_the_statements_they_repeat(acme):
    with tenancy.using_tenant(acme.tenant) as active:
        connection = connections[active.alias]
        if connection.vendor != "postgresql":
            pytest.skip("PostgreSQL prepared statements")
        for _ in range(6):  # psycopg prepares a statement on its fifth run on a connection
            assert User.objects.filter(username="ada").exists()
        with connection.cursor() as cursor:
            cursor.execute("SELECT statement FROM pg_prepared_statements")
            prepared = [row[0] for row in cursor.fetchall()]

    assert any('FROM "tenants_app_user"' in statement for statement in prepared), prepared


def test_a_list_is_counted_and_paged_by_statements_planned_for_their_values(acme, owner):
    # Prepared, a list's statements got generic plans after their fifth run: scans at scale (issue 18).
    with tenancy.using_tenant(acme.tenant) as active:
        if connections[active.alias].vendor != "postgresql":
            pytest.skip("PostgreSQL prepared statements")
    create_model(owner, "churn", metadata=[{"name": "accuracy", "value": 0.9}])
    for n in range(8):
        response = owner.get("/v1/models", {"filter": json.dumps({"metadata.accuracy": {"$gte": n / 100}})})
        assert response.json()["totalDocs"] == 1

    with tenancy.using_tenant(acme.tenant) as active, connections[active.alias].cursor() as cursor:
        cursor.execute("SELECT statement FROM pg_prepared_statements")
        prepared = [row[0] for row in cursor.fetchall()]

    assert any('FROM "tenants_app_user"' in statement for statement in prepared), prepared
    assert not [statement for statement in prepared if "items_metadataentry" in statement]


def test_migrations_run_without_the_statement_timeout_and_leave_it_in_place(acme, monkeypatch):
    """A migration that rewrites every row of a large tenant runs for minutes: the requests' backstop would
    cancel it half-way (``framework.db.long_statements``)."""
    from tenants_app import databases

    seen: list[str] = []

    def migrate(command: str, database: str, **options: object) -> None:
        with connections[database].cursor() as cursor:
            cursor.execute("SHOW statement_timeout")
            seen.append(str(cursor.fetchone()[0]))

    session_setting(acme, "statement_timeout")  # skips on SQLite, which has no statement timeout
    monkeypatch.setattr(databases, "call_command", migrate)
    databases.migrate(acme.tenant.database)

    assert seen == ["0"]
    assert session_setting(acme, "statement_timeout") == "30s"
