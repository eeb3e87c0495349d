"""The aliases of an item on its pages: the list with its history, and moving or removing one (confirmed)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.contrib import messages
from django.http import HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.views.decorators.http import require_GET, require_http_methods

from framework.errors import Invalid, NotFound
from items_app import aliases, kinds, versions
from items_app.models import ProtectedAlias
from items_app.views.common import confirm_page, item_path, load_item, may_edit, page, require_edit
from tenants_app.audit import Caller

if TYPE_CHECKING:
    from tenants_app.http import SignedInRequest

HISTORY_SHOWN = 100


@page
@require_GET
def alias_list(request: SignedInRequest, kind: str, pk: str) -> HttpResponse:
    k = kinds.get(kind)
    item = load_item(request, k, pk)
    context = {
        "k": k,
        "section": k.prefix,
        "item": item,
        "aliases": aliases.aliases_of(item),
        "moves": list(item.alias_moves.order_by("-timestamp", "id")[:HISTORY_SHOWN]),
        "protected": set(ProtectedAlias.objects.values_list("name", flat=True)),
        "can_edit": may_edit(request, item),
    }
    return render(request, "items/aliases.html", context)


@page
@require_http_methods(["GET", "POST"])
def move_alias(request: SignedInRequest, kind: str, pk: str) -> HttpResponse:
    """GET asks for confirmation ("point @production at v2, now v1?"); POST moves."""
    k = kinds.get(kind)
    item = load_item(request, k, pk)
    require_edit(request, item, "modify")
    source = request.POST if request.method == "POST" else request.GET
    name = aliases.check_name(source.get("alias", "").strip())
    try:
        version = versions.find_version(item, source.get("version", ""))
    except NotFound:
        raise Invalid("version: choose one of the item's versions") from None
    if request.method == "POST":
        aliases.move_alias(Caller.of(request), item, name, version.ordinal)
        messages.success(request, f"@{name} now points at version {version.ordinal} ({version.original}).")
        return HttpResponseRedirect(item_path(item) + "#versions")
    current = next((alias for alias in aliases.aliases_of(item) if alias.name == name), None)
    now = f"It points at version {current.version.ordinal} now." if current else "It is new."
    return confirm_page(
        request,
        k,
        item,
        title=f"Point @{name} at version {version.ordinal} ({version.original})?",
        consequence=f"{now} Everything that downloads @{name} gets this version from the next request on.",
        confirm=f"Move @{name}",
        cancel_url=item_path(item) + "#versions",
        fields={"alias": name, "version": str(version.ordinal)},
        danger=False,
    )


@page
@require_http_methods(["GET", "POST"])
def remove_alias(request: SignedInRequest, kind: str, pk: str, alias: str) -> HttpResponse:
    k = kinds.get(kind)
    item = load_item(request, k, pk)
    require_edit(request, item, "modify")
    found = aliases.find_alias(item, alias)
    if request.method == "POST":
        aliases.remove_alias(Caller.of(request), item, alias)
        messages.success(request, f"Removed @{alias}.")
        return HttpResponseRedirect(item_path(item) + "aliases/")
    return confirm_page(
        request,
        k,
        item,
        title=f"Remove @{alias} (now version {found.version.ordinal})?",
        consequence=f"Downloads of @{alias} will answer 404 until it is set again.",
        confirm=f"Remove @{alias}",
        cancel_url=item_path(item) + "aliases/",
    )
