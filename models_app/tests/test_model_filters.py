"""The filter language on ``GET /v1/models`` (contract §1.4 and §4): fields, operators, metadata and visibility.

Items are created through the API: reggie and olive are regular users of acme, ada its admin, oscar a regular
user who was given nothing, and gus (globex) the other tenant.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from items_app.models import Item
from testing.helpers import error_of


def create(client: Any, name: str, path: str = "/v1/models", **fields: Any) -> dict[str, Any]:
    response = client.post(path, {"name": name, **fields}, format="json")
    assert response.status_code == 201, response.content
    return response.json()


def listed(client: Any, document: Any, **params: str) -> dict[str, Any]:
    response = client.get("/v1/models", {"filter": json.dumps(document), "limit": "100", **params})
    assert response.status_code == 200, response.content
    return response.json()


def matching(client: Any, document: Any) -> list[str]:
    """Names of the models matching ``document``, alphabetically (the order is not what is tested)."""
    return sorted(document["name"] for document in listed(client, document)["docs"])


def metadata(**values: Any) -> list[dict[str, Any]]:
    return [{"name": name, "value": value} for name, value in values.items()]


@pytest.fixture
def oscar(acme):
    """A regular user of acme who owns nothing and was given nothing."""
    acme.add_user("oscar")
    return acme.client("oscar")


@pytest.fixture
def tagged(acme, reader):
    """reggie's public models: resnet (vision, cnn), yolo (vision, detection, cnn), bert (nlp), bare (none)."""
    create(reader, "resnet", visibility="public", tags=["vision", "cnn"])
    create(reader, "yolo", visibility="public", tags=["vision", "detection", "cnn"])
    create(reader, "bert", visibility="public", tags=["nlp"])
    create(reader, "bare", visibility="public")
    return acme


@pytest.fixture
def measured(acme, reader):
    """reggie's public models with metadata; epochs 10 and 100 sort before 9 as text, not as numbers."""
    create(
        reader,
        "alpha",
        visibility="public",
        metadata=metadata(accuracy=0.95, epochs=10, framework="onnx", quantized=True),
    )
    create(
        reader,
        "beta",
        visibility="public",
        metadata=metadata(accuracy=0.9, epochs=9, framework="pytorch", quantized=False),
    )
    create(
        reader, "gamma", visibility="public", metadata=metadata(accuracy=0.5, epochs=100, framework="onnx", loss=0.99)
    )
    create(reader, "delta", visibility="public", metadata=metadata(accuracy="high", quantized="true"))
    create(reader, "epsilon", visibility="public")
    return acme


@pytest.fixture
def shared(acme, reader, outsider, admin):
    """olive's models: one private, one public, one private but shared with reggie; one of ada's, private."""
    create(outsider, "olive-private", tags=["x"])
    create(outsider, "olive-public", visibility="public", tags=["x"])
    create(outsider, "olive-shared", users=["reggie"], tags=["x"])
    create(admin, "ada-private", tags=["x"])
    return acme


# ------------------------------------------------------------------ the contract's examples


def test_it_finds_models_by_tag(acme, reader):
    create(reader, "first", tags=["tag_1", "tag_2"])
    create(reader, "second", tags=["tag_2"])
    create(reader, "third", tags=["tag_3"])

    assert matching(reader, {"tags": "tag_2"}) == ["first", "second"]


def test_it_finds_a_model_by_id(acme, reader):
    wanted = create(reader, "wanted")
    create(reader, "other")

    body = listed(reader, {"_id": wanted["_id"]})

    assert [document["_id"] for document in body["docs"]] == [wanted["_id"]]
    assert body["totalDocs"] == 1


def test_it_finds_models_whose_status_is_in_a_list(acme, reader):
    for status in ("training", "test", "production", "deploy"):
        create(reader, f"in-{status}", status=status)

    assert matching(reader, {"status": {"$in": ["test", "production"]}}) == ["in-production", "in-test"]


def test_it_combines_a_tag_and_a_metadata_condition_with_or(acme, reader):
    create(reader, "tagged-a", tags=["a"])
    create(reader, "onnx-model", metadata=metadata(framework="onnx"))
    create(reader, "neither", tags=["b"], metadata=metadata(framework="tensorflow"))

    assert matching(reader, {"$or": [{"tags": "a"}, {"metadata.framework": "onnx"}]}) == ["onnx-model", "tagged-a"]


# ------------------------------------------------------------------ list fields: tags


def test_tag_equality_means_the_list_contains_it(tagged, reader):
    assert matching(reader, {"tags": "vision"}) == ["resnet", "yolo"]
    assert matching(reader, {"tags": {"$eq": "cnn"}}) == ["resnet", "yolo"]


def test_tag_in_means_some_tag_is_in_the_list(tagged, reader):
    assert matching(reader, {"tags": {"$in": ["nlp", "detection"]}}) == ["bert", "yolo"]


def test_tag_ne_means_no_tag_matches(tagged, reader):
    # resnet has "cnn", which differs from "vision": it still must not match
    assert matching(reader, {"tags": {"$ne": "vision"}}) == ["bare", "bert"]


def test_tag_nin_means_no_tag_is_in_the_list(tagged, reader):
    assert matching(reader, {"tags": {"$nin": ["vision", "nlp"]}}) == ["bare"]


def test_tag_all_needs_every_value(tagged, reader):
    assert matching(reader, {"tags": {"$all": ["vision", "cnn"]}}) == ["resnet", "yolo"]
    assert matching(reader, {"tags": {"$all": ["vision", "detection"]}}) == ["yolo"]
    assert matching(reader, {"tags": {"$all": ["vision", "nlp"]}}) == []


def test_tag_size_zero_finds_untagged_models(tagged, reader):
    assert matching(reader, {"tags": {"$size": 0}}) == ["bare"]


def test_tag_size_counts_the_tags(tagged, reader):
    assert matching(reader, {"tags": {"$size": 1}}) == ["bert"]
    assert matching(reader, {"tags": {"$size": 2}}) == ["resnet"]
    assert matching(reader, {"tags": {"$size": 3}}) == ["yolo"]


def test_tag_elem_match_applies_a_regex_to_one_tag(tagged, reader):
    assert matching(reader, {"tags": {"$elemMatch": {"$regex": "^det"}}}) == ["yolo"]


def test_tag_regex_matches_some_tag(tagged, reader):
    assert matching(reader, {"tags": {"$regex": "^vis"}}) == ["resnet", "yolo"]


def test_tag_regex_is_case_sensitive_unless_asked(tagged, reader):
    assert matching(reader, {"tags": {"$regex": "^VIS"}}) == []
    assert matching(reader, {"tags": {"$regex": "^VIS", "$options": "i"}}) == ["resnet", "yolo"]


def test_tag_not_negates_a_list_condition(tagged, reader):
    assert matching(reader, {"tags": {"$not": {"$in": ["vision"]}}}) == ["bare", "bert"]


# ------------------------------------------------------------------ scalar fields


def test_name_regex_with_case_insensitive_option(acme, reader):
    create(reader, "ResNet-50")
    create(reader, "resnet-18")
    create(reader, "BERT")

    assert matching(reader, {"name": {"$regex": "^res"}}) == ["resnet-18"]
    assert matching(reader, {"name": {"$regex": "^res", "$options": "i"}}) == ["ResNet-50", "resnet-18"]


def test_name_not_negates_a_regex(tagged, reader):
    assert matching(reader, {"name": {"$not": {"$regex": "^b"}}}) == ["resnet", "yolo"]


def test_owner_compares_usernames(acme, reader, outsider, admin):
    create(reader, "reggies", visibility="public")
    create(outsider, "olives", visibility="public")

    assert matching(admin, {"owner": "olive"}) == ["olives"]
    assert matching(admin, {"owner": {"$ne": "olive"}}) == ["reggies"]
    assert matching(admin, {"owner": acme.user("olive").pk}) == []


def test_users_compare_usernames(acme, reader, outsider):
    create(outsider, "for-reggie", users=["reggie"])
    create(outsider, "for-nobody")

    assert matching(outsider, {"users": "reggie"}) == ["for-reggie"]
    assert matching(outsider, {"users": {"$size": 0}}) == ["for-nobody"]


def test_datasets_compare_ids(acme, reader):
    used = create(reader, "used-data", path="/v1/datasets")
    unused = create(reader, "unused-data", path="/v1/datasets")
    create(reader, "trained", datasets=[used["_id"]])
    create(reader, "untrained")

    assert matching(reader, {"datasets": used["_id"]}) == ["trained"]
    assert matching(reader, {"datasets": unused["_id"]}) == []
    assert matching(reader, {"datasets": "used-data"}) == []


def test_a_dataset_the_caller_cannot_read_never_matches(acme, admin, reader, outsider):
    hidden = create(outsider, "olives-data", path="/v1/datasets")
    open_data = create(outsider, "open-data", path="/v1/datasets", visibility="public")
    create(admin, "trained-on-both", visibility="public", datasets=[hidden["_id"], open_data["_id"]])

    assert matching(reader, {"datasets": open_data["_id"]}) == ["trained-on-both"]
    assert matching(reader, {"datasets": hidden["_id"]}) == []
    assert matching(reader, {"datasets": {"$in": [hidden["_id"]]}}) == []
    assert matching(reader, {"datasets": {"$size": 2}}) == []
    assert matching(admin, {"datasets": hidden["_id"]}) == ["trained-on-both"]


# ------------------------------------------------------------------ metadata


def test_metadata_shorthand_compares_numbers_numerically(measured, reader):
    assert matching(reader, {"metadata.accuracy": {"$gte": 0.9}}) == ["alpha", "beta"]
    assert matching(reader, {"metadata.accuracy": {"$gt": 0.9}}) == ["alpha"]
    assert matching(reader, {"metadata.accuracy": {"$lt": 0.9}}) == ["gamma"]


def test_metadata_numbers_are_not_compared_as_text(measured, reader):
    # as text "10" and "100" sort before "9"
    assert matching(reader, {"metadata.epochs": {"$gt": 9}}) == ["alpha", "gamma"]
    assert matching(reader, {"metadata.epochs": {"$lt": 10}}) == ["beta"]
    assert matching(reader, {"metadata.epochs": {"$gte": 10, "$lte": 99}}) == ["alpha"]


def test_metadata_number_equality_and_in(measured, reader):
    assert matching(reader, {"metadata.epochs": 10}) == ["alpha"]
    assert matching(reader, {"metadata.epochs": {"$in": [9, 100]}}) == ["beta", "gamma"]


def test_metadata_ne_matches_models_without_that_value(measured, reader):
    assert matching(reader, {"metadata.framework": {"$ne": "onnx"}}) == ["beta", "delta", "epsilon"]


def test_metadata_exists(measured, reader):
    assert matching(reader, {"metadata.epochs": {"$exists": True}}) == ["alpha", "beta", "gamma"]
    assert matching(reader, {"metadata.epochs": {"$exists": False}}) == ["delta", "epsilon"]


def test_metadata_string_equality(measured, reader):
    assert matching(reader, {"metadata.framework": "onnx"}) == ["alpha", "gamma"]
    assert matching(reader, {"metadata.accuracy": "high"}) == ["delta"]


def test_metadata_boolean_equality_does_not_match_the_string_true(measured, reader):
    assert matching(reader, {"metadata.quantized": True}) == ["alpha"]
    assert matching(reader, {"metadata.quantized": False}) == ["beta"]
    assert matching(reader, {"metadata.quantized": "true"}) == ["delta"]


def test_metadata_elem_match_tests_name_and_value_of_one_entry(measured, reader):
    # gamma has a value above 0.9 (loss), but not under the name accuracy
    document = {"metadata": {"$elemMatch": {"name": "accuracy", "value": {"$gte": 0.9}}}}

    assert matching(reader, document) == ["alpha", "beta"]


def test_metadata_elem_match_takes_a_regex_on_the_name(measured, reader):
    document = {"metadata": {"$elemMatch": {"name": {"$regex": "^quant"}, "value": True}}}

    assert matching(reader, document) == ["alpha"]


def test_metadata_size_counts_the_entries(measured, reader):
    assert matching(reader, {"metadata": {"$size": 0}}) == ["epsilon"]
    assert matching(reader, {"metadata": {"$size": 2}}) == ["delta"]


# ------------------------------------------------------------------ logic


def test_a_top_level_array_is_an_or(tagged, reader):
    assert matching(reader, [{"tags": "nlp"}, {"name": "bare"}]) == ["bare", "bert"]


def test_and_needs_every_condition(tagged, reader):
    assert matching(reader, {"$and": [{"tags": "vision"}, {"tags": "detection"}]}) == ["yolo"]


def test_nor_excludes_every_condition(tagged, reader):
    assert matching(reader, {"$nor": [{"tags": "vision"}, {"tags": "nlp"}]}) == ["bare"]


def test_several_fields_in_one_document_are_an_and(tagged, reader):
    assert matching(reader, {"tags": "vision", "name": {"$ne": "yolo"}}) == ["resnet"]


# ------------------------------------------------------------------ visibility


def test_filtering_on_private_shows_only_private_models_the_caller_can_read(shared, reader):
    body = listed(reader, {"visibility": "private"})

    assert sorted(document["name"] for document in body["docs"]) == ["olive-shared"]
    assert body["totalDocs"] == 1


def test_filtering_on_an_owner_shows_only_their_readable_models(shared, reader):
    body = listed(reader, {"owner": "olive"})

    assert sorted(document["name"] for document in body["docs"]) == ["olive-public", "olive-shared"]
    assert body["totalDocs"] == 2


def test_an_or_cannot_widen_what_a_user_reads(shared, reader):
    body = listed(reader, {"$or": [{"visibility": "private"}, {"visibility": "public"}, {"owner": "ada"}]})

    assert sorted(document["name"] for document in body["docs"]) == ["olive-public", "olive-shared"]
    assert body["totalDocs"] == 2


def test_a_user_given_nothing_filters_only_public_models(shared, oscar):
    assert matching(oscar, {"tags": "x"}) == ["olive-public"]
    assert listed(oscar, {"visibility": "private"})["totalDocs"] == 0


def test_a_negated_filter_does_not_reveal_hidden_models(shared, oscar):
    assert matching(oscar, {"$nor": [{"name": "no-such-model"}]}) == ["olive-public"]


def test_admins_filter_every_model_of_the_tenant(shared, admin, acme):
    body = listed(admin, {"tags": "x"})

    assert body["totalDocs"] == acme.count(Item, kind="model") == 4


def test_a_filter_on_a_hidden_model_id_finds_nothing(acme, outsider, oscar):
    hidden = create(outsider, "hidden")

    body = listed(oscar, {"_id": hidden["_id"]})

    assert body["docs"] == []
    assert body["totalDocs"] == 0


def test_the_other_tenant_sees_nothing_of_acme(tagged, reader, other_tenant):
    resnet = listed(reader, {"name": "resnet"})["docs"][0]

    assert listed(other_tenant, {})["totalDocs"] == 0
    assert listed(other_tenant, {"_id": resnet["_id"]})["totalDocs"] == 0
    assert listed(other_tenant, {"owner": "reggie"})["totalDocs"] == 0
    assert listed(other_tenant, {"tags": "vision"})["totalDocs"] == 0


# ------------------------------------------------------------------ invalid filters


@pytest.mark.parametrize("field", ["password", "kind", "owner.password", "owner__password", "owner_id"])
def test_an_unknown_field_is_an_invalid_filter_naming_it(acme, reader, field):
    response = reader.get("/v1/models", {"filter": json.dumps({field: "x"})})

    assert error_of(response) == (400, "invalid_filter")
    assert field in response.json()["details"]


@pytest.mark.parametrize(
    ("document", "operator"),
    [
        ({"$where": "this.name == 'x'"}, "$where"),
        ({"$expr": {"$eq": ["$name", "x"]}}, "$expr"),
        ({"$function": {"body": "return true", "args": [], "lang": "js"}}, "$function"),
        ({"name": {"$where": "true"}}, "$where"),
        ({"tags": {"$expr": "x"}}, "$expr"),
        ({"metadata.accuracy": {"$function": "x"}}, "$function"),
    ],
)
def test_a_forbidden_operator_is_an_invalid_filter_naming_it(acme, reader, document, operator):
    response = reader.get("/v1/models", {"filter": json.dumps(document)})

    assert error_of(response) == (400, "invalid_filter")
    assert operator in response.json()["details"]


# ------------------------------------------------------------------ sort and select


def test_it_sorts_by_name_ascending_and_descending(acme, reader):
    for name in ("bravo", "alpha", "charlie"):
        create(reader, name)

    ascending = listed(reader, {}, sort=json.dumps({"name": "asc"}))
    descending = listed(reader, {}, sort=json.dumps({"name": "desc"}))

    assert [document["name"] for document in ascending["docs"]] == ["alpha", "bravo", "charlie"]
    assert [document["name"] for document in descending["docs"]] == ["charlie", "bravo", "alpha"]


def test_sorting_on_tags_is_a_400(tagged, reader):
    response = reader.get("/v1/models", {"sort": json.dumps({"tags": "asc"})})

    assert error_of(response) == (400, "invalid_list_parameter")
    assert "tags" in response.json()["details"]


def test_select_keeps_only_the_id_and_the_selected_fields(tagged, reader):
    body = listed(reader, {"tags": "vision"}, select=json.dumps(["name"]))

    assert body["totalDocs"] == 2
    assert all(set(document) == {"_id", "name"} for document in body["docs"])
