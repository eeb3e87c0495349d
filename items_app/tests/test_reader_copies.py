"""Tag and metadata rows carry copies of their item's kind and public flag (``models.reader_copies``), and a
filter made only of conditions on those rows is counted from them (``querysets.count_matching``).

The copies must follow every write, or totals would be wrong: these tests check the rows after creates,
batch creates, visibility changes both ways and list edits, and compare every persona's ``totalDocs`` with
the matches listed, for filters counted from the rows and others. Personas: ``owner`` (reggie) and
``reader`` (olive) own public, private and shared items; ``outsider`` (oscar) was given nothing; ``admin``
(ada) reads everything.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

import pytest
from django.core.management import call_command
from django.db import connections
from django.test.utils import CaptureQueriesContext

from items_app import listing
from items_app.models import ItemTag, MetadataEntry
from items_app.recency import created_number
from tenants_app import tenancy
from tenants_app.databases import alias_for
from testing.kinds import KINDS, MODEL, KindCase

FILTERS = [
    {"tags": "cnn"},
    {"tags": {"$in": ["cnn", "nlp"]}},
    {"tags": {"$all": ["cnn", "edge"]}},
    {"metadata.accuracy": {"$gte": 0.5}},
    {"metadata.quantized": True},
    {"tags": "cnn", "metadata.accuracy": {"$gte": 0.3}},
    {"$or": [{"metadata.framework": "onnx"}, {"tags": "nlp"}]},
    {"metadata.framework": {"$in": ["onnx", "jax"]}},
    {"metadata": {"$elemMatch": {"name": {"$regex": "^acc|^fram"}, "value": {"$gte": 0.5}}}},
    {"tags": {"$ne": "cnn"}},
    {"tags": "cnn", "name": {"$regex": "^item-1"}},
    # Negations are counted as the readable items less the matches of what they negate (``negation_of``).
    {"name": {"$ne": "item-03"}},
    {"name": {"$nin": ["item-01", "item-04", "ada-private"]}},
    {"name": {"$not": {"$regex": "^item-0"}}},
    {"metadata.framework": {"$ne": "onnx"}},
    {"$nor": [{"tags": "cnn"}, {"metadata.accuracy": {"$gte": 0.5}}]},
]


def copies_of(tenant: Any) -> set[tuple[str, str, bool, str, Any]]:
    """(table, item, public, kind, item's creation time) of every tag and metadata row."""
    with tenancy.using_tenant(tenant.tenant):
        rows = [("tag", row) for row in ItemTag.objects.all()]
        rows += [("metadata", row) for row in MetadataEntry.objects.all()]
    return {(table, row.item_id, row.public, row.kind, row.item_created) for table, row in rows}


def expected_copies(tenant: Any) -> set[tuple[str, str, bool, str, Any]]:
    """The same, as the items say."""
    with tenancy.using_tenant(tenant.tenant):
        rows = [("tag", row) for row in ItemTag.objects.select_related("item")]
        rows += [("metadata", row) for row in MetadataEntry.objects.select_related("item")]
    return {
        (table, row.item_id, row.item.visibility == "public", row.item.kind, created_number(row.item.timestamp))
        for table, row in rows
    }


def item_fields(n: int) -> dict[str, Any]:
    return {
        "tags": [tag for tag, every in (("cnn", 2), ("nlp", 3), ("edge", 4)) if n % every == 0],
        "metadata": [
            {"name": "accuracy", "value": round(n / 12, 3)},
            {"name": "framework", "value": "onnx" if n % 2 else "pytorch"},
            {"name": "quantized", "value": n % 3 == 1},
        ],
    }


def create_catalogue(
    kind: KindCase, owner: Any, reader: Any, admin: Any, fields: Callable[[int], dict[str, Any]] = item_fields
) -> None:
    """Twelve items of reggie's and olive's (public, private, shared with the other), one of ada's; and three
    of another kind with the same tags and values, which no list of ``kind`` may count."""
    for n in range(12):
        client, other = (reader, "reggie") if n % 5 == 0 else (owner, "olive")
        kind.create(
            client,
            f"item-{n:02d}",
            visibility="public" if n % 3 else "private",
            users=[other] if n % 4 == 1 else [],
            **fields(n),
        )
    kind.create(admin, "ada-private", **fields(6))
    other_kind = next(case for case in KINDS if case.value != kind.value)
    for n, client in ((1, owner), (3, reader), (6, admin)):
        other_kind.create(client, f"other-kind-{n:02d}", visibility="public" if n % 3 else "private", **fields(n))


# The persona x filter matrices run for one kind: a kind is a column of the rows like their public flag, and
# each catalogue holds items of the other kind that the lists must leave out; the tests of each behaviour
# above and below run for every kind.
ONE_KIND = pytest.mark.parametrize("kind", [MODEL], ids=str)


@pytest.fixture
def catalogue(acme, owner, reader, admin, kind):
    create_catalogue(kind, owner, reader, admin)
    return acme


def listed(kind: KindCase, client: Any, document: Any) -> tuple[int, int]:
    """``totalDocs`` of ``document``, and how many items its pages list."""
    total, ids = listed_ids(kind, client, document)
    return total, len(ids)


def listed_ids(kind: KindCase, client: Any, document: Any, limit: int = 100) -> tuple[int, list[str]]:
    """``totalDocs`` of ``document``, and the ids its pages of ``limit`` list, page after page."""
    ids: list[str] = []
    for page in range(1, 100 // limit + 2):
        response = client.get(kind.api, {"filter": json.dumps(document), "limit": str(limit), "page": str(page)})
        assert response.status_code == 200, response.content
        body = response.json()
        ids += [doc["_id"] for doc in body["docs"]]
    return body["totalDocs"], ids


def test_created_rows_copy_their_items_kind_public_flag_and_time(catalogue):
    assert copies_of(catalogue) == expected_copies(catalogue)
    assert {public for _, _, public, _, _ in copies_of(catalogue)} == {True, False}


def test_the_migration_copies_each_items_creation_time_to_its_rows(catalogue):
    alias = alias_for(catalogue.tenant.database)
    call_command("migrate", "items", "0023", database=alias, verbosity=0)  # rows without the copy

    call_command("migrate", "items", database=alias, verbosity=0)

    assert copies_of(catalogue) == expected_copies(catalogue)


def test_a_batch_create_copies_each_items_flag(acme, owner, kind):
    bodies = [{"name": f"batch-{n}", "visibility": ("public", "private")[n % 2], **item_fields(n)} for n in range(4)]
    assert owner.post(kind.api, bodies, format="json").status_code == 201

    assert copies_of(acme) == expected_copies(acme)


@pytest.mark.parametrize("change", [("private", "public"), ("public", "private")], ids=["published", "hidden"])
def test_a_visibility_change_moves_every_row_of_the_item(acme, owner, kind, change):
    before, after = change
    item = kind.create(owner, "flip", visibility=before, **item_fields(6))

    response = owner.put(kind.url(item), {"visibility": after}, format="json")

    assert response.status_code == 200, response.content
    assert copies_of(acme) == expected_copies(acme)
    assert {public for _, _, public, _, _ in copies_of(acme)} == {after == "public"}


def test_rows_added_with_a_visibility_change_take_the_new_flag(acme, owner, kind):
    item = kind.create(owner, "flip", visibility="private", tags=["cnn"])

    response = owner.put(
        kind.url(item),
        {"visibility": "public", "tags": ["cnn", "edge"], "metadata": [{"name": "accuracy", "value": 0.5}]},
        format="json",
    )

    assert response.status_code == 200, response.content
    assert copies_of(acme) == expected_copies(acme)


def item_scan(document: Any) -> Any:
    """``document`` with a condition on the items themselves, which no id set answers: counted and listed
    the general way, item by item."""
    return {"$and": [document, {"name": {"$ne": "no-such-item"}}]}


@pytest.mark.parametrize("few_matches", [1000, 1], ids=["ids-read-once", "too-many-to-read"])
@pytest.mark.parametrize("document", FILTERS, ids=json.dumps)
@ONE_KIND
def test_every_personas_total_is_what_their_pages_list(
    catalogue, owner, reader, outsider, admin, kind, document, few_matches, monkeypatch
):
    # ``WALK_MIN_TOTAL`` also bounds the matches whose ids a total reads for its page (``count_matching``).
    monkeypatch.setattr(listing, "WALK_MIN_TOTAL", few_matches)
    for client in (owner, reader, outsider, admin):
        assert_listed_as_item_by_item(kind, client, document)


def assert_listed_as_item_by_item(kind: KindCase, client: Any, document: Any) -> None:
    """``client``'s total and pages of ``document`` are those of the same filter counted item by item."""
    total, ids = listed_ids(kind, client, document)
    assert (total, ids) == listed_ids(kind, client, item_scan(document))
    assert total == len(ids)
    # Pages of 3, newest first: the same items in the same order, wherever they were found.
    assert listed_ids(kind, client, document, limit=3)[1] == ids


def test_a_combined_id_set_is_read_once_for_the_total_and_the_page(catalogue, reader, kind):
    # A pattern has no posting (``items_app.postings``): the set is combined by the database.
    document = {"tags": "nlp", "metadata.framework": {"$regex": "^onn"}}
    with CaptureQueriesContext(connections[alias_for(catalogue.tenant.database)]) as captured:
        total, listed_items = listed(kind, reader, document)

    combined = [query["sql"] for query in captured.captured_queries if " INTERSECT " in query["sql"]]
    assert total == listed_items == listed(kind, reader, item_scan(document))[0] > 0
    # Its public matches, then the others: each read and counted by one statement, not again for the page.
    assert len(combined) == 2
    assert all(" OVER ()" in sql for sql in combined)


def test_other_kinds_rows_are_not_counted(catalogue, owner, kind):
    from testing.kinds import KINDS

    other = next(case for case in KINDS if case.value != kind.value)
    other.create(owner, "other-kind", visibility="public", tags=["cnn"])

    assert listed(kind, owner, {"tags": "cnn"}) == listed(kind, owner, {"tags": "cnn", "name": {"$ne": "x"}})


def test_a_filter_on_rows_counts_its_public_matches_without_the_items(catalogue, outsider, kind):
    with CaptureQueriesContext(connections[alias_for(catalogue.tenant.database)]) as captured:
        total, listed_items = listed(kind, outsider, {"metadata.accuracy": {"$gte": 0.5}})

    # From the postings and the edges of the range in the rows (``items_app.postings``), never the items.
    totals = [query["sql"] for query in captured.captured_queries if "items_posting" in query["sql"]]
    assert total == listed_items == 4  # items 6-11 are >= 0.5; 6 and 9 are private, shared with no outsider
    assert totals  # a lone range: its count, then (few matches) their ordinals
    assert not [sql for sql in totals if "items_item " in sql or '"items_item"' in sql]


def hidden_row_statements(tenant: Any, client: Any, kind: KindCase, document: Any) -> list[str]:
    """The statements of one list request that read the rows of non-public items."""
    with CaptureQueriesContext(connections[alias_for(tenant.tenant.database)]) as captured:
        listed(kind, client, document)
    hidden_rows = re.compile(r'"public" IN \((0|false)\)')
    return [query["sql"] for query in captured.captured_queries if hidden_rows.search(query["sql"])]


@pytest.mark.parametrize("document", [{"tags": "cnn"}, {"tags": "cnn", "metadata.accuracy": {"$gte": 0.3}}])
def test_only_a_reader_of_hidden_items_has_their_matches_looked_up(catalogue, reader, outsider, kind, document):
    # olive owns private items and has items shared with her; oscar was given nothing.
    assert hidden_row_statements(catalogue, reader, kind, document)
    assert not hidden_row_statements(catalogue, outsider, kind, document)


def test_a_combined_id_set_in_id_order_holds_the_same_ids_in_order(catalogue, kind):
    from framework.api.filtering import in_id_order

    tagged = ItemTag.objects.filter(tag_id="cnn").values("item").order_by()
    accurate = MetadataEntry.objects.filter(name_id="accuracy", number__gte=0.3).values("item").order_by()
    with tenancy.using_tenant(catalogue.tenant):
        for combined in (tagged.intersection(accurate), tagged.union(accurate)):
            ids = {row["item"] for row in combined}
            listed_ids = list(in_id_order(combined.values_list("item", flat=True)))

            assert 0 < len(ids) == in_id_order(combined).count()
            assert listed_ids == sorted(ids)
