"""Receiving version files: streamed to a temporary file while their SHA-256 and size are computed.

Nothing holds a whole file in memory. Two ways in, one result (``ReceivedFile``):
- ``multipart/form-data`` (the contract's form, part ``file``) through ``HashingUploadHandler``;
- a raw body (``application/octet-stream``, file name in ``Content-Disposition``), read by
  ``receive_raw`` without multipart parsing — the fast path for scripts and multi-gigabyte files.
Both refuse a file over ``MAX_UPLOAD_SIZE`` with 413 while it streams, and delete what they wrote when
anything goes wrong.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.files.uploadedfile import TemporaryUploadedFile
from django.core.files.uploadhandler import FileUploadHandler
from django.http import HttpRequest

from registry_project.api.errors import ApiError

CHUNK = 1024 * 1024
MULTIPART_OVERHEAD = 64 * 1024  # boundaries and part headers around the file in a multipart body
MAX_ORIGINAL_LENGTH = 255


class ReceivedFile(TemporaryUploadedFile):
    """An upload on disk with the digest and size computed while it arrived."""

    sha256: str
    original: str  # the safe base name (``safe_original``), checked before the first byte was written


def too_large(size: int | None = None) -> ApiError:
    limit = settings.MAX_UPLOAD_SIZE
    seen = f" ({size} bytes)" if size is not None else ""
    return ApiError("payload_too_large", f"file: larger than MAX_UPLOAD_SIZE, {limit} bytes{seen}")


def refuse_oversized_request(request: HttpRequest, overhead: int) -> None:
    """413 before reading anything, when the declared length already exceeds the limit."""
    try:
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        raise ApiError("generic_upload_error", "Content-Length: not a number") from None
    if declared > settings.MAX_UPLOAD_SIZE + overhead:
        raise too_large(declared)


class DigestingFile:
    """Writes chunks to a fresh temporary upload file, hashing and counting them.

    Past ``limit`` bytes it refuses the file with 413 while it streams (uploads pass MAX_UPLOAD_SIZE);
    ``None`` means no limit (restoring a backup).
    """

    def __init__(self, name: str | None, content_type: str, limit: int | None) -> None:
        self.limit = limit
        original = safe_original(name)  # checked before anything is written
        Path(settings.FILE_UPLOAD_TEMP_DIR).mkdir(parents=True, exist_ok=True)
        self.file = ReceivedFile(original, content_type or "application/octet-stream", 0, None)
        self.file.original = original
        self.hasher = hashlib.sha256()
        self.size = 0

    def write(self, chunk: bytes) -> None:
        self.size += len(chunk)
        if self.limit is not None and self.size > self.limit:
            self.discard()
            raise too_large()
        self.hasher.update(chunk)
        self.file.write(chunk)

    def finish(self) -> ReceivedFile:
        self.file.flush()
        self.file.seek(0)
        self.file.size = self.size
        self.file.sha256 = self.hasher.hexdigest()
        return self.file

    def discard(self) -> None:
        self.file.close()  # a NamedTemporaryFile: closing deletes it


class HashingUploadHandler(FileUploadHandler):
    """Django upload handler for the multipart form: every file part goes to disk, hashed on the way."""

    chunk_size = CHUNK

    def __init__(self, request: HttpRequest | None = None) -> None:
        super().__init__(request)
        self.current: DigestingFile | None = None
        self.received: list[ReceivedFile] = []

    def new_file(self, field_name: str, file_name: str, content_type: str, *args: Any, **kwargs: Any) -> None:
        super().new_file(field_name, file_name, content_type, *args, **kwargs)
        self.current = DigestingFile(file_name, content_type, settings.MAX_UPLOAD_SIZE)

    def receive_data_chunk(self, raw_data: bytes, start: int) -> None:
        assert self.current is not None
        self.current.write(raw_data)

    def file_complete(self, file_size: int) -> ReceivedFile:
        assert self.current is not None
        received = self.current.finish()
        self.received.append(received)
        self.current = None
        return received

    def upload_interrupted(self) -> None:
        if self.current is not None:
            self.current.discard()
            self.current = None


_FILENAME_STAR = re.compile(r"filename\*\s*=\s*(?:UTF-8|utf-8)''([^;]+)")
_FILENAME = re.compile(r'filename\s*=\s*"((?:[^"\\]|\\.)*)"|filename\s*=\s*([^;\s]+)')


def filename_from_disposition(header: str) -> str | None:
    """The file name of a ``Content-Disposition`` header (``filename*=UTF-8''…`` preferred)."""
    from urllib.parse import unquote

    star = _FILENAME_STAR.search(header)
    if star:
        return unquote(star.group(1).strip())
    plain = _FILENAME.search(header)
    if plain:
        return (plain.group(1) if plain.group(1) is not None else plain.group(2)).replace('\\"', '"')
    return None


def receive_raw(request: HttpRequest) -> ReceivedFile:
    """Stream a raw request body (``application/octet-stream``) to disk; its name from Content-Disposition."""
    name = filename_from_disposition(request.META.get("HTTP_CONTENT_DISPOSITION", ""))
    if name is None:
        raise ApiError("generic_upload_error", 'Content-Disposition: send attachment; filename="<name>"')
    if request.META.get("CONTENT_LENGTH") in (None, ""):
        raise ApiError("generic_upload_error", "Content-Length: required for a raw upload")
    refuse_oversized_request(request, overhead=0)
    sink = DigestingFile(name, request.META.get("CONTENT_TYPE", "application/octet-stream"), settings.MAX_UPLOAD_SIZE)
    expected = int(request.META["CONTENT_LENGTH"])
    try:
        while chunk := request.read(CHUNK):
            sink.write(chunk)
        if sink.size != expected:
            raise ApiError("generic_upload_error", f"body: {sink.size} of {expected} bytes arrived")
    except ApiError:
        sink.discard()
        raise
    except Exception:
        sink.discard()
        raise ApiError("generic_upload_error", "body: the upload was interrupted") from None
    return sink.finish()


def expected_digest(request: HttpRequest) -> str | None:
    """The SHA-256 the client announced (``Digest: sha-256=<base64>`` or ``X-Checksum-Sha256: <hex>``)."""
    hex_digest = request.META.get("HTTP_X_CHECKSUM_SHA256")
    if hex_digest:
        value = hex_digest.strip().lower()
        if not re.fullmatch(r"[0-9a-f]{64}", value):
            raise ApiError("generic_upload_error", "X-Checksum-Sha256: expected 64 hexadecimal characters")
        return value
    digest = request.META.get("HTTP_DIGEST")
    if digest:
        for part in digest.split(","):
            algorithm, _, value = part.strip().partition("=")
            if algorithm.strip().lower() == "sha-256":
                try:
                    raw = base64.b64decode(value.strip(), validate=True)
                except (binascii.Error, ValueError):
                    raise ApiError("generic_upload_error", "Digest: sha-256 value is not base64") from None
                if len(raw) != 32:
                    raise ApiError("generic_upload_error", "Digest: sha-256 value is not 32 bytes")
                return raw.hex()
    return None


def safe_original(name: str | None) -> str:
    """The base name of an uploaded file's name, without directories or control characters."""
    if not name:
        raise ApiError("generic_upload_error", "file: the file has no name")
    base = re.split(r"[\\/]", name)[-1]
    cleaned = "".join(char for char in base if char.isprintable()).strip()
    if cleaned in ("", ".", ".."):
        raise ApiError("generic_upload_error", f"file: {name[:80]!r} is not a usable file name")
    if cleaned.isdigit():
        raise ApiError("generic_upload_error", "file: a name of digits only would read as an ordinal; rename it")
    if len(cleaned) > MAX_ORIGINAL_LENGTH:
        raise ApiError("generic_upload_error", f"file: names are at most {MAX_ORIGINAL_LENGTH} characters")
    return cleaned
