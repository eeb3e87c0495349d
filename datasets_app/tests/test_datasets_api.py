"""``/v1/datasets`` (contract §4, with the permissions of §1.2 and the errors of §1.3).

Personas: ``reggie`` owns the datasets (``owner``), ``olive`` is the shared reader when a dataset is shared
with her, ``oscar`` is an outsider of the same tenant, ``ada`` is acme's admin and ``gus`` belongs to globex.
"""

from __future__ import annotations

import re

import pytest

from items_app.models import Item, ItemTag, Lineage, MetadataEntry, Share
from tenants_app.models import AuditEntry, User
from testing.helpers import error_of
from testing.items import (
    assert_utc_timestamp,
    create_dataset,
    create_model,
    details_of,
    entries_about,
    log_of,
    metadata_of,
    names_in,
)

OBJECT_ID = re.compile(r"^[0-9a-f]{24}$")
DATASET_KEYS = {
    "_id",
    "name",
    "owner",
    "visibility",
    "users",
    "metadata",
    "tags",
    "description",
    "versions",
    "timestamp",
    "lastmod",
}


# ------------------------------------------------------------------ create


def test_creating_a_dataset_answers_201_with_the_read_shape_and_defaults(acme):
    owner = acme.client("reggie")

    response = owner.post("/v1/datasets", {"name": "customers"}, format="json")

    assert response.status_code == 201, response.content
    body = response.json()
    assert set(body) == DATASET_KEYS
    assert "status" not in body
    assert "datasets" not in body
    assert OBJECT_ID.match(body["_id"])
    assert body["name"] == "customers"
    assert body["owner"] == "reggie"
    assert body["visibility"] == "private"
    assert body["users"] == []
    assert body["metadata"] == []
    assert body["tags"] == []
    assert body["description"] == ""
    assert body["versions"] == []
    assert_utc_timestamp(body["timestamp"])
    assert_utc_timestamp(body["lastmod"])
    assert acme.count(Item, pk=body["_id"], kind="dataset", owner__username="reggie", name="customers") == 1


def test_a_created_dataset_keeps_everything_it_was_given(acme):
    owner = acme.client("reggie")

    body = create_dataset(
        owner,
        visibility="public",
        users=["olive"],
        metadata=[
            {"name": "rows", "value": 120000},
            {"name": "fraction", "value": 0.25},
            {"name": "anonymised", "value": False},
            {"name": "licence", "value": "CC-BY-4.0"},
        ],
        tags=["tabular", "customers"],
        description="Everyone who bought something.",
    )

    assert body["visibility"] == "public"
    assert body["users"] == ["olive"]
    assert body["metadata"] == [
        {"name": "rows", "value": 120000},
        {"name": "fraction", "value": 0.25},
        {"name": "anonymised", "value": False},
        {"name": "licence", "value": "CC-BY-4.0"},
    ]
    values = metadata_of(body)
    assert type(values["rows"]) is int
    assert values["anonymised"] is False
    assert sorted(body["tags"]) == ["customers", "tabular"]
    assert body["description"] == "Everyone who bought something."
    assert acme.count(Share, item_id=body["_id"], user__username="olive") == 1
    assert acme.count(ItemTag, item_id=body["_id"]) == 2
    assert acme.count(MetadataEntry, item_id=body["_id"]) == 4


def test_the_created_dataset_reads_back_the_same(acme):
    owner = acme.client("reggie")
    created = create_dataset(owner, tags=["a"], metadata=[{"name": "rows", "value": 10}], users=["olive"])

    response = owner.get(f"/v1/datasets/{created['_id']}")

    assert response.status_code == 200, response.content
    assert response.json() == created


@pytest.mark.parametrize(
    "field", ["status", "datasets", "_id", "owner", "versions", "timestamp", "lastmod", "kind", "colour"]
)
def test_fields_datasets_do_not_have_are_refused_by_name(acme, field):
    owner = acme.client("reggie")

    response = owner.post("/v1/datasets", {"name": "customers", field: "x"}, format="json")

    assert error_of(response) == (400, "post_request_error")
    assert field in details_of(response)
    assert acme.count(Item) == 0


def test_a_name_is_unique_per_owner(acme):
    owner = acme.client("reggie")
    create_dataset(owner, "customers")

    response = owner.post("/v1/datasets", {"name": "customers"}, format="json")

    assert error_of(response) == (409, "conflict")
    assert "name" in details_of(response)
    assert acme.count(Item, kind="dataset", name="customers") == 1


def test_two_owners_may_use_the_same_name(acme):
    owner = acme.client("reggie")
    create_dataset(owner, "customers")

    body = create_dataset(acme.client("olive"), "customers")

    assert body["owner"] == "olive"
    assert acme.count(Item, kind="dataset", name="customers") == 2


def test_a_model_and_a_dataset_of_one_owner_may_share_a_name(acme):
    owner = acme.client("reggie")
    create_model(owner, "churn")

    create_dataset(owner, "churn")

    assert acme.count(Item, name="churn", owner__username="reggie") == 2


def test_an_invalid_visibility_is_refused(acme):
    owner = acme.client("reggie")

    response = owner.post("/v1/datasets", {"name": "customers", "visibility": "secret"}, format="json")

    assert error_of(response) == (400, "post_request_error")
    assert "visibility" in details_of(response)
    assert acme.count(Item) == 0


def test_shared_users_must_exist_in_the_tenant(acme, globex):
    owner = acme.client("reggie")

    unknown = owner.post("/v1/datasets", {"name": "customers", "users": ["nobody"]}, format="json")
    foreign = owner.post("/v1/datasets", {"name": "customers", "users": ["gus"]}, format="json")

    assert error_of(unknown) == (400, "post_request_error")
    assert "nobody" in details_of(unknown)
    assert error_of(foreign) == (400, "post_request_error")
    assert "gus" in details_of(foreign)
    assert acme.count(Item) == 0


def test_metadata_names_are_unique_within_a_dataset(acme):
    owner = acme.client("reggie")
    metadata = [{"name": "rows", "value": 1}, {"name": "rows", "value": 2}]

    response = owner.post("/v1/datasets", {"name": "customers", "metadata": metadata}, format="json")

    assert error_of(response) == (400, "post_request_error")
    assert "rows" in details_of(response)
    assert acme.count(Item) == 0


@pytest.mark.parametrize("value", [{"nested": 1}, ["a"], None])
def test_metadata_values_are_strings_numbers_or_booleans(acme, value):
    owner = acme.client("reggie")

    response = owner.post(
        "/v1/datasets", {"name": "customers", "metadata": [{"name": "rows", "value": value}]}, format="json"
    )

    assert error_of(response) == (400, "post_request_error")
    assert "metadata" in details_of(response)
    assert acme.count(Item) == 0


@pytest.mark.parametrize("tag", ["bell\x07tag", "x" * 65])
def test_tags_with_control_characters_or_over_64_characters_are_refused(acme, tag):
    owner = acme.client("reggie")

    response = owner.post("/v1/datasets", {"name": "customers", "tags": [tag]}, format="json")

    assert error_of(response) == (400, "post_request_error")
    assert "tags" in details_of(response)
    assert acme.count(Item) == 0


# ------------------------------------------------------------------ read


@pytest.mark.parametrize("reader_name", ["reggie", "olive", "ada"])
def test_owner_shared_reader_and_admin_read_a_private_dataset(acme, reader_name):
    owner = acme.client("reggie")
    dataset = create_dataset(owner, users=["olive"])

    response = acme.client(reader_name).get(f"/v1/datasets/{dataset['_id']}")

    assert response.status_code == 200, response.content
    assert response.json()["_id"] == dataset["_id"]


def test_an_outsider_gets_404_for_a_private_dataset(acme):
    owner = acme.client("reggie")
    dataset = create_dataset(owner, users=["olive"])
    acme.add_user("oscar")
    outsider = acme.client("oscar")

    assert error_of(outsider.get(f"/v1/datasets/{dataset['_id']}")) == (404, "resource_not_found")


def test_another_tenant_gets_404_for_a_dataset(acme, globex):
    owner = acme.client("reggie")
    dataset = create_dataset(owner, visibility="public")

    response = globex.client("gus").get(f"/v1/datasets/{dataset['_id']}")

    assert error_of(response) == (404, "resource_not_found")


@pytest.mark.parametrize("dataset_id", ["not-an-id", "0" * 24, "F" * 24])
def test_a_malformed_or_unknown_id_is_404(acme, dataset_id):
    owner = acme.client("reggie")

    assert error_of(owner.get(f"/v1/datasets/{dataset_id}")) == (404, "resource_not_found")


def test_a_model_is_not_found_under_datasets(acme):
    owner = acme.client("reggie")
    model = create_model(owner)

    assert error_of(owner.get(f"/v1/datasets/{model['_id']}")) == (404, "resource_not_found")


def test_a_public_dataset_is_readable_by_everyone_in_the_tenant_only(acme, globex):
    owner = acme.client("reggie")
    dataset = create_dataset(owner, visibility="public")
    acme.add_user("oscar")
    outsider = acme.client("oscar")

    assert outsider.get(f"/v1/datasets/{dataset['_id']}").status_code == 200
    assert error_of(globex.client("gus").get(f"/v1/datasets/{dataset['_id']}")) == (404, "resource_not_found")


def test_lists_hold_only_the_datasets_the_caller_can_read(acme, globex):
    owner = acme.client("reggie")
    create_dataset(owner, "private")
    create_dataset(owner, "public", visibility="public")
    create_dataset(owner, "shared", users=["olive"])
    create_dataset(acme.client("olive"), "olives")
    acme.add_user("oscar")
    outsider = acme.client("oscar")

    assert names_in(outsider.get("/v1/datasets")) == ["public"]
    assert outsider.get("/v1/datasets").json()["totalDocs"] == 1
    assert names_in(acme.client("olive").get("/v1/datasets")) == ["olives", "public", "shared"]
    assert acme.client("olive").get("/v1/datasets").json()["totalDocs"] == 3
    assert names_in(acme.client("ada").get("/v1/datasets")) == ["olives", "private", "public", "shared"]
    assert globex.client("gus").get("/v1/datasets").json()["totalDocs"] == 0


def test_the_dataset_list_holds_no_models(acme):
    owner = acme.client("reggie")
    create_model(owner, "churn")
    create_dataset(owner, "customers")

    assert names_in(owner.get("/v1/datasets")) == ["customers"]


# ------------------------------------------------------------------ update


def test_the_owner_sets_scalars_and_changes_lists(acme):
    owner = acme.client("reggie")
    dataset = create_dataset(owner, tags=["a", "b"], metadata=[{"name": "rows", "value": 1}], users=["olive"])
    acme.add_user("oscar")

    response = owner.put(
        f"/v1/datasets/{dataset['_id']}",
        {
            "name": "customers-2024",
            "visibility": "public",
            "description": "Refreshed.",
            "tags": {"remove": ["a"], "add": ["c", "b"]},
            "users": {"remove": ["olive"], "add": ["oscar"]},
            "metadata": {"remove": ["missing"], "add": [{"name": "rows", "value": 2}]},
        },
        format="json",
    )

    assert response.status_code == 200, response.content
    body = response.json()
    assert set(body) == DATASET_KEYS
    assert (body["name"], body["visibility"], body["description"]) == ("customers-2024", "public", "Refreshed.")
    assert sorted(body["tags"]) == ["b", "c"]
    assert body["users"] == ["oscar"]
    assert body["metadata"] == [{"name": "rows", "value": 2}]
    assert acme.count(Item, pk=dataset["_id"], name="customers-2024", visibility="public") == 1
    assert acme.count(ItemTag, item_id=dataset["_id"]) == 2
    assert acme.count(MetadataEntry, item_id=dataset["_id"]) == 1


def test_plain_arrays_replace_whole_lists(acme):
    owner = acme.client("reggie")
    dataset = create_dataset(owner, tags=["a", "b"], metadata=[{"name": "rows", "value": 1}])

    response = owner.put(
        f"/v1/datasets/{dataset['_id']}",
        {"tags": ["z"], "metadata": [{"name": "size", "value": "1 GB"}]},
        format="json",
    )

    assert response.status_code == 200, response.content
    assert response.json()["tags"] == ["z"]
    assert response.json()["metadata"] == [{"name": "size", "value": "1 GB"}]
    assert acme.count(ItemTag, item_id=dataset["_id"]) == 1
    assert acme.count(MetadataEntry, item_id=dataset["_id"]) == 1


@pytest.mark.parametrize(("field", "value"), [("status", "test"), ("datasets", []), ("owner", "olive"), ("x", 1)])
def test_fields_datasets_do_not_have_are_refused_in_an_update(acme, field, value):
    owner = acme.client("reggie")
    dataset = create_dataset(owner)

    response = owner.put(f"/v1/datasets/{dataset['_id']}", {"description": "changed", field: value}, format="json")

    assert error_of(response) == (400, "put_request_error")
    assert field in details_of(response)
    assert acme.count(Item, pk=dataset["_id"], description="") == 1


def test_an_empty_body_is_refused(acme):
    owner = acme.client("reggie")
    dataset = create_dataset(owner)

    assert error_of(owner.put(f"/v1/datasets/{dataset['_id']}", {}, format="json")) == (400, "put_request_error")


def test_renaming_onto_another_dataset_of_the_same_owner_is_a_conflict(acme):
    owner = acme.client("reggie")
    create_dataset(owner, "taken")
    dataset = create_dataset(owner, "customers")

    response = owner.put(f"/v1/datasets/{dataset['_id']}", {"name": "taken"}, format="json")

    assert error_of(response) == (409, "conflict")
    assert acme.count(Item, pk=dataset["_id"], name="customers") == 1


def test_an_outsider_cannot_update_a_dataset_and_learns_nothing(acme):
    owner = acme.client("reggie")
    dataset = create_dataset(owner)
    acme.add_user("oscar")
    outsider = acme.client("oscar")

    response = outsider.put(f"/v1/datasets/{dataset['_id']}", {"description": "mine"}, format="json")

    assert error_of(response) == (404, "resource_not_found")
    assert acme.count(Item, pk=dataset["_id"], description="") == 1


def test_another_tenant_cannot_update_a_dataset(acme, globex):
    owner = acme.client("reggie")
    dataset = create_dataset(owner, visibility="public")

    response = globex.client("gus").put(f"/v1/datasets/{dataset['_id']}", {"description": "mine"}, format="json")

    assert error_of(response) == (404, "resource_not_found")
    assert acme.count(Item, pk=dataset["_id"], description="") == 1


def test_a_shared_reader_cannot_update_a_dataset(acme):
    owner = acme.client("reggie")
    dataset = create_dataset(owner, users=["olive"])
    shared_reader = acme.client("olive")

    response = shared_reader.put(f"/v1/datasets/{dataset['_id']}", {"description": "mine"}, format="json")

    assert error_of(response) == (403, "restricted_access_modify")
    assert acme.count(Item, pk=dataset["_id"], description="") == 1


def test_an_admin_updates_any_dataset(acme):
    owner = acme.client("reggie")
    dataset = create_dataset(owner)

    response = acme.client("ada").put(f"/v1/datasets/{dataset['_id']}", {"visibility": "public"}, format="json")

    assert response.status_code == 200, response.content
    assert acme.count(Item, pk=dataset["_id"], visibility="public", owner__username="reggie") == 1


# ------------------------------------------------------------------ delete


def test_the_owner_deletes_a_dataset_and_its_rows(acme):
    owner = acme.client("reggie")
    dataset = create_dataset(owner, users=["olive"], tags=["a"], metadata=[{"name": "rows", "value": 3}])
    before = owner.get(f"/v1/datasets/{dataset['_id']}").json()

    response = owner.delete(f"/v1/datasets/{dataset['_id']}")

    assert response.status_code == 200, response.content
    assert response.json() == before
    assert acme.count(Item, pk=dataset["_id"]) == 0
    assert acme.count(ItemTag, item_id=dataset["_id"]) == 0
    assert acme.count(MetadataEntry, item_id=dataset["_id"]) == 0
    assert acme.count(Share, item_id=dataset["_id"]) == 0
    assert error_of(owner.get(f"/v1/datasets/{dataset['_id']}")) == (404, "resource_not_found")


def test_a_shared_reader_cannot_delete_a_dataset(acme):
    owner = acme.client("reggie")
    dataset = create_dataset(owner, users=["olive"])
    shared_reader = acme.client("olive")

    response = shared_reader.delete(f"/v1/datasets/{dataset['_id']}")

    assert error_of(response) == (403, "restricted_access_delete")
    assert acme.count(Item, pk=dataset["_id"]) == 1


def test_an_outsider_cannot_delete_a_dataset_and_learns_nothing(acme):
    owner = acme.client("reggie")
    dataset = create_dataset(owner)
    acme.add_user("oscar")
    outsider = acme.client("oscar")

    assert error_of(outsider.delete(f"/v1/datasets/{dataset['_id']}")) == (404, "resource_not_found")
    assert acme.count(Item, pk=dataset["_id"]) == 1


def test_another_tenant_cannot_delete_a_dataset(acme, globex):
    owner = acme.client("reggie")
    dataset = create_dataset(owner, visibility="public")

    response = globex.client("gus").delete(f"/v1/datasets/{dataset['_id']}")

    assert error_of(response) == (404, "resource_not_found")
    assert acme.count(Item, pk=dataset["_id"]) == 1


def test_an_admin_deletes_any_dataset(acme):
    owner = acme.client("reggie")
    dataset = create_dataset(owner)

    response = acme.client("ada").delete(f"/v1/datasets/{dataset['_id']}")

    assert response.status_code == 200, response.content
    assert acme.count(Item, pk=dataset["_id"]) == 0


def test_a_dataset_used_by_a_model_cannot_be_deleted(acme):
    owner = acme.client("reggie")
    dataset = create_dataset(owner)
    create_model(owner, "churn", datasets=[dataset["_id"]])

    response = owner.delete(f"/v1/datasets/{dataset['_id']}")

    assert error_of(response) == (409, "conflict")
    assert "churn" in details_of(response)
    assert acme.count(Item, pk=dataset["_id"]) == 1
    assert acme.count(Lineage, dataset_id=dataset["_id"]) == 1


def test_a_model_the_caller_cannot_read_is_not_named_when_a_dataset_is_in_use(acme):
    owner = acme.client("reggie")
    dataset = create_dataset(owner, visibility="public")
    acme.add_user("oscar")
    create_model(acme.client("oscar"), "oscars-secret-model", datasets=[dataset["_id"]])

    response = owner.delete(f"/v1/datasets/{dataset['_id']}")

    assert error_of(response) == (409, "conflict")
    assert "oscars-secret-model" not in details_of(response)
    assert "other model" in details_of(response)
    assert acme.count(Item, pk=dataset["_id"]) == 1


def test_an_admin_is_told_every_model_that_uses_a_dataset(acme):
    owner = acme.client("reggie")
    dataset = create_dataset(owner, visibility="public")
    acme.add_user("oscar")
    create_model(acme.client("oscar"), "oscars-model", datasets=[dataset["_id"]])
    create_model(owner, "reggies-model", datasets=[dataset["_id"]])

    response = acme.client("ada").delete(f"/v1/datasets/{dataset['_id']}")

    assert error_of(response) == (409, "conflict")
    assert "oscars-model" in details_of(response)
    assert "reggies-model" in details_of(response)


# ------------------------------------------------------------------ users who own or read datasets


def test_a_user_who_owns_datasets_cannot_be_deleted(acme):
    owner = acme.client("reggie")
    create_dataset(owner, "customers")

    response = acme.client("ada").delete(f"/v1/users/{acme.user('reggie').pk}")

    assert error_of(response) == (409, "conflict")
    assert "customers" in details_of(response)
    assert acme.count(User, username="reggie") == 1


def test_deleting_a_user_drops_them_from_share_lists(acme):
    owner = acme.client("reggie")
    dataset = create_dataset(owner, users=["olive"])
    olive_id = acme.user("olive").pk

    response = acme.client("ada").delete(f"/v1/users/{olive_id}")

    assert response.status_code == 200, response.content
    assert acme.count(Share, item_id=dataset["_id"]) == 0
    assert owner.get(f"/v1/datasets/{dataset['_id']}").json()["users"] == []


# ------------------------------------------------------------------ audit log


def test_creating_updating_sharing_and_deleting_a_dataset_are_logged(acme):
    owner = acme.client("reggie")
    admin = acme.client("ada")
    dataset = create_dataset(owner)
    url = f"/v1/datasets/{dataset['_id']}"
    assert owner.put(url, {"description": "changed"}, format="json").status_code == 200
    assert owner.put(url, {"users": {"add": ["olive"]}}, format="json").status_code == 200
    assert owner.delete(url).status_code == 200

    entries = log_of(admin)

    for action in ("create", "update", "share", "delete"):
        [entry] = entries_about(entries, action=action, resource="dataset", target=dataset["_id"])
        assert entry["actor"] == "reggie"
        assert entry["result"] == "success"
        assert acme.count(AuditEntry, action=action, resource="dataset", target=dataset["_id"]) == 1
