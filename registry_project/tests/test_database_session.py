"""What every database connection of the registry sets for its session (settings.py, DATABASE_* variables)."""

from __future__ import annotations

import pytest
from django.db import connections

from tenants_app import tenancy


def session_setting(acme, name: str, vendor: str = "postgresql") -> str:
    with tenancy.using_tenant(acme.tenant) as active, connections[active.alias].cursor() as cursor:
        if connections[active.alias].vendor != vendor:
            pytest.skip(f"a {vendor} session setting")
        # a name from this file, never from input
        cursor.execute(f"PRAGMA {name}" if vendor == "sqlite" else f"SHOW {name}")
        return str(cursor.fetchone()[0])


def test_tenant_connections_price_random_reads_for_ssd_so_lookups_beat_scans(acme):
    assert session_setting(acme, "random_page_cost") == "1.1"


def test_tenant_connections_never_spend_time_compiling_queries(acme):
    assert session_setting(acme, "jit") == "off"


def test_tenant_connections_cancel_runaway_statements(acme):
    assert session_setting(acme, "statement_timeout") == "30s"


def test_sqlite_tenant_connections_read_through_a_memory_map_of_a_gibibyte(acme):
    assert session_setting(acme, "mmap_size", "sqlite") == str(2**30)


def test_sqlite_tenant_connections_use_the_write_ahead_log(acme):
    assert session_setting(acme, "journal_mode", "sqlite") == "wal"
