"""Batch creates: ``POST /v1/models`` (or ``/v1/datasets``) with an array of item bodies.

Each body is what a single create takes; the items are created in one transaction, all or none, and the
answer is their documents in the order sent. Errors name the position of the body they are about.

Personas: ``reggie`` creates (the owner), ``olive`` is the shared reader of what he shares with her,
``oscar`` an outsider of the same tenant, ``ada`` acme's admin and ``gus`` the other tenant's admin.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.db import connections
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from folksonomy_app.models import MetadataName, Tag
from items_app import services
from items_app.models import Item, ItemTag, Lineage, MetadataEntry, Share
from tenants_app.databases import alias_for
from tenants_app.models import AuditEntry
from testing.helpers import (
    assert_logged_inside_its_transaction,
    create_dataset,
    create_model,
    details_of,
    entries_about,
    error_of,
    log_of,
    names_in,
    run_together,
)


def create_all(client: APIClient, bodies: list[dict[str, Any]], kind: str = "models") -> list[dict[str, Any]]:
    response = client.post(f"/v1/{kind}", bodies, format="json")
    assert response.status_code == 201, response.content
    return response.json()


def post_batch_as(token: str, bodies: list[dict[str, Any]]) -> Callable[[], Any]:
    def call() -> Any:
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=token)
        return client.post("/v1/models", bodies, format="json")

    return call


# ------------------------------------------------------------------ what a batch creates


def test_an_array_of_bodies_creates_every_item_and_answers_their_documents_in_order(acme):
    owner = acme.client("reggie")
    dataset = create_dataset(owner)

    created = create_all(
        owner,
        [
            {"name": "first"},
            {
                "name": "second",
                "status": "production",
                "visibility": "public",
                "users": ["olive"],
                "datasets": [dataset["_id"]],
                "tags": ["tabular", "baseline"],
                "metadata": [{"name": "accuracy", "value": 0.93}, {"name": "framework", "value": "onnx"}],
                "description": "the second one",
            },
            {"name": "third", "tags": ["baseline"]},
        ],
    )

    assert [document["name"] for document in created] == ["first", "second", "third"]
    assert created[0]["status"] == "training"
    assert created[0]["visibility"] == "private"
    second = created[1]
    assert second["status"] == "production"
    assert second["visibility"] == "public"
    assert second["users"] == ["olive"]
    assert second["datasets"] == [dataset["_id"]]
    assert second["tags"] == ["baseline", "tabular"]
    assert second["metadata"] == [{"name": "accuracy", "value": 0.93}, {"name": "framework", "value": "onnx"}]
    assert second["description"] == "the second one"
    for document in created:
        assert document["owner"] == "reggie"
        assert owner.get(f"/v1/models/{document['_id']}").json() == document
    assert acme.count(Item, kind="model") == 3
    assert acme.count(Share) == 1
    assert acme.count(Lineage) == 1
    assert acme.count(ItemTag) == 3
    assert acme.count(MetadataEntry) == 2


def test_a_batch_creates_datasets_too(acme):
    owner = acme.client("reggie")

    created = create_all(owner, [{"name": "train"}, {"name": "test", "tags": ["split"]}], kind="datasets")

    assert [document["name"] for document in created] == ["train", "test"]
    assert names_in(owner.get("/v1/datasets")) == ["test", "train"]
    assert acme.count(Item, kind="dataset") == 2


def test_a_batch_of_one_answers_an_array_of_one(acme):
    owner = acme.client("reggie")

    created = create_all(owner, [{"name": "only"}])

    assert len(created) == 1
    assert created[0]["name"] == "only"


def test_the_names_a_batch_uses_are_recorded_in_the_vocabulary(acme):
    owner = acme.client("reggie")

    create_all(
        owner,
        [
            {"name": "a", "tags": ["vision"], "metadata": [{"name": "epochs", "value": 3}]},
            {"name": "b", "tags": ["vision", "onnx"], "metadata": [{"name": "epochs", "value": 5}]},
        ],
    )

    assert acme.count(Tag, pk__in=["vision", "onnx"]) == 2
    assert acme.count(MetadataName, pk="epochs") == 1
    counts = {entry["_id"]: entry["count"] for entry in owner.get("/v1/tags").json()["docs"]}
    assert counts["vision"] == 2
    assert counts["onnx"] == 1


def test_each_item_of_a_batch_is_logged_as_a_create(acme):
    owner = acme.client("reggie")

    created = create_all(owner, [{"name": "a"}, {"name": "b"}])

    entries = log_of(acme.client("ada"))
    for document in created:
        [entry] = entries_about(entries, action="create", resource="model", target=document["_id"])
        assert entry["actor"] == "reggie"
        assert entry["details"] == {"name": document["name"]}
    assert acme.count(AuditEntry, action="create", resource="model") == 2


def test_a_batch_is_logged_inside_its_transaction(acme):
    owner = acme.client("reggie")
    create_model(owner, "first")

    assert_logged_inside_its_transaction(acme.tenant, lambda: create_all(owner, [{"name": "a"}, {"name": "b"}]))


def test_a_batch_costs_as_many_queries_for_twenty_items_as_for_two(acme):
    owner = acme.client("reggie")
    dataset = create_dataset(owner)

    def queries_to_create(names: list[str]) -> int:
        bodies = [
            {
                "name": name,
                "users": ["olive"],
                "datasets": [dataset["_id"]],
                "tags": ["shared", name],
                "metadata": [{"name": "accuracy", "value": 0.5}, {"name": f"only-{name}", "value": "x"}],
            }
            for name in names
        ]
        with CaptureQueriesContext(connections[alias_for(acme.tenant.database)]) as captured:
            create_all(owner, bodies)
        return len(captured.captured_queries)

    queries_to_create(["warm-up"])  # per-process caches are filled by the first request
    for_two = queries_to_create([f"two-{n}" for n in range(2)])
    for_twenty = queries_to_create([f"twenty-{n}" for n in range(20)])

    assert for_two == for_twenty
    assert acme.count(Item, kind="model") == 23


# ------------------------------------------------------------------ who sees what a batch creates


def test_batch_items_are_readable_by_exactly_their_readers(acme, globex, outsider):
    owner = acme.client("reggie")
    olive = acme.client("olive")
    admin = acme.client("ada")
    other_tenant = globex.client("gus")
    before = {
        name: client.get("/v1/models").json()["totalDocs"] for name, client in (("olive", olive), ("oscar", outsider))
    }
    assert before == {"olive": 0, "oscar": 0}  # the counts are now cached: the batch must change them

    private, shared, public = create_all(
        owner,
        [
            {"name": "private"},
            {"name": "shared", "users": ["olive"]},
            {"name": "public", "visibility": "public"},
        ],
    )

    assert names_in(owner.get("/v1/models")) == ["private", "public", "shared"]
    assert names_in(admin.get("/v1/models")) == ["private", "public", "shared"]
    assert names_in(olive.get("/v1/models")) == ["public", "shared"]
    assert olive.get("/v1/models").json()["totalDocs"] == 2
    assert names_in(outsider.get("/v1/models")) == ["public"]
    assert outsider.get("/v1/models").json()["totalDocs"] == 1
    assert olive.get(f"/v1/models/{private['_id']}").status_code == 404
    assert outsider.get(f"/v1/models/{shared['_id']}").status_code == 404
    assert other_tenant.get("/v1/models").json()["totalDocs"] == 0
    for document in (private, shared, public):
        assert other_tenant.get(f"/v1/models/{document['_id']}").status_code == 404


def test_anonymous_callers_cannot_create_a_batch(acme, anonymous):
    response = anonymous.post("/v1/models", [{"name": "a"}], format="json")

    assert error_of(response) == (401, "unauthorized")
    assert acme.count(Item) == 0


# ------------------------------------------------------------------ errors: all or nothing


def test_one_bad_reference_creates_nothing_and_names_the_position_of_its_item(acme):
    owner = acme.client("reggie")

    response = owner.post(
        "/v1/models",
        [{"name": "a", "tags": ["kept?"]}, {"name": "b", "users": ["olive", "nobody"]}, {"name": "c"}],
        format="json",
    )

    assert error_of(response) == (400, "post_request_error")
    assert details_of(response).startswith("[1] users:")
    assert "nobody" in details_of(response)
    assert acme.count(Item) == 0
    assert acme.count(Tag) == 0
    assert acme.count(AuditEntry, action="create", resource="model") == 0


@pytest.mark.parametrize(
    ("body", "named"),
    [
        ({"name": "c", "owner": "ada"}, "owner"),
        ({"name": "c", "status": "retired"}, "status"),
        ({"status": "test"}, "name"),
        ({"name": "c", "tags": "not-a-list"}, "tags"),
        ({"name": "c", "metadata": [{"name": "x", "value": [1]}]}, "metadata.x"),
        ("not an object", "body"),
    ],
)
def test_a_malformed_item_creates_nothing_and_the_error_names_its_position_and_field(acme, body, named):
    owner = acme.client("reggie")

    response = owner.post("/v1/models", [{"name": "a"}, {"name": "b"}, body], format="json")

    assert error_of(response) == (400, "post_request_error")
    assert details_of(response).startswith("[2] ")
    assert named in details_of(response)
    assert acme.count(Item) == 0


def test_a_batch_cannot_reference_a_dataset_the_caller_cannot_read(acme, outsider):
    owner = acme.client("reggie")
    hidden = create_dataset(outsider, "oscars-private")

    response = owner.post("/v1/models", [{"name": "a"}, {"name": "b", "datasets": [hidden["_id"]]}], format="json")

    assert error_of(response) == (400, "post_request_error")
    assert details_of(response).startswith("[1] datasets:")
    assert hidden["_id"] in details_of(response)
    assert acme.count(Item, kind="model") == 0


def test_a_batch_cannot_share_with_a_user_of_another_tenant(acme, globex):
    owner = acme.client("reggie")

    response = owner.post("/v1/models", [{"name": "a", "users": ["gus"]}], format="json")

    assert error_of(response) == (400, "post_request_error")
    assert details_of(response).startswith("[0] users:")
    assert "gus" in details_of(response)
    assert acme.count(Item) == 0


def test_a_name_the_owner_already_uses_is_a_conflict_naming_its_position(acme):
    owner = acme.client("reggie")
    create_model(owner, "churn")

    response = owner.post("/v1/models", [{"name": "fresh"}, {"name": "churn"}], format="json")

    assert error_of(response) == (409, "conflict")
    assert details_of(response) == "[1] name: you already have a model named 'churn'"
    assert acme.count(Item, kind="model") == 1


def test_two_items_of_one_batch_cannot_share_a_name(acme):
    owner = acme.client("reggie")

    response = owner.post("/v1/models", [{"name": "twin"}, {"name": "other"}, {"name": " twin "}], format="json")

    assert error_of(response) == (409, "conflict")
    assert details_of(response) == "[2] name: item [0] of this request is named 'twin' too"
    assert acme.count(Item) == 0


def test_an_empty_batch_is_refused(acme):
    response = acme.client("reggie").post("/v1/models", [], format="json")

    assert error_of(response) == (400, "post_request_error")
    assert "at least one item" in details_of(response)


def test_a_batch_over_the_item_limit_is_refused_before_any_body_is_read(acme):
    bodies: list[Any] = [{"name": f"m{number}"} for number in range(services.MAX_BATCH)] + ["never checked"]

    response = acme.client("reggie").post("/v1/models", bodies, format="json")

    assert error_of(response) == (400, "post_request_error")
    assert details_of(response) == f"body: at most {services.MAX_BATCH} items per request, got {services.MAX_BATCH + 1}"
    assert acme.count(Item) == 0


def test_a_batch_over_the_size_limit_of_a_json_body_is_a_413(acme, settings):
    body = {"name": "big", "description": "d" * settings.DATA_UPLOAD_MAX_MEMORY_SIZE}

    response = acme.client("reggie").post("/v1/models", [body], format="json")

    assert error_of(response) == (413, "payload_too_large")
    assert acme.count(Item) == 0


def test_concurrent_batches_sharing_a_name_create_one_batch_and_a_conflict(acme):
    token = acme.token("reggie")

    first, second = run_together(
        post_batch_as(token, [{"name": "left-only"}, {"name": "contested", "tags": ["t"]}]),
        post_batch_as(token, [{"name": "contested"}, {"name": "right-only", "tags": ["u"]}]),
    )

    statuses = sorted([first.status_code, second.status_code])
    assert statuses == [201, 409], (first.content, second.content)
    loser = first if first.status_code == 409 else second
    assert error_of(loser) == (409, "conflict")
    assert "'contested'" in details_of(loser)
    winner_names = {document["name"] for document in (second if loser is first else first).json()}
    assert acme.count(Item, kind="model") == 2
    assert set(names_in(acme.client("reggie").get("/v1/models"))) == winner_names
