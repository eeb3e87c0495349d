"""Item reads are computed once per change, and stay exact after every change.

List pages, ``totalDocs``, item documents and a tag's ``count`` come from a per-process cache keyed by the
tenant's item generation (``items_app.generation``); totals and tag counts only by the counters
of what they read. These tests warm that cache with a read, change something the read depends on, and read
again in the same process: a write that forgot to bump a counter shows up as a stale answer.

Personas: ``reggie`` owns the items, ``olive`` is the shared reader, ``oscar`` an outsider of acme, ``ada``
acme's admin and ``gus`` globex's admin.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.db import connections
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from items_app import generation, kinds, listing, services
from items_app.api import views
from items_app.api.serializers import update_input
from items_app.models import Item
from tenants_app import tenancy
from tenants_app.audit import Caller
from tenants_app.models import User
from testing.helpers import create_dataset, create_model, upload


def total(client: APIClient, document: Any = None, path: str = "/v1/models") -> int:
    params = {} if document is None else {"filter": json.dumps(document)}
    response = client.get(path, params)
    assert response.status_code == 200, response.content
    return response.json()["totalDocs"]


def tag_count(client: APIClient, tag: str) -> int:
    response = client.get("/v1/tags", {"filter": json.dumps({"_id": tag})})
    assert response.status_code == 200, response.content
    docs = response.json()["docs"]
    return docs[0]["count"] if docs else 0


def get_with_statements(acme: Any, client: APIClient, path: str, params: Any = None) -> tuple[Any, list[str]]:
    """One successful GET: its JSON body and the SQL it sent to acme's database (upper-cased)."""
    with tenancy.using_tenant(acme.tenant) as active, CaptureQueriesContext(connections[active.alias]) as queries:
        response = client.get(path, params)
    assert response.status_code == 200, response.content
    return response.json(), [query["sql"].upper() for query in queries.captured_queries]


def count_statements(acme: Any, client: APIClient, document: Any) -> list[str]:
    """The statements of one list request that count: a COUNT, or a read of the postings a filter's total is
    counted from (``items_app.postings``)."""
    _, sent = get_with_statements(acme, client, "/v1/models", {"filter": json.dumps(document)})
    return [sql for sql in sent if "COUNT(" in sql or "ITEMS_POSTING " in sql]  # ``sent`` is upper case


def test_a_repeated_list_is_counted_once(acme, owner):
    create_model(owner, "churn", tags=["tabular"])
    assert count_statements(acme, owner, {"tags": "tabular"}) != []
    assert count_statements(acme, owner, {"tags": "tabular"}) == []
    assert count_statements(acme, owner, {"tags": "vision"}) != [], "another filter is another count"


def test_the_next_page_of_a_list_reuses_its_count(acme, owner):
    for number in range(3):
        create_model(owner, f"model-{number}", tags=["tabular"])
    assert count_statements(acme, owner, {"tags": "tabular"}) != []
    second_page = {"filter": json.dumps({"tags": "tabular"}), "limit": "2", "page": "2"}
    body, sent = get_with_statements(acme, owner, "/v1/models", second_page)
    assert body["totalDocs"] == 3
    assert not [sql for sql in sent if "COUNT(" in sql]


def item_statements(acme: Any, client: APIClient, path: str) -> list[str]:
    """The statements about items one GET sends to acme's database."""
    _, sent = get_with_statements(acme, client, path)
    return [sql for sql in sent if "ITEMS_ITEM" in sql]


def test_a_repeated_get_or_list_is_served_without_loading_items_again(acme, owner):
    churn = create_model(owner, "churn", tags=["tabular"])
    for path in (f"/v1/models/{churn['_id']}", "/v1/models?limit=5"):
        assert item_statements(acme, owner, path) != []
        assert item_statements(acme, owner, path) == []


def test_a_cached_document_follows_every_change_of_its_item(owner, reader):
    churn = create_model(owner, "churn", tags=["tabular"], metadata=[{"name": "accuracy", "value": 0.8}])
    url = f"/v1/models/{churn['_id']}"
    assert owner.get(url).json()["tags"] == ["tabular"]
    assert reader.get(url).status_code == 404
    change = {
        "tags": ["vision"],
        "metadata": {"add": [{"name": "accuracy", "value": 0.9}]},
        "users": {"add": ["olive"]},
        "status": "production",
    }
    assert owner.put(url, change, format="json").status_code == 200
    document = owner.get(url).json()
    assert (document["tags"], document["metadata"], document["users"], document["status"]) == (
        ["vision"],
        [{"name": "accuracy", "value": 0.9}],
        ["olive"],
        "production",
    )
    assert reader.get(url).json()["tags"] == ["vision"]
    assert upload(owner, f"{url}/versions").status_code == 201
    assert [version["ordinal"] for version in reader.get(url).json()["versions"]] == [1]
    assert owner.delete(url).status_code == 200
    assert reader.get(url).status_code == 404


def test_a_dataset_hidden_later_disappears_from_a_cached_model_document(acme, owner, reader):
    data = create_dataset(reader, "olives-data", visibility="public")
    churn = create_model(owner, "churn", datasets=[data["_id"]])
    url = f"/v1/models/{churn['_id']}"
    assert owner.get(url).json()["datasets"] == [data["_id"]]
    hide = {"visibility": "private"}
    assert reader.put(f"/v1/datasets/{data['_id']}", hide, format="json").status_code == 200
    assert owner.get(url).json()["datasets"] == []


def test_a_new_item_counts_at_once(owner):
    assert total(owner) == 0
    create_model(owner, "churn")
    assert total(owner) == 1


def test_sharing_and_unsharing_change_what_the_shared_reader_counts(owner, reader):
    churn = create_model(owner, "churn")
    assert total(reader) == 0
    assert owner.put(f"/v1/models/{churn['_id']}", {"users": {"add": ["olive"]}}, format="json").status_code == 200
    assert total(reader) == 1
    assert owner.put(f"/v1/models/{churn['_id']}", {"users": {"remove": ["olive"]}}, format="json").status_code == 200
    assert total(reader) == 0


def test_making_an_item_public_changes_what_an_outsider_counts(owner, outsider):
    churn = create_model(owner, "churn")
    assert total(outsider) == 0
    assert owner.put(f"/v1/models/{churn['_id']}", {"visibility": "public"}, format="json").status_code == 200
    assert total(outsider) == 1


def test_tag_and_metadata_changes_change_filtered_totals_and_tag_counts(owner):
    churn = create_model(owner, "churn", tags=["tabular"], metadata=[{"name": "accuracy", "value": 0.8}])
    accurate = {"metadata.accuracy": {"$gte": 0.9}}
    assert (total(owner, {"tags": "tabular"}), total(owner, accurate), tag_count(owner, "tabular")) == (1, 0, 1)
    change = {"tags": {"remove": ["tabular"]}, "metadata": {"add": [{"name": "accuracy", "value": 0.95}]}}
    assert owner.put(f"/v1/models/{churn['_id']}", change, format="json").status_code == 200
    assert (total(owner, {"tags": "tabular"}), total(owner, accurate), tag_count(owner, "tabular")) == (0, 1, 0)


def test_deleting_an_item_removes_it_from_totals_and_tag_counts(owner):
    churn = create_model(owner, "churn", tags=["tabular"])
    assert (total(owner), tag_count(owner, "tabular")) == (1, 1)
    assert owner.delete(f"/v1/models/{churn['_id']}").status_code == 200
    assert (total(owner), tag_count(owner, "tabular")) == (0, 0)


def test_uploading_and_deleting_versions_change_version_filters(owner):
    churn = create_model(owner, "churn")
    has_files = {"versions.size": {"$gt": 0}}
    assert total(owner, has_files) == 0
    assert upload(owner, f"/v1/models/{churn['_id']}/versions").status_code == 201
    assert total(owner, has_files) == 1
    assert owner.delete(f"/v1/models/{churn['_id']}/versions/1").status_code == 200
    assert total(owner, has_files) == 0


def test_deleting_a_user_drops_the_items_shared_with_them_from_a_users_filter(acme, owner, admin):
    create_model(owner, "churn", users=["olive"])
    assert total(owner, {"users": "olive"}) == 1
    olive = acme.user("olive")
    assert admin.delete(f"/v1/users/{olive.pk}").status_code == 200
    assert total(owner, {"users": "olive"}) == 0


def test_viewers_never_share_a_cached_total(owner, reader, outsider, admin):
    create_model(owner, "churn", users=["olive"])
    create_model(owner, "public", visibility="public")
    assert [total(client) for client in (owner, reader, outsider, admin)] == [2, 2, 1, 2]


def test_a_promoted_user_counts_what_admins_see(acme, owner, outsider, admin):
    create_model(owner, "churn")
    assert total(outsider) == 0
    oscar = acme.user("oscar")
    assert admin.put(f"/v1/users/{oscar.pk}", {"role": "admin"}, format="json").status_code == 200
    assert total(acme.client("oscar")) == 1


def test_another_tenant_never_sees_a_total_cached_for_this_one(owner, other_tenant):
    create_model(owner, "public", visibility="public")
    assert total(owner) == 1
    assert total(other_tenant) == 0


# ---------------------------------------------------------------- totals follow what their filter reads


def vocabulary_count_statements(acme: Any, client: APIClient) -> list[str]:
    """The statements of a tag list that count the items using each tag."""
    _, sent = get_with_statements(acme, client, "/v1/tags", {"filter": json.dumps({"_id": "tabular"})})
    return [sql for sql in sent if "COUNT(" in sql and "ITEMS_" in sql]


def test_an_edit_keeps_the_totals_of_filters_that_do_not_read_what_it_changed(acme, owner):
    churn = create_model(owner, "churn", tags=["tabular"])
    by_tag, by_description = {"tags": "tabular"}, {"description": "calibrated"}
    for document in ({}, by_tag, by_description):
        assert count_statements(acme, owner, document) != []
    assert vocabulary_count_statements(acme, owner) != []
    assert owner.put(f"/v1/models/{churn['_id']}", {"description": "calibrated"}, format="json").status_code == 200
    assert count_statements(acme, owner, {}) == []
    assert count_statements(acme, owner, by_tag) == []
    assert vocabulary_count_statements(acme, owner) == []
    assert count_statements(acme, owner, by_description) != [], "the description filter reads what changed"
    assert total(owner, by_description) == 1


def test_a_filter_on_a_field_the_registry_does_not_classify_is_counted_after_every_write():
    assert listing.filter_aspects({"tags": "tabular", "$or": [{"name": "a"}, {"metadata.accuracy": 1}]}) == {
        "tags",
        "name",
        "metadata",
    }
    assert listing.filter_aspects([{"owner": "reggie"}, {"_id": "x"}]) == set()
    assert listing.filter_aspects({"$and": [{"tags": "a"}, {"popularity": 3}]}) is None


def test_every_item_filter_and_every_item_field_is_classified():
    declared = generation.field_aspects()
    for kind in kinds.every():
        fields = set(listing.item_list_spec(kind, User(username="reggie")).fields)
        unclassified = {name for name in fields if listing.field_aspects_of(name, declared) is None}
        assert not unclassified, f"unclassified {kind} filters: {unclassified}"
        writable = set(update_input(kind)().fields)
        assert writable <= set(declared), (
            f"{kind} fields an update changes but declares nothing of: {writable - set(declared)}"
        )
    assert {aspect for aspect in declared.values() if aspect} <= set(generation.ASPECTS)


CHANGES = {
    "name": ({"name": "renamed"}, {"name": "renamed"}),
    "description": ({"description": "calibrated"}, {"description": "calibrated"}),
    "status": ({"status": "production"}, {"status": "production"}),
    "tags": ({"tags": {"add": ["vision"]}}, {"tags": "vision"}),
    "metadata": ({"metadata": {"add": [{"name": "accuracy", "value": 0.95}]}}, {"metadata.accuracy": {"$gt": 0.9}}),
}


@pytest.mark.parametrize("field", sorted(CHANGES))
def test_each_kind_of_edit_is_counted_by_the_filters_that_read_it(owner, field):
    churn = create_model(owner, "churn", metadata=[{"name": "accuracy", "value": 0.5}])
    change, document = CHANGES[field]
    assert total(owner, document) == 0
    assert owner.put(f"/v1/models/{churn['_id']}", change, format="json").status_code == 200
    assert total(owner, document) == 1


def test_any_edit_is_counted_by_a_lastmod_filter(owner):
    churn = create_model(owner, "churn")
    changed_since = {"lastmod": {"$gt": churn["lastmod"]}}
    assert total(owner, changed_since) == 0
    assert owner.put(f"/v1/models/{churn['_id']}", {"tags": ["vision"]}, format="json").status_code == 200
    assert total(owner, changed_since) == 1


def test_linking_a_dataset_is_counted_by_a_datasets_filter(owner):
    data = create_dataset(owner, "customers")
    churn = create_model(owner, "churn")
    uses_customers = {"datasets": data["_id"]}
    assert total(owner, uses_customers) == 0
    assert owner.put(f"/v1/models/{churn['_id']}", {"datasets": [data["_id"]]}, format="json").status_code == 200
    assert total(owner, uses_customers) == 1


def test_an_edit_keeps_which_items_a_page_shows_and_the_page_shows_the_edit(acme, owner):
    churn = create_model(owner, "churn", tags=["tabular"])
    create_model(owner, "fraud", tags=["tabular"])
    params = {"filter": json.dumps({"tags": "tabular"})}
    get_with_statements(acme, owner, "/v1/models", params)
    assert owner.put(f"/v1/models/{churn['_id']}", {"description": "calibrated"}, format="json").status_code == 200
    body, sent = get_with_statements(acme, owner, "/v1/models", params)
    assert [sql for sql in sent if "ITEMS_ITEM" in sql and "LIMIT" in sql] == [], "the page was chosen again"
    assert {doc["name"]: doc["description"] for doc in body["docs"]} == {"churn": "calibrated", "fraud": ""}


def names_in_order(client: APIClient, sort: dict[str, str]) -> list[str]:
    response = client.get("/v1/models", {"sort": json.dumps(sort)})
    assert response.status_code == 200, response.content
    return [doc["name"] for doc in response.json()["docs"]]


def test_a_rename_reorders_a_page_sorted_by_name(owner):
    alpha = create_model(owner, "alpha")
    create_model(owner, "beta")
    assert names_in_order(owner, {"name": "asc"}) == ["alpha", "beta"]
    assert owner.put(f"/v1/models/{alpha['_id']}", {"name": "gamma"}, format="json").status_code == 200
    assert names_in_order(owner, {"name": "asc"}) == ["beta", "gamma"]


def test_an_edit_moves_an_item_to_the_top_of_a_page_sorted_by_lastmod(owner):
    alpha = create_model(owner, "alpha")
    create_model(owner, "beta")
    assert names_in_order(owner, {"lastmod": "desc"}) == ["beta", "alpha"]
    assert owner.put(f"/v1/models/{alpha['_id']}", {"tags": ["vision"]}, format="json").status_code == 200
    assert names_in_order(owner, {"lastmod": "desc"}) == ["alpha", "beta"]


def test_an_item_made_private_leaves_a_cached_page_of_an_outsider(owner, outsider):
    alpha = create_model(owner, "alpha", visibility="public")
    assert names_in_order(outsider, {"name": "asc"}) == ["alpha"]
    assert owner.put(f"/v1/models/{alpha['_id']}", {"visibility": "private"}, format="json").status_code == 200
    assert names_in_order(outsider, {"name": "asc"}) == []


# ---------------------------------------------------------------- totals follow who may read what


def test_a_private_item_of_someone_else_leaves_a_readers_totals_cached(acme, owner, outsider):
    create_model(owner, "public", visibility="public", tags=["tabular"])
    for document in ({}, {"tags": "tabular"}):
        assert count_statements(acme, outsider, document) != []
    create_model(owner, "private", tags=["tabular"])
    for document in ({}, {"tags": "tabular"}):
        assert count_statements(acme, outsider, document) == []
        assert total(outsider, document) == 1


def test_everyone_who_may_read_a_new_item_counts_it_at_once(owner, reader, outsider, admin):
    create_model(owner, "public", visibility="public")
    assert [total(client) for client in (owner, reader, outsider, admin)] == [1, 1, 1, 1]
    create_model(owner, "shared", users=["olive"])
    assert [total(client) for client in (owner, reader, outsider, admin)] == [2, 2, 1, 2]
    create_model(owner, "private")
    assert [total(client) for client in (owner, reader, outsider, admin)] == [3, 2, 1, 3]


def test_everyone_who_could_read_a_deleted_item_stops_counting_it(owner, reader, outsider, admin):
    shared = create_model(owner, "shared", users=["olive"])
    public = create_model(owner, "public", visibility="public")
    assert [total(client) for client in (owner, reader, outsider, admin)] == [2, 2, 1, 2]
    assert owner.delete(f"/v1/models/{shared['_id']}").status_code == 200
    assert [total(client) for client in (owner, reader, outsider, admin)] == [1, 1, 1, 1]
    assert owner.delete(f"/v1/models/{public['_id']}").status_code == 200
    assert [total(client) for client in (owner, reader, outsider, admin)] == [0, 0, 0, 0]


def test_an_item_made_private_leaves_an_outsiders_totals(owner, reader, outsider):
    churn = create_model(owner, "churn", visibility="public", users=["olive"])
    assert [total(client) for client in (owner, reader, outsider)] == [1, 1, 1]
    assert owner.put(f"/v1/models/{churn['_id']}", {"visibility": "private"}, format="json").status_code == 200
    assert [total(client) for client in (owner, reader, outsider)] == [1, 1, 0]


def test_replacing_the_share_list_changes_what_both_readers_count(acme, owner, reader):
    acme.add_user("paula")
    paula = acme.client("paula")
    churn = create_model(owner, "churn", users=["olive"])
    assert (total(reader), total(paula)) == (1, 0)
    assert owner.put(f"/v1/models/{churn['_id']}", {"users": ["paula"]}, format="json").status_code == 200
    assert (total(reader), total(paula)) == (0, 1)
    assert total(owner, {"users": "paula"}) == 1


# ---------------------------------------------------------------- documents follow their item's revision


def related_statements(sent: list[str]) -> list[str]:
    """Statements reading an item's tags, metadata or shares' usernames."""
    reads = ("ITEMS_ITEMTAG", "ITEMS_METADATAENTRY", 'FROM "ITEMS_SHARE" INNER JOIN "TENANTS_APP_USER"')
    return [sql for sql in sent if any(part in sql for part in reads)]


@pytest.fixture
def built_documents(monkeypatch) -> list[str]:
    """The ids of the items whose documents are built (not served from the cache), in order."""
    built: list[str] = []
    build = views.item_documents

    def spy(items: list[Item], viewer: User) -> list[dict[str, Any]]:
        built.extend(item.pk for item in items)
        return build(items, viewer)

    monkeypatch.setattr(views, "item_documents", spy)
    return built


def test_an_edit_of_one_item_keeps_the_documents_of_the_others(acme, owner, built_documents):
    churn = create_model(owner, "churn", tags=["tabular"])
    fraud = create_model(owner, "fraud", tags=["tabular"])
    get_with_statements(acme, owner, "/v1/models")
    get_with_statements(acme, owner, f"/v1/models/{fraud['_id']}")
    assert owner.put(f"/v1/models/{churn['_id']}", {"description": "calibrated"}, format="json").status_code == 200
    built_documents.clear()
    body, _ = get_with_statements(acme, owner, "/v1/models")
    assert [doc["description"] for doc in body["docs"]] == ["", "calibrated"]
    assert built_documents == [churn["_id"]], "only the edited item's document is built again"
    document, _ = get_with_statements(acme, owner, f"/v1/models/{fraud['_id']}")
    assert document["name"] == "fraud"
    assert built_documents == [churn["_id"]]


def test_documents_take_their_lists_from_the_item_row(acme, owner):
    dataset = create_dataset(owner, "census")
    churn = create_model(
        owner,
        "churn",
        users=["olive"],
        tags=["tabular"],
        datasets=[dataset["_id"]],
        metadata=[{"name": "accuracy", "value": 0.9}],
    )
    document, sent = get_with_statements(acme, owner, f"/v1/models/{churn['_id']}")
    assert related_statements(sent) == [], "no query for shares, tags or metadata"
    assert len(sent) == 4, "the user, the counters, the item, and which of its datasets the viewer may read"
    assert (document["users"], document["tags"], document["datasets"]) == (["olive"], ["tabular"], [dataset["_id"]])
    assert document["metadata"] == [{"name": "accuracy", "value": 0.9}]


def test_a_deleted_user_leaves_the_cached_documents_shared_with_them(acme, owner, admin):
    churn = create_model(owner, "churn", users=["olive"])
    assert owner.get(f"/v1/models/{churn['_id']}").json()["users"] == ["olive"]
    assert admin.delete(f"/v1/users/{acme.user('olive').pk}").status_code == 200
    assert owner.get(f"/v1/models/{churn['_id']}").json()["users"] == []


def test_a_change_of_visibility_counts_from_the_committed_row_not_from_a_stale_read(acme, owner, outsider):
    churn = create_model(owner, "churn")
    assert total(outsider) == 0
    with tenancy.using_tenant(acme.tenant):
        item = Item.objects.get(pk=churn["_id"])
        item.visibility = "public"  # as read before someone else made it private again
        services.update_item(Caller(user=acme.user("reggie")), item, {"visibility": "public"}, {})
    assert total(outsider) == 1
