"""``ItemLists``: an item's shares, tags, metadata and datasets in one row, always what their rows say.

Reads take an item's lists from that row (``related.load_related``); the rows stay the truth for filters,
counts and concurrent edits. These tests check, after every kind of write, that the stored copy equals what
is read from the rows, and that an item without it (an archive from before it) still reads right.
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest
from django.db import connections
from django.db.migrations.loader import MigrationLoader
from rest_framework.test import APIClient

from items_app import generation
from items_app.models import Item, ItemLists
from items_app.related import Related, lists_from_rows
from tenants_app import tenancy
from testing.helpers import create_dataset, create_model


def stored_and_read(acme: Any, pk: str) -> tuple[Any, Any]:
    """The item's lists as stored, and as read from its rows now."""
    with tenancy.using_tenant(acme.tenant):
        item = Item.objects.get(pk=pk)
        return ItemLists.objects.get(item=item).content, lists_from_rows(item)


@pytest.fixture
def census(owner: APIClient) -> dict[str, Any]:
    return create_dataset(owner, "census", visibility="public")


@pytest.fixture
def churn(acme: Any, owner: APIClient, census: dict[str, Any]) -> dict[str, Any]:
    acme.add_user("paula")
    return create_model(
        owner,
        "churn",
        users=["olive"],
        tags=["tabular", "baseline"],
        datasets=[census["_id"]],
        metadata=[{"name": "accuracy", "value": 0.91}, {"name": "optimizer", "value": "adam"}],
    )


def test_a_create_writes_the_lists_its_rows_say(acme, churn, census):
    stored, read = stored_and_read(acme, churn["_id"])
    assert stored == read
    assert stored == {
        "users": ["olive"],
        "tags": ["baseline", "tabular"],
        "metadata": [["accuracy", "number", "0.91"], ["optimizer", "string", "adam"]],
        "datasets": [census["_id"]],
    }


@pytest.mark.parametrize(
    "change",
    [
        {"users": {"add": ["paula"]}},
        {"users": {"remove": ["olive"]}},
        {"users": ["paula"]},
        {"tags": {"remove": ["baseline"], "add": ["fraud"]}},
        {"tags": []},
        {"metadata": {"add": [{"name": "accuracy", "value": 0.95}, {"name": "epochs", "value": 12}]}},
        {"metadata": {"remove": ["optimizer"]}},
        {"metadata": [{"name": "loss", "value": 0.2}]},
        {"datasets": []},
        {"datasets": {"remove": ["{census}"]}},
        {"description": "only a scalar", "status": "production"},
    ],
    ids=str,
)
def test_every_update_leaves_the_lists_equal_to_the_rows(acme, owner, churn, census, change):
    body = {name: _with_ids(value, census["_id"]) for name, value in change.items()}
    response = owner.put(f"/v1/models/{churn['_id']}", body, format="json")
    assert response.status_code == 200, response.content
    stored, read = stored_and_read(acme, churn["_id"])
    assert stored == read
    document = owner.get(f"/v1/models/{churn['_id']}").json()
    assert document == response.json()
    assert (document["users"], document["tags"], document["datasets"]) == (
        read["users"],
        read["tags"],
        read["datasets"],
    )


def _with_ids(value: Any, census_id: str) -> Any:
    if isinstance(value, dict):
        return {key: _with_ids(entries, census_id) for key, entries in value.items()}
    if isinstance(value, list):
        return [census_id if entry == "{census}" else entry for entry in value]
    return value


def test_a_deleted_user_leaves_the_lists_of_the_items_shared_with_them(acme, owner, admin, churn):
    assert admin.delete(f"/v1/users/{acme.user('olive').pk}").status_code == 200
    stored, read = stored_and_read(acme, churn["_id"])
    assert stored == read
    assert stored["users"] == []
    assert owner.get(f"/v1/models/{churn['_id']}").json()["users"] == []


def test_a_dataset_the_viewer_cannot_read_is_stored_but_not_in_their_document(acme, owner, reader):
    hidden = create_dataset(owner, "payroll")  # private: olive cannot read it
    fraud = create_model(owner, "fraud", users=["olive"], datasets=[hidden["_id"]])
    stored, _ = stored_and_read(acme, fraud["_id"])
    assert stored["datasets"] == [hidden["_id"]]
    assert owner.get(f"/v1/models/{fraud['_id']}").json()["datasets"] == [hidden["_id"]]
    assert reader.get(f"/v1/models/{fraud['_id']}").json()["datasets"] == []


def test_an_item_restored_without_its_lists_reads_its_rows(acme, owner, reader, churn):
    before = reader.get(f"/v1/models/{churn['_id']}").json()
    with tenancy.using_tenant(acme.tenant), generation.changing():
        ItemLists.objects.filter(item_id=churn["_id"]).delete()
        Item.objects.filter(pk=churn["_id"]).update(revision=99)  # a new revision: not served from the cache
    assert reader.get(f"/v1/models/{churn['_id']}").json() == before
    assert owner.get("/v1/models").json()["docs"][0] == owner.get(f"/v1/models/{churn['_id']}").json()


def test_the_upgrade_writes_the_lists_of_existing_items(acme, churn, census):
    """Migration 0010 stores the lists of the items that existed before it, as the writes do."""
    with tenancy.using_tenant(acme.tenant) as active, generation.changing():
        ItemLists.objects.all().delete()
        connection = connections[active.alias]
        migration = MigrationLoader(connection).get_migration("items", "0010_item_lists")
        migration.operations[-1].code(
            MigrationLoader(connection).project_state().apps, SimpleNamespace(connection=connection)
        )
        for item in Item.objects.all():
            # (It also writes an empty "datasets" for datasets, as the writes did then; reading ignores it.)
            upgraded = Related.from_stored(item.kind, ItemLists.objects.get(item=item).content)
            assert upgraded.stored() == lists_from_rows(item)
        assert ItemLists.objects.get(item_id=churn["_id"]).content["datasets"] == [census["_id"]]
