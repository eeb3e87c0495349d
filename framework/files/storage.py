"""Version files: content-addressed blobs in django-storages, the same code for local disk and S3.

A blob's key is ``<tenant>/<sha256>``: it never derives from anything the client chose. Local disk is
Django's ``FileSystemStorage`` (storing a finished upload is a rename, the upload was written beside it);
S3 is django-storages' ``S3Storage`` (multipart upload for large files).
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, cast

from botocore.exceptions import BotoCoreError, ClientError
from django.conf import settings
from django.core.files.storage import FileSystemStorage, storages

from framework.errors import Invalid, Unavailable

if TYPE_CHECKING:
    from storages.backends.s3 import S3Storage

CHUNK = 1024 * 1024
logger = logging.getLogger("registry.storage")


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
    """Remove every blob of a tenant (tenant deletion), and with S3 its direct uploads in progress."""
    storage = blobs()
    if isinstance(storage, FileSystemStorage):
        shutil.rmtree(storage.path(tenant_id), ignore_errors=True)
        return
    storage.bucket.objects.filter(Prefix=f"{tenant_id}/").delete()
    client = storage.connection.meta.client
    prefix = storage._normalize_name(direct_key(tenant_id, ""))
    for upload in client.list_multipart_uploads(Bucket=storage.bucket_name, Prefix=prefix).get("Uploads", []):
        client.abort_multipart_upload(Bucket=storage.bucket_name, Key=upload["Key"], UploadId=upload["UploadId"])
    storage.bucket.objects.filter(Prefix=prefix).delete()


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
    prefixes = [
        prefix["Prefix"]
        for page in pages
        for prefix in page.get("CommonPrefixes", [])
        if not prefix["Prefix"].startswith(".")  # DIRECT_PREFIX: uploads in progress, not a tenant
    ]
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


# ------------------------------------------------------------ direct uploads (S3 multipart, presigned)

DIRECT_PREFIX = ".direct"  # where direct uploads collect before their digest is checked: never a blob key


def direct_key(tenant_id: str, upload_id: str) -> str:
    return f"{DIRECT_PREFIX}/{tenant_id}/{upload_id}"


def _s3() -> S3Storage:
    storage = blobs()
    if isinstance(storage, FileSystemStorage):
        raise TypeError("direct uploads need STORAGE=s3")
    return storage


def start_multipart(key: str) -> str:
    """Begin an S3 multipart upload at ``key``; its UploadId."""
    storage = _s3()
    answer = storage.connection.meta.client.create_multipart_upload(
        Bucket=storage.bucket_name, Key=storage._normalize_name(key)
    )
    return str(answer["UploadId"])


def part_urls(key: str, upload_id: str, parts: int, expiry: int) -> list[str]:
    """Presigned ``PUT`` URLs for parts 1…``parts`` of a multipart upload, valid ``expiry`` seconds."""
    storage = _s3()
    client = storage.connection.meta.client
    name = storage._normalize_name(key)
    return [
        str(
            client.generate_presigned_url(
                "upload_part",
                Params={"Bucket": storage.bucket_name, "Key": name, "UploadId": upload_id, "PartNumber": number},
                ExpiresIn=expiry,
            )
        )
        for number in range(1, parts + 1)
    ]


def complete_multipart(key: str, upload_id: str, parts: list[tuple[int, str]]) -> None:
    """Join the parts (number, ETag) into one object at ``key``; 400 when the store refuses them (a part
    missing or too small, a wrong ETag), and the upload stays open to send them again."""
    storage = _s3()
    try:
        storage.connection.meta.client.complete_multipart_upload(
            Bucket=storage.bucket_name,
            Key=storage._normalize_name(key),
            UploadId=upload_id,
            MultipartUpload={"Parts": [{"PartNumber": number, "ETag": etag} for number, etag in parts]},
        )
    except ClientError as exc:
        code = exc.response.get("Error", {}).get("Code", "error")
        raise Invalid(f"parts: the object store refused them ({code}); send the parts again or fix the ETags") from None


def abort_multipart(key: str, upload_id: str) -> None:
    """End a multipart upload and drop its parts; one already completed, aborted or expired is fine."""
    storage = _s3()
    with contextlib.suppress(ClientError):
        storage.connection.meta.client.abort_multipart_upload(
            Bucket=storage.bucket_name, Key=storage._normalize_name(key), UploadId=upload_id
        )


@contextlib.contextmanager
def object_store() -> Iterator[None]:
    """An object store that does not answer (down, unreachable, timing out) as a 503 with Retry-After."""
    try:
        yield
    except BotoCoreError as exc:
        logger.warning("object store unavailable: %s", type(exc).__name__)
        raise Unavailable("storage: the object store does not answer; try again shortly") from None


def digest_of(key: str) -> tuple[str, int]:
    """SHA-256 (hex) and size of a stored object, read once as a stream."""
    storage = _s3()
    body = storage.connection.meta.client.get_object(Bucket=storage.bucket_name, Key=storage._normalize_name(key))[
        "Body"
    ]
    digest, size = hashlib.sha256(), 0
    for chunk in _stream(body):
        digest.update(chunk)
        size += len(chunk)
    return digest.hexdigest(), size


def move(source: str, target: str) -> None:
    """Copy ``source`` to ``target`` inside the bucket (a multipart copy past 5 GB), then delete ``source``;
    an existing ``target`` (the same content, by its key) is kept as it is."""
    storage = _s3()
    client = storage.connection.meta.client
    if not exists(target):
        client.copy(
            {"Bucket": storage.bucket_name, "Key": storage._normalize_name(source)},
            storage.bucket_name,
            storage._normalize_name(target),
        )
    delete(source)
