"""Items per kind and visibility are counted by triggers on the items table (``items_app.item_counts``), and
an unfiltered list's total reads its public part from those counts (``querysets.count_readable``).

The counts must follow every write that adds, removes or re-classifies an item, in the same transaction, on
both engines: these tests compare them with a count of the items after creates, batch creates (concurrent
ones too), visibility changes both ways, deletes, a bulk statement over many rows, and a rolled-back write;
and check that the migration's backfill counts what is there. Personas: ``owner`` (reggie) and ``reader`` (olive) create
items; ``outsider`` (oscar) reads; ``admin`` (ada) reads everything.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest
from django.db import connections, transaction

from items_app import generation, item_counts
from items_app.models import Item, ItemCount, ItemCountChange
from tenants_app import tenancy
from tenants_app.databases import alias_for
from testing.helpers import run_together
from testing.kinds import KINDS


def counted(tenant: Any) -> dict[tuple[str, str], int]:
    """The maintained counts (counters at zero left out)."""
    with tenancy.using_tenant(tenant.tenant):
        return {(row.kind, row.visibility): row.items for row in ItemCount.objects.all() if row.items}


def actual(tenant: Any) -> dict[tuple[str, str], int]:
    """The items, counted."""
    with tenancy.using_tenant(tenant.tenant):
        return dict(Counter(Item.objects.values_list("kind", "visibility")))


def totals(kind: Any, *clients: Any) -> list[int]:
    return [client.get(kind.api).json()["totalDocs"] for client in clients]


def test_creates_are_counted_per_kind_and_visibility(acme, owner, reader, kind):
    kind.create(owner, "public-one", visibility="public")
    kind.create(owner, "private-one", visibility="private")
    kind.create(reader, "shared-one", visibility="private", users=["reggie"])
    assert owner.post(kind.api, [{"name": f"batch-{n}", "visibility": "public"} for n in range(3)], format="json")

    assert counted(acme) == actual(acme) == {(kind.value, "public"): 4, (kind.value, "private"): 2}


@pytest.mark.parametrize("change", [("private", "public"), ("public", "private")], ids=["published", "hidden"])
def test_a_visibility_change_moves_the_item_between_counts(acme, owner, kind, change):
    before, after = change
    item = kind.create(owner, "flip", visibility=before)
    kind.create(owner, "stays", visibility=before)

    assert owner.put(kind.url(item), {"visibility": after}, format="json").status_code == 200

    assert counted(acme) == actual(acme) == {(kind.value, before): 1, (kind.value, after): 1}


def test_an_edit_of_anything_else_leaves_the_counts(acme, owner, kind):
    item = kind.create(owner, "steady", visibility="public")

    assert owner.put(kind.url(item), {"description": "new words", "tags": ["cnn"]}, format="json").status_code == 200

    assert counted(acme) == actual(acme) == {(kind.value, "public"): 1}


def test_a_delete_is_uncounted(acme, owner, kind):
    doomed = kind.create(owner, "doomed", visibility="public")
    kind.create(owner, "kept", visibility="public")

    assert owner.delete(kind.url(doomed)).status_code in (200, 204)

    assert counted(acme) == actual(acme) == {(kind.value, "public"): 1}


def test_one_statement_over_many_items_counts_each(acme, owner, kind):
    for n in range(4):
        kind.create(owner, f"item-{n}", visibility="private")

    with tenancy.using_tenant(acme.tenant), generation.changing(readers=generation.Readers(everyone=True)):
        Item.objects.filter(name__in=["item-0", "item-1", "item-2"]).update(visibility="public")

    assert counted(acme) == actual(acme) == {(kind.value, "public"): 3, (kind.value, "private"): 1}


def test_a_rolled_back_write_leaves_no_count(acme, owner, kind):
    kind.create(owner, "kept", visibility="public")

    def failing_write() -> None:
        with transaction.atomic(using=active.alias), generation.changing():
            Item.objects.filter(name="kept").update(visibility="private")
            raise RuntimeError("the write fails after the update")

    with tenancy.using_tenant(acme.tenant) as active, pytest.raises(RuntimeError):
        failing_write()

    assert counted(acme) == actual(acme) == {(kind.value, "public"): 1}


def test_the_migration_counts_the_items_already_there(acme, owner, reader, kind):
    for n in range(3):
        kind.create(owner, f"mine-{n}", visibility=("public", "private")[n % 2])
    other = next(case for case in KINDS if case.value != kind.value)
    other.create(reader, "another-kind", visibility="public")

    with tenancy.using_tenant(acme.tenant), connections[alias_for(acme.tenant.database)].schema_editor() as editor:
        item_counts.drop_triggers(None, editor)
        item_counts.create_triggers(None, editor)

    assert counted(acme) == actual(acme)
    kind.create(owner, "after", visibility="public")  # and the triggers are back
    assert counted(acme) == actual(acme)


def test_concurrent_batches_of_mixed_visibility_are_all_counted(acme, owner, reader, admin, kind):
    def batch(client: Any, prefix: str) -> Any:
        bodies = [{"name": f"{prefix}-{n}", "visibility": ("public", "private")[n % 2]} for n in range(12)]
        return lambda: client.post(kind.api, bodies[::-1] if prefix == "b" else bodies, format="json").status_code

    answers = run_together(batch(owner, "a"), batch(reader, "b"), batch(admin, "c"), batch(owner, "d"))

    assert answers == [201, 201, 201, 201]
    assert counted(acme) == actual(acme) == {(kind.value, "public"): 24, (kind.value, "private"): 24}
    with tenancy.using_tenant(acme.tenant):
        assert not ItemCountChange.objects.exists()  # every write folded its changes before it committed


def test_unfiltered_totals_read_the_counts_for_every_persona(acme, owner, reader, outsider, admin, kind):
    kind.create(owner, "public-one", visibility="public")
    kind.create(owner, "private-one", visibility="private")
    kind.create(reader, "shared-with-reggie", visibility="private", users=["reggie"])
    kind.create(reader, "olives-private", visibility="private")

    assert totals(kind, owner, reader, outsider, admin) == [3, 3, 1, 4]
