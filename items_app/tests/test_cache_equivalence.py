"""The cached reads answer exactly what reading again from the database answers, after every kind of write.

A scenario of writes runs through the API. After each write, every persona reads the same lists (filters,
sorts, pages), documents and vocabulary counts with the cache on (served from what earlier reads cached,
where nothing they depend on changed) and with ``CACHE_READS=False``, which computes everything again: the
answers must be equal. A write whose declared changes (``generation.changing``) miss something a cached read
depends on shows up here as a stale answer.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from django.db import connections
from django.test import override_settings
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from items_app import generation
from items_app.models import Item, ItemTag
from tenants_app import tenancy
from tenants_app.databases import alias_for
from testing.helpers import upload

PERSONAS = ("reggie", "olive", "oscar", "ada")  # owner, shared reader, outsider, admin
LIST_QUERIES: list[dict[str, Any]] = [
    {},
    {"filter": {"tags": "vision"}},
    {"filter": {"metadata.accuracy": {"$gte": 0.9}}},
    {"filter": {"$or": [{"name": {"$regex": "^res"}}, {"users": "olive"}]}},
    {"filter": {"visibility": "public"}, "sort": {"name": "asc"}, "limit": 2, "page": 2},
    {"filter": {"versions.original": "weights.onnx"}},
]
MODEL_QUERIES: list[dict[str, Any]] = [{"filter": {"status": "production"}}, {"sort": {"status": "asc"}}]


def encoded(query: dict[str, Any]) -> dict[str, str]:
    return {name: json.dumps(value) if isinstance(value, dict) else str(value) for name, value in query.items()}


def reads_of(client: APIClient, item_paths: list[str]) -> dict[str, Any]:
    """Everything the persona can read: item lists, each item's document, vocabulary with counts."""
    answers: dict[str, Any] = {}
    for collection, queries in (("/v1/models", [*LIST_QUERIES, *MODEL_QUERIES]), ("/v1/datasets", LIST_QUERIES)):
        for query in queries:
            response = client.get(collection, encoded(query))
            answers[f"{collection} {json.dumps(query, sort_keys=True)}"] = (response.status_code, response.json())
    for path in item_paths:
        response = client.get(path)
        answers[path] = (response.status_code, response.json())
    for vocabulary in ("/v1/tags", "/v1/metadata"):
        for query in ({}, {"sort": {"count": "desc"}}):
            response = client.get(vocabulary, encoded(query))
            answers[f"{vocabulary} {json.dumps(query)}"] = (response.status_code, response.json())
    return answers


def assert_cached_reads_are_exact(acme: Any, item_paths: list[str], after: str) -> None:
    for username in PERSONAS:
        client = acme.client(username)
        cached = reads_of(client, item_paths)
        with override_settings(CACHE_READS=False):
            computed = reads_of(client, item_paths)
        for key, answer in computed.items():
            assert cached[key] == answer, f"after {after}: {username} is served a stale {key}"


@pytest.fixture
def scenario(acme: Any) -> tuple[list[tuple[str, Callable[[], Any]]], dict[str, str]]:
    acme.add_user("oscar")
    acme.add_user("leaver")
    owner, admin = acme.client("reggie"), acme.client("ada")
    made: dict[str, str] = {}

    def create(path: str, body: dict[str, Any], key: str) -> None:
        response = owner.post(path, body, format="json")
        assert response.status_code == 201, response.content
        made[key] = f"{path}/{response.json()['_id']}"

    def change(key: str, body: dict[str, Any]) -> None:
        assert owner.put(made[key], body, format="json").status_code == 200

    return [
        ("a private dataset", lambda: create("/v1/datasets", {"name": "census", "tags": ["tabular"]}, "census")),
        (
            "a public model trained on it",
            lambda: create(
                "/v1/models",
                {
                    "name": "resnet",
                    "visibility": "public",
                    "tags": ["vision"],
                    "metadata": [{"name": "accuracy", "value": 0.91}],
                    "datasets": [made["census"].rsplit("/", 1)[1]],
                },
                "resnet",
            ),
        ),
        ("a private model", lambda: create("/v1/models", {"name": "churn", "tags": ["tabular"]}, "churn")),
        ("sharing the dataset", lambda: change("census", {"users": {"add": ["olive", "leaver"]}})),
        ("sharing a model", lambda: change("churn", {"users": ["olive"]})),
        ("a new status", lambda: change("churn", {"status": "production"})),
        ("a metric", lambda: change("churn", {"metadata": {"add": [{"name": "accuracy", "value": 0.95}]}})),
        ("a tag", lambda: change("churn", {"tags": {"add": ["vision"]}})),
        ("a rename", lambda: change("resnet", {"name": "resnet50"})),
        ("going private", lambda: change("resnet", {"visibility": "private"})),
        ("going public", lambda: change("churn", {"visibility": "public"})),
        ("unsharing", lambda: change("churn", {"users": {"remove": ["olive"]}})),
        ("an upload", lambda: upload(owner, f"{made['resnet']}/versions", "weights.onnx", b"weights")),
        (
            "a version's metrics",
            lambda: owner.put(
                f"{made['resnet']}/versions/1", {"metadata": [{"name": "accuracy", "value": 0.93}]}, format="json"
            ),
        ),
        ("an alias set", lambda: owner.put(f"{made['resnet']}/aliases/production", {"version": 1}, format="json")),
        ("an alias removed", lambda: owner.delete(f"{made['resnet']}/aliases/production")),
        ("a version deleted", lambda: owner.delete(f"{made['resnet']}/versions/1")),
        ("a user deleted", lambda: admin.delete(f"/v1/users/{acme.user('leaver').pk}")),
        ("a lineage dropped", lambda: change("resnet", {"datasets": []})),
        ("a model deleted", lambda: owner.delete(made["churn"])),
        ("a batch created", lambda: owner.post("/v1/models", [{"name": "a", "visibility": "public"}], format="json")),
    ], made


def test_every_read_after_every_write_equals_a_read_without_the_cache(acme, scenario):
    steps, made = scenario
    for description, write in steps:
        write()
        assert_cached_reads_are_exact(acme, list(made.values()), after=description)


def test_with_the_cache_off_every_read_goes_to_the_database(acme):
    owner = acme.client("reggie")
    owner.post("/v1/models", {"name": "churn"}, format="json")

    def statements() -> int:
        with CaptureQueriesContext(connections[alias_for(acme.tenant.database)]) as captured:
            assert owner.get("/v1/models").status_code == 200
        return len(captured.captured_queries)

    statements()
    cached = statements()
    with override_settings(CACHE_READS=False):
        uncached = statements()
    assert uncached > cached, "a repeated list is computed again only with the cache off"


def test_writing_item_data_outside_a_declared_change_is_refused(acme):
    churn = acme.client("reggie").post("/v1/models", {"name": "churn"}, format="json").json()
    with tenancy.using_tenant(acme.tenant):
        with pytest.raises(generation.UndeclaredWrite):
            Item.objects.filter(pk=churn["_id"]).update(name="renamed behind the cache's back")
        with pytest.raises(generation.UndeclaredWrite):
            ItemTag.objects.filter(item_id=churn["_id"]).delete()
        with generation.changing("name"):
            Item.objects.filter(pk=churn["_id"]).update(name="renamed")
    assert acme.client("reggie").get(f"/v1/models/{churn['_id']}").json()["name"] == "renamed"
