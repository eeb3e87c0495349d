"""``/v1/models`` (contract §4, with the permissions of §1.2 and the errors of §1.3).

Personas: ``reggie`` owns the models (``owner``), ``olive`` is the shared reader when a model is shared with
her, ``oscar`` is an outsider of the same tenant, ``ada`` is acme's admin and ``gus`` belongs to globex.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from django.db import connections
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from folksonomy_app.models import MetadataName, Tag
from items_app.models import Item, ItemTag, Lineage, MetadataEntry, Share
from tenants_app.databases import alias_for
from tenants_app.models import AuditEntry, User
from testing.helpers import assert_logged_inside_its_transaction, error_of, run_together
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
MODEL_KEYS = {
    "_id",
    "name",
    "owner",
    "status",
    "visibility",
    "users",
    "datasets",
    "metadata",
    "tags",
    "description",
    "versions",
    "timestamp",
    "lastmod",
}


def put_as(token: str, url: str, body: dict[str, Any]) -> Callable[[], Any]:
    def call() -> Any:
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=token)
        return client.put(url, body, format="json")

    return call


def post_as(token: str, url: str, body: dict[str, Any]) -> Callable[[], Any]:
    def call() -> Any:
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=token)
        return client.post(url, body, format="json")

    return call


# ------------------------------------------------------------------ create


def test_creating_a_model_answers_201_with_the_read_shape_and_defaults(acme):
    owner = acme.client("reggie")

    response = owner.post("/v1/models", {"name": "churn"}, format="json")

    assert response.status_code == 201, response.content
    body = response.json()
    assert set(body) == MODEL_KEYS
    assert OBJECT_ID.match(body["_id"])
    assert body["name"] == "churn"
    assert body["owner"] == "reggie"
    assert body["status"] == "training"
    assert body["visibility"] == "private"
    assert body["users"] == []
    assert body["datasets"] == []
    assert body["metadata"] == []
    assert body["tags"] == []
    assert body["description"] == ""
    assert body["versions"] == []
    assert_utc_timestamp(body["timestamp"])
    assert_utc_timestamp(body["lastmod"])
    assert acme.count(Item, pk=body["_id"], kind="model", owner__username="reggie", name="churn") == 1


def test_a_created_model_keeps_everything_it_was_given(acme):
    owner = acme.client("reggie")
    dataset = create_dataset(owner)

    body = create_model(
        owner,
        status="test",
        visibility="public",
        users=["olive"],
        datasets=[dataset["_id"]],
        metadata=[
            {"name": "accuracy", "value": 0.93},
            {"name": "epochs", "value": 12},
            {"name": "calibrated", "value": True},
            {"name": "framework", "value": "onnx"},
            {"name": "threshold", "value": "0.5"},
        ],
        tags=["tabular", "baseline"],
        description="Predicts who leaves.",
    )

    assert body["status"] == "test"
    assert body["visibility"] == "public"
    assert body["users"] == ["olive"]
    assert body["datasets"] == [dataset["_id"]]
    assert body["metadata"] == [
        {"name": "accuracy", "value": 0.93},
        {"name": "epochs", "value": 12},
        {"name": "calibrated", "value": True},
        {"name": "framework", "value": "onnx"},
        {"name": "threshold", "value": "0.5"},
    ]
    values = metadata_of(body)
    assert type(values["epochs"]) is int
    assert values["calibrated"] is True
    assert type(values["threshold"]) is str
    assert sorted(body["tags"]) == ["baseline", "tabular"]
    assert body["description"] == "Predicts who leaves."
    assert acme.count(Share, item_id=body["_id"], user__username="olive") == 1
    assert acme.count(Lineage, model_id=body["_id"], dataset_id=dataset["_id"]) == 1
    assert acme.count(ItemTag, item_id=body["_id"]) == 2
    assert acme.count(MetadataEntry, item_id=body["_id"]) == 5


def test_the_created_model_reads_back_the_same(acme):
    """The create response is built from the rows just written, not read back: it must match a read exactly."""
    acme.add_user("Zed")
    acme.add_user("anna")
    owner = acme.client("reggie")
    datasets = [create_dataset(owner, f"data-{n}", visibility="public")["_id"] for n in range(3)]
    created = create_model(
        owner,
        tags=["zeta", "Beta", "älpha", "alpha", "zeta"],
        metadata=[
            {"name": "loss", "value": 0.25},
            {"name": "accuracy", "value": 0.5},
            {"name": "calibrated", "value": False},
            {"name": "framework", "value": "onnx"},
        ],
        users=["olive", "Zed", acme.user("anna").pk, "olive"],
        datasets=[datasets[2], datasets[0], datasets[1], datasets[0]],
    )

    response = owner.get(f"/v1/models/{created['_id']}")

    assert response.status_code == 200, response.content
    assert response.json() == created


def test_shared_users_can_be_named_by_id(acme):
    owner = acme.client("reggie")

    body = create_model(owner, users=[acme.user("olive").pk])

    assert body["users"] == ["olive"]


def test_a_name_is_unique_per_owner(acme):
    owner = acme.client("reggie")
    create_model(owner, "churn")

    response = owner.post("/v1/models", {"name": "churn"}, format="json")

    assert error_of(response) == (409, "conflict")
    assert "name" in details_of(response)
    assert acme.count(Item, kind="model", name="churn") == 1


def test_two_owners_may_use_the_same_name(acme):
    owner = acme.client("reggie")
    create_model(owner, "churn")

    body = create_model(acme.client("olive"), "churn")

    assert body["owner"] == "olive"
    assert acme.count(Item, kind="model", name="churn") == 2


@pytest.mark.parametrize("field", ["_id", "owner", "versions", "timestamp", "lastmod", "kind", "colour"])
def test_unknown_or_server_owned_fields_are_refused_by_name(acme, field):
    owner = acme.client("reggie")

    response = owner.post("/v1/models", {"name": "churn", field: "x"}, format="json")

    assert error_of(response) == (400, "post_request_error")
    assert field in details_of(response)
    assert acme.count(Item) == 0


def test_a_model_needs_a_name(acme):
    owner = acme.client("reggie")

    response = owner.post("/v1/models", {"status": "test"}, format="json")

    assert error_of(response) == (400, "post_request_error")
    assert "name" in details_of(response)
    assert acme.count(Item) == 0


@pytest.mark.parametrize(("field", "value"), [("status", "retired"), ("visibility", "secret")])
def test_an_invalid_status_or_visibility_is_refused(acme, field, value):
    owner = acme.client("reggie")

    response = owner.post("/v1/models", {"name": "churn", field: value}, format="json")

    assert error_of(response) == (400, "post_request_error")
    assert field in details_of(response)
    assert acme.count(Item) == 0


@pytest.mark.parametrize("status", ["training", "test", "production", "deploy"])
def test_every_documented_status_is_accepted(acme, status):
    owner = acme.client("reggie")

    assert create_model(owner, status=status)["status"] == status


def test_shared_users_must_exist_in_the_tenant(acme):
    owner = acme.client("reggie")

    response = owner.post("/v1/models", {"name": "churn", "users": ["olive", "nobody"]}, format="json")

    assert error_of(response) == (400, "post_request_error")
    assert "nobody" in details_of(response)
    assert acme.count(Item) == 0
    assert acme.count(Share) == 0


def test_a_user_of_another_tenant_cannot_be_shared_with(acme, globex):
    owner = acme.client("reggie")

    response = owner.post("/v1/models", {"name": "churn", "users": ["gus"]}, format="json")

    assert error_of(response) == (400, "post_request_error")
    assert "gus" in details_of(response)
    assert acme.count(Item) == 0


def test_a_referenced_dataset_must_exist(acme):
    owner = acme.client("reggie")
    missing = "0123456789abcdef01234567"

    response = owner.post("/v1/models", {"name": "churn", "datasets": [missing]}, format="json")

    assert error_of(response) == (400, "post_request_error")
    assert missing in details_of(response)
    assert acme.count(Item) == 0


def test_another_users_private_dataset_cannot_be_referenced(acme):
    owner = acme.client("reggie")
    hidden = create_dataset(acme.client("olive"), "olives-private")

    response = owner.post("/v1/models", {"name": "churn", "datasets": [hidden["_id"]]}, format="json")

    assert error_of(response) == (400, "post_request_error")
    assert hidden["_id"] in details_of(response)
    assert acme.count(Item, kind="model") == 0
    assert acme.count(Lineage) == 0


def test_datasets_shared_with_the_caller_or_public_can_be_referenced(acme):
    owner = acme.client("reggie")
    olive = acme.client("olive")
    shared = create_dataset(olive, "shared-with-reggie", users=["reggie"])
    public = create_dataset(olive, "public", visibility="public")

    body = create_model(owner, datasets=[shared["_id"], public["_id"]])

    assert sorted(body["datasets"]) == sorted([shared["_id"], public["_id"]])


def test_a_model_id_is_not_a_dataset(acme):
    owner = acme.client("reggie")
    other_model = create_model(owner, "first")

    response = owner.post("/v1/models", {"name": "second", "datasets": [other_model["_id"]]}, format="json")

    assert error_of(response) == (400, "post_request_error")
    assert other_model["_id"] in details_of(response)
    assert acme.count(Item, kind="model") == 1


def test_metadata_names_are_unique_within_a_model(acme):
    owner = acme.client("reggie")
    metadata = [{"name": "accuracy", "value": 0.9}, {"name": "accuracy", "value": 0.8}]

    response = owner.post("/v1/models", {"name": "churn", "metadata": metadata}, format="json")

    assert error_of(response) == (400, "post_request_error")
    assert "accuracy" in details_of(response)
    assert acme.count(Item) == 0


@pytest.mark.parametrize("value", [{"nested": 1}, [1, 2], None])
def test_metadata_values_are_strings_numbers_or_booleans(acme, value):
    owner = acme.client("reggie")
    metadata = [{"name": "accuracy", "value": value}]

    response = owner.post("/v1/models", {"name": "churn", "metadata": metadata}, format="json")

    assert error_of(response) == (400, "post_request_error")
    assert "metadata" in details_of(response)
    assert acme.count(Item) == 0
    assert acme.count(MetadataEntry) == 0


@pytest.mark.parametrize("tag", ["bell\x07tag", "line\nbreak", "x" * 65])
def test_tags_with_control_characters_or_over_64_characters_are_refused(acme, tag):
    owner = acme.client("reggie")

    response = owner.post("/v1/models", {"name": "churn", "tags": [tag]}, format="json")

    assert error_of(response) == (400, "post_request_error")
    assert "tags" in details_of(response)
    assert acme.count(Item) == 0
    assert acme.count(Tag) == 0


def test_tags_are_trimmed_and_may_be_64_characters_long(acme):
    owner = acme.client("reggie")

    body = create_model(owner, tags=["  padded  ", "x" * 64])

    assert sorted(body["tags"]) == sorted(["padded", "x" * 64])
    assert acme.count(ItemTag, item_id=body["_id"]) == 2


def test_a_metadata_number_too_large_for_the_store_is_a_400_not_a_500(acme):
    owner = acme.client("reggie")
    body = '{"name": "churn", "metadata": [{"name": "huge", "value": 1' + "0" * 400 + "}]}"

    response = owner.post("/v1/models", body, content_type="application/json")

    assert error_of(response) == (400, "post_request_error")
    assert "huge" in details_of(response)
    assert acme.count(Item) == 0


def test_tags_and_metadata_names_used_are_recorded_in_the_vocabulary(acme):
    owner = acme.client("reggie")

    create_model(owner, tags=["tabular"], metadata=[{"name": "accuracy", "value": 0.9}])

    assert acme.count(Tag, pk="tabular", usage="folk") == 1
    assert acme.count(MetadataName, pk="accuracy", usage="folk") == 1


def test_anonymous_callers_cannot_create_models(acme, anonymous):
    response = anonymous.post("/v1/models", {"name": "churn"}, format="json")

    assert error_of(response) == (401, "unauthorized")
    assert acme.count(Item) == 0


# ------------------------------------------------------------------ read one


@pytest.mark.parametrize("reader_name", ["reggie", "olive", "ada"])
def test_owner_shared_reader_and_admin_read_a_private_model(acme, reader_name):
    owner = acme.client("reggie")
    model = create_model(owner, users=["olive"])

    response = acme.client(reader_name).get(f"/v1/models/{model['_id']}")

    assert response.status_code == 200, response.content
    assert response.json()["_id"] == model["_id"]


def test_an_outsider_gets_404_for_a_private_model(acme):
    owner = acme.client("reggie")
    model = create_model(owner, users=["olive"])
    acme.add_user("oscar")
    outsider = acme.client("oscar")

    response = outsider.get(f"/v1/models/{model['_id']}")

    assert error_of(response) == (404, "resource_not_found")


def test_another_tenant_gets_404_for_a_model(acme, globex):
    owner = acme.client("reggie")
    model = create_model(owner, visibility="public")
    other_tenant = globex.client("gus")

    response = other_tenant.get(f"/v1/models/{model['_id']}")

    assert error_of(response) == (404, "resource_not_found")


@pytest.mark.parametrize("model_id", ["not-an-id", "12345", "0" * 24, "A" * 24, "x" * 300])
def test_a_malformed_or_unknown_id_is_404(acme, model_id):
    owner = acme.client("reggie")

    response = owner.get(f"/v1/models/{model_id}")

    assert error_of(response) == (404, "resource_not_found")


def test_a_dataset_is_not_found_under_models(acme):
    owner = acme.client("reggie")
    dataset = create_dataset(owner)

    response = owner.get(f"/v1/models/{dataset['_id']}")

    assert error_of(response) == (404, "resource_not_found")


def test_anonymous_callers_cannot_read_models(acme, anonymous):
    owner = acme.client("reggie")
    model = create_model(owner, visibility="public")

    assert error_of(anonymous.get(f"/v1/models/{model['_id']}")) == (401, "unauthorized")
    assert error_of(anonymous.get("/v1/models")) == (401, "unauthorized")


def test_a_public_model_is_readable_by_everyone_in_the_tenant(acme):
    owner = acme.client("reggie")
    model = create_model(owner, visibility="public")
    acme.add_user("oscar")
    outsider = acme.client("oscar")

    response = outsider.get(f"/v1/models/{model['_id']}")

    assert response.status_code == 200, response.content
    assert response.json()["name"] == "churn"


def test_a_model_answers_the_same_with_a_trailing_slash(acme):
    owner = acme.client("reggie")
    model = create_model(owner)

    assert owner.get(f"/v1/models/{model['_id']}/").json() == owner.get(f"/v1/models/{model['_id']}").json()


def test_a_models_datasets_hide_datasets_the_viewer_cannot_read(acme):
    owner = acme.client("reggie")
    private = create_dataset(owner, "private-data")
    public = create_dataset(owner, "public-data", visibility="public")
    model = create_model(owner, users=["olive"], datasets=[private["_id"], public["_id"]])
    shared_reader = acme.client("olive")

    seen_by_reader = shared_reader.get(f"/v1/models/{model['_id']}").json()
    listed_for_reader = shared_reader.get("/v1/models").json()["docs"]
    seen_by_owner = owner.get(f"/v1/models/{model['_id']}").json()

    assert seen_by_reader["datasets"] == [public["_id"]]
    assert [doc["datasets"] for doc in listed_for_reader] == [[public["_id"]]]
    assert sorted(seen_by_owner["datasets"]) == sorted([private["_id"], public["_id"]])


# ------------------------------------------------------------------ list


def test_lists_hold_only_the_models_the_caller_can_read(acme, globex):
    owner = acme.client("reggie")
    create_model(owner, "private")
    create_model(owner, "public", visibility="public")
    create_model(owner, "shared", users=["olive"])
    create_model(acme.client("olive"), "olives")
    acme.add_user("oscar")
    outsider = acme.client("oscar")

    assert names_in(outsider.get("/v1/models")) == ["public"]
    assert outsider.get("/v1/models").json()["totalDocs"] == 1
    assert names_in(acme.client("olive").get("/v1/models")) == ["olives", "public", "shared"]
    assert acme.client("olive").get("/v1/models").json()["totalDocs"] == 3
    assert names_in(owner.get("/v1/models")) == ["private", "public", "shared"]
    assert names_in(acme.client("ada").get("/v1/models")) == ["olives", "private", "public", "shared"]
    assert acme.client("ada").get("/v1/models").json()["totalDocs"] == 4
    assert globex.client("gus").get("/v1/models").json()["totalDocs"] == 0


def test_a_filter_cannot_widen_what_the_list_shows(acme):
    owner = acme.client("reggie")
    create_model(owner, "private", tags=["secret"])
    acme.add_user("oscar")
    outsider = acme.client("oscar")

    response = outsider.get("/v1/models", {"filter": '{"tags": "secret"}'})

    assert response.status_code == 200, response.content
    assert response.json()["totalDocs"] == 0


def test_the_list_counts_only_readable_models_across_pages(acme):
    owner = acme.client("reggie")
    for number in range(3):
        create_model(owner, f"public-{number}", visibility="public")
        create_model(owner, f"private-{number}")
    acme.add_user("oscar")
    outsider = acme.client("oscar")

    body = outsider.get("/v1/models", {"limit": "2"}).json()

    assert body["totalDocs"] == 3
    assert body["totalPages"] == 2
    assert all(doc["name"].startswith("public-") for doc in body["docs"])


# ------------------------------------------------------------------ update


def test_the_owner_sets_scalars(acme):
    owner = acme.client("reggie")
    model = create_model(owner)

    response = owner.put(
        f"/v1/models/{model['_id']}",
        {"name": "churn-v2", "status": "production", "visibility": "public", "description": "Now in use."},
        format="json",
    )

    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["name"], body["status"], body["visibility"], body["description"]) == (
        "churn-v2",
        "production",
        "public",
        "Now in use.",
    )
    assert set(body) == MODEL_KEYS
    assert body["timestamp"] == model["timestamp"]
    assert acme.count(Item, pk=model["_id"], name="churn-v2", status="production", visibility="public") == 1


@pytest.mark.parametrize(("field", "value"), [("status", "retired"), ("visibility", "secret"), ("name", "")])
def test_scalars_are_validated_like_on_create(acme, field, value):
    owner = acme.client("reggie")
    model = create_model(owner)

    response = owner.put(f"/v1/models/{model['_id']}", {field: value}, format="json")

    assert error_of(response) == (400, "put_request_error")
    assert field in details_of(response)
    assert acme.count(Item, pk=model["_id"], name="churn", status="training", visibility="private") == 1


def test_tags_remove_then_add(acme):
    owner = acme.client("reggie")
    model = create_model(owner, tags=["a", "b"])

    response = owner.put(f"/v1/models/{model['_id']}", {"tags": {"remove": ["a"], "add": ["c"]}}, format="json")

    assert response.status_code == 200, response.content
    assert sorted(response.json()["tags"]) == ["b", "c"]
    assert sorted(t for t in ["a", "b", "c"] if acme.count(ItemTag, item_id=model["_id"], tag_id=t)) == ["b", "c"]


def test_removes_happen_before_adds(acme):
    owner = acme.client("reggie")
    model = create_model(owner, tags=["a"])

    response = owner.put(f"/v1/models/{model['_id']}", {"tags": {"remove": ["a"], "add": ["a"]}}, format="json")

    assert response.status_code == 200, response.content
    assert response.json()["tags"] == ["a"]
    assert acme.count(ItemTag, item_id=model["_id"], tag_id="a") == 1


def test_adding_a_present_value_is_a_no_op(acme):
    owner = acme.client("reggie")
    dataset = create_dataset(owner)
    model = create_model(owner, tags=["a"], users=["olive"], datasets=[dataset["_id"]])

    response = owner.put(
        f"/v1/models/{model['_id']}",
        {"tags": {"add": ["a"]}, "users": {"add": ["olive"]}, "datasets": {"add": [dataset["_id"]]}},
        format="json",
    )

    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["tags"], body["users"], body["datasets"]) == (["a"], ["olive"], [dataset["_id"]])
    assert acme.count(ItemTag, item_id=model["_id"]) == 1
    assert acme.count(Share, item_id=model["_id"]) == 1
    assert acme.count(Lineage, model_id=model["_id"]) == 1


def test_either_key_of_a_list_change_is_optional(acme):
    owner = acme.client("reggie")
    model = create_model(owner, tags=["a", "b"])

    removed = owner.put(f"/v1/models/{model['_id']}", {"tags": {"remove": ["a"]}}, format="json")
    added = owner.put(f"/v1/models/{model['_id']}", {"tags": {"add": ["c"]}}, format="json")

    assert removed.json()["tags"] == ["b"]
    assert sorted(added.json()["tags"]) == ["b", "c"]


def test_users_are_added_and_removed(acme):
    owner = acme.client("reggie")
    acme.add_user("oscar")
    model = create_model(owner, users=["olive"])

    response = owner.put(
        f"/v1/models/{model['_id']}", {"users": {"remove": ["olive"], "add": ["oscar"]}}, format="json"
    )

    assert response.status_code == 200, response.content
    assert response.json()["users"] == ["oscar"]
    assert acme.count(Share, item_id=model["_id"], user__username="olive") == 0
    assert acme.count(Share, item_id=model["_id"], user__username="oscar") == 1


def test_datasets_are_added_and_removed(acme):
    owner = acme.client("reggie")
    first = create_dataset(owner, "first")
    second = create_dataset(owner, "second")
    model = create_model(owner, datasets=[first["_id"]])

    response = owner.put(
        f"/v1/models/{model['_id']}", {"datasets": {"remove": [first["_id"]], "add": [second["_id"]]}}, format="json"
    )

    assert response.status_code == 200, response.content
    assert response.json()["datasets"] == [second["_id"]]
    assert acme.count(Lineage, model_id=model["_id"], dataset_id=first["_id"]) == 0
    assert acme.count(Lineage, model_id=model["_id"], dataset_id=second["_id"]) == 1


def test_metadata_removes_by_name_and_adding_an_existing_name_replaces_its_value(acme):
    owner = acme.client("reggie")
    model = create_model(
        owner, metadata=[{"name": "accuracy", "value": 0.9}, {"name": "loss", "value": 0.1}, {"name": "f", "value": 1}]
    )

    response = owner.put(
        f"/v1/models/{model['_id']}",
        {
            "metadata": {
                "remove": [{"name": "loss", "value": "whatever it was"}, "f"],
                "add": [{"name": "accuracy", "value": 0.95}, {"name": "framework", "value": "onnx"}],
            }
        },
        format="json",
    )

    assert response.status_code == 200, response.content
    assert metadata_of(response.json()) == {"accuracy": 0.95, "framework": "onnx"}
    assert acme.count(MetadataEntry, item_id=model["_id"]) == 2
    assert acme.count(MetadataEntry, item_id=model["_id"], name_id="accuracy", number=0.95) == 1


def test_plain_arrays_replace_whole_lists(acme):
    owner = acme.client("reggie")
    acme.add_user("oscar")
    first = create_dataset(owner, "first")
    second = create_dataset(owner, "second")
    model = create_model(
        owner,
        tags=["a", "b"],
        users=["olive"],
        datasets=[first["_id"]],
        metadata=[{"name": "accuracy", "value": 0.9}],
    )

    response = owner.put(
        f"/v1/models/{model['_id']}",
        {
            "tags": ["c"],
            "users": ["oscar"],
            "datasets": [second["_id"]],
            "metadata": [{"name": "loss", "value": 0.2}],
        },
        format="json",
    )

    assert response.status_code == 200, response.content
    body = response.json()
    assert body["tags"] == ["c"]
    assert body["users"] == ["oscar"]
    assert body["datasets"] == [second["_id"]]
    assert body["metadata"] == [{"name": "loss", "value": 0.2}]
    assert acme.count(ItemTag, item_id=model["_id"]) == 1
    assert acme.count(Share, item_id=model["_id"]) == 1
    assert acme.count(Lineage, model_id=model["_id"]) == 1
    assert acme.count(MetadataEntry, item_id=model["_id"]) == 1


def test_an_empty_array_clears_a_list(acme):
    owner = acme.client("reggie")
    model = create_model(owner, tags=["a"], users=["olive"])

    response = owner.put(f"/v1/models/{model['_id']}", {"tags": [], "users": []}, format="json")

    assert response.status_code == 200, response.content
    assert (response.json()["tags"], response.json()["users"]) == ([], [])
    assert acme.count(ItemTag, item_id=model["_id"]) == 0
    assert acme.count(Share, item_id=model["_id"]) == 0


def test_an_empty_body_is_refused(acme):
    owner = acme.client("reggie")
    model = create_model(owner)

    response = owner.put(f"/v1/models/{model['_id']}", {}, format="json")

    assert error_of(response) == (400, "put_request_error")


@pytest.mark.parametrize("field", ["colour", "owner", "_id", "versions", "timestamp", "lastmod"])
def test_unknown_or_server_owned_fields_in_an_update_are_refused_by_name(acme, field):
    owner = acme.client("reggie")
    model = create_model(owner)

    response = owner.put(f"/v1/models/{model['_id']}", {"description": "changed", field: "x"}, format="json")

    assert error_of(response) == (400, "put_request_error")
    assert field in details_of(response)
    assert acme.count(Item, pk=model["_id"], description="", owner__username="reggie") == 1


def test_a_list_change_must_be_an_array_or_remove_and_add(acme):
    owner = acme.client("reggie")
    model = create_model(owner, tags=["a"])

    response = owner.put(f"/v1/models/{model['_id']}", {"tags": {"put": ["b"]}}, format="json")

    assert error_of(response) == (400, "put_request_error")
    assert "tags" in details_of(response)
    assert acme.count(ItemTag, item_id=model["_id"]) == 1


def test_one_bad_reference_in_an_update_changes_nothing(acme):
    owner = acme.client("reggie")
    model = create_model(owner, tags=["a"])

    response = owner.put(
        f"/v1/models/{model['_id']}",
        {"description": "changed", "tags": {"add": ["b"]}, "users": {"add": ["nobody"]}},
        format="json",
    )

    assert error_of(response) == (400, "put_request_error")
    assert "nobody" in details_of(response)
    assert acme.count(ItemTag, item_id=model["_id"]) == 1
    assert acme.count(Item, pk=model["_id"], description="") == 1


def test_an_update_cannot_reference_another_users_private_dataset(acme):
    owner = acme.client("reggie")
    hidden = create_dataset(acme.client("olive"), "olives-private")
    model = create_model(owner)

    response = owner.put(f"/v1/models/{model['_id']}", {"datasets": {"add": [hidden["_id"]]}}, format="json")

    assert error_of(response) == (400, "put_request_error")
    assert hidden["_id"] in details_of(response)
    assert acme.count(Lineage) == 0


def test_an_update_cannot_share_with_a_user_of_another_tenant(acme, globex):
    owner = acme.client("reggie")
    model = create_model(owner)

    response = owner.put(f"/v1/models/{model['_id']}", {"users": {"add": ["gus"]}}, format="json")

    assert error_of(response) == (400, "put_request_error")
    assert "gus" in details_of(response)
    assert acme.count(Share) == 0


def test_an_outsider_cannot_update_a_model_and_learns_nothing(acme):
    owner = acme.client("reggie")
    model = create_model(owner)
    acme.add_user("oscar")
    outsider = acme.client("oscar")

    response = outsider.put(f"/v1/models/{model['_id']}", {"description": "mine now"}, format="json")

    assert error_of(response) == (404, "resource_not_found")
    assert acme.count(Item, pk=model["_id"], description="") == 1


def test_another_tenant_cannot_update_a_model(acme, globex):
    owner = acme.client("reggie")
    model = create_model(owner, visibility="public")

    response = globex.client("gus").put(f"/v1/models/{model['_id']}", {"description": "mine"}, format="json")

    assert error_of(response) == (404, "resource_not_found")
    assert acme.count(Item, pk=model["_id"], description="") == 1


def test_a_shared_reader_cannot_update_a_model(acme):
    owner = acme.client("reggie")
    model = create_model(owner, users=["olive"], tags=["a"])
    shared_reader = acme.client("olive")

    response = shared_reader.put(
        f"/v1/models/{model['_id']}", {"description": "mine now", "tags": {"add": ["b"]}}, format="json"
    )

    assert error_of(response) == (403, "restricted_access_modify")
    assert acme.count(Item, pk=model["_id"], description="") == 1
    assert acme.count(ItemTag, item_id=model["_id"]) == 1


def test_a_reader_of_a_public_model_cannot_update_it(acme):
    owner = acme.client("reggie")
    model = create_model(owner, visibility="public")
    acme.add_user("oscar")
    outsider = acme.client("oscar")

    response = outsider.put(f"/v1/models/{model['_id']}", {"visibility": "private"}, format="json")

    assert error_of(response) == (403, "restricted_access_modify")
    assert acme.count(Item, pk=model["_id"], visibility="public") == 1


def test_an_admin_updates_any_model(acme):
    owner = acme.client("reggie")
    model = create_model(owner)

    response = acme.client("ada").put(
        f"/v1/models/{model['_id']}", {"status": "deploy", "tags": {"add": ["reviewed"]}}, format="json"
    )

    assert response.status_code == 200, response.content
    assert response.json()["owner"] == "reggie"
    assert acme.count(Item, pk=model["_id"], status="deploy", owner__username="reggie") == 1
    assert acme.count(ItemTag, item_id=model["_id"], tag_id="reviewed") == 1


def test_renaming_onto_another_model_of_the_same_owner_is_a_conflict(acme):
    owner = acme.client("reggie")
    create_model(owner, "taken")
    model = create_model(owner, "churn")

    response = owner.put(f"/v1/models/{model['_id']}", {"name": "taken"}, format="json")

    assert error_of(response) == (409, "conflict")
    assert "name" in details_of(response)
    assert acme.count(Item, pk=model["_id"], name="churn") == 1


def test_renaming_onto_a_name_another_owner_uses_is_fine(acme):
    owner = acme.client("reggie")
    create_model(acme.client("olive"), "taken")
    model = create_model(owner, "churn")

    response = owner.put(f"/v1/models/{model['_id']}", {"name": "taken"}, format="json")

    assert response.status_code == 200, response.content
    assert acme.count(Item, kind="model", name="taken") == 2


# ------------------------------------------------------------------ delete


def test_the_owner_deletes_a_model_and_its_rows(acme):
    owner = acme.client("reggie")
    dataset = create_dataset(owner)
    model = create_model(
        owner,
        users=["olive"],
        datasets=[dataset["_id"]],
        tags=["a"],
        metadata=[{"name": "accuracy", "value": 0.9}],
    )
    before = owner.get(f"/v1/models/{model['_id']}").json()

    response = owner.delete(f"/v1/models/{model['_id']}")

    assert response.status_code == 200, response.content
    assert response.json() == before
    assert acme.count(Item, pk=model["_id"]) == 0
    assert acme.count(ItemTag, item_id=model["_id"]) == 0
    assert acme.count(MetadataEntry, item_id=model["_id"]) == 0
    assert acme.count(Share, item_id=model["_id"]) == 0
    assert acme.count(Lineage, model_id=model["_id"]) == 0
    assert acme.count(Item, pk=dataset["_id"]) == 1
    assert error_of(owner.get(f"/v1/models/{model['_id']}")) == (404, "resource_not_found")


def test_a_shared_reader_cannot_delete_a_model(acme):
    owner = acme.client("reggie")
    model = create_model(owner, users=["olive"])
    shared_reader = acme.client("olive")

    response = shared_reader.delete(f"/v1/models/{model['_id']}")

    assert error_of(response) == (403, "restricted_access_delete")
    assert acme.count(Item, pk=model["_id"]) == 1


def test_an_outsider_cannot_delete_a_model_and_learns_nothing(acme):
    owner = acme.client("reggie")
    model = create_model(owner)
    acme.add_user("oscar")
    outsider = acme.client("oscar")

    response = outsider.delete(f"/v1/models/{model['_id']}")

    assert error_of(response) == (404, "resource_not_found")
    assert acme.count(Item, pk=model["_id"]) == 1


def test_another_tenant_cannot_delete_a_model(acme, globex):
    owner = acme.client("reggie")
    model = create_model(owner, visibility="public")

    response = globex.client("gus").delete(f"/v1/models/{model['_id']}")

    assert error_of(response) == (404, "resource_not_found")
    assert acme.count(Item, pk=model["_id"]) == 1


def test_an_admin_deletes_any_model(acme):
    owner = acme.client("reggie")
    model = create_model(owner)

    response = acme.client("ada").delete(f"/v1/models/{model['_id']}")

    assert response.status_code == 200, response.content
    assert response.json()["_id"] == model["_id"]
    assert acme.count(Item, pk=model["_id"]) == 0


def test_deleting_a_model_frees_its_datasets(acme):
    owner = acme.client("reggie")
    dataset = create_dataset(owner)
    model = create_model(owner, datasets=[dataset["_id"]])
    assert owner.delete(f"/v1/models/{model['_id']}").status_code == 200

    response = owner.delete(f"/v1/datasets/{dataset['_id']}")

    assert response.status_code == 200, response.content
    assert acme.count(Item, pk=dataset["_id"]) == 0


# ------------------------------------------------------------------ users who own or read models


def test_a_user_who_owns_models_cannot_be_deleted(acme):
    owner = acme.client("reggie")
    create_model(owner, "churn")

    response = acme.client("ada").delete(f"/v1/users/{acme.user('reggie').pk}")

    assert error_of(response) == (409, "conflict")
    assert "churn" in details_of(response)
    assert acme.count(User, username="reggie") == 1
    assert acme.count(Item, name="churn") == 1


def test_deleting_a_user_drops_them_from_share_lists(acme):
    owner = acme.client("reggie")
    model = create_model(owner, users=["olive"])
    olive_id = acme.user("olive").pk

    response = acme.client("ada").delete(f"/v1/users/{olive_id}")

    assert response.status_code == 200, response.content
    assert acme.count(Share, item_id=model["_id"]) == 0
    assert acme.count(Share, user_id=olive_id) == 0
    assert owner.get(f"/v1/models/{model['_id']}").json()["users"] == []


# ------------------------------------------------------------------ audit log


def test_creating_updating_sharing_and_deleting_a_model_are_logged(acme):
    owner = acme.client("reggie")
    admin = acme.client("ada")
    model = create_model(owner)
    assert owner.put(f"/v1/models/{model['_id']}", {"description": "changed"}, format="json").status_code == 200
    assert owner.put(f"/v1/models/{model['_id']}", {"users": {"add": ["olive"]}}, format="json").status_code == 200
    assert owner.delete(f"/v1/models/{model['_id']}").status_code == 200

    entries = log_of(admin)

    for action in ("create", "update", "share", "delete"):
        [entry] = entries_about(entries, action=action, resource="model", target=model["_id"])
        assert entry["actor"] == "reggie"
        assert entry["result"] == "success"
        assert acme.count(AuditEntry, action=action, resource="model", target=model["_id"], actor="reggie") == 1


def test_refused_changes_are_not_logged_as_successes(acme):
    owner = acme.client("reggie")
    model = create_model(owner, users=["olive"])

    assert acme.client("olive").delete(f"/v1/models/{model['_id']}").status_code == 403

    assert acme.count(AuditEntry, action="delete", resource="model", result="success") == 0


def test_each_change_is_logged_inside_its_own_transaction(acme):
    owner = acme.client("reggie")
    model = create_model(owner)
    url = f"/v1/models/{model['_id']}"

    assert_logged_inside_its_transaction(acme.tenant, lambda: create_model(owner, "second"))
    assert_logged_inside_its_transaction(acme.tenant, lambda: owner.put(url, {"description": "new"}, format="json"))
    assert_logged_inside_its_transaction(acme.tenant, lambda: owner.delete(url))


# ------------------------------------------------------------------ concurrency


def test_concurrent_list_changes_never_lose_each_other(acme):
    owner = acme.client("reggie")
    model = create_model(owner)
    url = f"/v1/models/{model['_id']}"
    token = acme.token("reggie")

    for round_number in range(12):
        first, second = run_together(
            put_as(
                token,
                url,
                {
                    "tags": {"add": [f"a{round_number}"]},
                    "metadata": {"add": [{"name": f"first{round_number}", "value": round_number}]},
                },
            ),
            put_as(
                token,
                url,
                {
                    "tags": {"add": [f"b{round_number}"]},
                    "metadata": {"add": [{"name": f"second{round_number}", "value": round_number}]},
                },
            ),
        )
        assert (first.status_code, second.status_code) == (200, 200), (first.content, second.content)

    body = owner.get(url).json()
    assert sorted(body["tags"]) == sorted([f"a{n}" for n in range(12)] + [f"b{n}" for n in range(12)])
    assert len(body["metadata"]) == 24
    assert acme.count(ItemTag, item_id=model["_id"]) == 24
    assert acme.count(MetadataEntry, item_id=model["_id"]) == 24


def test_concurrent_adds_of_the_same_tag_keep_one_row(acme):
    owner = acme.client("reggie")
    model = create_model(owner)
    url = f"/v1/models/{model['_id']}"
    token = acme.token("reggie")

    responses = run_together(*[put_as(token, url, {"tags": {"add": ["same"]}}) for _ in range(4)])

    assert [response.status_code for response in responses] == [200] * 4
    assert acme.count(ItemTag, item_id=model["_id"], tag_id="same") == 1
    assert acme.count(Tag, pk="same") == 1


def test_concurrent_creates_of_one_name_give_one_model_and_conflicts(acme):
    token = acme.token("reggie")

    for round_number in range(3):
        name = f"race-{round_number}"
        responses = run_together(*[post_as(token, "/v1/models", {"name": name, "tags": ["t"]}) for _ in range(4)])

        statuses = sorted(response.status_code for response in responses)
        assert statuses == [201, 409, 409, 409], [response.content for response in responses]
        for response in responses:
            if response.status_code == 409:
                assert error_of(response) == (409, "conflict")
        assert acme.count(Item, kind="model", name=name) == 1


# ------------------------------------------------------------------ query counts


@pytest.mark.parametrize("viewer_name", ["reggie", "olive", "ada"])
def test_listing_twenty_models_costs_as_many_queries_as_listing_two(acme, viewer_name):
    owner = acme.client("reggie")
    viewer = acme.client(viewer_name)
    datasets = [create_dataset(owner, f"data-{number}")["_id"] for number in range(2)]

    def add_models(first: int, last: int) -> None:
        for number in range(first, last):
            create_model(
                owner,
                f"model-{number}",
                users=["olive"],
                datasets=datasets,
                tags=["a", f"t{number}"],
                metadata=[{"name": "accuracy", "value": number / 100}, {"name": "framework", "value": "onnx"}],
            )

    def queries_to_list() -> int:
        connection = connections[alias_for(acme.tenant.database)]
        with CaptureQueriesContext(connection) as captured:
            response = viewer.get("/v1/models", {"limit": "100"})
        assert response.status_code == 200, response.content
        return len(captured.captured_queries)

    queries_to_list()  # warm up: per-process caches are filled by the first request
    add_models(0, 2)
    for_two = queries_to_list()  # each count after a change: totalDocs is recounted once per change
    add_models(2, 20)
    for_twenty = queries_to_list()

    assert viewer.get("/v1/models", {"limit": "100"}).json()["totalDocs"] == 20
    assert for_two == for_twenty
    # user, generation, count, page, shares, tags, metadata, lineage, and the visibility of its datasets
    assert for_twenty <= 9
