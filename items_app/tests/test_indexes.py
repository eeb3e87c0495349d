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


def partial(model: type[Any]) -> dict[str, Any]:
    """The model's partial indexes (of some rows only) by name, with their conditions."""
    return {index.name: index.condition for index in model._meta.indexes if index.condition is not None}


def test_every_foreign_key_of_the_item_tables_leads_an_index_of_every_row(acme):
    # a partial index does not serve a join, a cascade or a check that a vocabulary entry is unused
    for model in [Item, *ROW_TABLES]:
        leading = {columns[0] for name, columns in indexes_of(acme, model).items() if name not in partial(model)}
        for field in model._meta.concrete_fields:
            if field.is_relation:
                assert field.column in leading, f"{model.__name__}.{field.name} has no index to join or cascade by"


def test_no_index_of_the_item_row_tables_is_covered_by_another(acme):
    for model in ROW_TABLES:
        indexes, conditions = indexes_of(acme, model), partial(model)
        for name, columns in indexes.items():
            if columns == [model._meta.pk.column]:
                continue  # the primary key is needed whatever covers it
            covering = [
                other
                for other, wider in indexes.items()
                if other != name
                and wider[: len(columns)] == columns
                and conditions.get(other) in (None, conditions.get(name))  # of all rows, or of the same ones
            ]
            assert not covering, f"{model.__name__}: {name} {columns} is covered by {covering}"
