"""What the item pages share: reading an item as the API does, the permission to change it, and how a
service's refusal becomes an error page (or the API's envelope on the pages' JSON endpoints).

A signed session names the tenant (``SessionTenantMiddleware``): ``request.user`` is the tenant's user and
every query goes to its database.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import render

from framework.api.errors import json_error, refusal
from framework.errors import Action, Forbidden, ServiceError
from items_app import kinds, services
from items_app.kinds import ItemKind
from items_app.models import Item
from items_app.querysets import ItemQuerySet
from items_app.related import load_related

if TYPE_CHECKING:
    from tenants_app.http import SignedInRequest

View = Callable[..., HttpResponseBase]
_ERROR_TITLES = {403: "Not allowed", 404: "Not found", 409: "Conflict", 416: "Range not satisfiable"}


def item_path(item: Item, suffix: str = "") -> str:
    return f"/{kinds.get(item.kind).prefix}/{item.pk}/{suffix}"


def readable(request: SignedInRequest, kind: ItemKind) -> ItemQuerySet:
    """Every page read of a list starts here: the items of ``kind`` the signed-in user may read."""
    return Item.objects.of_kind(kind.value).visible_to(request.user)


def load_item(request: SignedInRequest, kind: ItemKind, pk: str) -> Item:
    """A readable item with everything its page shows; an unreadable one is a 404, like a missing one."""
    item = services.readable_item(request.user, kind.value, pk, "owner", "lists")
    load_related([item], request.user)
    return item


def confirm_page(
    request: HttpRequest,
    kind: ItemKind,
    item: Item,
    *,
    title: str,
    consequence: str,
    confirm: str,
    cancel_url: str,
    fields: dict[str, str] | None = None,
    danger: bool = True,
) -> HttpResponse:
    """The page that asks before a change of ``item``: what it does, a button that POSTs (with ``fields``),
    and a way back. ``danger`` for what cannot be undone."""
    context = {
        "k": kind,
        "section": kind.prefix,
        "item": item,
        "title": title,
        "consequence": consequence,
        "confirm": confirm,
        "cancel_url": cancel_url,
        "fields": fields or {},
        "danger": danger,
    }
    return render(request, "items/confirm.html", context)


def may_edit(request: SignedInRequest, item: Item) -> bool:
    return Item.objects.editable_by(request.user).filter(pk=item.pk).exists()


def require_edit(request: SignedInRequest, item: Item, action: Action) -> None:
    if not may_edit(request, item):
        raise Forbidden(f"Only the owner of this {item.kind} or an admin can change it.", action=action)


def scalars_of(kind: ItemKind, document: dict[str, Any]) -> list[dict[str, Any]]:
    """The kind's scalar traits with their values in ``document``, as the pages show them (badges, facts)."""
    return [
        {"field": scalar.field, "label": scalar.label, "badge": scalar.badge, "value": document[scalar.field]}
        for scalar in kind.scalars
    ]


def error_page(request: HttpRequest, error: ServiceError) -> HttpResponse:
    entry, details, headers = refusal(error, request.method)
    if entry.status == 404:
        text = "It does not exist, or it has not been shared with you."
    else:
        text = str(details).split(": ", 1)[-1] if details else entry.message
    context = {"title": _ERROR_TITLES.get(entry.status, entry.message), "text": text, "status": entry.status}
    response = render(request, "items/error.html", context, status=entry.status)
    for name, value in headers.items():
        response[name] = value
    return response


def page(view: View) -> View:
    """A page: signed-in users only (others go to the sign-in page); service refusals become error pages."""

    @functools.wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        try:
            return view(request, *args, **kwargs)
        except ServiceError as error:
            return error_page(request, error)

    return wrapped


def json_endpoint(view: View) -> View:
    """A JSON endpoint of the pages (session auth): refusals are the API's envelope."""

    @functools.wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        if not request.user.is_authenticated:
            return json_error("unauthorized", "Sign in first.")
        try:
            return view(request, *args, **kwargs)
        except ServiceError as error:
            entry, details, headers = refusal(error, request.method)
            return json_error(entry.name, details, headers)

    return wrapped
