"""The item tables are indexed for every lookup they serve, and for nothing twice.

Every create writes one item row, 5 to 10 tag rows and 10 or so metadata rows, and each row updates every index
of its table: an index that another one already covers only makes writes slower.
"""

from __future__ import annotations

from typing import Any

from django.db import connections

from items_app.models import Item, ItemTag, Lineage, MetadataEntry, Share, Version
from tenants_app import tenancy

ROW_TABLES = [ItemTag, MetadataEntry, Share, Lineage, Version]


def indexes_of(acme: Any, model: type[Any]) -> dict[str, list[str]]:
    """Index or unique-constraint name → its columns, as the tenant database reports them."""
    with tenancy.using_tenant(acme.tenant) as active, connections[active.alias].cursor() as cursor:
        constraints = connections[active.alias].introspection.get_constraints(cursor, model._meta.db_table)
    return {
        name: details["columns"]
        for name, details in constraints.items()
        if (details["index"] or details["unique"]) and details["columns"]
    }


def test_every_foreign_key_of_the_item_tables_leads_an_index(acme):
    for model in [Item, *ROW_TABLES]:
        leading = {columns[0] for columns in indexes_of(acme, model).values()}
        for field in model._meta.concrete_fields:
            if field.is_relation:
                assert field.column in leading, f"{model.__name__}.{field.name} has no index to join or cascade by"


def test_no_index_of_the_item_row_tables_is_covered_by_another(acme):
    for model in ROW_TABLES:
        indexes = indexes_of(acme, model)
        for name, columns in indexes.items():
            if columns == [model._meta.pk.column]:
                continue  # the primary key is needed whatever covers it
            covering = [other for other, wider in indexes.items() if other != name and wider[: len(columns)] == columns]
            assert not covering, f"{model.__name__}: {name} {columns} is covered by {covering}"
