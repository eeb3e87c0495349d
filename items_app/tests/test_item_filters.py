"""The filter language on ``GET /v1/models`` and ``GET /v1/datasets`` (contract §1.4 and §4): fields, operators,
metadata and visibility, the same for every kind (``kind``). A model's ``status`` and the ``datasets`` of a
trained kind are filtered in models_app/tests/test_status.py and datasets_app/tests/test_lineage.py.

Items are created through the API. Personas: ``owner`` (reggie) and ``reader`` (olive) own items and share some
with each other, ``outsider`` (oscar) was given nothing, ``admin`` (ada) is acme's admin and ``other_tenant``
(gus) globex's.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.db import connections
from django.test.utils import CaptureQueriesContext

from items_app.models import Item
from tenants_app.databases import alias_for
from testing.helpers import error_of
from testing.kinds import KindCase


def create(kind: KindCase, client: Any, name: str, **fields: Any) -> dict[str, Any]:
    return kind.create(client, name, **fields)


def listed(kind: KindCase, client: Any, document: Any, **params: str) -> dict[str, Any]:
    response = client.get(kind.api, {"filter": json.dumps(document), "limit": "100", **params})
    assert response.status_code == 200, response.content
    return response.json()


def matching(kind: KindCase, client: Any, document: Any) -> list[str]:
    """Names of the items matching ``document``, alphabetically (the order is not what is tested)."""
    return sorted(document["name"] for document in listed(kind, client, document)["docs"])


def metadata(**values: Any) -> list[dict[str, Any]]:
    return [{"name": name, "value": value} for name, value in values.items()]


@pytest.fixture
def tagged(acme, owner, kind):
    """reggie's public items: resnet (vision, cnn), yolo (vision, detection, cnn), bert (nlp), bare (none)."""
    create(kind, owner, "resnet", visibility="public", tags=["vision", "cnn"])
    create(kind, owner, "yolo", visibility="public", tags=["vision", "detection", "cnn"])
    create(kind, owner, "bert", visibility="public", tags=["nlp"])
    create(kind, owner, "bare", visibility="public")
    return acme


@pytest.fixture
def measured(acme, owner, kind):
    """reggie's public items with metadata; epochs 10 and 100 sort before 9 as text, not as numbers."""
    create(
        kind,
        owner,
        "alpha",
        visibility="public",
        metadata=metadata(accuracy=0.95, epochs=10, framework="onnx", quantized=True),
    )
    create(
        kind,
        owner,
        "beta",
        visibility="public",
        metadata=metadata(accuracy=0.9, epochs=9, framework="pytorch", quantized=False),
    )
    create(
        kind,
        owner,
        "gamma",
        visibility="public",
        metadata=metadata(accuracy=0.5, epochs=100, framework="onnx", loss=0.99),
    )
    create(kind, owner, "delta", visibility="public", metadata=metadata(accuracy="high", quantized="true"))
    create(kind, owner, "epsilon", visibility="public")
    return acme


@pytest.fixture
def shared(acme, owner, reader, admin, kind):
    """olive's items: one private, one public, one private but shared with reggie; one of ada's, private."""
    create(kind, reader, "olive-private", tags=["x"])
    create(kind, reader, "olive-public", visibility="public", tags=["x"])
    create(kind, reader, "olive-shared", users=["reggie"], tags=["x"])
    create(kind, admin, "ada-private", tags=["x"])
    return acme


# ------------------------------------------------------------------ the contract's examples


def test_it_finds_items_by_tag(acme, owner, kind):
    create(kind, owner, "first", tags=["tag_1", "tag_2"])
    create(kind, owner, "second", tags=["tag_2"])
    create(kind, owner, "third", tags=["tag_3"])

    assert matching(kind, owner, {"tags": "tag_2"}) == ["first", "second"]


def test_it_finds_an_item_by_id(acme, owner, kind):
    wanted = create(kind, owner, "wanted")
    create(kind, owner, "other")

    body = listed(kind, owner, {"_id": wanted["_id"]})

    assert [document["_id"] for document in body["docs"]] == [wanted["_id"]]
    assert body["totalDocs"] == 1


def test_it_combines_a_tag_and_a_metadata_condition_with_or(acme, owner, kind):
    create(kind, owner, "tagged-a", tags=["a"])
    create(kind, owner, "onnx-model", metadata=metadata(framework="onnx"))
    create(kind, owner, "neither", tags=["b"], metadata=metadata(framework="tensorflow"))

    assert matching(kind, owner, {"$or": [{"tags": "a"}, {"metadata.framework": "onnx"}]}) == ["onnx-model", "tagged-a"]


# ------------------------------------------------------------------ list fields: tags


def test_tag_equality_means_the_list_contains_it(tagged, owner, kind):
    assert matching(kind, owner, {"tags": "vision"}) == ["resnet", "yolo"]
    assert matching(kind, owner, {"tags": {"$eq": "cnn"}}) == ["resnet", "yolo"]


def test_tag_in_means_some_tag_is_in_the_list(tagged, owner, kind):
    assert matching(kind, owner, {"tags": {"$in": ["nlp", "detection"]}}) == ["bert", "yolo"]


def test_tag_ne_means_no_tag_matches(tagged, owner, kind):
    # resnet has "cnn", which differs from "vision": it still must not match
    assert matching(kind, owner, {"tags": {"$ne": "vision"}}) == ["bare", "bert"]


def test_tag_nin_means_no_tag_is_in_the_list(tagged, owner, kind):
    assert matching(kind, owner, {"tags": {"$nin": ["vision", "nlp"]}}) == ["bare"]


def test_tag_all_needs_every_value(tagged, owner, kind):
    assert matching(kind, owner, {"tags": {"$all": ["vision", "cnn"]}}) == ["resnet", "yolo"]
    assert matching(kind, owner, {"tags": {"$all": ["vision", "detection"]}}) == ["yolo"]
    assert matching(kind, owner, {"tags": {"$all": ["vision", "nlp"]}}) == []


def test_tag_size_zero_finds_untagged_items(tagged, owner, kind):
    assert matching(kind, owner, {"tags": {"$size": 0}}) == ["bare"]


def test_tag_size_counts_the_tags(tagged, owner, kind):
    assert matching(kind, owner, {"tags": {"$size": 1}}) == ["bert"]
    assert matching(kind, owner, {"tags": {"$size": 2}}) == ["resnet"]
    assert matching(kind, owner, {"tags": {"$size": 3}}) == ["yolo"]


def test_tag_elem_match_applies_a_regex_to_one_tag(tagged, owner, kind):
    assert matching(kind, owner, {"tags": {"$elemMatch": {"$regex": "^det"}}}) == ["yolo"]


def test_tag_regex_matches_some_tag(tagged, owner, kind):
    assert matching(kind, owner, {"tags": {"$regex": "^vis"}}) == ["resnet", "yolo"]


def test_tag_regex_is_case_sensitive_unless_asked(tagged, owner, kind):
    assert matching(kind, owner, {"tags": {"$regex": "^VIS"}}) == []
    assert matching(kind, owner, {"tags": {"$regex": "^VIS", "$options": "i"}}) == ["resnet", "yolo"]


def test_tag_not_negates_a_list_condition(tagged, owner, kind):
    assert matching(kind, owner, {"tags": {"$not": {"$in": ["vision"]}}}) == ["bare", "bert"]


# ------------------------------------------------------------------ scalar fields


def test_name_regex_with_case_insensitive_option(acme, owner, kind):
    create(kind, owner, "ResNet-50")
    create(kind, owner, "resnet-18")
    create(kind, owner, "BERT")

    assert matching(kind, owner, {"name": {"$regex": "^res"}}) == ["resnet-18"]
    assert matching(kind, owner, {"name": {"$regex": "^res", "$options": "i"}}) == ["ResNet-50", "resnet-18"]


def test_name_not_negates_a_regex(tagged, owner, kind):
    assert matching(kind, owner, {"name": {"$not": {"$regex": "^b"}}}) == ["resnet", "yolo"]


def test_owner_compares_usernames(acme, owner, reader, admin, kind):
    create(kind, owner, "reggies", visibility="public")
    create(kind, reader, "olives", visibility="public")

    assert matching(kind, admin, {"owner": "olive"}) == ["olives"]
    assert matching(kind, admin, {"owner": {"$ne": "olive"}}) == ["reggies"]
    assert matching(kind, admin, {"owner": acme.user("olive").pk}) == []


def test_users_compare_usernames(acme, owner, reader, kind):
    create(kind, reader, "for-reggie", users=["reggie"])
    create(kind, reader, "for-nobody")

    assert matching(kind, reader, {"users": "reggie"}) == ["for-reggie"]
    assert matching(kind, reader, {"users": {"$size": 0}}) == ["for-nobody"]


# ------------------------------------------------------------------ metadata


def test_metadata_shorthand_compares_numbers_numerically(measured, owner, kind):
    assert matching(kind, owner, {"metadata.accuracy": {"$gte": 0.9}}) == ["alpha", "beta"]
    assert matching(kind, owner, {"metadata.accuracy": {"$gt": 0.9}}) == ["alpha"]
    assert matching(kind, owner, {"metadata.accuracy": {"$lt": 0.9}}) == ["gamma"]


def test_metadata_numbers_are_not_compared_as_text(measured, owner, kind):
    # as text "10" and "100" sort before "9"
    assert matching(kind, owner, {"metadata.epochs": {"$gt": 9}}) == ["alpha", "gamma"]
    assert matching(kind, owner, {"metadata.epochs": {"$lt": 10}}) == ["beta"]
    assert matching(kind, owner, {"metadata.epochs": {"$gte": 10, "$lte": 99}}) == ["alpha"]


def test_metadata_number_equality_and_in(measured, owner, kind):
    assert matching(kind, owner, {"metadata.epochs": 10}) == ["alpha"]
    assert matching(kind, owner, {"metadata.epochs": {"$in": [9, 100]}}) == ["beta", "gamma"]


def test_metadata_ne_matches_items_without_that_value(measured, owner, kind):
    assert matching(kind, owner, {"metadata.framework": {"$ne": "onnx"}}) == ["beta", "delta", "epsilon"]


def test_metadata_exists(measured, owner, kind):
    assert matching(kind, owner, {"metadata.epochs": {"$exists": True}}) == ["alpha", "beta", "gamma"]
    assert matching(kind, owner, {"metadata.epochs": {"$exists": False}}) == ["delta", "epsilon"]


def test_metadata_string_equality(measured, owner, kind):
    assert matching(kind, owner, {"metadata.framework": "onnx"}) == ["alpha", "gamma"]
    assert matching(kind, owner, {"metadata.accuracy": "high"}) == ["delta"]


def test_metadata_boolean_equality_does_not_match_the_string_true(measured, owner, kind):
    assert matching(kind, owner, {"metadata.quantized": True}) == ["alpha"]
    assert matching(kind, owner, {"metadata.quantized": False}) == ["beta"]
    assert matching(kind, owner, {"metadata.quantized": "true"}) == ["delta"]


def test_metadata_elem_match_tests_name_and_value_of_one_entry(measured, owner, kind):
    # gamma has a value above 0.9 (loss), but not under the name accuracy
    document = {"metadata": {"$elemMatch": {"name": "accuracy", "value": {"$gte": 0.9}}}}

    assert matching(kind, owner, document) == ["alpha", "beta"]


def test_metadata_elem_match_takes_a_regex_on_the_name(measured, owner, kind):
    document = {"metadata": {"$elemMatch": {"name": {"$regex": "^quant"}, "value": True}}}

    assert matching(kind, owner, document) == ["alpha"]


def test_metadata_size_counts_the_entries(measured, owner, kind):
    assert matching(kind, owner, {"metadata": {"$size": 0}}) == ["epsilon"]
    assert matching(kind, owner, {"metadata": {"$size": 2}}) == ["delta"]


# ------------------------------------------------------------------ logic


def test_a_top_level_array_is_an_or(tagged, owner, kind):
    assert matching(kind, owner, [{"tags": "nlp"}, {"name": "bare"}]) == ["bare", "bert"]


def test_and_needs_every_condition(tagged, owner, kind):
    assert matching(kind, owner, {"$and": [{"tags": "vision"}, {"tags": "detection"}]}) == ["yolo"]


def test_nor_excludes_every_condition(tagged, owner, kind):
    assert matching(kind, owner, {"$nor": [{"tags": "vision"}, {"tags": "nlp"}]}) == ["bare"]


def test_several_fields_in_one_document_are_an_and(tagged, owner, kind):
    assert matching(kind, owner, {"tags": "vision", "name": {"$ne": "yolo"}}) == ["resnet"]


# ------------------------------------------------------------------ conditions on rows, combined as id sets


def hide_one_of(kind: KindCase, owner: Any) -> None:
    """A private item of the owner's: their total then has hidden matches to count from the rows (the public
    ones come from the postings, ``items_app.postings``), whose statements these tests read."""
    create(kind, owner, "hidden", visibility="private")


def statements_of(tenant: Any, kind: KindCase, client: Any, document: Any) -> tuple[list[str], str]:
    """The names ``document`` matches, and the SQL of the list's total from the rows: a count, or the read of
    the ids of a combined id set's few matches (``querysets.count_matching``); the public matches' total,
    read from the postings (``items_app.postings``), left aside."""
    with CaptureQueriesContext(connections[alias_for(tenant.tenant.database)]) as captured:
        names = matching(kind, client, document)
    totals = [
        query["sql"]
        for query in captured.captured_queries
        if "COUNT(" in query["sql"].upper() or " INTERSECT " in query["sql"] or " UNION " in query["sql"]
        if "items_posting" not in query["sql"]
    ]
    return names, totals[0]


def test_a_tag_and_a_metadata_range_are_one_intersection_of_id_sets(measured, owner, kind):
    hide_one_of(kind, owner)  # the owner's hidden matches are combined from the rows
    create(kind, owner, "zeta", visibility="public", tags=["cnn"], metadata=metadata(accuracy=0.97))
    create(kind, owner, "eta", visibility="public", tags=["cnn"], metadata=metadata(accuracy=0.2))

    names, count = statements_of(measured, kind, owner, {"tags": "cnn", "metadata.accuracy": {"$gte": 0.9}})

    assert names == ["zeta"]
    assert " INTERSECT " in count


def test_two_metadata_ranges_and_every_tag_of_an_all_are_one_intersection(measured, owner, kind):
    hide_one_of(kind, owner)  # the owner's hidden matches are combined from the rows
    create(kind, owner, "zeta", visibility="public", tags=["cnn", "edge"], metadata=metadata(accuracy=0.97, epochs=3))
    document = {"metadata.accuracy": {"$gte": 0.5}, "metadata.epochs": {"$lt": 50}, "tags": {"$all": ["cnn", "edge"]}}

    names, count = statements_of(measured, kind, owner, document)

    assert names == ["zeta"]
    assert count.count(" INTERSECT ") == 3  # four id sets: two metadata ranges, each tag of $all
    assert matching(kind, owner, {"metadata.accuracy": {"$gte": 0.5}, "metadata.epochs": {"$lt": 50}}) == [
        "alpha",
        "beta",
        "zeta",
    ]


def test_an_or_of_metadata_values_is_one_union_of_id_sets(measured, owner, kind):
    hide_one_of(kind, owner)  # the owner's hidden matches are combined from the rows
    document = {"$or": [{"metadata.framework": "pytorch"}, {"metadata.loss": 0.99}]}

    names, count = statements_of(measured, kind, owner, document)

    assert names == ["beta", "gamma"]
    assert " UNION " in count


def test_a_nor_of_row_conditions_excludes_their_union(tagged, owner, kind):
    names, count = statements_of(tagged, kind, owner, {"$nor": [{"tags": "vision"}, {"tags": "nlp"}]})

    assert names == ["bare"]
    assert " UNION " in count


def test_an_or_of_intersections_keeps_each_intersection_apart(tagged, owner, kind):
    document = {"$or": [{"tags": "vision", "name": {"$ne": "resnet"}}, {"$and": [{"tags": "cnn"}, {"tags": "vision"}]}]}

    assert matching(kind, owner, document) == ["resnet", "yolo"]


# ------------------------------------------------------------------ visibility


def test_filtering_on_private_shows_only_private_items_the_caller_can_read(shared, owner, kind):
    body = listed(kind, owner, {"visibility": "private"})

    assert sorted(document["name"] for document in body["docs"]) == ["olive-shared"]
    assert body["totalDocs"] == 1


def test_filtering_on_an_owner_shows_only_their_readable_items(shared, owner, kind):
    body = listed(kind, owner, {"owner": "olive"})

    assert sorted(document["name"] for document in body["docs"]) == ["olive-public", "olive-shared"]
    assert body["totalDocs"] == 2


def test_an_or_cannot_widen_what_a_user_reads(shared, owner, kind):
    body = listed(kind, owner, {"$or": [{"visibility": "private"}, {"visibility": "public"}, {"owner": "ada"}]})

    assert sorted(document["name"] for document in body["docs"]) == ["olive-public", "olive-shared"]
    assert body["totalDocs"] == 2


def test_a_user_given_nothing_filters_only_public_items(shared, outsider, kind):
    assert matching(kind, outsider, {"tags": "x"}) == ["olive-public"]
    assert listed(kind, outsider, {"visibility": "private"})["totalDocs"] == 0


def test_a_negated_filter_does_not_reveal_hidden_items(shared, outsider, kind):
    assert matching(kind, outsider, {"$nor": [{"name": "no-such-model"}]}) == ["olive-public"]


def test_admins_filter_every_item_of_the_tenant(shared, admin, acme, kind):
    body = listed(kind, admin, {"tags": "x"})

    assert body["totalDocs"] == acme.count(Item, kind=kind.value) == 4


def test_a_filter_on_a_hidden_item_id_finds_nothing(acme, reader, outsider, kind):
    hidden = create(kind, reader, "hidden")

    body = listed(kind, outsider, {"_id": hidden["_id"]})

    assert body["docs"] == []
    assert body["totalDocs"] == 0


def test_the_other_tenant_sees_nothing_of_acme(tagged, owner, other_tenant, kind):
    resnet = listed(kind, owner, {"name": "resnet"})["docs"][0]

    assert listed(kind, other_tenant, {})["totalDocs"] == 0
    assert listed(kind, other_tenant, {"_id": resnet["_id"]})["totalDocs"] == 0
    assert listed(kind, other_tenant, {"owner": "reggie"})["totalDocs"] == 0
    assert listed(kind, other_tenant, {"tags": "vision"})["totalDocs"] == 0


# ------------------------------------------------------------------ invalid filters


@pytest.mark.parametrize("field", ["password", "kind", "owner.password", "owner__password", "owner_id"])
def test_an_unknown_field_is_an_invalid_filter_naming_it(acme, owner, field, kind):
    response = owner.get(kind.api, {"filter": json.dumps({field: "x"})})

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
def test_a_forbidden_operator_is_an_invalid_filter_naming_it(acme, owner, document, operator, kind):
    response = owner.get(kind.api, {"filter": json.dumps(document)})

    assert error_of(response) == (400, "invalid_filter")
    assert operator in response.json()["details"]


# ------------------------------------------------------------------ sort and select


def test_it_sorts_by_name_ascending_and_descending(acme, owner, kind):
    for name in ("bravo", "alpha", "charlie"):
        create(kind, owner, name)

    ascending = listed(kind, owner, {}, sort=json.dumps({"name": "asc"}))
    descending = listed(kind, owner, {}, sort=json.dumps({"name": "desc"}))

    assert [document["name"] for document in ascending["docs"]] == ["alpha", "bravo", "charlie"]
    assert [document["name"] for document in descending["docs"]] == ["charlie", "bravo", "alpha"]


def test_sorting_on_tags_is_a_400(tagged, owner, kind):
    response = owner.get(kind.api, {"sort": json.dumps({"tags": "asc"})})

    assert error_of(response) == (400, "invalid_list_parameter")
    assert "tags" in response.json()["details"]


def test_select_keeps_only_the_id_and_the_selected_fields(tagged, owner, kind):
    body = listed(kind, owner, {"tags": "vision"}, select=json.dumps(["name"]))

    assert body["totalDocs"] == 2
    assert all(set(document) == {"_id", "name"} for document in body["docs"])
