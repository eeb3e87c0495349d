"""The tus 1.0 protocol (core, creation, checksum, termination, expiration) over ``items_app.resumable``.

One implementation for both front doors: the API (``/v1/<kind>/<id>/uploads``, JWT or API key) and the
item page (``/<kind>/<id>/uploads/``, the browser's session, CSRF header). Each passes the request, the
caller, the item and how to spell URLs; refusals are the registry's domain errors, which each front door
turns into its JSON envelope, with ``Tus-Resumable`` added (``with_tus_header``).

Where tus leaves a choice: ``Upload-Length`` is required (no deferred length); the ``Upload-Metadata``
keys are ``filename`` (required; ``name`` is taken too), ``filetype`` (or ``type``), ``description``,
``sha256`` (hex), ``metadata`` (the version's metadata as JSON) and ``label`` (a version label, as
``?ordinal=`` gives one to a plain upload; refused at creation when taken), anything else is a 400 naming it
(``relativePath``, which browser uploaders send, is ignored). The PATCH that completes the upload may
carry ``Repr-Digest`` (RFC 9530), the whole file's SHA-256, instead of or besides ``sha256``: a client can
then hash the file while it sends it. The last PATCH answers with ``Content-Location``: where the new
version's document is. An expired upload answers 410 until the
clean-up removes it, 404 after.
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.utils.http import http_date

from framework.errors import Invalid, PreconditionFailed, UnsupportedMediaType
from framework.structured_fields import StructuredFieldError, parse_dictionary
from items_app import resumable, versions
from items_app.models import Item, Version
from tenants_app.audit import Caller

TUS_VERSION = "1.0.0"
EXTENSIONS = "creation,checksum,termination,expiration"
OFFSET_CONTENT_TYPE = "application/offset+octet-stream"
_METADATA_KEY = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
_METADATA_KEYS = {"filename", "name", "filetype", "type", "description", "sha256", "metadata", "label"}
_IGNORED_KEYS = {"relativePath"}


@dataclass(frozen=True)
class Urls:
    """Where a front door serves an item (``/v1/models/<id>`` or ``/models/<id>``): its uploads and its
    versions' documents lie under it the same way on both."""

    item: str

    def upload(self, upload_id: str) -> str:
        return f"{self.item}/uploads/{upload_id}"

    def version(self, version: Version) -> str:
        return f"{self.item}/versions/{version.ordinal}/info"


def with_tus_header(response: HttpResponseBase) -> HttpResponseBase:
    """Every tus answer but OPTIONS's carries ``Tus-Resumable`` (errors too: clients check it)."""
    response["Tus-Resumable"] = TUS_VERSION
    return response


def discovery() -> HttpResponse:
    """OPTIONS: what this server speaks."""
    response = HttpResponse(status=204)
    response["Tus-Version"] = TUS_VERSION
    response["Tus-Extension"] = EXTENSIONS
    response["Tus-Max-Size"] = str(settings.MAX_UPLOAD_SIZE)
    response["Tus-Checksum-Algorithm"] = "sha256"
    return response


def creation(request: HttpRequest, caller: Caller, item: Item, urls: Urls) -> HttpResponse:
    """POST: open an upload; 201 with its ``Location``."""
    _require_tus(request)
    fields = parse_metadata(request.META.get("HTTP_UPLOAD_METADATA", ""))
    announced = resumable.Announced(
        length=_number(request, "Upload-Length"),
        filename=fields.get("filename") or fields.get("name"),
        description=fields.get("description", ""),
        metadata=versions.parse_version_metadata(fields.get("metadata")),
        expected_sha256=_sha256(fields.get("sha256")),
        content_type=fields.get("filetype") or fields.get("type") or "application/octet-stream",
        label=versions.checked_label(fields.get("label"), "Upload-Metadata label"),
    )
    progress = resumable.start_upload(caller, item, announced)
    response = _progress_response(progress, urls, status=201)
    response["Location"] = urls.upload(progress.session.pk)
    return response


def upload(request: HttpRequest, caller: Caller, item: Item, upload_id: str, urls: Urls) -> HttpResponse:
    """HEAD (where it stands), PATCH (append a chunk) or DELETE (give it up) on one upload."""
    _require_tus(request)
    session = resumable.find_upload(caller, item, upload_id)
    if request.method == "HEAD":
        session = resumable.settled(session)
        response = _progress_response(resumable.Progress(session), urls, status=200)
        response["Upload-Length"] = str(session.length)
        response["Cache-Control"] = "no-store"
        return response
    if request.method == "DELETE":
        resumable.terminate(session)
        return HttpResponse(status=204)
    content_type = request.META.get("CONTENT_TYPE", "").split(";")[0].strip().lower()
    if content_type != OFFSET_CONTENT_TYPE:
        raise UnsupportedMediaType(f"Content-Type: send chunks as {OFFSET_CONTENT_TYPE}")
    declared = request.META.get("CONTENT_LENGTH") or ""
    if not declared.isdigit():
        raise Invalid("Content-Length: required for a chunk")
    offset = _number(request, "Upload-Offset")
    checksum = chunk_checksum(request.META.get("HTTP_UPLOAD_CHECKSUM"))
    whole = whole_file_sha256(request.META.get("HTTP_REPR_DIGEST"))
    progress = resumable.append_chunk(
        caller, item, session, request, resumable.Chunk(offset, int(declared), checksum, whole)
    )
    return _progress_response(progress, urls, status=204)


def _progress_response(progress: resumable.Progress, urls: Urls, *, status: int) -> HttpResponse:
    session = progress.session
    response = HttpResponse(status=status)
    response["Upload-Offset"] = str(session.length if progress.version is not None else session.offset)
    if progress.version is not None:
        response["Content-Location"] = urls.version(progress.version)
    else:
        response["Upload-Expires"] = http_date(session.expires.timestamp())
    return response


def _require_tus(request: HttpRequest) -> None:
    version = request.META.get("HTTP_TUS_RESUMABLE")
    if version != TUS_VERSION:
        raise PreconditionFailed(f"Tus-Resumable: this server speaks tus {TUS_VERSION}, the request said {version!r}")


def _number(request: HttpRequest, header: str) -> int:
    raw = request.META.get("HTTP_" + header.upper().replace("-", "_"), "")
    if not raw.isdigit() or len(raw) > 19:
        raise Invalid(f"{header}: required, a whole number of bytes")
    return int(raw)


def parse_metadata(header: str) -> dict[str, str]:
    """``Upload-Metadata``: comma-separated ``key base64(value)`` pairs (a value may be absent)."""
    fields: dict[str, str] = {}
    for pair in filter(None, (part.strip() for part in header.split(","))):
        key, _, encoded = pair.partition(" ")
        if not _METADATA_KEY.match(key):
            raise Invalid(f"Upload-Metadata: {key[:40]!r} is not a valid key")
        if key in fields:
            raise Invalid(f"Upload-Metadata: {key} appears twice")
        try:
            value = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError, ValueError):
            raise Invalid(f"Upload-Metadata: the value of {key} is not base64-encoded UTF-8") from None
        fields[key] = value
    unknown = sorted(set(fields) - _METADATA_KEYS)
    unknown = [key for key in unknown if key not in _IGNORED_KEYS]
    if unknown:
        raise Invalid(
            f"Upload-Metadata: unknown key(s) {', '.join(unknown)}; "
            "send filename, filetype, description, sha256, metadata, label"
        )
    return fields


def _sha256(text: str | None) -> str | None:
    if not text:
        return None
    value = text.strip().lower()
    if not re.fullmatch(r"[0-9a-f]{64}", value):
        raise Invalid("Upload-Metadata: sha256 must be 64 hexadecimal characters")
    return value


def chunk_checksum(header: str | None) -> bytes | None:
    """``Upload-Checksum: sha256 <base64 digest>``: the chunk's expected SHA-256, or None."""
    if not header:
        return None
    algorithm, _, encoded = header.strip().partition(" ")
    if algorithm.lower() != "sha256":
        raise Invalid(f"Upload-Checksum: {algorithm[:20]!r} is not supported; use sha256")
    try:
        digest = base64.b64decode(encoded.strip(), validate=True)
    except (binascii.Error, ValueError):
        raise Invalid("Upload-Checksum: the digest is not base64") from None
    if len(digest) != 32:
        raise Invalid("Upload-Checksum: a SHA-256 digest is 32 bytes")
    return digest


def whole_file_sha256(header: str | None) -> str | None:
    """``Repr-Digest: sha-256=:<base64 digest>:`` (RFC 9530, a structured-field dictionary): the SHA-256 (hex)
    the whole file must have, or None. Other algorithms are ignored, as RFC 9530 lets a sender offer several;
    a header that does not parse is refused rather than ignored, since ignoring it would skip a check the
    client asked for."""
    if not header:
        return None
    try:
        members = parse_dictionary(header)
    except StructuredFieldError as exc:
        raise Invalid(f"Repr-Digest: not a structured-field dictionary ({exc}); send sha-256=:<base64>:") from None
    value = members.get("sha-256")
    if value is None:
        return None
    if not isinstance(value, bytes) or len(value) != 32:
        raise Invalid("Repr-Digest: sha-256 must be the 32-byte digest as a byte sequence, sha-256=:<base64>:")
    return value.hex()
