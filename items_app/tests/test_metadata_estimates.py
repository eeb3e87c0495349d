"""The planner knows which metadata names, types and values go together (``items_app.planner_statistics``).

A condition on one metadata value is three equalities on dependent columns (name, type, value); estimated as
if they were independent, a value that half the items hold looks like a handful of rows, and the lists' plans
go wrong at scale. Personas: ``owner`` (reggie) creates the items.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connections

from tenants_app import databases, tenancy
from testing.helpers import create_model

ITEMS = 100
CONDITION = "name_id = 'quantized' AND value_type = 'boolean' AND text = 'true'"


@pytest.fixture
def catalogue(acme, owner):
    """A hundred models, half quantized; nine other metadata names with values of their own."""
    for n in range(ITEMS):
        others = [{"name": f"note{i}", "value": f"v{n}-{i}"} for i in range(9)]
        create_model(owner, f"model-{n}", metadata=[{"name": "quantized", "value": n % 2 == 0}, *others])
    databases.analyze(acme.tenant.database)
    return acme


def statement(acme: Any, sql: str) -> list[Any]:
    with tenancy.using_tenant(acme.tenant) as active, connections[active.alias].cursor() as cursor:
        cursor.execute(sql)
        return cursor.fetchall() if cursor.description else []


def test_postgresql_estimates_a_metadata_value_from_its_name_type_and_value_together(catalogue):
    if connections["default"].vendor != "postgresql":
        pytest.skip("SQLite estimates from its indexes' statistics (the next test)")
    statement(catalogue, "ANALYZE items_metadataentry")  # as autovacuum would, given time
    (plan,) = statement(catalogue, f"EXPLAIN (FORMAT JSON) SELECT 1 FROM items_metadataentry WHERE {CONDITION}")[0]

    estimated = plan[0]["Plan"]["Plan Rows"]

    # Independent columns would give 10 % x 10 % x 5 % of 1,000 rows: one.
    assert ITEMS / 2 / 2 <= estimated <= ITEMS / 2 * 2


def test_sqlite_counts_the_rows_of_a_metadata_value_by_its_index_prefix(catalogue):
    if connections["default"].vendor != "sqlite":
        pytest.skip("PostgreSQL keeps column statistics (the previous test)")
    ((stat,),) = statement(catalogue, "SELECT stat FROM sqlite_stat1 WHERE idx = 'metadata_readers_string'")

    rows, per_name, per_kind, per_public, per_value, *_ = (int(number) for number in stat.split())

    # The string rows only (the index holds its type's rows), (name, kind, public, text) counted together: a
    # value is a few rows, not all its name's.
    assert rows == ITEMS * 9
    assert per_name == per_kind == per_public == ITEMS
    assert per_value < per_public
