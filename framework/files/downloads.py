"""Answering a version download: conditional requests, single byte ranges, and the zero-copy path.

From local storage the response is a ``FileResponse`` on the open file, positioned at the range start
with the exact ``Content-Length``: gunicorn turns that into ``sendfile`` (``wsgi.file_wrapper``), so the
bytes never pass through Python. From S3 the bytes are streamed in 1 MiB chunks, or, with
``S3_PRESIGNED_DOWNLOADS``, the client is redirected to a short-lived presigned URL.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Protocol, cast

from django.conf import settings
from django.http import FileResponse, HttpRequest, HttpResponse, HttpResponseRedirect, StreamingHttpResponse
from django.http.response import HttpResponseBase
from django.utils.http import content_disposition_header

from framework.errors import RangeNotSatisfiable
from framework.files import storage


class StoredFile(Protocol):
    """What a download needs to know of a stored file (an item's ``Version``)."""

    blob_id: str  # its SHA-256, the key of its bytes
    original: str  # the name it is downloaded under
    content_type: str
    size: int


_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")


def requested_range(request: HttpRequest, size: int, etag: str) -> tuple[int, int] | None:
    """(start, length) of a satisfiable single range, None to send the whole file; 416 if unsatisfiable.

    Several ranges in one request, or an ``If-Range`` that does not match, get the whole file (RFC 9110
    lets a server ignore ``Range``).
    """
    header = request.META.get("HTTP_RANGE", "").strip()
    if not header:
        return None
    if_range = request.META.get("HTTP_IF_RANGE")
    if if_range and if_range.strip() != etag:
        return None
    match = _RANGE.match(header.replace(" ", ""))
    if not match or (not match.group(1) and not match.group(2)):
        return None
    first, last = match.group(1), match.group(2)
    if first:
        start = int(first)
        end = min(int(last), size - 1) if last else size - 1
        if start >= size or (last and int(last) < start):
            raise unsatisfiable(size)
    else:
        suffix = int(last)
        if suffix == 0:
            raise unsatisfiable(size)
        start, end = max(0, size - suffix), size - 1
    return start, end - start + 1


def unsatisfiable(size: int) -> RangeNotSatisfiable:
    return RangeNotSatisfiable(f"Range: the file has {size} bytes", size=size)


def etag_matches(request: HttpRequest, etag: str) -> bool:
    header = request.META.get("HTTP_IF_NONE_MATCH")
    if not header:
        return False
    candidates = {candidate.strip().removeprefix("W/") for candidate in header.split(",")}
    return "*" in candidates or etag in candidates


def download(request: HttpRequest, tenant_id: str, version: StoredFile) -> tuple[HttpResponseBase, str | None]:
    """The response for one version, and the byte range served (for the audit log)."""
    etag = f'"{version.blob_id}"'
    # None only for an inline response without a file name; this one is an attachment.
    disposition = cast(str, content_disposition_header(as_attachment=True, filename=version.original))
    common = {"ETag": etag, "Accept-Ranges": "bytes", "X-Content-Type-Options": "nosniff", "Cache-Control": "private"}
    if etag_matches(request, etag):
        response: HttpResponseBase = HttpResponse(status=304)
        for name, value in common.items():
            response[name] = value
        return response, None
    key = storage.blob_key(tenant_id, version.blob_id)
    if settings.S3_PRESIGNED_DOWNLOADS:
        url = storage.presigned_url(key, disposition, version.content_type)
        if url is not None:
            return HttpResponseRedirect(url), "presigned"
    byte_range = requested_range(request, version.size, etag)
    start, length = byte_range if byte_range is not None else (0, version.size)
    with storage.object_store():  # a store that does not answer: 503 before any byte is promised
        opened = storage.open_range(key, start, length)
    status = 206 if byte_range is not None else 200
    if opened.file is not None:
        response = FileResponse(opened.file, status=status, content_type=version.content_type)
    else:
        chunks = cast(Iterator[bytes], opened.chunks)  # an ``Opened`` holds a file or chunks
        response = StreamingHttpResponse(chunks, status=status, content_type=version.content_type)
    for name, value in common.items():
        response[name] = value
    response["Content-Disposition"] = disposition
    response["Content-Length"] = str(length)
    if byte_range is not None:
        response["Content-Range"] = f"bytes {start}-{start + length - 1}/{version.size}"
        return response, f"{start}-{start + length - 1}"
    return response, None
