"""Lineage (datasets_app/lineage.py): the ``datasets`` a kind's items are trained on, and the 409 for a dataset
still in use. Each test runs once per kind trained on datasets (``trained_kind``, testing/kinds.py).

Personas: ``owner`` (reggie) owns the items, ``reader`` (olive) is the user an item is shared with,
``outsider`` (oscar) was given nothing, ``admin`` (ada) is acme's admin.
"""

from __future__ import annotations

import json
from typing import Any

from items_app.models import Item, Lineage
from testing.helpers import create_dataset, details_of, error_of

MISSING = "0123456789abcdef01234567"


def matching(kind: Any, client: Any, document: Any) -> list[str]:
    response = client.get(kind.api, {"filter": json.dumps(document), "limit": "100"})
    assert response.status_code == 200, response.content
    return sorted(doc["name"] for doc in response.json()["docs"])


# ------------------------------------------------------------------ naming datasets


def test_a_created_item_keeps_its_datasets(acme, owner, trained_kind):
    dataset = create_dataset(owner)

    body = trained_kind.create(owner, datasets=[dataset["_id"]])

    assert body["datasets"] == [dataset["_id"]]
    assert acme.count(Lineage, model_id=body["_id"], dataset_id=dataset["_id"]) == 1


def test_datasets_read_back_as_created_in_the_same_order(owner, trained_kind):
    datasets = [create_dataset(owner, f"data-{n}", visibility="public")["_id"] for n in range(3)]
    created = trained_kind.create(owner, datasets=[datasets[2], datasets[0], datasets[1], datasets[0]])

    response = owner.get(trained_kind.url(created))

    assert response.status_code == 200, response.content
    assert response.json() == created


def test_a_referenced_dataset_must_exist(acme, owner, trained_kind):
    response = owner.post(trained_kind.api, {"name": "churn", "datasets": [MISSING]}, format="json")

    assert error_of(response) == (400, "post_request_error")
    assert MISSING in details_of(response)
    assert acme.count(Item) == 0


def test_another_users_private_dataset_cannot_be_referenced(acme, owner, reader, trained_kind):
    hidden = create_dataset(reader, "olives-private")

    response = owner.post(trained_kind.api, {"name": "churn", "datasets": [hidden["_id"]]}, format="json")

    assert error_of(response) == (400, "post_request_error")
    assert hidden["_id"] in details_of(response)
    assert acme.count(Item, kind=trained_kind.value) == 0
    assert acme.count(Lineage) == 0


def test_datasets_shared_with_the_caller_or_public_can_be_referenced(owner, reader, trained_kind):
    shared = create_dataset(reader, "shared-with-reggie", users=["reggie"])
    public = create_dataset(reader, "public", visibility="public")

    body = trained_kind.create(owner, datasets=[shared["_id"], public["_id"]])

    assert sorted(body["datasets"]) == sorted([shared["_id"], public["_id"]])


def test_an_item_that_is_not_a_dataset_cannot_be_referenced(acme, owner, trained_kind):
    other = trained_kind.create(owner, "first")

    response = owner.post(trained_kind.api, {"name": "second", "datasets": [other["_id"]]}, format="json")

    assert error_of(response) == (400, "post_request_error")
    assert other["_id"] in details_of(response)
    assert acme.count(Item, kind=trained_kind.value) == 1


def test_an_items_datasets_hide_datasets_the_viewer_cannot_read(owner, reader, trained_kind):
    private = create_dataset(owner, "private-data")
    public = create_dataset(owner, "public-data", visibility="public")
    item = trained_kind.create(owner, users=["olive"], datasets=[private["_id"], public["_id"]])

    seen_by_reader = reader.get(trained_kind.url(item)).json()
    listed_for_reader = reader.get(trained_kind.api).json()["docs"]
    seen_by_owner = owner.get(trained_kind.url(item)).json()

    assert seen_by_reader["datasets"] == [public["_id"]]
    assert [doc["datasets"] for doc in listed_for_reader] == [[public["_id"]]]
    assert sorted(seen_by_owner["datasets"]) == sorted([private["_id"], public["_id"]])


# ------------------------------------------------------------------ changing them


def test_adding_a_present_dataset_is_a_no_op(acme, owner, trained_kind):
    dataset = create_dataset(owner)
    item = trained_kind.create(owner, datasets=[dataset["_id"]])

    response = owner.put(trained_kind.url(item), {"datasets": {"add": [dataset["_id"]]}}, format="json")

    assert response.status_code == 200, response.content
    assert response.json()["datasets"] == [dataset["_id"]]
    assert acme.count(Lineage, model_id=item["_id"]) == 1


def test_datasets_are_added_and_removed(acme, owner, trained_kind):
    first = create_dataset(owner, "first")
    second = create_dataset(owner, "second")
    item = trained_kind.create(owner, datasets=[first["_id"]])

    response = owner.put(
        trained_kind.url(item), {"datasets": {"remove": [first["_id"]], "add": [second["_id"]]}}, format="json"
    )

    assert response.status_code == 200, response.content
    assert response.json()["datasets"] == [second["_id"]]
    assert acme.count(Lineage, model_id=item["_id"], dataset_id=first["_id"]) == 0
    assert acme.count(Lineage, model_id=item["_id"], dataset_id=second["_id"]) == 1


def test_a_plain_array_replaces_the_datasets(acme, owner, trained_kind):
    first = create_dataset(owner, "first")
    second = create_dataset(owner, "second")
    item = trained_kind.create(owner, datasets=[first["_id"]])

    response = owner.put(trained_kind.url(item), {"datasets": [second["_id"]]}, format="json")

    assert response.status_code == 200, response.content
    assert response.json()["datasets"] == [second["_id"]]
    assert acme.count(Lineage, model_id=item["_id"]) == 1


def test_an_update_cannot_reference_another_users_private_dataset(acme, owner, reader, trained_kind):
    hidden = create_dataset(reader, "olives-private")
    item = trained_kind.create(owner)

    response = owner.put(trained_kind.url(item), {"datasets": {"add": [hidden["_id"]]}}, format="json")

    assert error_of(response) == (400, "put_request_error")
    assert hidden["_id"] in details_of(response)
    assert acme.count(Lineage) == 0


# ------------------------------------------------------------------ deleting


def test_deleting_an_item_removes_its_lineage_but_not_its_datasets(acme, owner, trained_kind):
    dataset = create_dataset(owner)
    item = trained_kind.create(owner, datasets=[dataset["_id"]])

    assert owner.delete(trained_kind.url(item)).status_code == 200

    assert acme.count(Lineage, model_id=item["_id"]) == 0
    assert acme.count(Item, pk=dataset["_id"]) == 1


def test_deleting_an_item_frees_its_datasets(acme, owner, trained_kind):
    dataset = create_dataset(owner)
    item = trained_kind.create(owner, datasets=[dataset["_id"]])
    assert owner.delete(trained_kind.url(item)).status_code == 200

    response = owner.delete(f"/v1/datasets/{dataset['_id']}")

    assert response.status_code == 200, response.content
    assert acme.count(Item, pk=dataset["_id"]) == 0


def test_a_dataset_in_use_cannot_be_deleted(acme, owner, trained_kind):
    dataset = create_dataset(owner)
    trained_kind.create(owner, "churn", datasets=[dataset["_id"]])

    response = owner.delete(f"/v1/datasets/{dataset['_id']}")

    assert error_of(response) == (409, "conflict")
    assert "churn" in details_of(response)
    assert acme.count(Item, pk=dataset["_id"]) == 1
    assert acme.count(Lineage, dataset_id=dataset["_id"]) == 1


def test_an_item_the_caller_cannot_read_is_not_named_when_a_dataset_is_in_use(acme, owner, outsider, trained_kind):
    dataset = create_dataset(owner, visibility="public")
    trained_kind.create(outsider, "oscars-secret-model", datasets=[dataset["_id"]])

    response = owner.delete(f"/v1/datasets/{dataset['_id']}")

    assert error_of(response) == (409, "conflict")
    assert "oscars-secret-model" not in details_of(response)
    assert f"other {trained_kind.value}" in details_of(response)
    assert acme.count(Item, pk=dataset["_id"]) == 1


def test_an_admin_is_told_every_item_that_uses_a_dataset(owner, outsider, admin, trained_kind):
    dataset = create_dataset(owner, visibility="public")
    trained_kind.create(outsider, "oscars-model", datasets=[dataset["_id"]])
    trained_kind.create(owner, "reggies-model", datasets=[dataset["_id"]])

    response = admin.delete(f"/v1/datasets/{dataset['_id']}")

    assert error_of(response) == (409, "conflict")
    assert "oscars-model" in details_of(response)
    assert "reggies-model" in details_of(response)


# ------------------------------------------------------------------ filtering on them


def test_datasets_are_filtered_by_id(owner, trained_kind):
    used = create_dataset(owner, "used-data")
    unused = create_dataset(owner, "unused-data")
    trained_kind.create(owner, "trained", datasets=[used["_id"]])
    trained_kind.create(owner, "untrained")

    assert matching(trained_kind, owner, {"datasets": used["_id"]}) == ["trained"]
    assert matching(trained_kind, owner, {"datasets": unused["_id"]}) == []
    assert matching(trained_kind, owner, {"datasets": "used-data"}) == []


def test_a_dataset_the_caller_cannot_read_never_matches(admin, owner, reader, trained_kind):
    hidden = create_dataset(reader, "olives-data")
    open_data = create_dataset(reader, "open-data", visibility="public")
    trained_kind.create(admin, "trained-on-both", visibility="public", datasets=[hidden["_id"], open_data["_id"]])

    assert matching(trained_kind, owner, {"datasets": open_data["_id"]}) == ["trained-on-both"]
    assert matching(trained_kind, owner, {"datasets": hidden["_id"]}) == []
    assert matching(trained_kind, owner, {"datasets": {"$in": [hidden["_id"]]}}) == []
    assert matching(trained_kind, owner, {"datasets": {"$size": 2}}) == []
    assert matching(trained_kind, admin, {"datasets": hidden["_id"]}) == ["trained-on-both"]
