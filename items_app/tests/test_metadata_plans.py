"""Metadata filters read the reader index of their value type (``items_app.models.reader_indexes``).

The metadata rows' reader indexes are partial, one per value type; a filter reads one only when its SQL names
the type the way the index does (``framework.db.literals``). Conditions that name no type (``$exists``,
``$regex``, ``$not``) name each in turn (``framework.api.filtering.MetadataField.typed``). These tests
EXPLAIN the lists' own conditions over an analysed catalogue on both engines: a condition the indexes did not
serve would read every metadata row of every name. Personas: ``owner`` (reggie) owns the public catalogue.
"""

from __future__ import annotations

import functools
import json
from typing import Any

import pytest
from django.db import connections

from folksonomy_app.models import MetadataName
from items_app import generation
from items_app.models import Item, MetadataEntry, reader_copies
from items_app.tests.test_reader_copies import ONE_KIND
from tenants_app import databases, tenancy
from testing.helpers import analyzed_catalogue, filtered_items, index_plans

ITEMS = 3000
NOTES = [f"note{i}" for i in range(12)]
NUMBER, STRING, BOOLEAN = "metadata_readers_number", "metadata_readers_string", "metadata_readers_boolean"


@pytest.fixture
def catalogue(acme, kind):
    """3,000 public items, each with an accuracy (number), a framework (string), a quantized flag and twelve
    notes: one name's rows are a fifteenth of all, as in a catalogue of many names."""
    analyzed_catalogue(acme.tenant, acme.user("reggie"), kind.value, "planned", count=ITEMS)
    with tenancy.using_tenant(acme.tenant), generation.changing():
        names = ["accuracy", "framework", "quantized", *NOTES]
        MetadataName.objects.bulk_create(MetadataName(id=name) for name in names)
        MetadataEntry.objects.bulk_create(
            row for n, item in enumerate(Item.objects.filter(kind=kind.value)) for row in metadata_of(n, item)
        )
    databases.analyze(acme.tenant.database)
    return acme


def metadata_of(n: int, item: Item) -> list[MetadataEntry]:
    copies = reader_copies(item)
    values = [
        ("accuracy", "number", str(n / ITEMS), n / ITEMS),
        ("framework", "string", ("pytorch", "onnx", "jax", "tf")[n % 4], None),
        ("quantized", "boolean", json.dumps(n % 7 == 0), None),
        *((note, "string", f"{note}-{n}", None) for note in NOTES),
    ]
    return [
        MetadataEntry(item=item, name_id=name, value_type=value_type, text=text, number=number, **copies)
        for name, value_type, text, number in values
    ]


def plan(acme: Any, kind: Any, document: dict[str, Any]) -> str:
    """The plan of the items of ``kind`` the list's filter translation of ``document`` selects."""
    with tenancy.using_tenant(acme.tenant) as active, index_plans(active.alias):
        return filtered_items(acme, kind.value, document).values("pk").explain()


def reads_every_metadata_row(explained: str) -> bool:
    """Whether a plan reads a metadata table whole: SQLite scans a subquery's table (``SCAN U0``, the items
    themselves are ``items_item``), PostgreSQL scans the table or walks an index it has no condition on."""
    if connections["default"].vendor == "sqlite":
        return "SCAN U" in explained
    return "Seq Scan on items_metadataentry" in explained or "metadata_name_unique_per_item" in explained


@ONE_KIND
@pytest.mark.parametrize(
    ("document", "indexes"),
    [
        ({"metadata.accuracy": {"$gte": 0.9}}, {NUMBER}),
        ({"metadata.accuracy": {"$gt": 0.2, "$lt": 0.3}}, {NUMBER}),
        ({"metadata.framework": "onnx"}, {STRING}),
        ({"metadata.framework": {"$gte": "p"}}, {STRING}),
        ({"metadata.quantized": True}, {BOOLEAN}),
        ({"metadata.framework": {"$in": ["onnx", "jax"]}}, {STRING}),
        ({"metadata.framework": {"$in": ["onnx", 3]}}, {STRING, NUMBER}),
        ({"$or": [{"metadata.framework": "onnx"}, {"metadata.accuracy": {"$lt": 0.1}}]}, {STRING, NUMBER}),
        ({"metadata": {"$elemMatch": {"name": "framework", "value": "jax"}}}, {STRING}),
        ({"metadata.framework": {"$exists": True}}, {NUMBER, STRING, BOOLEAN}),
        ({"metadata.framework": {"$regex": "^py"}}, {NUMBER, STRING, BOOLEAN}),
        ({"metadata.accuracy": {"$not": {"$gte": 0.5}}}, {NUMBER, STRING, BOOLEAN}),
    ],
)
def test_a_metadata_filter_reads_the_reader_index_of_its_value_type(catalogue, kind, document, indexes):
    explained = plan(catalogue, kind, document)

    assert {index for index in (NUMBER, STRING, BOOLEAN) if index in explained} == indexes, explained
    assert not reads_every_metadata_row(explained), explained


def reads_from_the_index_alone(explained: str, index: str) -> bool:
    """Whether the plan reads ``index`` without the table's rows (a covering index, an index-only scan)."""
    if connections["default"].vendor == "sqlite":
        return f"COVERING INDEX {index}" in explained
    return f"Index Only Scan using {index}" in explained


@ONE_KIND
@pytest.mark.parametrize(
    ("document", "index"),
    [
        ({"metadata.accuracy": {"$gte": 0.9}}, NUMBER),
        ({"metadata.framework": "onnx"}, STRING),
        ({"metadata.framework": {"$in": ["onnx", "jax"]}}, STRING),
        ({"metadata.quantized": True}, BOOLEAN),
    ],
)
def test_a_metadata_filter_of_one_type_reads_its_index_alone(catalogue, kind, document, index):
    # SQLite 3.40 takes a partial index as covering only if it holds the columns of its own condition too
    explained = plan(catalogue, kind, document)

    assert reads_from_the_index_alone(explained, index), explained


@pytest.mark.parametrize(("index", "compared"), [(NUMBER, "number"), (STRING, "text"), (BOOLEAN, "text")])
def test_a_reader_index_leads_with_the_columns_a_filter_bounds(acme, index, compared):
    # A filter bounds name, kind, public flag and value. PostgreSQL leaves the condition a partial index
    # implies (value_type) out of the bounds of its reading: a key column before the value without a bound
    # of its own (value_type second) made a range read every row of the name (issue 18: 1,740 rows of 100,000
    # in 10 ms at 100k). SQLite needs the column in the index all the same, to read it alone (above).
    with tenancy.using_tenant(acme.tenant) as active, connections[active.alias].cursor() as cursor:
        constraints = connections[active.alias].introspection.get_constraints(cursor, MetadataEntry._meta.db_table)

    assert constraints[index]["columns"][:4] == ["name_id", "kind", "public", compared]
    assert "value_type" in constraints[index]["columns"]


def generic_plan(acme: Any, kind: Any, document: dict[str, Any]) -> str:
    """PostgreSQL's generic plan of the list's condition, as a statement prepared and run more than five
    times on a connection may get (settings.py: ``prepare_threshold``): planned without its parameters."""
    with tenancy.using_tenant(acme.tenant) as active, connections[active.alias].cursor() as cursor:
        sql, params = filtered_items(acme, kind.value, document).values("pk").query.sql_with_params()
        numbered = functools.reduce(lambda text, n: text.replace("%s", f"${n}", 1), range(1, len(params) + 1), sql)
        cursor.execute(f"PREPARE generic_probe AS {numbered}")
        try:
            cursor.execute("SET plan_cache_mode = force_generic_plan")
            # the values written out: bound, EXECUTE's arguments would have no type to take
            values = ", ".join(["%s"] * len(params))
            cursor.execute(
                connections[active.alias].ops.compose_sql(f"EXPLAIN EXECUTE generic_probe({values})", params)
            )
            return str(cursor.fetchall())
        finally:
            cursor.execute("RESET plan_cache_mode")
            cursor.execute("DEALLOCATE generic_probe")


@ONE_KIND
@pytest.mark.parametrize(
    ("document", "index"),
    [({"metadata.accuracy": {"$gte": 0.9}}, NUMBER), ({"metadata.framework": "onnx"}, STRING)],
)
def test_a_prepared_metadata_filter_reads_its_index_without_knowing_its_values(catalogue, kind, document, index):
    if connections["default"].vendor != "postgresql":
        pytest.skip("SQLite plans every statement with its values")

    explained = generic_plan(catalogue, kind, document)

    assert index in explained, explained
    assert not reads_every_metadata_row(explained), explained
