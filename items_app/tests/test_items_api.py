"""``/v1/models`` and ``/v1/datasets`` (contract §4, with the permissions of §1.2 and the errors of §1.3): what
every kind shares, run once per kind (``kind``, testing/kinds.py).

What a kind adds lives with its app: a model's status in ``models_app/tests/test_status.py``, the lineage
between kinds and datasets in ``datasets_app/tests/test_lineage.py``.

Personas: ``owner`` (reggie) owns the items, ``reader`` (olive) is the user an item is shared with,
``outsider`` (oscar) was given nothing, ``admin`` (ada) is acme's admin and ``other_tenant`` (gus) globex's.
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
from items_app.models import Item, ItemTag, MetadataEntry, Share
from tenants_app.databases import alias_for
from tenants_app.models import AuditEntry, User
from testing.helpers import (
    assert_logged_inside_its_transaction,
    assert_utc_timestamp,
    create_dataset,
    details_of,
    entries_about,
    error_of,
    log_of,
    metadata_of,
    names_in,
    run_together,
)
from testing.kinds import KINDS, other_than

OBJECT_ID = re.compile(r"^[0-9a-f]{24}$")


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


def test_creating_an_item_answers_201_with_the_read_shape_and_defaults(acme, owner, kind):
    response = owner.post(kind.api, {"name": kind.name}, format="json")

    assert response.status_code == 201, response.content
    body = response.json()
    assert set(body) == kind.keys
    assert OBJECT_ID.match(body["_id"])
    assert body["name"] == kind.name
    assert body["owner"] == "reggie"
    assert body["visibility"] == "private"
    assert body["users"] == []
    assert body["metadata"] == []
    assert body["tags"] == []
    assert body["description"] == ""
    assert body["versions"] == []
    assert {name: body[name] for name in kind.defaults} == kind.defaults
    assert_utc_timestamp(body["timestamp"])
    assert_utc_timestamp(body["lastmod"])
    assert acme.count(Item, pk=body["_id"], kind=kind.value, owner__username="reggie", name=kind.name) == 1


def test_a_created_item_keeps_everything_it_was_given(acme, owner, kind):
    body = kind.create(
        owner,
        visibility="public",
        users=["olive"],
        metadata=[
            {"name": "accuracy", "value": 0.93},
            {"name": "epochs", "value": 12},
            {"name": "calibrated", "value": True},
            {"name": "anonymised", "value": False},
            {"name": "framework", "value": "onnx"},
            {"name": "threshold", "value": "0.5"},
        ],
        tags=["tabular", "baseline"],
        description="Predicts who leaves.",
    )

    assert body["visibility"] == "public"
    assert body["users"] == ["olive"]
    assert body["metadata"] == [
        {"name": "accuracy", "value": 0.93},
        {"name": "epochs", "value": 12},
        {"name": "calibrated", "value": True},
        {"name": "anonymised", "value": False},
        {"name": "framework", "value": "onnx"},
        {"name": "threshold", "value": "0.5"},
    ]
    values = metadata_of(body)
    assert type(values["epochs"]) is int
    assert values["calibrated"] is True
    assert values["anonymised"] is False
    assert type(values["threshold"]) is str
    assert sorted(body["tags"]) == ["baseline", "tabular"]
    assert body["description"] == "Predicts who leaves."
    assert acme.count(Share, item_id=body["_id"], user__username="olive") == 1
    assert acme.count(ItemTag, item_id=body["_id"]) == 2
    assert acme.count(MetadataEntry, item_id=body["_id"]) == 6


def test_the_created_item_reads_back_the_same(acme, owner, kind):
    """The create response is built from the rows just written, not read back: it must match a read exactly."""
    acme.add_user("Zed")
    acme.add_user("anna")
    created = kind.create(
        owner,
        tags=["zeta", "Beta", "älpha", "alpha", "zeta"],
        metadata=[
            {"name": "loss", "value": 0.25},
            {"name": "accuracy", "value": 0.5},
            {"name": "calibrated", "value": False},
            {"name": "framework", "value": "onnx"},
        ],
        users=["olive", "Zed", acme.user("anna").pk, "olive"],
    )

    response = owner.get(kind.url(created))

    assert response.status_code == 200, response.content
    assert response.json() == created


def test_shared_users_can_be_named_by_id(acme, owner, kind):
    body = kind.create(owner, users=[acme.user("olive").pk])

    assert body["users"] == ["olive"]


def test_a_name_is_unique_per_owner(acme, owner, kind):
    kind.create(owner, "churn")

    response = owner.post(kind.api, {"name": "churn"}, format="json")

    assert error_of(response) == (409, "conflict")
    assert "name" in details_of(response)
    assert acme.count(Item, kind=kind.value, name="churn") == 1


def test_two_owners_may_use_the_same_name(acme, owner, reader, kind):
    kind.create(owner, "churn")

    body = kind.create(reader, "churn")

    assert body["owner"] == "olive"
    assert acme.count(Item, kind=kind.value, name="churn") == 2


def test_items_of_two_kinds_of_one_owner_may_share_a_name(acme, owner, kind):
    other_than(kind).create(owner, "churn")

    kind.create(owner, "churn")

    assert acme.count(Item, name="churn", owner__username="reggie") == 2


@pytest.mark.parametrize("field", ["_id", "owner", "versions", "timestamp", "lastmod", "kind", "colour"])
def test_unknown_or_server_owned_fields_are_refused_by_name(acme, owner, kind, field):
    response = owner.post(kind.api, {"name": kind.name, field: "x"}, format="json")

    assert error_of(response) == (400, "post_request_error")
    assert field in details_of(response)
    assert acme.count(Item) == 0


# The fields a kind's traits add (a model's status and datasets) are unknown fields of a kind without them.
FOREIGN_FIELDS = [
    pytest.param(kind, field, id=f"{kind}-{field}")
    for kind in KINDS
    for field in ("status", "datasets")
    if field not in kind.defaults
]


@pytest.mark.parametrize(("kind", "field"), FOREIGN_FIELDS)
def test_fields_of_traits_a_kind_lacks_are_refused_by_name(acme, owner, kind, field):
    response = owner.post(kind.api, {"name": kind.name, field: "x"}, format="json")

    assert error_of(response) == (400, "post_request_error")
    assert field in details_of(response)
    assert acme.count(Item) == 0


@pytest.mark.parametrize(("kind", "field"), FOREIGN_FIELDS)
def test_fields_of_traits_a_kind_lacks_are_refused_in_an_update(acme, owner, kind, field):
    item = kind.create(owner)

    response = owner.put(kind.url(item), {"description": "changed", field: []}, format="json")

    assert error_of(response) == (400, "put_request_error")
    assert field in details_of(response)
    assert acme.count(Item, pk=item["_id"], description="") == 1


def test_an_item_needs_a_name(acme, owner, kind):
    response = owner.post(kind.api, {"description": "nameless"}, format="json")

    assert error_of(response) == (400, "post_request_error")
    assert "name" in details_of(response)
    assert acme.count(Item) == 0


def test_an_invalid_visibility_is_refused(acme, owner, kind):
    response = owner.post(kind.api, {"name": kind.name, "visibility": "secret"}, format="json")

    assert error_of(response) == (400, "post_request_error")
    assert "visibility" in details_of(response)
    assert acme.count(Item) == 0


def test_shared_users_must_exist_in_the_tenant(acme, owner, kind):
    response = owner.post(kind.api, {"name": kind.name, "users": ["olive", "nobody"]}, format="json")

    assert error_of(response) == (400, "post_request_error")
    assert "nobody" in details_of(response)
    assert acme.count(Item) == 0
    assert acme.count(Share) == 0


def test_a_user_of_another_tenant_cannot_be_shared_with(acme, globex, owner, kind):
    response = owner.post(kind.api, {"name": kind.name, "users": ["gus"]}, format="json")

    assert error_of(response) == (400, "post_request_error")
    assert "gus" in details_of(response)
    assert acme.count(Item) == 0


def test_metadata_names_are_unique_within_an_item(acme, owner, kind):
    metadata = [{"name": "accuracy", "value": 0.9}, {"name": "accuracy", "value": 0.8}]

    response = owner.post(kind.api, {"name": kind.name, "metadata": metadata}, format="json")

    assert error_of(response) == (400, "post_request_error")
    assert "accuracy" in details_of(response)
    assert acme.count(Item) == 0


@pytest.mark.parametrize("value", [{"nested": 1}, [1, 2], None])
def test_metadata_values_are_strings_numbers_or_booleans(acme, owner, kind, value):
    metadata = [{"name": "accuracy", "value": value}]

    response = owner.post(kind.api, {"name": kind.name, "metadata": metadata}, format="json")

    assert error_of(response) == (400, "post_request_error")
    assert "metadata" in details_of(response)
    assert acme.count(Item) == 0
    assert acme.count(MetadataEntry) == 0


@pytest.mark.parametrize("tag", ["bell\x07tag", "line\nbreak", "x" * 65])
def test_tags_with_control_characters_or_over_64_characters_are_refused(acme, owner, kind, tag):
    response = owner.post(kind.api, {"name": kind.name, "tags": [tag]}, format="json")

    assert error_of(response) == (400, "post_request_error")
    assert "tags" in details_of(response)
    assert acme.count(Item) == 0
    assert acme.count(Tag) == 0


def test_tags_are_trimmed_and_may_be_64_characters_long(acme, owner, kind):
    body = kind.create(owner, tags=["  padded  ", "x" * 64])

    assert sorted(body["tags"]) == sorted(["padded", "x" * 64])
    assert acme.count(ItemTag, item_id=body["_id"]) == 2


def test_a_metadata_number_too_large_for_the_store_is_a_400_not_a_500(acme, owner, kind):
    body = '{"name": "churn", "metadata": [{"name": "huge", "value": 1' + "0" * 400 + "}]}"

    response = owner.post(kind.api, body, content_type="application/json")

    assert error_of(response) == (400, "invalid_json")  # refused as the body is read (framework/jsontext.py)
    assert "a number of 401 characters" in details_of(response)
    assert acme.count(Item) == 0


def test_tags_and_metadata_names_used_are_recorded_in_the_vocabulary(acme, owner, kind):
    kind.create(owner, tags=["tabular"], metadata=[{"name": "accuracy", "value": 0.9}])

    assert acme.count(Tag, pk="tabular", usage="folk") == 1
    assert acme.count(MetadataName, pk="accuracy", usage="folk") == 1


def test_anonymous_callers_cannot_create_items(acme, anonymous, kind):
    response = anonymous.post(kind.api, {"name": kind.name}, format="json")

    assert error_of(response) == (401, "unauthorized")
    assert acme.count(Item) == 0


# ------------------------------------------------------------------ read one


@pytest.mark.parametrize("username", ["reggie", "olive", "ada"])
def test_owner_reader_and_admin_read_a_private_item(acme, owner, kind, username):
    item = kind.create(owner, users=["olive"])

    response = acme.client(username).get(kind.url(item))

    assert response.status_code == 200, response.content
    assert response.json()["_id"] == item["_id"]


def test_an_outsider_gets_404_for_a_private_item(owner, outsider, kind):
    item = kind.create(owner, users=["olive"])

    response = outsider.get(kind.url(item))

    assert error_of(response) == (404, "resource_not_found")


def test_another_tenant_gets_404_for_an_item(owner, other_tenant, kind):
    item = kind.create(owner, visibility="public")

    response = other_tenant.get(kind.url(item))

    assert error_of(response) == (404, "resource_not_found")


@pytest.mark.parametrize("item_id", ["not-an-id", "12345", "0" * 24, "A" * 24, "F" * 24, "x" * 300])
def test_a_malformed_or_unknown_id_is_404(owner, kind, item_id):
    response = owner.get(f"{kind.api}/{item_id}")

    assert error_of(response) == (404, "resource_not_found")


def test_an_item_of_another_kind_is_not_found_under_this_one(owner, kind):
    other = other_than(kind).create(owner)

    response = owner.get(f"{kind.api}/{other['_id']}")

    assert error_of(response) == (404, "resource_not_found")


def test_anonymous_callers_cannot_read_items(owner, anonymous, kind):
    item = kind.create(owner, visibility="public")

    assert error_of(anonymous.get(kind.url(item))) == (401, "unauthorized")
    assert error_of(anonymous.get(kind.api)) == (401, "unauthorized")


def test_a_public_item_is_readable_by_everyone_in_the_tenant_only(owner, outsider, other_tenant, kind):
    item = kind.create(owner, visibility="public")

    response = outsider.get(kind.url(item))

    assert response.status_code == 200, response.content
    assert response.json()["name"] == kind.name
    assert error_of(other_tenant.get(kind.url(item))) == (404, "resource_not_found")


def test_an_item_answers_the_same_with_a_trailing_slash(owner, kind):
    item = kind.create(owner)

    assert owner.get(f"{kind.url(item)}/").json() == owner.get(kind.url(item)).json()


# ------------------------------------------------------------------ list


def test_lists_hold_only_the_items_the_caller_can_read(owner, reader, outsider, admin, other_tenant, kind):
    kind.create(owner, "private")
    kind.create(owner, "public", visibility="public")
    kind.create(owner, "shared", users=["olive"])
    kind.create(reader, "olives")

    assert names_in(outsider.get(kind.api)) == ["public"]
    assert outsider.get(kind.api).json()["totalDocs"] == 1
    assert names_in(reader.get(kind.api)) == ["olives", "public", "shared"]
    assert reader.get(kind.api).json()["totalDocs"] == 3
    assert names_in(owner.get(kind.api)) == ["private", "public", "shared"]
    assert names_in(admin.get(kind.api)) == ["olives", "private", "public", "shared"]
    assert admin.get(kind.api).json()["totalDocs"] == 4
    assert other_tenant.get(kind.api).json()["totalDocs"] == 0


def test_a_kinds_list_holds_no_items_of_another_kind(owner, kind):
    other_than(kind).create(owner, "other-kind")
    kind.create(owner, "this-kind")

    assert names_in(owner.get(kind.api)) == ["this-kind"]


def test_a_filter_cannot_widen_what_the_list_shows(owner, outsider, kind):
    kind.create(owner, "private", tags=["secret"])

    response = outsider.get(kind.api, {"filter": '{"tags": "secret"}'})

    assert response.status_code == 200, response.content
    assert response.json()["totalDocs"] == 0


def test_the_list_counts_only_readable_items_across_pages(owner, outsider, kind):
    for number in range(3):
        kind.create(owner, f"public-{number}", visibility="public")
        kind.create(owner, f"private-{number}")

    body = outsider.get(kind.api, {"limit": "2"}).json()

    assert body["totalDocs"] == 3
    assert body["totalPages"] == 2
    assert all(doc["name"].startswith("public-") for doc in body["docs"])


# ------------------------------------------------------------------ update


def test_the_owner_sets_scalars(acme, owner, kind):
    item = kind.create(owner)

    response = owner.put(
        kind.url(item), {"name": "churn-v2", "visibility": "public", "description": "Now in use."}, format="json"
    )

    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["name"], body["visibility"], body["description"]) == ("churn-v2", "public", "Now in use.")
    assert set(body) == kind.keys
    assert body["timestamp"] == item["timestamp"]
    assert acme.count(Item, pk=item["_id"], name="churn-v2", visibility="public", description="Now in use.") == 1


def test_the_owner_sets_scalars_and_changes_lists_in_one_update(acme, owner, outsider, kind):
    item = kind.create(owner, tags=["a", "b"], metadata=[{"name": "rows", "value": 1}], users=["olive"])

    response = owner.put(
        kind.url(item),
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
    assert (body["name"], body["visibility"], body["description"]) == ("customers-2024", "public", "Refreshed.")
    assert sorted(body["tags"]) == ["b", "c"]
    assert body["users"] == ["oscar"]
    assert body["metadata"] == [{"name": "rows", "value": 2}]
    assert acme.count(Item, pk=item["_id"], name="customers-2024", visibility="public") == 1
    assert acme.count(ItemTag, item_id=item["_id"]) == 2
    assert acme.count(MetadataEntry, item_id=item["_id"]) == 1


@pytest.mark.parametrize(("field", "value"), [("visibility", "secret"), ("name", "")])
def test_scalars_are_validated_like_on_create(acme, owner, kind, field, value):
    item = kind.create(owner)

    response = owner.put(kind.url(item), {field: value}, format="json")

    assert error_of(response) == (400, "put_request_error")
    assert field in details_of(response)
    assert acme.count(Item, pk=item["_id"], name=kind.name, visibility="private") == 1


def test_tags_remove_then_add(acme, owner, kind):
    item = kind.create(owner, tags=["a", "b"])

    response = owner.put(kind.url(item), {"tags": {"remove": ["a"], "add": ["c"]}}, format="json")

    assert response.status_code == 200, response.content
    assert sorted(response.json()["tags"]) == ["b", "c"]
    assert sorted(t for t in ["a", "b", "c"] if acme.count(ItemTag, item_id=item["_id"], tag_id=t)) == ["b", "c"]


def test_removes_happen_before_adds(acme, owner, kind):
    item = kind.create(owner, tags=["a"])

    response = owner.put(kind.url(item), {"tags": {"remove": ["a"], "add": ["a"]}}, format="json")

    assert response.status_code == 200, response.content
    assert response.json()["tags"] == ["a"]
    assert acme.count(ItemTag, item_id=item["_id"], tag_id="a") == 1


def test_adding_a_present_value_is_a_no_op(acme, owner, kind):
    item = kind.create(owner, tags=["a"], users=["olive"])

    response = owner.put(kind.url(item), {"tags": {"add": ["a"]}, "users": {"add": ["olive"]}}, format="json")

    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["tags"], body["users"]) == (["a"], ["olive"])
    assert acme.count(ItemTag, item_id=item["_id"]) == 1
    assert acme.count(Share, item_id=item["_id"]) == 1


def test_either_key_of_a_list_change_is_optional(owner, kind):
    item = kind.create(owner, tags=["a", "b"])

    removed = owner.put(kind.url(item), {"tags": {"remove": ["a"]}}, format="json")
    added = owner.put(kind.url(item), {"tags": {"add": ["c"]}}, format="json")

    assert removed.json()["tags"] == ["b"]
    assert sorted(added.json()["tags"]) == ["b", "c"]


def test_users_are_added_and_removed(acme, owner, outsider, kind):
    item = kind.create(owner, users=["olive"])

    response = owner.put(kind.url(item), {"users": {"remove": ["olive"], "add": ["oscar"]}}, format="json")

    assert response.status_code == 200, response.content
    assert response.json()["users"] == ["oscar"]
    assert acme.count(Share, item_id=item["_id"], user__username="olive") == 0
    assert acme.count(Share, item_id=item["_id"], user__username="oscar") == 1


def test_metadata_removes_by_name_and_adding_an_existing_name_replaces_its_value(acme, owner, kind):
    item = kind.create(
        owner, metadata=[{"name": "accuracy", "value": 0.9}, {"name": "loss", "value": 0.1}, {"name": "f", "value": 1}]
    )

    response = owner.put(
        kind.url(item),
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
    assert acme.count(MetadataEntry, item_id=item["_id"]) == 2
    assert acme.count(MetadataEntry, item_id=item["_id"], name_id="accuracy", number=0.95) == 1


def test_plain_arrays_replace_whole_lists(acme, owner, outsider, kind):
    item = kind.create(owner, tags=["a", "b"], users=["olive"], metadata=[{"name": "accuracy", "value": 0.9}])

    response = owner.put(
        kind.url(item),
        {"tags": ["c"], "users": ["oscar"], "metadata": [{"name": "size", "value": "1 GB"}]},
        format="json",
    )

    assert response.status_code == 200, response.content
    body = response.json()
    assert body["tags"] == ["c"]
    assert body["users"] == ["oscar"]
    assert body["metadata"] == [{"name": "size", "value": "1 GB"}]
    assert acme.count(ItemTag, item_id=item["_id"]) == 1
    assert acme.count(Share, item_id=item["_id"]) == 1
    assert acme.count(MetadataEntry, item_id=item["_id"]) == 1


def test_an_empty_array_clears_a_list(acme, owner, kind):
    item = kind.create(owner, tags=["a"], users=["olive"])

    response = owner.put(kind.url(item), {"tags": [], "users": []}, format="json")

    assert response.status_code == 200, response.content
    assert (response.json()["tags"], response.json()["users"]) == ([], [])
    assert acme.count(ItemTag, item_id=item["_id"]) == 0
    assert acme.count(Share, item_id=item["_id"]) == 0


def test_an_empty_body_is_refused(owner, kind):
    item = kind.create(owner)

    response = owner.put(kind.url(item), {}, format="json")

    assert error_of(response) == (400, "put_request_error")


@pytest.mark.parametrize("field", ["colour", "owner", "_id", "versions", "timestamp", "lastmod"])
def test_unknown_or_server_owned_fields_in_an_update_are_refused_by_name(acme, owner, kind, field):
    item = kind.create(owner)

    response = owner.put(kind.url(item), {"description": "changed", field: "x"}, format="json")

    assert error_of(response) == (400, "put_request_error")
    assert field in details_of(response)
    assert acme.count(Item, pk=item["_id"], description="", owner__username="reggie") == 1


def test_a_list_change_must_be_an_array_or_remove_and_add(acme, owner, kind):
    item = kind.create(owner, tags=["a"])

    response = owner.put(kind.url(item), {"tags": {"put": ["b"]}}, format="json")

    assert error_of(response) == (400, "put_request_error")
    assert "tags" in details_of(response)
    assert acme.count(ItemTag, item_id=item["_id"]) == 1


def test_one_bad_reference_in_an_update_changes_nothing(acme, owner, kind):
    item = kind.create(owner, tags=["a"])

    response = owner.put(
        kind.url(item), {"description": "changed", "tags": {"add": ["b"]}, "users": {"add": ["nobody"]}}, format="json"
    )

    assert error_of(response) == (400, "put_request_error")
    assert "nobody" in details_of(response)
    assert acme.count(ItemTag, item_id=item["_id"]) == 1
    assert acme.count(Item, pk=item["_id"], description="") == 1


def test_an_update_cannot_share_with_a_user_of_another_tenant(acme, globex, owner, kind):
    item = kind.create(owner)

    response = owner.put(kind.url(item), {"users": {"add": ["gus"]}}, format="json")

    assert error_of(response) == (400, "put_request_error")
    assert "gus" in details_of(response)
    assert acme.count(Share) == 0


def test_an_outsider_cannot_update_an_item_and_learns_nothing(acme, owner, outsider, kind):
    item = kind.create(owner)

    response = outsider.put(kind.url(item), {"description": "mine now"}, format="json")

    assert error_of(response) == (404, "resource_not_found")
    assert acme.count(Item, pk=item["_id"], description="") == 1


def test_another_tenant_cannot_update_an_item(acme, owner, other_tenant, kind):
    item = kind.create(owner, visibility="public")

    response = other_tenant.put(kind.url(item), {"description": "mine"}, format="json")

    assert error_of(response) == (404, "resource_not_found")
    assert acme.count(Item, pk=item["_id"], description="") == 1


def test_a_reader_cannot_update_an_item(acme, owner, reader, kind):
    item = kind.create(owner, users=["olive"], tags=["a"])

    response = reader.put(kind.url(item), {"description": "mine now", "tags": {"add": ["b"]}}, format="json")

    assert error_of(response) == (403, "restricted_access_modify")
    assert acme.count(Item, pk=item["_id"], description="") == 1
    assert acme.count(ItemTag, item_id=item["_id"]) == 1


def test_a_reader_of_a_public_item_cannot_update_it(acme, owner, outsider, kind):
    item = kind.create(owner, visibility="public")

    response = outsider.put(kind.url(item), {"visibility": "private"}, format="json")

    assert error_of(response) == (403, "restricted_access_modify")
    assert acme.count(Item, pk=item["_id"], visibility="public") == 1


def test_an_admin_updates_any_item(acme, owner, admin, kind):
    item = kind.create(owner)

    response = admin.put(kind.url(item), {"visibility": "public", "tags": {"add": ["reviewed"]}}, format="json")

    assert response.status_code == 200, response.content
    assert response.json()["owner"] == "reggie"
    assert acme.count(Item, pk=item["_id"], visibility="public", owner__username="reggie") == 1
    assert acme.count(ItemTag, item_id=item["_id"], tag_id="reviewed") == 1


def test_renaming_onto_another_item_of_the_same_owner_is_a_conflict(acme, owner, kind):
    kind.create(owner, "taken")
    item = kind.create(owner, "churn")

    response = owner.put(kind.url(item), {"name": "taken"}, format="json")

    assert error_of(response) == (409, "conflict")
    assert "name" in details_of(response)
    assert acme.count(Item, pk=item["_id"], name="churn") == 1


def test_renaming_onto_a_name_another_owner_uses_is_fine(acme, owner, reader, kind):
    kind.create(reader, "taken")
    item = kind.create(owner, "churn")

    response = owner.put(kind.url(item), {"name": "taken"}, format="json")

    assert response.status_code == 200, response.content
    assert acme.count(Item, kind=kind.value, name="taken") == 2


# ------------------------------------------------------------------ delete


def test_the_owner_deletes_an_item_and_its_rows(acme, owner, kind):
    item = kind.create(owner, users=["olive"], tags=["a"], metadata=[{"name": "accuracy", "value": 0.9}])
    before = owner.get(kind.url(item)).json()

    response = owner.delete(kind.url(item))

    assert response.status_code == 200, response.content
    assert response.json() == before
    assert acme.count(Item, pk=item["_id"]) == 0
    assert acme.count(ItemTag, item_id=item["_id"]) == 0
    assert acme.count(MetadataEntry, item_id=item["_id"]) == 0
    assert acme.count(Share, item_id=item["_id"]) == 0
    assert error_of(owner.get(kind.url(item))) == (404, "resource_not_found")


def test_a_reader_cannot_delete_an_item(acme, owner, reader, kind):
    item = kind.create(owner, users=["olive"])

    response = reader.delete(kind.url(item))

    assert error_of(response) == (403, "restricted_access_delete")
    assert acme.count(Item, pk=item["_id"]) == 1


def test_an_outsider_cannot_delete_an_item_and_learns_nothing(acme, owner, outsider, kind):
    item = kind.create(owner)

    response = outsider.delete(kind.url(item))

    assert error_of(response) == (404, "resource_not_found")
    assert acme.count(Item, pk=item["_id"]) == 1


def test_another_tenant_cannot_delete_an_item(acme, owner, other_tenant, kind):
    item = kind.create(owner, visibility="public")

    response = other_tenant.delete(kind.url(item))

    assert error_of(response) == (404, "resource_not_found")
    assert acme.count(Item, pk=item["_id"]) == 1


def test_an_admin_deletes_any_item(acme, owner, admin, kind):
    item = kind.create(owner)

    response = admin.delete(kind.url(item))

    assert response.status_code == 200, response.content
    assert response.json()["_id"] == item["_id"]
    assert acme.count(Item, pk=item["_id"]) == 0


# ------------------------------------------------------------------ users who own or read items


def test_a_user_who_owns_items_cannot_be_deleted(acme, owner, admin, kind):
    kind.create(owner, "churn")

    response = admin.delete(f"/v1/users/{acme.user('reggie').pk}")

    assert error_of(response) == (409, "conflict")
    assert "churn" in details_of(response)
    assert acme.count(User, username="reggie") == 1
    assert acme.count(Item, name="churn") == 1


def test_deleting_a_user_drops_them_from_share_lists(acme, owner, admin, kind):
    item = kind.create(owner, users=["olive"])
    olive_id = acme.user("olive").pk

    response = admin.delete(f"/v1/users/{olive_id}")

    assert response.status_code == 200, response.content
    assert acme.count(Share, item_id=item["_id"]) == 0
    assert acme.count(Share, user_id=olive_id) == 0
    assert owner.get(kind.url(item)).json()["users"] == []


# ------------------------------------------------------------------ audit log


def test_creating_updating_sharing_and_deleting_an_item_are_logged(acme, owner, admin, kind):
    item = kind.create(owner)
    assert owner.put(kind.url(item), {"description": "changed"}, format="json").status_code == 200
    assert owner.put(kind.url(item), {"users": {"add": ["olive"]}}, format="json").status_code == 200
    assert owner.delete(kind.url(item)).status_code == 200

    entries = log_of(admin)

    for action in ("create", "update", "share", "delete"):
        [entry] = entries_about(entries, action=action, resource=kind.value, target=item["_id"])
        assert entry["actor"] == "reggie"
        assert entry["result"] == "success"
        assert acme.count(AuditEntry, action=action, resource=kind.value, target=item["_id"], actor="reggie") == 1


def test_refused_changes_are_not_logged_as_successes(acme, owner, reader, kind):
    item = kind.create(owner, users=["olive"])

    assert reader.delete(kind.url(item)).status_code == 403

    assert acme.count(AuditEntry, action="delete", resource=kind.value, result="success") == 0


def test_each_change_is_logged_inside_its_own_transaction(acme, owner, kind):
    item = kind.create(owner)
    url = kind.url(item)

    assert_logged_inside_its_transaction(acme.tenant, lambda: kind.create(owner, "second"))
    assert_logged_inside_its_transaction(acme.tenant, lambda: owner.put(url, {"description": "new"}, format="json"))
    assert_logged_inside_its_transaction(acme.tenant, lambda: owner.delete(url))


# ------------------------------------------------------------------ concurrency


def test_concurrent_list_changes_never_lose_each_other(acme, owner, kind):
    item = kind.create(owner)
    url = kind.url(item)
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
    assert acme.count(ItemTag, item_id=item["_id"]) == 24
    assert acme.count(MetadataEntry, item_id=item["_id"]) == 24


def test_concurrent_adds_of_the_same_tag_keep_one_row(acme, owner, kind):
    item = kind.create(owner)
    token = acme.token("reggie")

    responses = run_together(*[put_as(token, kind.url(item), {"tags": {"add": ["same"]}}) for _ in range(4)])

    assert [response.status_code for response in responses] == [200] * 4
    assert acme.count(ItemTag, item_id=item["_id"], tag_id="same") == 1
    assert acme.count(Tag, pk="same") == 1


def test_concurrent_creates_of_one_name_give_one_item_and_conflicts(acme, kind):
    token = acme.token("reggie")

    for round_number in range(3):
        name = f"race-{round_number}"
        responses = run_together(*[post_as(token, kind.api, {"name": name, "tags": ["t"]}) for _ in range(4)])

        statuses = sorted(response.status_code for response in responses)
        assert statuses == [201, 409, 409, 409], [response.content for response in responses]
        for response in responses:
            if response.status_code == 409:
                assert error_of(response) == (409, "conflict")
        assert acme.count(Item, kind=kind.value, name=name) == 1


# ------------------------------------------------------------------ query counts


@pytest.mark.parametrize("username", ["reggie", "olive", "ada"])
def test_listing_twenty_items_costs_as_many_queries_as_listing_two(acme, owner, kind, username):
    viewer = acme.client(username)
    lineage = {}
    if kind.trained_on_datasets:
        lineage["datasets"] = [create_dataset(owner, f"data-{number}")["_id"] for number in range(2)]

    def add_items(first: int, last: int) -> None:
        for number in range(first, last):
            kind.create(
                owner,
                f"item-{number}",
                users=["olive"],
                tags=["a", f"t{number}"],
                metadata=[{"name": "accuracy", "value": number / 100}, {"name": "framework", "value": "onnx"}],
                **lineage,
            )

    def queries_to_list() -> int:
        connection = connections[alias_for(acme.tenant.database)]
        with CaptureQueriesContext(connection) as captured:
            response = viewer.get(kind.api, {"limit": "100"})
        assert response.status_code == 200, response.content
        return len(captured.captured_queries)

    queries_to_list()  # warm up: per-process caches are filled by the first request
    add_items(0, 2)
    for_two = queries_to_list()  # each count after a change: totalDocs is recounted once per change
    add_items(2, 20)
    for_twenty = queries_to_list()

    assert viewer.get(kind.api, {"limit": "100"}).json()["totalDocs"] == 20
    assert for_two == for_twenty
    # user, generation, count, page, shares, tags, metadata; for a trained kind its lineage and the
    # visibility of its datasets
    assert for_twenty <= 7 + 2 * kind.trained_on_datasets
