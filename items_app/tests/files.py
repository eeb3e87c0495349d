"""Helpers of the version tests: uploading in both encodings, reading downloads, and looking at the blob store."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.files.storage import FileSystemStorage
from django.core.files.uploadedfile import SimpleUploadedFile
from rest_framework.test import APIClient

from framework.files import storage
from items_app.models import Blob, Version
from tenants_app import tenancy
from tenants_app.models import AuditEntry

CONTENT = b"onnx weights, first cut\n" * 400
OTHER_CONTENT = b"onnx weights, second cut\n" * 500
BOUNDARY = "BoUnDaRy"
VERSION_KEYS = {"ordinal", "original", "size", "sha256", "content_type", "description", "timestamp", "owner"}


def sha256_of(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()


def create_model(client: APIClient, name: str = "churn", **fields: Any) -> dict[str, Any]:
    response = client.post("/v1/models", {"name": name, **fields}, format="json")
    assert response.status_code == 201, response.content
    return response.json()


def create_dataset(client: APIClient, name: str = "customers", **fields: Any) -> dict[str, Any]:
    response = client.post("/v1/datasets", {"name": name, **fields}, format="json")
    assert response.status_code == 201, response.content
    return response.json()


# ------------------------------------------------------------------ uploading


def upload(
    client: APIClient,
    url: str,
    name: str = "model.onnx",
    content: bytes = CONTENT,
    *,
    content_type: str = "application/octet-stream",
    description: str | None = None,
    **headers: str,
) -> Any:
    """A multipart/form-data upload (part ``file``, optional part ``description``), as the contract names it."""
    data: dict[str, Any] = {"file": SimpleUploadedFile(name, content, content_type=content_type)}
    if description is not None:
        data["description"] = description
    return client.post(url, data, format="multipart", **headers)


def upload_raw(client: APIClient, url: str, name: str = "model.onnx", content: bytes = CONTENT, **headers: str) -> Any:
    """A raw body upload: the bytes as the body, the file name in Content-Disposition."""
    return client.post(
        url,
        data=content,
        content_type="application/octet-stream",
        HTTP_CONTENT_DISPOSITION=f'attachment; filename="{name}"',
        **headers,
    )


def multipart_body(filename: str, content: bytes, description: str | None = None) -> bytes:
    """A multipart body written by hand, so the file name reaches the server exactly as a client typed it.

    (Django's test client would strip directories from the name before sending it.)
    """
    body = b""
    if description is not None:
        body += (
            f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="description"\r\n\r\n{description}\r\n'
        ).encode()
    body += (
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="{filename}"\r\n'
        "Content-Type: application/octet-stream\r\n\r\n"
    ).encode()
    return body + content + f"\r\n--{BOUNDARY}--\r\n".encode()


def upload_named(client: APIClient, url: str, filename: str, content: bytes = CONTENT, **headers: str) -> Any:
    """A multipart upload whose file name is sent verbatim (directories, backslashes, control characters)."""
    return client.post(
        url,
        data=multipart_body(filename, content),
        content_type=f"multipart/form-data; boundary={BOUNDARY}",
        **headers,
    )


def uploaded(response: Any) -> dict[str, Any]:
    assert response.status_code == 201, response.content
    return response.json()


def body_of(response: Any) -> bytes:
    return b"".join(response.streaming_content)


# ------------------------------------------------------------------ the blob store


def stored_keys(tenant_id: str) -> list[str]:
    return sorted(key for key, _modified in storage.keys(tenant_id))


def stored_bytes(key: str) -> bytes:
    with storage.blobs().open(key, "rb") as handle:
        return handle.read()


def every_stored_name() -> list[str]:
    """Every file name anywhere in the blob store (not only under a tenant's prefix)."""
    blobs = storage.blobs()
    if isinstance(blobs, FileSystemStorage):
        root = Path(blobs.location)
        return sorted(str(path.relative_to(root)) for path in root.rglob("*") if path.is_file())
    return sorted(entry.key for entry in blobs.bucket.objects.all())


def temporary_files() -> list[str]:
    """Files left in the upload temporary directory (a finished or failed upload leaves none)."""
    folder = settings.FILE_UPLOAD_TEMP_DIR
    return sorted(os.listdir(folder)) if os.path.isdir(folder) else []


def assert_nothing_kept(handle: Any) -> None:
    """No version row, no blob row, no stored file and no temporary file."""
    assert handle.count(Version) == 0
    assert handle.count(Blob) == 0
    assert stored_keys(handle.id) == []
    assert temporary_files() == []


def assert_store_matches_rows(handle: Any) -> None:
    """Every blob row has its file, every stored file has its row, every version has its blob."""
    with tenancy.using_tenant(handle.tenant):
        blob_rows = set(Blob.objects.values_list("sha256", flat=True))
        used = set(Version.objects.values_list("blob_id", flat=True))
    assert stored_keys(handle.id) == sorted(f"{handle.id}/{sha256}" for sha256 in blob_rows)
    assert used == blob_rows


# ------------------------------------------------------------------ concurrency and the audit log


def audit_entries(handle: Any, action: str) -> list[dict[str, Any]]:
    with tenancy.using_tenant(handle.tenant):
        return list(AuditEntry.objects.filter(action=action).order_by("timestamp").values())
