"""SQLite plans item lists from statistics that count every item, and that follow the items as they grow.

``tenants_app.databases.analyze`` samples large tables (``analysis_limit``), but a sampled index whose leading
column has two values (``kind``) would be recorded as matching ~1,000 rows, and SQLite would then walk every
item by kind to count a list instead of combining the visibility, owner and share indexes.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest
from django.db import DEFAULT_DB_ALIAS, connections

from framework.ids import new_object_id
from items_app import generation
from items_app.models import Item, Visibility
from tenants_app import databases, tenancy
from testing.helpers import create_model

ITEMS = 1500  # more than the sample of 1,000 rows per index


@pytest.fixture(autouse=True)
def sqlite_only() -> None:
    if connections[DEFAULT_DB_ALIAS].vendor != "sqlite":
        pytest.skip("PostgreSQL's autovacuum gathers the statistics there")


def index_statistics(acme: Any, index: str) -> list[int]:
    with tenancy.using_tenant(acme.tenant) as active, connections[active.alias].cursor() as cursor:
        cursor.execute("SELECT stat FROM sqlite_stat1 WHERE idx = %s", [index])
        (stat,) = cursor.fetchone()
    return [int(number) for number in stat.split()]


def test_the_items_table_is_analysed_in_full_so_kind_is_not_taken_for_selective(acme):
    with tenancy.using_tenant(acme.tenant), generation.changing():
        owner = acme.user("reggie")
        Item.objects.bulk_create(
            Item(id=new_object_id(), kind="model", name=f"model-{n}", owner=owner, visibility=Visibility.PUBLIC)
            for n in range(ITEMS)
        )
    databases.analyze(acme.tenant.database)
    rows, rows_per_kind, *_ = index_statistics(acme, "item_kind_visibility")
    assert (rows, rows_per_kind) == (ITEMS, ITEMS)


def test_statistics_are_refreshed_as_items_are_written_without_a_restart(acme, monkeypatch):
    monkeypatch.setattr(databases, "WRITES_PER_ANALYSIS", 3)
    monkeypatch.setattr(databases, "_write_counts", Counter())
    owner = acme.client("reggie")
    for number in range(3):
        create_model(owner, f"model-{number}")

    rows, rows_per_kind, *_ = index_statistics(acme, "item_kind_visibility")

    assert (rows, rows_per_kind) == (3, 3)
