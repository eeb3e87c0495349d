"""Version files: content-addressed blobs in django-storages, the same code for local disk and S3.

A blob's key is ``<tenant>/<sha256>``: it never derives from anything the client chose. Local disk is
Django's ``FileSystemStorage`` (storing a finished upload is a rename, the upload was written beside it);
S3 is django-storages' ``S3Storage`` (multipart upload for large files).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, cast

from django.conf import settings
from django.core.files.storage import FileSystemStorage, storages

if TYPE_CHECKING:
    from storages.backends.s3 import S3Storage

CHUNK = 1024 * 1024


def blobs() -> FileSystemStorage | S3Storage:
    # settings.STORAGES["blobs"] is one of these two (STORAGE=local or s3): the branches below rely on it.
    return cast("FileSystemStorage | S3Storage", storages["blobs"])


def is_local() -> bool:
    return isinstance(blobs(), FileSystemStorage)


def blob_key(tenant_id: str, sha256: str) -> str:
    return f"{tenant_id}/{sha256}"


def exists(key: str) -> bool:
    return blobs().exists(key)


def store(key: str, uploaded: Any) -> None:
    """Put a finished upload (a file with ``temporary_file_path()``) at ``key``; same bytes may be rewritten."""
    storage = blobs()
    if isinstance(storage, FileSystemStorage):
        target = Path(storage.path(key))
        target.parent.mkdir(parents=True, exist_ok=True)
        source = uploaded.temporary_file_path()
        try:
            os.link(source, target)  # zero-copy: the upload was written on the same file system
        except FileExistsError:
            return  # the same content is already there
        except OSError:
            shutil.copyfile(source, target)
        if storage.file_permissions_mode is not None:
            os.chmod(target, storage.file_permissions_mode)
        return
    uploaded.seek(0)
    storage.save(key, uploaded)


def delete(key: str) -> None:
    blobs().delete(key)


def delete_tenant(tenant_id: str) -> None:
    """Remove every blob of a tenant (tenant deletion)."""
    storage = blobs()
    if isinstance(storage, FileSystemStorage):
        shutil.rmtree(storage.path(tenant_id), ignore_errors=True)
        return
    storage.bucket.objects.filter(Prefix=f"{tenant_id}/").delete()


def keys(tenant_id: str) -> list[tuple[str, float]]:
    """(key, modification time as epoch seconds) of every blob stored for a tenant."""
    storage = blobs()
    if isinstance(storage, FileSystemStorage):
        folder = Path(storage.path(tenant_id))
        if not folder.is_dir():
            return []
        return [(f"{tenant_id}/{entry.name}", entry.stat().st_mtime) for entry in folder.iterdir() if entry.is_file()]
    return [
        (item.key, item.last_modified.timestamp()) for item in storage.bucket.objects.filter(Prefix=f"{tenant_id}/")
    ]


class FileRange:
    """At most ``length`` bytes of an open file, from its current position.

    It keeps ``fileno()``, so gunicorn still serves it with ``sendfile`` (offset = the file's position,
    count = ``Content-Length``); any other server reads it chunk by chunk and stops at the range's end.
    """

    def __init__(self, handle: IO[bytes], length: int) -> None:
        self.handle = handle
        self.remaining = length

    def fileno(self) -> int:
        return self.handle.fileno()

    def read(self, size: int = -1) -> bytes:
        if self.remaining <= 0:
            return b""
        data = self.handle.read(self.remaining if size < 0 else min(size, self.remaining))
        self.remaining -= len(data)
        return data

    def close(self) -> None:
        self.handle.close()


@dataclass(frozen=True)
class Opened:
    """A blob opened for reading ``length`` bytes from ``start``: a real file (sendfile) or a chunk stream."""

    file: FileRange | None
    chunks: Iterator[bytes] | None


def open_range(key: str, start: int, length: int) -> Opened:
    storage = blobs()
    if isinstance(storage, FileSystemStorage):
        handle = open(storage.path(key), "rb")  # noqa: SIM115 - closed by the response
        handle.seek(start)
        return Opened(file=FileRange(handle, length), chunks=None)
    if length == 0:
        return Opened(file=None, chunks=iter(()))
    body = storage.connection.meta.client.get_object(
        Bucket=storage.bucket_name, Key=storage._normalize_name(key), Range=f"bytes={start}-{start + length - 1}"
    )["Body"]
    return Opened(file=None, chunks=_stream(body))


def _stream(body: Any) -> Iterator[bytes]:
    try:
        yield from body.iter_chunks(CHUNK)
    finally:
        body.close()


def presigned_url(key: str, filename_header: str, content_type: str) -> str | None:
    """A short-lived URL that downloads the blob straight from S3, or None for local storage."""
    storage = blobs()
    if isinstance(storage, FileSystemStorage):
        return None
    url: str = storage.connection.meta.client.generate_presigned_url(
        "get_object",
        Params={
            "Bucket": storage.bucket_name,
            "Key": storage._normalize_name(key),
            "ResponseContentDisposition": filename_header,
            "ResponseContentType": content_type,
        },
        ExpiresIn=settings.S3_PRESIGNED_EXPIRY,
    )
    return url


def ensure_ready() -> None:
    """Create what storage needs before the first upload: the upload folder or the S3 bucket."""
    Path(settings.FILE_UPLOAD_TEMP_DIR).mkdir(parents=True, exist_ok=True)
    storage = blobs()
    if isinstance(storage, FileSystemStorage):
        Path(storage.location).mkdir(parents=True, exist_ok=True)
        return
    client = storage.connection.meta.client
    try:
        client.head_bucket(Bucket=storage.bucket_name)
    except Exception:
        client.create_bucket(Bucket=storage.bucket_name)


def tenant_prefixes() -> list[str]:
    """Every tenant id that has a folder (local) or a key prefix (S3) in blob storage."""
    storage = blobs()
    if isinstance(storage, FileSystemStorage):
        root = Path(storage.location)
        if not root.is_dir():
            return []
        return [entry.name for entry in root.iterdir() if entry.is_dir() and not entry.name.startswith(".")]
    client = storage.connection.meta.client
    pages = client.get_paginator("list_objects_v2").paginate(Bucket=storage.bucket_name, Delimiter="/")
    prefixes = [prefix["Prefix"] for page in pages for prefix in page.get("CommonPrefixes", [])]
    # Some S3 servers keep listing a "folder" after its last object is gone: report non-empty ones only.
    return [
        prefix.rstrip("/")
        for prefix in prefixes
        if client.list_objects_v2(Bucket=storage.bucket_name, Prefix=prefix, MaxKeys=1).get("KeyCount", 0)
    ]


def check_reachable() -> None:
    """Raise unless blob storage answers: the upload folder is writable, or the bucket responds."""
    storage = blobs()
    if isinstance(storage, FileSystemStorage):
        location = Path(storage.location)
        if not (location.is_dir() and os.access(location, os.W_OK)):
            raise OSError("the upload folder is missing or not writable")
        return
    storage.connection.meta.client.head_bucket(Bucket=storage.bucket_name)
