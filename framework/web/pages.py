"""What the server-rendered pages share: the admin-only gate, service errors shown on forms, and lists.

Pages call the same services as the API; a service refuses with a ``ServiceError`` whose ``details`` start with
the field name (``"email: ..."``), so ``show_refusal`` puts the message next to that field. Lists go through
the API's list machinery (``paginate`` with the collection's ``ListSpec``): a page builds the filter document
from its form fields, so there is one filter implementation for the API and the pages.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from functools import wraps
from typing import Any
from urllib.parse import urlencode

from django import forms
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, QueryDict
from django.shortcuts import render

from framework.api.errors import refusal
from framework.api.listing import ListSpec, paginate
from framework.errors import ServiceError

SIGNIN_URL = "/signin/"
PAGE_SIZE = 25

View = Callable[..., HttpResponse]


def signin_redirect(request: HttpRequest) -> HttpResponseRedirect:
    return HttpResponseRedirect(f"{SIGNIN_URL}?{urlencode({'next': request.get_full_path()})}")


def signin_required(view: View) -> View:
    """Signed-in users only: anonymous visitors go to the sign-in page, and come back after it."""

    @wraps(view)
    def guarded(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not request.user.is_authenticated:
            return signin_redirect(request)
        return view(request, *args, **kwargs)

    return guarded


def admin_required(view: View) -> View:
    """Tenant admins only: anonymous visitors go to the sign-in page, other users get the 403 page."""

    @wraps(view)
    def guarded(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        user = request.user
        if not user.is_authenticated:
            return signin_redirect(request)
        if not getattr(user, "is_admin", False):
            return render(request, "web/forbidden.html", status=403)
        return view(request, *args, **kwargs)

    return guarded


def status_of(error: ServiceError, request: HttpRequest) -> int:
    """The HTTP status a page answers with for a service's refusal: the API's, from the one mapping."""
    return refusal(error, request.method)[0].status


def show_refusal(form: forms.Form, error: ServiceError, aliases: Mapping[str, str | None] | None = None) -> None:
    """Attach a service's refusal to the form: each ``"field: message"`` part next to its field.

    ``aliases`` maps the service's field names to the form's (``{"_id": "name"}``); a name mapped to None,
    or one the form does not have, becomes a form-wide error. ``form.is_valid()`` must have run.
    """
    aliases = aliases or {}
    details = error.details if isinstance(error.details, str) else json.dumps(error.details)
    names = sorted({*form.fields, *aliases}, key=len, reverse=True)
    # Services join several field messages with "; " (model validation); split only before a known name.
    parts = re.split(r"; (?=(?:{}): )".format("|".join(map(re.escape, names))), details) if names else [details]
    for part in parts:
        name, separator, message = part.partition(": ")
        if separator and name in aliases:
            target = aliases[name]
            form.add_error(target if target in form.fields else None, message)
        elif separator and name in form.fields:
            form.add_error(name, message)
        else:
            form.add_error(None, part)


def focus_first_error(context: Mapping[str, Any]) -> None:
    """Put the keyboard focus on the first field with an error (of the first form in ``context`` that has one).

    Without script, ``autofocus`` is how a re-rendered form takes the user straight to what needs fixing.
    """
    for value in context.values():
        if isinstance(value, forms.Form) and value.is_bound and value.errors:
            for name in value.fields:
                if name in value.errors and not value.fields[name].widget.is_hidden:
                    value.fields[name].widget.attrs["autofocus"] = True
                    return


def list_page(
    request: HttpRequest,
    queryset: QuerySet[Any],
    spec: ListSpec,
    filter_document: dict[str, Any],
    *,
    sort: dict[str, str] | None = None,
    page: int | None = None,
    limit: int = PAGE_SIZE,
) -> dict[str, Any]:
    """One page of ``queryset`` filtered by the API's filter language, and the links to its neighbours."""
    params = QueryDict(mutable=True)
    params["filter"] = json.dumps(filter_document)
    if sort:
        params["sort"] = json.dumps(sort)
    params["page"] = str(page or 1)
    params["limit"] = str(limit)
    envelope = paginate(queryset, params, spec, list)  # rows stay model instances: templates format them

    def link(number: int | None) -> str | None:
        if number is None:
            return None
        query = request.GET.copy()
        query["page"] = str(number)
        return f"?{query.urlencode()}"

    shown = len(envelope["docs"])
    return {
        "rows": envelope["docs"],
        "total": envelope["totalDocs"],
        "page": envelope["page"],
        "total_pages": envelope["totalPages"],
        "first": envelope["pagingCounter"] if shown else 0,
        "last": envelope["pagingCounter"] + shown - 1 if shown else 0,
        "prev_url": link(envelope["prevPage"]),
        "next_url": link(envelope["nextPage"]) if shown else None,
        "first_url": link(1) if envelope["page"] > 1 else None,
    }


def contains(text: str) -> dict[str, str]:
    """A case-insensitive "contains" condition of the filter language for literal ``text``.

    ``re.escape`` escapes only punctuation and whitespace, which RE2 and PostgreSQL both read as literals.
    """
    return {"$regex": re.escape(text), "$options": "i"}
