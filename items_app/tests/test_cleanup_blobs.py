"""`manage.py cleanup_blobs`: what a hard kill between storing and recording leaves behind is found and removed."""

from __future__ import annotations

import hashlib
from io import StringIO

from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command

from framework.files import storage
from framework.files.uploads import ReceivedFile


def _orphan(tenant_id: str, content: bytes) -> str:
    """Store a blob exactly as an upload does, then 'crash' before its version is recorded."""
    received = ReceivedFile("orphan.bin", "application/octet-stream", 0, None)
    received.write(content)
    received.flush()
    sha256 = hashlib.sha256(content).hexdigest()
    storage.store(storage.blob_key(tenant_id, sha256), received)
    received.close()
    return sha256


def _upload(client, content: bytes) -> str:
    model = client.post("/v1/models", {"name": "kept"}, format="json").json()["_id"]
    response = client.post(
        f"/v1/models/{model}/versions", {"file": SimpleUploadedFile("kept.onnx", content)}, format="multipart"
    )
    assert response.status_code == 201, response.content
    return response.json()["sha256"]


def test_it_removes_a_blob_no_version_uses_and_keeps_used_ones(acme, owner, storage_backend):
    kept = _upload(owner, b"a model that was recorded")
    orphan = _orphan("acme", b"a model whose upload was killed")

    output = StringIO()
    call_command("cleanup_blobs", "--grace", "0s", stdout=output)

    keys = {key for key, _ in storage.keys("acme")}
    assert keys == {f"acme/{kept}"}
    assert f"orphaned blob {orphan}" in output.getvalue()


def test_it_leaves_young_blobs_alone_because_an_upload_may_be_in_progress(acme, storage_backend):
    orphan = _orphan("acme", b"an upload still being recorded")

    call_command("cleanup_blobs", "--grace", "1h", stdout=StringIO())

    assert f"acme/{orphan}" in {key for key, _ in storage.keys("acme")}


def test_a_dry_run_reports_without_removing(acme, storage_backend):
    orphan = _orphan("acme", b"reported, not removed")

    output = StringIO()
    call_command("cleanup_blobs", "--grace", "0s", "--dry-run", stdout=output)

    assert f"acme/{orphan}" in {key for key, _ in storage.keys("acme")}
    assert "would remove 1 orphan(s)" in output.getvalue()


def test_it_removes_the_storage_of_a_tenant_that_no_longer_exists(acme, storage_backend):
    _orphan("ghost", b"left behind by a tenant deletion that crashed")

    call_command("cleanup_blobs", "--grace", "0s", stdout=StringIO())

    assert storage.keys("ghost") == []
    assert "ghost" not in storage.tenant_prefixes()
