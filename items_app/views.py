"""Pages for models and datasets: browse, item, create/edit/delete, versions, compare, suggestions.

The pages stay thin and share the API's pieces:
- every read starts from ``readable()`` = ``Item.objects.of_kind(kind).visible_to(user)`` (the one scoping
  mechanism), or for one item from ``services.readable_item`` (the same rule on its row) as the API does,
  and an item is shown through ``load_related`` / ``item_document`` like ``GET /v1/models/<id>``;
- lists go through the API's list machinery (``paginate`` + ``item_list_spec``), so the search box accepts
  the contract's filter language unchanged;
- every write goes through ``items_app.services`` with ``Caller.of(request)``; uploads through
  ``receive_upload`` and downloads through ``downloads.download``, the same functions as the API.

A signed session names the tenant (``SessionTenantMiddleware``): ``request.user`` is the tenant's user and
every query goes to its database. Service errors (``ApiError``) become error pages (403/404 …), form errors
next to the field they name, or the API's JSON envelope on the JSON endpoints.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.db.models import Case, Count, IntegerField, Q, Value, When
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse, QueryDict
from django.middleware.csrf import CsrfViewMiddleware
from django.shortcuts import render
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from folksonomy_app.models import MetadataName, Tag, Usage
from framework.api.errors import ApiError, forbidden, json_error
from framework.api.filtering import parse_filter_parameter
from framework.api.listing import paginate
from framework.files import downloads
from framework.files.uploads import expected_digest
from items_app import compare as comparison
from items_app import services
from items_app.api.serializers import item_document, version_document
from items_app.api.views import item_list_spec, receive_upload
from items_app.forms import METADATA_TYPES, ItemForm, metadata_rows_of, original_lists
from items_app.models import Item, ItemTag, Kind
from items_app.querysets import ItemQuerySet
from items_app.related import load_related
from items_app.urlstate import url_with
from tenants_app.audit import Caller
from tenants_app.context import require_tenant
from tenants_app.models import User

PAGE_SIZE = 20
MAX_COMPARE = 6
MAX_SEARCH_WORDS = 8
MAX_WORD_LENGTH = 40
SUGGESTIONS = 20


@dataclass(frozen=True)
class KindPage:
    """How pages name one kind of item."""

    kind: str
    singular: str
    plural: str
    prefix: str  # the URL segment: /models/, /datasets/

    @property
    def is_model(self) -> bool:
        return self.kind == Kind.MODEL

    @property
    def lower(self) -> str:
        return self.singular.lower()


KINDS = {
    Kind.MODEL: KindPage(Kind.MODEL, "Model", "Models", "models"),
    Kind.DATASET: KindPage(Kind.DATASET, "Dataset", "Datasets", "datasets"),
}


def item_path(item: Item, suffix: str = "") -> str:
    return f"/{KINDS[item.kind].prefix}/{item.pk}/{suffix}"


# ---------------------------------------------------------------- scoping and errors


def readable(request: HttpRequest, kind: str) -> ItemQuerySet:
    """Every page read starts here: the items of ``kind`` the signed-in user may read."""
    return Item.objects.of_kind(kind).visible_to(request.user)


def load_item(request: HttpRequest, kind: str, pk: str) -> Item:
    """A readable item with everything its page shows; an unreadable one is a 404, like a missing one."""
    item = services.readable_item(request.user, kind, pk, "owner", "lists")
    load_related([item], request.user)
    return item


def may_edit(request: HttpRequest, item: Item) -> bool:
    return Item.objects.editable_by(request.user).filter(pk=item.pk).exists()


def require_edit(request: HttpRequest, item: Item, method: str) -> None:
    if not may_edit(request, item):
        raise forbidden(method, f"Only the owner of this {item.kind} or an admin can change it.")


_ERROR_TITLES = {403: "Not allowed", 404: "Not found", 409: "Conflict", 416: "Range not satisfiable"}


def error_page(request: HttpRequest, error: ApiError) -> HttpResponse:
    status = error.kind.status
    if status == 404:
        text = "It does not exist, or it has not been shared with you."
    else:
        text = str(error.details).split(": ", 1)[-1] if error.details else error.kind.message
    context = {"title": _ERROR_TITLES.get(status, error.kind.message), "text": text, "status": status}
    response = render(request, "items/error.html", context, status=status)
    for name, value in error.headers.items():
        response[name] = value
    return response


def page(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """A page: signed-in users only (others go to the sign-in page); service errors become error pages."""

    @functools.wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        try:
            return view(request, *args, **kwargs)
        except ApiError as error:
            return error_page(request, error)

    return wrapped


def json_endpoint(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """A JSON endpoint of the pages (session auth): errors are the API's envelope."""

    @functools.wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not request.user.is_authenticated:
            return json_error("unauthorized", "Sign in first.")
        try:
            return view(request, *args, **kwargs)
        except ApiError as error:
            return json_error(error.kind.name, error.details, error.headers)

    return wrapped


# ---------------------------------------------------------------- browse


SORTABLE = {"name", "owner", "status", "visibility", "lastmod", "timestamp"}
DEFAULT_SORT = "-lastmod"


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
        words = text.split()
        if len(words) > MAX_SEARCH_WORDS:
            raise ApiError("invalid_filter", f"search: at most {MAX_SEARCH_WORDS} words")
        for word in words:
            if len(word) > MAX_WORD_LENGTH:
                raise ApiError("invalid_filter", f"search: words are at most {MAX_WORD_LENGTH} characters")
            pattern = {"$regex": re.escape(word), "$options": "i"}
            parts.append(
                {
                    "$or": [
                        {"name": pattern},
                        {"tags": pattern},
                        {"metadata": {"$elemMatch": {"name": pattern}}},
                        {"metadata": {"$elemMatch": {"value": pattern}}},
                    ]
                }
            )
    if tags:
        parts.append({"tags": {"$all": tags}})
    parts = [part for part in parts if part != {}]
    if not parts:
        return {}
    return parts[0] if len(parts) == 1 else {"$and": parts}


def _rows(items: list[Item], viewer: User) -> list[dict[str, Any]]:
    """Table rows: the API document (same read shape) beside the item (for dates and links)."""
    rows = []
    for item in load_related(items, viewer):
        versions = item.related.versions
        rows.append({"doc": item_document(item), "item": item, "latest": versions[-1] if versions else None})
    return rows


def _unique(values: list[str]) -> list[str]:
    return list(dict.fromkeys(value.strip() for value in values if value.strip()))


@page
@require_GET
def browse(request: HttpRequest, kind: str) -> HttpResponse:
    k = KINDS[kind]
    text = request.GET.get("q", "").strip()
    tags = _unique(request.GET.getlist("tag"))
    sort = request.GET.get("sort", "") or DEFAULT_SORT
    sortable = SORTABLE if k.is_model else SORTABLE - {"status"}
    if sort.lstrip("-") not in sortable:
        sort = DEFAULT_SORT
    params = QueryDict(mutable=True)
    params["sort"] = json.dumps({sort.lstrip("-"): "desc" if sort.startswith("-") else "asc"})
    params["page"] = request.GET.get("page", "1")
    params["limit"] = request.GET.get("limit", str(PAGE_SIZE))
    error = None
    listing: dict[str, Any] = {"docs": [], "totalDocs": 0, "page": 1, "totalPages": 1}
    try:
        params["filter"] = json.dumps(search_filter(text, tags))
        queryset = readable(request, kind).select_related("owner", "lists")
        viewer = request.user
        listing = paginate(queryset, params, item_list_spec(kind, viewer), lambda items: _rows(items, viewer))
    except ApiError as exc:
        error = str(exc.details)
    searching = bool(text or tags)
    popular = (
        ItemTag.objects.filter(item__in=readable(request, kind))
        .values("tag_id")
        .annotate(uses=Count("id"))
        .order_by("-uses", "tag_id")[:12]
    )
    columns = [("name", "Name"), ("owner", "Owner")]
    if k.is_model:
        columns.append(("status", "Status"))
    columns += [("visibility", "Visibility"), ("", "Tags"), ("", "Latest version"), ("lastmod", "Last change")]
    headers = []
    for field_name, label in columns:
        header: dict[str, Any] = {"label": label, "field": field_name}
        if field_name:
            ascending = sort == field_name
            descending = sort == f"-{field_name}"
            header["aria_sort"] = "ascending" if ascending else "descending" if descending else None
            # The first click sorts names A→Z and dates newest first; a second click reverses.
            first = f"-{field_name}" if field_name in ("lastmod", "timestamp") else field_name
            target = field_name if descending else f"-{field_name}" if ascending else first
            header["url"] = url_with(request, sort=target, page=None)
        headers.append(header)
    pages = _page_links(request, listing["page"], listing["totalPages"])
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
        "popular": popular,
        "headers": headers,
        "pages": pages,
        "prev_url": url_with(request, page=listing["page"] - 1) if listing.get("hasPrevPage") else None,
        "next_url": url_with(request, page=listing["page"] + 1) if listing.get("hasNextPage") else None,
        "clear_url": f"/{k.prefix}/",
        "max_compare": MAX_COMPARE,
        "empty_tenant": not searching and not error and listing["totalDocs"] == 0,
    }
    return render(request, "items/browse.html", context, status=400 if error else 200)


def _page_links(request: HttpRequest, current: int, total: int) -> list[dict[str, Any]]:
    """Page numbers around the current page, with the first and last; None marks a gap."""
    wanted = sorted({1, total, *range(max(1, current - 2), min(total, current + 2) + 1)})
    links: list[dict[str, Any]] = []
    previous = 0
    for number in wanted:
        if number - previous > 1:
            links.append({"gap": True})
        links.append({"number": number, "url": url_with(request, page=number), "current": number == current})
        previous = number
    return links


# ---------------------------------------------------------------- one item


@page
@require_GET
def detail(request: HttpRequest, kind: str, pk: str) -> HttpResponse:
    item = load_item(request, kind, pk)
    document = item_document(item)
    k = KINDS[kind]
    datasets = trained = None
    if k.is_model:
        # load_related already dropped the links to datasets the viewer cannot read.
        datasets = readable(request, Kind.DATASET).filter(pk__in=document["datasets"]).order_by("name")
    else:
        trained = readable(request, Kind.MODEL).filter(lineage__dataset=item).select_related("owner").order_by("name")
    context = {
        "k": k,
        "section": k.prefix,
        "item": item,
        "doc": document,
        "datasets": datasets,
        "trained": trained,
        "can_edit": may_edit(request, item),
        "versions": item.related.versions,
        "max_upload_size": settings.MAX_UPLOAD_SIZE,
    }
    return render(request, "items/detail.html", context)


# ---------------------------------------------------------------- create, edit, delete


def _dataset_choices(request: HttpRequest) -> list[tuple[str, str]]:
    rows = readable(request, Kind.DATASET).select_related("owner").order_by("name", "pk")
    return [(item.pk, f"{item.name} · {item.owner.username}") for item in rows]


def _vocabulary_defaults(model: type[Any]) -> list[str]:
    """The admins' curated entries, rendered into the datalists before anyone types."""
    return list(model.objects.filter(usage=Usage.DEFAULT).order_by("id").values_list("id", flat=True)[:50])


def _form_context(request: HttpRequest, k: KindPage, form: ItemForm, item: Item | None) -> dict[str, Any]:
    return {
        "k": k,
        "section": k.prefix,
        "form": form,
        "item": item,
        "metadata_rows": form.metadata_rows(),
        "metadata_types": METADATA_TYPES,
        "tag_defaults": _vocabulary_defaults(Tag),
        "metadata_defaults": _vocabulary_defaults(MetadataName),
    }


@page
@require_http_methods(["GET", "POST"])
def create(request: HttpRequest, kind: str) -> HttpResponse:
    k = KINDS[kind]
    data = request.POST if request.method == "POST" else None
    form = ItemForm(data, kind=kind, dataset_choices=_dataset_choices(request))
    status = 200
    if data is not None:
        status = 400
        if form.is_valid():
            try:
                item = services.create_item(Caller.of(request), kind, **form.create_arguments())
            except ApiError as error:
                form.add_service_error(error)
                status = error.kind.status
            else:
                messages.success(request, f"{k.singular} “{item.name}” registered.")
                return HttpResponseRedirect(item_path(item))
    return render(request, "items/form.html", _form_context(request, k, form, None), status=status)


@page
@require_http_methods(["GET", "POST"])
def edit(request: HttpRequest, kind: str, pk: str) -> HttpResponse:
    k = KINDS[kind]
    item = load_item(request, kind, pk)
    require_edit(request, item, "PUT")
    document = item_document(item)
    initial = {
        "name": item.name,
        "status": item.status,
        "visibility": item.visibility,
        "description": item.description,
        "tags": ", ".join(document["tags"]),
        "users": ", ".join(document["users"]),
        "datasets": document.get("datasets", []),
        "metadata_rows": metadata_rows_of(item.related.metadata),
        "original": original_lists(document),
    }
    data = request.POST if request.method == "POST" else None
    form = ItemForm(data, initial=initial, kind=kind, dataset_choices=_dataset_choices(request))
    status = 200
    if data is not None:
        status = 400
        if form.is_valid():
            scalars, lists = form.changes(item)
            if not scalars and not lists:
                messages.info(request, "Nothing to save: you changed nothing.")
                return HttpResponseRedirect(item_path(item))
            try:
                updated = services.update_item(Caller.of(request), item, scalars, lists)
            except ApiError as error:
                if error.kind.status == 403:
                    raise
                form.add_service_error(error)
                status = error.kind.status
            else:
                messages.success(request, f"Saved your changes to “{updated.name}”.")
                return HttpResponseRedirect(item_path(updated))
    return render(request, "items/form.html", _form_context(request, k, form, item), status=status)


@page
@require_http_methods(["GET", "POST"])
def delete(request: HttpRequest, kind: str, pk: str) -> HttpResponse:
    k = KINDS[kind]
    item = load_item(request, kind, pk)
    require_edit(request, item, "DELETE")
    if request.method == "POST":
        try:
            services.delete_item(Caller.of(request), item)
        except ApiError as error:
            if error.kind.status == 403:
                raise
            messages.error(request, f"Not deleted: {str(error.details).split(': ', 1)[-1]}")
            return HttpResponseRedirect(item_path(item))
        messages.success(request, f"Deleted the {k.lower} “{item.name}”.")
        return HttpResponseRedirect(f"/{k.prefix}/")
    context = {
        "k": k,
        "section": k.prefix,
        "item": item,
        "title": f"Delete the {k.lower} “{item.name}”?",
        "consequence": f"Its {len(item.related.versions)} version file(s), metadata, tags and sharing are deleted "
        "too. This cannot be undone.",
        "confirm": f"Delete {k.lower}",
        "cancel_url": item_path(item),
    }
    return render(request, "items/confirm.html", context)


# ---------------------------------------------------------------- versions


@page
@require_GET
def versions_fragment(request: HttpRequest, kind: str, pk: str) -> HttpResponse:
    """The versions table alone: the item page reloads it after an upload."""
    item = load_item(request, kind, pk)
    context = {
        "k": KINDS[kind],
        "item": item,
        "versions": item.related.versions,
        "can_edit": may_edit(request, item),
    }
    return render(request, "items/_versions.html", context)


def _csrf_rejection(request: HttpRequest) -> HttpResponse | None:
    """Django's own CSRF check (X-CSRFToken header), run by hand: see ``upload_version``."""
    return CsrfViewMiddleware(lambda _request: HttpResponse()).process_view(request, None, (), {})


@csrf_exempt  # checked by hand below, once the body is known not to be multipart (the check would parse it)
@require_POST
@json_endpoint
def upload_version(request: HttpRequest, kind: str, pk: str) -> HttpResponse:
    """The item page's upload: a raw body streamed to disk and hashed, then ``services.add_version``.

    Only raw bodies (``application/octet-stream``) are taken here: Django's CSRF check reads ``request.POST``,
    which for a multipart body would parse (and store) the whole upload before permissions are checked.
    """
    content_type = request.META.get("CONTENT_TYPE", "").split(";")[0].strip().lower()
    if content_type != "application/octet-stream":
        raise ApiError("unsupported_media_type", "Content-Type: send the file as application/octet-stream")
    if _csrf_rejection(request) is not None:
        raise forbidden("POST", "CSRF token missing or incorrect; reload the page and try again.")
    item = services.readable_item(request.user, kind, pk)
    caller = Caller.of(request)
    services.ensure_editable(caller, item, "POST")  # before a single byte of the body is read
    expected = expected_digest(request)
    received, description = receive_upload(request)
    version = services.add_version(
        caller, item, received, original=received.original, description=description, expected_sha256=expected
    )
    return JsonResponse(version_document(version), status=201)


@page
@require_GET
def download_version(request: HttpRequest, kind: str, pk: str, ref: str) -> HttpResponse:
    item = services.readable_item(request.user, kind, pk)
    version = services.find_version(item, ref)
    response, served_range = downloads.download(request, require_tenant().id, version)
    if response.status_code != 304:
        services.record_download(Caller.of(request), item, version, served_range)
    return response


@page
@require_http_methods(["GET", "POST"])
def delete_version(request: HttpRequest, kind: str, pk: str, ref: str) -> HttpResponse:
    k = KINDS[kind]
    item = load_item(request, kind, pk)
    require_edit(request, item, "DELETE")
    version = services.find_version(item, ref)
    if request.method == "POST":
        services.delete_version(Caller.of(request), item, version)
        messages.success(request, f"Deleted version {version.ordinal} ({version.original}).")
        return HttpResponseRedirect(item_path(item) + "#versions")
    context = {
        "k": k,
        "section": k.prefix,
        "item": item,
        "title": f"Delete version {version.ordinal} ({version.original}) of “{item.name}”?",
        "consequence": "Its file is deleted unless another version has the same content. This cannot be undone.",
        "confirm": "Delete version",
        "cancel_url": item_path(item) + "#versions",
    }
    return render(request, "items/confirm.html", context)


# ---------------------------------------------------------------- compare


@page
@require_GET
def compare(request: HttpRequest) -> HttpResponse:
    """``/compare/?ids=<id>&ids=<id>…``: 2 to 6 readable items of either kind, side by side.

    The whole comparison is in the URL (ids, ``hide_identical=1``, ``flip=<name>``). Versions are not
    compared: an item's metadata is not kept per version, so there is nothing version-specific to compare.
    """
    ids = _unique(request.GET.getlist("ids"))
    hide_identical = request.GET.get("hide_identical") == "1"
    flipped = _unique(request.GET.getlist("flip"))
    context: dict[str, Any] = {
        "section": "compare",
        "ids": ids,
        "hide_identical": hide_identical,
        "flipped": flipped,
        "max": MAX_COMPARE,
    }
    problem = None
    found: dict[str, Item] = {}
    if len(ids) > MAX_COMPARE:
        problem = f"Compare at most {MAX_COMPARE} items at a time; you picked {len(ids)}."
    elif ids:
        for kind in KINDS:
            chosen = list(readable(request, kind).select_related("owner", "lists").filter(pk__in=ids))
            for item in load_related(chosen, request.user):
                found[item.pk] = item
        context["missing"] = [pk for pk in ids if pk not in found]
    items = [found[pk] for pk in ids if pk in found]
    if not problem and len(ids) > 1 and len(items) < 2:
        problem = "Pick at least two items you can read."
    if problem or len(items) < 2:
        context.update(problem=problem, choices=_compare_choices(request))
        return render(request, "items/compare.html", context, status=400 if problem else 200)
    property_rows = comparison.property_rows(items)
    metadata_rows = comparison.metadata_rows(items, flipped)
    for row in metadata_rows:
        flips = [name for name in flipped if name != row.metadata_name]
        if not row.flipped:
            flips.append(row.metadata_name or "")
        row.flip_url = url_with(request, flip=flips)
    all_rows = [*property_rows, *metadata_rows]
    context.update(
        columns=[{"item": item, "k": KINDS[item.kind], "url": item_path(item)} for item in items],
        property_rows=property_rows,
        metadata_rows=metadata_rows,
        identical_count=sum(row.identical for row in all_rows),
        total_rows=len(all_rows),
    )
    return render(request, "items/compare.html", context)


def _compare_choices(request: HttpRequest) -> list[dict[str, Any]]:
    """Recently changed readable items of both kinds, for the picker shown when nothing is compared yet."""
    choices = []
    for kind, k in KINDS.items():
        for item in readable(request, kind).select_related("owner").order_by("-lastmod", "pk")[:25]:
            choices.append({"item": item, "k": k, "url": item_path(item)})
    return sorted(choices, key=lambda choice: choice["item"].lastmod, reverse=True)


# ---------------------------------------------------------------- suggestions (the form's datalists)


def _ranked(queryset: Any, field_name: str, text: str) -> Any:
    """Entries containing ``text`` (case-insensitive); those starting with it first."""
    if not text:
        return queryset
    starts = Case(When(**{f"{field_name}__istartswith": text}, then=Value(0)), default=Value(1))
    return (
        queryset.filter(**{f"{field_name}__icontains": text})
        .annotate(prefix_rank=starts)
        .order_by("prefix_rank", field_name)
    )


@require_GET
@json_endpoint
def suggest(request: HttpRequest, vocabulary: str) -> HttpResponse:
    """``/suggest/tags?q=`` and ``/suggest/metadata?q=``: the tenant's vocabulary, default entries first."""
    model = Tag if vocabulary == "tags" else MetadataName
    text = request.GET.get("q", "").strip()[:64]
    default_first = Case(When(usage=Usage.DEFAULT, then=Value(0)), default=Value(1), output_field=IntegerField())
    rows = _ranked(model.objects.annotate(default_rank=default_first), "id", text)
    ordering = ["default_rank", *(["prefix_rank"] if text else []), "id"]
    entries = rows.order_by(*ordering)[:SUGGESTIONS]
    return JsonResponse({"results": [{"name": entry.id, "usage": entry.usage} for entry in entries]})


@require_GET
@json_endpoint
def suggest_users(request: HttpRequest) -> HttpResponse:
    """``/suggest/users?q=``: usernames of the tenant's active users (for sharing)."""
    text = request.GET.get("q", "").strip()[:150]
    users = _ranked(User.objects.filter(is_active=True).exclude(Q(pk=request.user.pk)), "username", text)
    names = users.order_by(*(["prefix_rank"] if text else []), "username").values_list("username", flat=True)
    return JsonResponse({"results": [{"name": name} for name in names[:SUGGESTIONS]]})
