"""An item's creation time as the number its rows order a page by (``items_app.recency``): the same number
from Python (new rows), from each engine's SQL (the migrations' copies, the ordinals' trigger), and in the
same order as the time."""

from __future__ import annotations

from datetime import UTC, datetime

from django.db import connections

from items_app import generation, postings, recency
from items_app.models import Item, ItemOrdinal, ItemTag
from tenants_app import tenancy
from tenants_app.databases import alias_for
from testing.helpers import create_model

TIMES = [
    datetime(2026, 12, 4, 23, 59, 59, 999999, tzinfo=UTC),
    datetime(2026, 12, 4, 23, 59, 59, tzinfo=UTC),  # no fraction: SQLite's text then has none either
    datetime(2026, 12, 4, 23, 59, 58, 1, tzinfo=UTC),
    datetime(2001, 9, 9, 1, 46, 40, 500000, tzinfo=UTC),
    datetime(1999, 12, 31, 23, 59, 59, 250, tzinfo=UTC),
]


def test_the_number_is_whole_microseconds_since_1970():
    assert recency.created_number(datetime(1970, 1, 1, 0, 0, 1, 5, tzinfo=UTC)) == 1_000_005
    assert recency.created_number(datetime(2001, 9, 9, 1, 46, 40, tzinfo=UTC)) == 10**15


def test_the_number_orders_as_the_time_does():
    assert sorted(TIMES, key=recency.created_number) == sorted(TIMES)


def test_each_engines_copy_of_existing_rows_is_the_number_new_rows_get(acme, owner):
    ids = [create_model(owner, f"timed-{n}", tags=["cnn"])["_id"] for n in range(len(TIMES))]
    with tenancy.using_tenant(acme.tenant):
        with generation.changing("lastmod"):  # as an import would have written them
            for item, time in zip(ids, TIMES, strict=True):
                Item.objects.filter(pk=item).update(timestamp=time)
            ItemTag.objects.update(item_created=0)
        with connections[alias_for(acme.tenant.database)].schema_editor() as editor:
            recency.copy_to_rows(editor, ["items_itemtag"])

        copied = dict(ItemTag.objects.filter(item__in=ids).values_list("item", "item_created"))
        stored = dict(Item.objects.filter(pk__in=ids).values_list("pk", "timestamp"))

    assert copied == {item: recency.created_number(time) for item, time in zip(ids, TIMES, strict=True)}
    assert copied == {item: recency.created_number(time) for item, time in stored.items()}


def test_an_items_ordinal_carries_the_number_its_rows_carry_from_the_trigger_and_the_migration(acme, owner):
    reggie = acme.user("reggie")
    with tenancy.using_tenant(acme.tenant), generation.changing():
        inserted = [  # as an import writes them: with their own times, some without a fraction
            Item.objects.create(kind="model", name=f"timed-{n}", owner=reggie, visibility="public", timestamp=time)
            for n, time in enumerate(TIMES)
        ]
    expected = {item.pk: recency.created_number(time) for item, time in zip(inserted, TIMES, strict=True)}
    with tenancy.using_tenant(acme.tenant):
        by_trigger = dict(ItemOrdinal.objects.values_list("item", "created"))
        with generation.changing("lastmod"):
            ItemOrdinal.objects.update(created=0)
        with connections[alias_for(acme.tenant.database)].schema_editor() as editor:
            postings.set_triggers_aside(None, editor)
            postings.copy_creation_times(None, editor)
        by_migration = dict(ItemOrdinal.objects.values_list("item", "created"))
    later = create_model(owner, "after-the-migration", tags=["cnn"])["_id"]
    with tenancy.using_tenant(acme.tenant):
        later_created = ItemOrdinal.objects.get(item=later).created
        later_rows = set(ItemTag.objects.filter(item=later).values_list("item_created", flat=True))

    assert by_trigger == by_migration == expected
    assert later_rows == {later_created}  # the migration left the trigger copying the time
