"""An unfiltered list's ``totalDocs`` is counted in three parts (``count_readable``), and one item is read by
testing the rule on its row (``readable_one``): both must agree with the one visibility rule for every
persona, whatever mix of public, private, shared and owned items there is.

Personas: ``reggie`` and ``olive`` own items and share some with each other, ``oscar`` an outsider of acme,
``ada`` acme's admin, and globex, another tenant with no items.
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from django.db import connections
from django.test.utils import CaptureQueriesContext

from items_app.models import Item, Visibility
from items_app.querysets import HIDDEN, count_readable
from tenants_app import tenancy
from tenants_app.databases import alias_for
from testing.helpers import create_dataset, create_model


@pytest.fixture
def mixed(acme: Any) -> Any:
    """Public, private, shared-with-one, shared-with-several, shared with the owner too, and datasets."""
    acme.add_user("oscar")
    reggie, olive = acme.client("reggie"), acme.client("olive")
    create_model(reggie, "public-one", visibility="public")
    create_model(reggie, "public-shared", visibility="public", users=["olive"])
    create_model(reggie, "private-one")
    create_model(reggie, "shared-with-olive", users=["olive"])
    create_model(reggie, "shared-with-both", users=["olive", "oscar"])
    create_model(reggie, "shared-with-its-owner", users=["reggie", "olive"])
    create_model(olive, "olives-private")
    create_model(olive, "olives-shared-with-reggie", users=["reggie"])
    create_dataset(reggie, "public-dataset", visibility="public")
    create_dataset(olive, "private-dataset", users=["reggie"])
    return acme


def both_counts(tenant: Any, username: str, kind: str) -> tuple[int, int]:
    """(split count, the rule's own count) of the items of ``kind`` that ``username`` may read."""
    with tenancy.using_tenant(tenant.tenant):
        user = tenant.user(username)
        items = Item.objects.of_kind(kind)
        return count_readable(kind, user), items.visible_to(user).count()


@pytest.mark.parametrize(
    ("username", "models", "datasets"),
    [("reggie", 7, 2), ("olive", 7, 2), ("oscar", 3, 1), ("ada", 8, 2)],
)
def test_the_split_count_agrees_with_the_visibility_rule_for_every_persona(mixed, username, models, datasets):
    assert both_counts(mixed, username, "model") == (models, models)
    assert both_counts(mixed, username, "dataset") == (datasets, datasets)


def test_an_unfiltered_list_reports_the_split_count(mixed):
    response = mixed.client("olive").get("/v1/models")

    assert response.status_code == 200
    assert response.json()["totalDocs"] == 7


@pytest.mark.parametrize(
    ("username", "excluded", "models"),
    [("reggie", "private-one", 6), ("olive", "private-one", 7), ("oscar", "shared-with-both", 2), ("ada", "x", 8)],
)
def test_the_split_count_less_the_excluded_items_agrees_with_the_rule(mixed, username, excluded, models):
    with tenancy.using_tenant(mixed.tenant):
        user = mixed.user(username)
        readable = Item.objects.of_kind("model").visible_to(user)
        counted = count_readable("model", user, excluding=readable.filter(name=excluded))

        assert counted == readable.exclude(name=excluded).count() == models


def test_a_negated_filter_is_counted_without_testing_every_item(mixed):
    """``name != x`` matches nearly everything: its total is the split count less the items named x, one
    statement that reads the maintained counts and the name index, not a test of the condition per item."""
    client = mixed.client("olive")
    with CaptureQueriesContext(connections[alias_for(mixed.tenant.database)]) as captured:
        response = client.get("/v1/models", {"filter": json.dumps({"name": {"$ne": "public-one"}})})

    counts = [query["sql"] for query in captured.captured_queries if "COUNT(" in query["sql"].upper()]
    assert response.json()["totalDocs"] == 6
    assert len(counts) == 1
    assert "items_itemcount" in counts[0]
    assert '"name" = ' in counts[0]
    assert not re.search(r'NOT \([^()]*"name"', counts[0])


def test_a_tenant_without_items_counts_none(globex):
    assert both_counts(globex, "gus", "model") == (0, 0)
    globex.add_user("gina")
    assert both_counts(globex, "gina", "model") == (0, 0)


@pytest.mark.parametrize("username", ["reggie", "olive", "oscar", "ada"])
def test_reading_one_item_agrees_with_the_visibility_rule_for_every_persona(mixed, username):
    with tenancy.using_tenant(mixed.tenant):
        user = mixed.user(username)
        for item in Item.objects.all():
            readable = Item.objects.visible_to(user).filter(pk=item.pk).first()
            assert Item.objects.readable_one(item.pk, user) == readable, f"{username} reading {item.name}"
        assert Item.objects.readable_one("0" * 24, user) is None


def test_the_hidden_visibilities_are_every_one_but_public():
    assert set(HIDDEN) == set(Visibility.values) - {Visibility.PUBLIC}
