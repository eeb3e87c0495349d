"""Name search through indexes (``items_app.name_search``): the same items as the regex alone, from an index.

Each pattern's items are compared with the regex run on its own (no narrowing) and with Python over the
same names, on whichever database the suite runs on; the plans show the index.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
import re2
from django.db import connections
from django.db.models import QuerySet
from django.test.utils import CaptureQueriesContext

from items_app import generation, name_search
from items_app.models import Item
from items_app.name_search import SQLITE_TRIGRAM_TABLE, Literal, literal, successor
from tenants_app import tenancy
from tenants_app.databases import alias_for
from testing.helpers import analyzed_catalogue, filtered_items, index_plans
from testing.kinds import KindCase

NAMES = [
    "resnet-50",
    "ResNet-101",
    "RESNET_v2",
    "my-resnet",
    "resnet",
    "res",
    "re",
    "bert-base",
    "BERT-large",
    "50%_off",
    "50x_off",
    "a_b",
    "axb",
    "back\\slash",
    "backslash",
    'quote"d',
    "größe-modell",
    "GRÖSSE-MODELL",
    "élan",
    "Élan",
    "\u212aelvin",  # KELVIN SIGN: RE2's case folding equates it with k
    "kelvin",
    "la\u017ft",  # LONG S: RE2's case folding equates it with s
    "last",
    "日本語モデル",
    "model-000123",
    "model-000124",
    "zzz",
    "\U0010ffffmax",
]
PATTERNS = [
    "^resnet",
    "^ResNet",
    "^res",
    "^r",
    "^RESNET",
    "^resnet\\-",
    "^50%",
    "^50%_",
    "^a_",
    "^back\\\\",
    '^quote"',
    "^größe",
    "^élan",
    "^日本",
    "^model\\-00012",
    "^kel",
    "^las",
    "^\U0010ffff",
    "^nothing-here",
    "resnet",
    "ResNet",
    "esn",
    "es",
    "net-",
    "50%_",
    "%_o",
    "a_b",
    "k\\\\s",
    'e"d',
    "elvin",
    "ast",
    "öss",
    "größe",
    "モデル",
    "-000",
    "nothing",
    # not literal: no narrowing, scanned as before
    "^res.*",
    "res|bert",
    "^.es",
    "[rR]es",
    "\\d+",
    "^resnet$",
]


@pytest.fixture
def named(acme: Any, kind: KindCase) -> Any:
    reggie = acme.user("reggie")
    with tenancy.using_tenant(acme.tenant), generation.changing():
        for name in NAMES:
            Item.objects.create(kind=kind.value, name=name, owner=reggie, visibility="public")
    return acme


def searched(acme: Any, kind: KindCase, pattern: str, options: str) -> QuerySet[Item]:
    """The items of ``kind`` whose name matches, through the list's own filter translation (call it
    inside the tenant)."""
    document = {"name": {"$regex": pattern, **({"$options": options} if options else {})}}
    return filtered_items(acme, kind.value, json.loads(json.dumps(document)))


def names_matching(acme: Any, kind: KindCase, pattern: str, options: str) -> list[str]:
    with tenancy.using_tenant(acme.tenant):
        return sorted(searched(acme, kind, pattern, options).values_list("name", flat=True))


def python_names(pattern: str, options: str) -> list[str]:
    compiled = re2.compile(("(?i)" if options else "") + pattern)
    return sorted(name for name in NAMES if compiled.search(name))


def engine_agrees_with_re2(options: str) -> bool:
    # SQLite runs REGEXP with RE2; PostgreSQL's own engine folds case its own way for non-ASCII names.
    return connections["default"].vendor == "sqlite" or not options


@pytest.mark.parametrize("options", ["", "i"])
def test_indexed_name_search_finds_exactly_what_the_regex_finds(named, kind, options, monkeypatch):
    indexed = {pattern: names_matching(named, kind, pattern, options) for pattern in PATTERNS}
    monkeypatch.setattr(name_search, "literal", lambda pattern: None)
    for pattern in PATTERNS:
        scanned = names_matching(named, kind, pattern, options)
        assert indexed[pattern] == scanned, pattern
        if engine_agrees_with_re2(options):
            assert indexed[pattern] == python_names(pattern, options), pattern
        else:
            ascii_names = [name for name in python_names(pattern, options) if name.isascii()]
            assert [name for name in indexed[pattern] if name.isascii()] == ascii_names, pattern


def test_the_trigram_table_follows_renames_and_deletes(named, kind):
    with tenancy.using_tenant(named.tenant), generation.changing():
        Item.objects.filter(name="resnet-50").update(name="efficientnet-b0")
        Item.objects.filter(name="my-resnet").delete()
    assert names_matching(named, kind, "resnet", "i") == ["RESNET_v2", "ResNet-101", "resnet"]
    assert names_matching(named, kind, "efficientnet", "i") == ["efficientnet-b0"]
    assert names_matching(named, kind, "^efficient", "") == ["efficientnet-b0"]


def test_literal_patterns_are_recognised_and_others_are_not():
    assert literal("^resnet\\-50") == Literal("resnet-50", prefix=True)
    assert literal("resnet") == Literal("resnet", prefix=False)
    assert literal("a\\.b\\ c") == Literal("a.b c", prefix=False)
    for pattern in ("^", "^res.", "res*", "a|b", "(ab)", "[ab]", "a{2}", "\\d", "\\x41", "a$", "\\Qa\\E", "\\é"):
        assert literal(pattern) is None, pattern


def test_the_successor_bounds_every_string_with_the_prefix():
    assert successor("abc") == "abd"
    assert successor("a\U0010ffff") == "b"
    assert successor("\U0010ffff") is None
    assert successor("\ud7ff") == "\ue000"


@pytest.fixture
def catalogue(named: Any, kind: KindCase) -> Any:
    """Enough items, with fresh planner statistics, for the plans to be those of a real catalogue."""
    analyzed_catalogue(named.tenant, named.user("reggie"), kind.value, "catalogue")
    return named


def plan(acme: Any, kind: KindCase, pattern: str, options: str) -> str:
    with tenancy.using_tenant(acme.tenant) as active, index_plans(active.alias):
        return searched(acme, kind, pattern, options).explain()


@pytest.mark.parametrize(
    ("pattern", "options", "sqlite_index", "postgres_index"),
    [
        ("^resnet", "", "item_kind_name", "item_kind_name_pattern"),
        ("^ResNet", "i", "item_kind_folded_name", "item_kind_folded_name"),
        ("resnet", "i", "items_item_name_trigram", "item_folded_name_trigram"),
    ],
)
def test_name_search_plans_use_the_index(catalogue, kind, pattern, options, sqlite_index, postgres_index):
    explained = plan(catalogue, kind, pattern, options)
    expected = sqlite_index if connections["default"].vendor == "sqlite" else postgres_index
    assert expected in explained, explained


def test_a_substring_search_is_counted_and_paged_from_one_reading_of_the_index(named, kind, outsider):
    document = {"name": {"$regex": "ESNE", "$options": "i"}}
    searching = SQLITE_TRIGRAM_TABLE if connections["default"].vendor == "sqlite" else "replace(replace("
    matching = [name for name in NAMES if re2.search("(?i)ESNE", name)]

    with CaptureQueriesContext(connections[alias_for(named.tenant.database)]) as captured:
        response = outsider.get(kind.api, {"filter": json.dumps(document), "limit": "2"})

    body = response.json()
    assert body["totalDocs"] == len(matching) > 2
    assert [doc["name"] for doc in body["docs"]] == matching[::-1][:2]  # the newest first
    assert len([query for query in captured.captured_queries if searching in query["sql"]]) == 1
