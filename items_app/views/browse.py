"""The list page of a kind (``/models/``): search, tag chips, sortable columns, pages.

The list is the API's (``paginate`` with ``item_list_spec``), so the search box also takes the contract's
filter language unchanged.
"""

from __future__ import annotations

import json
import re
from typing import TYPE_CHECKING, Any

from django.db.models import Count
from django.http import HttpResponse, QueryDict
from django.shortcuts import render
from django.views.decorators.http import require_GET

from folksonomy_app.models import MAX_NAME_LENGTH
from framework.api.filtering import parse_filter_parameter
from framework.api.listing import paginate
from framework.errors import InvalidFilter, ServiceError
from items_app import kinds
from items_app.documents import item_document
from items_app.kinds import ItemKind
from items_app.listing import item_list_spec
from items_app.models import Item, ItemTag
from items_app.related import load_related
from items_app.urlstate import url_with
from items_app.views.common import page, readable, scalars_of
from tenants_app.models import User

if TYPE_CHECKING:
    from tenants_app.http import SignedInRequest

PAGE_SIZE = 20
MAX_COMPARE = 6
MAX_SEARCH_WORDS = 8
MAX_WORD_LENGTH = 40
POPULAR_TAGS = 12
SORTABLE = ("name", "owner", "visibility", "lastmod", "timestamp")
DEFAULT_SORT = "-lastmod"
DATES = ("lastmod", "timestamp")
MAX_COLUMNS = 5


def search_filter(text: str, tags: list[str]) -> Any:
    """The filter document of the search box and the tag chips.

    Input starting with ``{`` or ``[`` is the contract's filter language, parsed as the API parses it.
    Otherwise every word must match (case-insensitive) a name, a tag, or a metadata name or value. Either
    way the result goes through the API's ``FilterTranslator`` (inside ``paginate``).
    """
    parts: list[Any] = []
    if text.startswith(("{", "[")):
        document = parse_filter_parameter(text)
        parts.append({"$or": document} if isinstance(document, list) else document)
    else:
        parts.extend(_word_conditions(text))
    if tags:
        parts.append({"tags": {"$all": tags}})
    parts = [part for part in parts if part != {}]
    if not parts:
        return {}
    return parts[0] if len(parts) == 1 else {"$and": parts}


def _word_conditions(text: str) -> list[Any]:
    words = text.split()
    if len(words) > MAX_SEARCH_WORDS:
        raise InvalidFilter(f"search: at most {MAX_SEARCH_WORDS} words")
    conditions = []
    for word in words:
        if len(word) > MAX_WORD_LENGTH:
            raise InvalidFilter(f"search: words are at most {MAX_WORD_LENGTH} characters")
        pattern = {"$regex": re.escape(word), "$options": "i"}
        conditions.append(
            {
                "$or": [
                    {"name": pattern},
                    {"tags": pattern},
                    {"metadata": {"$elemMatch": {"name": pattern}}},
                    {"metadata": {"$elemMatch": {"value": pattern}}},
                ]
            }
        )
    return conditions


def _rows(kind: ItemKind, items: list[Item], viewer: User, columns: list[str]) -> list[dict[str, Any]]:
    """Table rows: the API document (same read shape) beside the item (for dates and links), and the values
    of the shown metadata columns (None where the item has no such name)."""
    rows = []
    for item in load_related(items, viewer):
        document = item_document(item)
        versions = item.related.versions
        latest = versions[-1] if versions else None
        values = {entry["name"]: entry["value"] for entry in document["metadata"]}
        rows.append(
            {
                "doc": document,
                "item": item,
                "latest": latest,
                "scalars": scalars_of(kind, document),
                "metrics": [values.get(name) for name in columns],
            }
        )
    return rows


def unique(values: list[str]) -> list[str]:
    return list(dict.fromkeys(value.strip() for value in values if value.strip()))


def metadata_columns(request: SignedInRequest) -> list[str]:
    """The metadata names shown as columns (``?columns=accuracy,f1``): at most ``MAX_COLUMNS``, each a
    plausible vocabulary name."""
    names = unique(request.GET.get("columns", "").split(","))
    return [name for name in names if len(name) <= MAX_NAME_LENGTH][:MAX_COLUMNS]


def _sort(request: SignedInRequest, kind: ItemKind, columns: list[str]) -> str:
    """The column the list is sorted by (``-`` first for descending), from ``?sort=``: a field, or
    ``metadata.<name>`` of a shown metadata column (items without the name last, either way)."""
    sort = request.GET.get("sort", "") or DEFAULT_SORT
    sortable = {*SORTABLE, *(scalar.field for scalar in kind.scalars), *(f"metadata.{name}" for name in columns)}
    return sort if sort.lstrip("-") in sortable else DEFAULT_SORT


def _listing(
    request: SignedInRequest, kind: ItemKind, text: str, tags: list[str], sort: str, columns: list[str]
) -> dict[str, Any]:
    """One page of the readable items of ``kind`` matching the search, through the API's list machinery."""
    params = QueryDict(mutable=True)
    params["sort"] = json.dumps({sort.lstrip("-"): "desc" if sort.startswith("-") else "asc"})
    params["page"] = request.GET.get("page", "1")
    params["limit"] = request.GET.get("limit", str(PAGE_SIZE))
    params["filter"] = json.dumps(search_filter(text, tags))
    queryset = readable(request, kind).select_related("owner", "lists")
    viewer = request.user
    spec = item_list_spec(kind, viewer)
    return paginate(queryset, params, spec, lambda items: _rows(kind, items, viewer, columns))


def _headers(request: SignedInRequest, kind: ItemKind, sort: str, metrics: list[str]) -> list[dict[str, Any]]:
    """The table's column headers; a sortable one links to the list sorted by it (a second click reverses)."""
    columns = [("name", "Name"), ("owner", "Owner")]
    columns += [(scalar.field, scalar.label) for scalar in kind.scalars]
    columns += [(f"metadata.{name}", name) for name in metrics]
    columns += [("visibility", "Visibility"), ("", "Tags"), ("", "Latest version"), ("lastmod", "Last change")]
    return [_header(request, field_name, label, sort) for field_name, label in columns]


def _header(request: SignedInRequest, field_name: str, label: str, sort: str) -> dict[str, Any]:
    header: dict[str, Any] = {"label": label, "field": field_name}
    if not field_name:
        return header
    ascending, descending = sort == field_name, sort == f"-{field_name}"
    header["aria_sort"] = "ascending" if ascending else "descending" if descending else None
    # The first click sorts names A→Z and dates newest first; a second click reverses.
    # Metrics too start high: the best accuracy first (the header says which way it goes).
    first = f"-{field_name}" if field_name in DATES or field_name.startswith("metadata.") else field_name
    target = field_name if descending else f"-{field_name}" if ascending else first
    header["url"] = url_with(request, sort=target, page=None)
    return header


def _page_links(request: SignedInRequest, current: int, total: int) -> list[dict[str, Any]]:
    """Page numbers around the current page, with the first and last; a gap marks what is left out."""
    wanted = sorted({1, total, *range(max(1, current - 2), min(total, current + 2) + 1)})
    links: list[dict[str, Any]] = []
    previous = 0
    for number in wanted:
        if number - previous > 1:
            links.append({"gap": True})
        links.append({"number": number, "url": url_with(request, page=number), "current": number == current})
        previous = number
    return links


def _popular_tags(request: SignedInRequest, kind: ItemKind) -> Any:
    uses = ItemTag.objects.filter(item__in=readable(request, kind)).values("tag_id").annotate(uses=Count("id"))
    return uses.order_by("-uses", "tag_id")[:POPULAR_TAGS]


@page
@require_GET
def browse(request: SignedInRequest, kind: str) -> HttpResponse:
    k = kinds.get(kind)
    text = request.GET.get("q", "").strip()
    tags = unique(request.GET.getlist("tag"))
    columns = metadata_columns(request)
    sort = _sort(request, k, columns)
    error = None
    listing: dict[str, Any] = {"docs": [], "totalDocs": 0, "page": 1, "totalPages": 1}
    try:
        listing = _listing(request, k, text, tags, sort, columns)
    except ServiceError as exc:
        error = str(exc.details)
    searching = bool(text or tags)
    context = {
        "k": k,
        "section": k.prefix,
        "q": text,
        "tags": tags,
        "error": error,
        "listing": listing,
        "rows": listing["docs"],
        "shown_to": listing.get("pagingCounter", 1) + len(listing["docs"]) - 1,
        "searching": searching,
        "popular": _popular_tags(request, k),
        "headers": _headers(request, k, sort, columns),
        "columns": ",".join(columns),
        "pages": _page_links(request, listing["page"], listing["totalPages"]),
        "prev_url": url_with(request, page=listing["page"] - 1) if listing.get("hasPrevPage") else None,
        "next_url": url_with(request, page=listing["page"] + 1) if listing.get("hasNextPage") else None,
        "clear_url": f"/{k.prefix}/",
        "max_compare": MAX_COMPARE,
        "empty_tenant": not searching and not error and listing["totalDocs"] == 0,
    }
    return render(request, "items/browse.html", context, status=400 if error else 200)
