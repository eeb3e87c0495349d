"""A broad filter's page, newest first, is found by walking the recency index (``items_app.listing.page_of``):
the same rows, in the same order, with the same ``totalDocs``, as collecting every match and sorting it.

The walk starts at 1,000 matches; these tests lower the threshold (``walking``) so that a dozen items take
that path, and compare every page with the collected one. Personas: ``owner`` (reggie) and ``reader`` (olive)
own items, share some with each other and keep others private; the lists are read as olive, so visibility
is part of every query.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.db import connections
from django.test.utils import CaptureQueriesContext

from items_app import kinds, listing
from tenants_app import tenancy
from tenants_app.databases import alias_for
from testing.kinds import KindCase

ITEMS = 14
FILTERS = [
    {"tags": "cnn"},
    {"tags": "cnn", "metadata.accuracy": {"$gte": 0.5}},
    {"$or": [{"metadata.framework": "onnx"}, {"tags": "nlp"}]},
    {"metadata.accuracy": {"$gte": 0.2, "$lt": 0.8}, "metadata.quantized": True},
    {"tags": {"$ne": "cnn"}},
    {"tags": {"$all": ["cnn", "edge"]}},
    {"$nor": [{"tags": "nlp"}, {"metadata.quantized": True}]},
    {"name": {"$regex": "^item-1"}, "tags": "cnn"},
    {"visibility": "private"},
    {},
]


@pytest.fixture
def catalogue(acme, owner, reader, kind):
    """Fourteen items of reggie's and olive's, newest last: public, private, and private shared with olive."""
    for n in range(ITEMS):
        client = reader if n % 5 == 0 else owner
        visibility = "public" if n % 3 else "private"
        kind.create(
            client,
            f"item-{n:02d}",
            visibility=visibility,
            users=["olive"] if n % 4 == 1 and client is owner else [],
            tags=[tag for tag, every in (("cnn", 2), ("nlp", 3), ("edge", 4)) if n % every == 0],
            metadata=[
                {"name": "accuracy", "value": round(n / 14, 3)},
                {"name": "framework", "value": "onnx" if n % 2 else "pytorch"},
                {"name": "quantized", "value": n % 3 == 1},
            ],
        )
    return acme


@pytest.fixture
def walking(monkeypatch):
    """Every filter walks (a threshold of one match, any density), as broad filters do at scale."""
    monkeypatch.setattr(listing, "WALK_MIN_TOTAL", 1)
    monkeypatch.setattr(listing, "WALK_PER_MATCH", ITEMS)


def page(kind: KindCase, client: Any, document: Any, number: int, limit: int, **params: str) -> dict[str, Any]:
    response = client.get(
        kind.api, {"filter": json.dumps(document), "page": str(number), "limit": str(limit), **params}
    )
    assert response.status_code == 200, response.content
    body = response.json()
    return {"ids": [doc["_id"] for doc in body["docs"]], "total": body["totalDocs"]}


def pages(kind: KindCase, client: Any, document: Any, limit: int, tag: str, **params: str) -> list[dict[str, Any]]:
    """Every page of ``document``; ``tag`` makes the filter new, so that no cached page answers."""
    fresh = {"$and": [document, {"name": {"$ne": f"no-such-{tag}"}}]}
    return [page(kind, client, fresh, number, limit, **params) for number in range(1, 16 // limit + 2)]


def page_statements(tenant: Any, kind: KindCase, client: Any, document: Any, **params: str) -> list[str]:
    with CaptureQueriesContext(connections[alias_for(tenant.tenant.database)]) as captured:
        page(kind, client, document, 1, 3, **params)
    return [query["sql"] for query in captured.captured_queries if "ORDER BY" in query["sql"]]


@pytest.mark.parametrize("document", FILTERS, ids=json.dumps)
def test_a_walked_page_is_the_page_collected_and_sorted(catalogue, reader, kind, document, monkeypatch):
    collected = {limit: pages(kind, reader, document, limit, f"collected-{limit}") for limit in (1, 3, 10)}
    monkeypatch.setattr(listing, "WALK_MIN_TOTAL", 1)
    monkeypatch.setattr(listing, "WALK_PER_MATCH", ITEMS)

    walked = {limit: pages(kind, reader, document, limit, f"walked-{limit}") for limit in (1, 3, 10)}

    assert walked == collected
    assert collected[10][0]["total"] == len(collected[10][0]["ids"]) + len(collected[10][1]["ids"])


def test_a_broad_filter_tests_each_item_it_walks_past(catalogue, reader, kind, walking):
    statements = page_statements(catalogue, kind, reader, {"tags": "cnn", "metadata.accuracy": {"$gte": 0.5}})

    walk = [sql for sql in statements if "EXISTS" in sql]
    assert walk, statements
    assert " INTERSECT " not in walk[0]


def test_a_narrow_filter_is_collected_and_sorted(catalogue, reader, kind):
    statements = page_statements(catalogue, kind, reader, {"tags": "cnn", "metadata.accuracy": {"$gte": 0.5}})

    assert not any("EXISTS" in sql for sql in statements)


def test_a_walk_that_does_not_fill_its_page_falls_back_to_collecting(catalogue, reader, kind, monkeypatch):
    collected = pages(kind, reader, {"tags": "nlp"}, 3, "collected")
    monkeypatch.setattr(listing, "WALK_MIN_TOTAL", 1)
    monkeypatch.setattr(listing, "WALK_SPAN", (2, 2))  # the two newest items: olive reads no nlp item among them
    monkeypatch.setattr(listing, "WALK_MARGIN", 0)  # walked whatever the density of the matches

    statements = page_statements(catalogue, kind, reader, {"tags": "nlp", "name": {"$ne": "fresh"}})
    walked = pages(kind, reader, {"tags": "nlp"}, 3, "walked")

    assert [sql for sql in statements if "EXISTS" in sql], statements
    assert [sql for sql in statements if "EXISTS" not in sql and "LIMIT 1 OFFSET" not in sql], statements
    assert walked == collected
    assert collected[0]["total"] == 2


def test_matches_too_rare_for_a_walk_are_collected_without_one(catalogue, reader, kind, monkeypatch):
    collected = pages(kind, reader, {"tags": "nlp"}, 3, "collected")
    monkeypatch.setattr(listing, "WALK_MIN_TOTAL", 1)
    # 2 matches among 14 items: 3 rows of a page are expected within 3 * 3 * 14 / 2 = 63 items, more than 20.
    monkeypatch.setattr(listing, "WALK_SPAN", (2, 20))

    statements = page_statements(catalogue, kind, reader, {"tags": "nlp", "name": {"$ne": "fresh"}})
    walked = pages(kind, reader, {"tags": "nlp"}, 3, "walked")

    assert statements
    assert not [sql for sql in statements if "EXISTS" in sql or "LIMIT 1 OFFSET" in sql]
    assert walked == collected


def test_the_walk_reads_more_items_the_rarer_the_matches(catalogue, kind, monkeypatch):
    model = kinds.get(kind.value)
    with tenancy.using_tenant(catalogue.tenant):
        assert listing.walk_span(model, total=7, end=10) == listing.WALK_SPAN[0]  # 14 items, 2 per match
        assert listing.walk_span(model, total=4, end=10) is None  # 14 items walked for 4 matches: collected
        monkeypatch.setattr(listing, "WALK_PER_MATCH", ITEMS)
        assert listing.walk_span(model, total=1, end=1000) == listing.WALK_MARGIN * 1000 * ITEMS
        assert listing.walk_span(model, total=1, end=10**6) is None  # beyond the longest walk


def test_another_order_is_not_walked(catalogue, reader, kind, walking):
    statements = page_statements(catalogue, kind, reader, {"tags": "cnn"}, sort=json.dumps({"name": "asc"}))

    assert not any("EXISTS" in sql for sql in statements)
