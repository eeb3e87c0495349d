"""``/compare/?ids=<id>&ids=<id>…``: 2 to 6 readable items of any kind, side by side (``items_app.compare``).

The whole comparison is in the URL (ids, ``hide_identical=1``, ``flip=<name>``), so it can be bookmarked
and shared.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.http import HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from items_app import compare as comparison
from items_app import kinds
from items_app.models import Item
from items_app.related import load_related
from items_app.urlstate import url_with
from items_app.views.browse import MAX_COMPARE, unique
from items_app.views.common import item_path, page, readable

if TYPE_CHECKING:
    from tenants_app.http import SignedInRequest

CHOICES_PER_KIND = 25  # recently changed items offered by the picker


def _readable_items(request: SignedInRequest, ids: list[str]) -> dict[str, Item]:
    """The items of ``ids`` the user may read, whatever their kind, with everything a column shows."""
    found: dict[str, Item] = {}
    for kind in kinds.every():
        chosen = list(readable(request, kind).select_related("owner", "lists").filter(pk__in=ids))
        for item in load_related(chosen, request.user):
            found[item.pk] = item
    return found


def _problem(ids: list[str], items: list[Item]) -> str | None:
    if len(ids) > MAX_COMPARE:
        return f"Compare at most {MAX_COMPARE} items at a time; you picked {len(ids)}."
    if len(ids) > 1 and len(items) < 2:
        return "Pick at least two items you can read."
    return None


def _choices(request: SignedInRequest) -> list[dict[str, Any]]:
    """Recently changed readable items of every kind, for the picker shown when nothing is compared yet."""
    choices = []
    for kind in kinds.every():
        for item in readable(request, kind).select_related("owner").order_by("-lastmod", "pk")[:CHOICES_PER_KIND]:
            choices.append({"item": item, "k": kind, "url": item_path(item)})
    return sorted(choices, key=lambda choice: choice["item"].lastmod, reverse=True)


def _table(
    request: SignedInRequest,
    columns: list[dict[str, Any]],
    property_rows: list[comparison.Row],
    metadata_rows: list[comparison.Row],
    flipped: list[str],
) -> dict[str, Any]:
    """The comparison's columns and rows, of items or of versions; each metadata row links to the same page
    with its direction flipped."""
    for row in metadata_rows:
        flips = [name for name in flipped if name != row.metadata_name]
        if not row.flipped:
            flips.append(row.metadata_name or "")
        row.flip_url = url_with(request, flip=flips)
    all_rows = [*property_rows, *metadata_rows]
    return {
        "columns": columns,
        "property_rows": property_rows,
        "metadata_rows": metadata_rows,
        "identical_count": sum(row.identical for row in all_rows),
        "total_rows": len(all_rows),
    }


def _items_table(request: SignedInRequest, items: list[Item], flipped: list[str]) -> dict[str, Any]:
    columns = [
        {
            "title": item.name,
            "subtitle": f"{kinds.get(item.kind).singular} · {item.owner.username}",
            "url": item_path(item),
        }
        for item in items
    ]
    rows = comparison.property_rows(items), comparison.metadata_rows(items, flipped)
    return _table(request, columns, *rows, flipped)


def _versions_table(request: SignedInRequest, item: Item, ordinals: list[str], flipped: list[str]) -> dict[str, Any]:
    """Versions of one item side by side (``?item=<id>&versions=1&versions=2``; the latest ones when none
    are named): their files, aliases and metrics."""
    chosen = [v for v in item.related.versions if str(v.ordinal) in ordinals] if ordinals else item.related.versions
    chosen = chosen[-MAX_COMPARE:]
    url = item_path(item) + "#versions"
    columns = [{"title": f"v{v.ordinal}", "subtitle": v.original, "url": url} for v in chosen]
    rows = comparison.version_property_rows(chosen), comparison.version_metadata_rows(chosen, flipped)
    table = _table(request, columns, *rows, flipped)
    return {**table, "compared_item": item, "version_ordinals": [str(v.ordinal) for v in chosen]}


def _one_readable_item(request: SignedInRequest, pk: str) -> Item | None:
    found = _readable_items(request, [pk])
    return found.get(pk)


def _page_state(request: SignedInRequest, flipped: list[str]) -> dict[str, Any]:
    """What every comparison page keeps in its URL besides what it compares."""
    return {
        "section": "compare",
        "hide_identical": request.GET.get("hide_identical") == "1",
        "flipped": flipped,
        "max": MAX_COMPARE,
    }


@page
@require_GET
def compare(request: SignedInRequest) -> HttpResponse:
    if request.GET.get("item"):
        return compare_versions(request)
    ids = unique(request.GET.getlist("ids"))
    flipped = unique(request.GET.getlist("flip"))
    context = {**_page_state(request, flipped), "ids": ids}
    found = _readable_items(request, ids) if ids and len(ids) <= MAX_COMPARE else {}
    if ids and len(ids) <= MAX_COMPARE:
        context["missing"] = [pk for pk in ids if pk not in found]
    items = [found[pk] for pk in ids if pk in found]
    problem = _problem(ids, items)
    if problem or len(items) < 2:
        context.update(problem=problem, choices=_choices(request))
        return render(request, "items/compare.html", context, status=400 if problem else 200)
    context.update(_items_table(request, items, flipped))
    return render(request, "items/compare.html", context)


def compare_versions(request: SignedInRequest) -> HttpResponse:
    item = _one_readable_item(request, request.GET.get("item", ""))
    flipped = unique(request.GET.getlist("flip"))
    context = _page_state(request, flipped)
    if item is None:
        context.update(problem="No such item, or it has not been shared with you.", choices=_choices(request))
        return render(request, "items/compare.html", context, status=404)
    if len(item.related.versions) < 2:  # (their aliases and metadata came with load_related)
        context.update(problem=f"“{item.name}” has fewer than two versions to compare.", choices=_choices(request))
        return render(request, "items/compare.html", context, status=400)
    context.update(_versions_table(request, item, unique(request.GET.getlist("versions")), flipped))
    return render(request, "items/compare.html", context)
