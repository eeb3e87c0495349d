"""The versions of an item on its page: the table, uploading from the page, downloading, deleting."""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.http.response import HttpResponseBase
from django.middleware.csrf import CsrfViewMiddleware
from django.shortcuts import render
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from framework.errors import Forbidden, UnsupportedMediaType
from framework.files import downloads
from framework.files.uploads import expected_digest, receive_upload
from items_app import kinds, services, tus, versions
from items_app.documents import version_document
from items_app.facts import safety_headers
from items_app.views.common import (
    View,
    confirm_page,
    item_path,
    json_endpoint,
    load_item,
    may_edit,
    page,
    require_edit,
)
from tenants_app.audit import Caller
from tenants_app.context import require_tenant

if TYPE_CHECKING:
    from tenants_app.http import SignedInRequest


@page
@require_GET
def versions_fragment(request: SignedInRequest, kind: str, pk: str) -> HttpResponse:
    """The versions table alone: the item page reloads it after an upload."""
    k = kinds.get(kind)
    item = load_item(request, k, pk)
    context = {"k": k, "item": item, "versions": item.related.versions, "can_edit": may_edit(request, item)}
    return render(request, "items/_versions.html", context)


def _csrf_rejection(request: HttpRequest) -> HttpResponse | None:
    """Django's own CSRF check (X-CSRFToken header), run by hand: see ``upload_version``."""
    # No view to pass: the check reads only a view's ``csrf_exempt`` flag, which None lacks (django-stubs
    # asks for a callable).
    return CsrfViewMiddleware(lambda _request: HttpResponse()).process_view(request, None, (), {})  # type: ignore[arg-type]


@csrf_exempt  # checked by hand below, once the body is known not to be multipart (the check would parse it)
@require_POST
@json_endpoint
def upload_version(request: SignedInRequest, kind: str, pk: str) -> HttpResponse:
    """The item page's upload: a raw body streamed to disk and hashed, then ``versions.add_version``.

    Only raw bodies (``application/octet-stream``) are taken here: Django's CSRF check reads ``request.POST``,
    which for a multipart body would parse (and store) the whole upload before permissions are checked.
    """
    content_type = request.META.get("CONTENT_TYPE", "").split(";")[0].strip().lower()
    if content_type != "application/octet-stream":
        raise UnsupportedMediaType("Content-Type: send the file as application/octet-stream")
    if _csrf_rejection(request) is not None:
        raise Forbidden("CSRF token missing or incorrect; reload the page and try again.", action="create")
    item = services.readable_item(request.user, kind, pk)
    caller = Caller.of(request)
    services.ensure_editable(caller, item, "create")  # before a single byte of the body is read
    label = versions.label_for_upload(item, request.GET.get("ordinal"))
    expected = expected_digest(request)
    received, description = receive_upload(request)
    version = versions.add_version(
        caller,
        item,
        received,
        original=received.original,
        description=description,
        expected_sha256=expected,
        label=label,
    )
    return JsonResponse(version_document(version), status=201)


def resumable_endpoint(view: View) -> View:
    """A tus endpoint of the item page: session auth, the CSRF header on every change (checked by hand, so a
    refusal is the JSON envelope), ``Tus-Resumable`` on every answer but OPTIONS's."""

    @functools.wraps(view)
    def checked(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        if request.method not in ("HEAD", "OPTIONS") and _csrf_rejection(request) is not None:
            raise Forbidden("CSRF token missing or incorrect; reload the page and try again.", action="create")
        return view(request, *args, **kwargs)

    answered = json_endpoint(checked)

    @functools.wraps(view)
    def with_protocol_header(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        response = answered(request, *args, **kwargs)  # refusals too: tus clients check the header on them
        return response if request.method == "OPTIONS" else tus.with_tus_header(response)

    return csrf_exempt(with_protocol_header)


@require_http_methods(["POST", "OPTIONS"])
@resumable_endpoint
def resumable_uploads(request: SignedInRequest, kind: str, pk: str) -> HttpResponse:
    """The item page's uploads (tus-js-client): open a resumable upload of a new version."""
    if request.method == "OPTIONS":
        return tus.discovery()
    item = services.readable_item(request.user, kind, pk)
    return tus.creation(request, Caller.of(request), item, tus.Urls(item_path(item).rstrip("/")))


@require_http_methods(["HEAD", "PATCH", "DELETE"])
@resumable_endpoint
def resumable_upload(request: SignedInRequest, kind: str, pk: str, upload_id: str) -> HttpResponse:
    """One resumable upload of the item page: where it stands, the next chunk, or giving it up."""
    item = services.readable_item(request.user, kind, pk)
    return tus.upload(request, Caller.of(request), item, upload_id, tus.Urls(item_path(item).rstrip("/")))


@require_GET
@json_endpoint
def version_info(request: SignedInRequest, kind: str, pk: str, ref: str) -> HttpResponse:
    """A version's document (as the API shows it): the page reads it when a resumable upload ends."""
    item = services.readable_item(request.user, kind, pk)
    return JsonResponse(version_document(versions.find_version(item, ref)))


@page
@require_GET
def download_version(request: SignedInRequest, kind: str, pk: str, ref: str) -> HttpResponseBase:
    item = services.readable_item(request.user, kind, pk)
    version = versions.find_version(item, ref)
    response, served_range = downloads.download(request, require_tenant().id, version)
    for name, value in safety_headers(version).items():  # a suspicious or dangerous pickle says so
        response[name] = value
    if response.status_code != 304:
        versions.record_download(Caller.of(request), item, version, served_range)
    return response


@page
@require_http_methods(["GET", "POST"])
def delete_version(request: SignedInRequest, kind: str, pk: str, ref: str) -> HttpResponse:
    k = kinds.get(kind)
    item = load_item(request, k, pk)
    require_edit(request, item, "delete")
    version = versions.find_version(item, ref)
    if request.method == "POST":
        versions.delete_version(Caller.of(request), item, version)
        messages.success(request, f"Deleted version {version.ordinal} ({version.original}).")
        return HttpResponseRedirect(item_path(item) + "#versions")
    return confirm_page(
        request,
        k,
        item,
        title=f"Delete version {version.ordinal} ({version.original}) of “{item.name}”?",
        consequence="Its file is deleted unless another version has the same content. This cannot be undone.",
        confirm="Delete version",
        cancel_url=item_path(item) + "#versions",
    )
