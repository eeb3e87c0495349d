"""Direct uploads with S3: ``POST /v1/{kind}/{id}/uploads/s3`` gives presigned part URLs, the client sends the
parts straight to the bucket (here: the real SeaweedFS of the test scripts), ``…/complete`` joins them, and
the registry checks the whole object's size and SHA-256 before the version exists.
"""

from __future__ import annotations

import os
from typing import Any

import httpx
import pytest
from django.test import override_settings

from framework.files import storage
from items_app.models import UploadSession
from testing.helpers import error_of, object_store_down, sha256_of, stored_bytes, stored_keys

MIB = 1024 * 1024
FILE = os.urandom(11 * MIB)  # three parts of 5 MiB


@pytest.fixture
def s3(storage_backend: str) -> str:
    if storage_backend != "s3":
        pytest.skip("direct uploads are an S3 feature (the local-disk refusal is tested below)")
    return storage_backend


@pytest.fixture(autouse=True)
def small_parts() -> Any:
    with override_settings(DIRECT_UPLOAD_PART_SIZE=5 * MIB, S3_DIRECT_UPLOADS=True):
        yield


def start(client: Any, item: dict[str, Any], content: bytes = FILE, **fields: Any) -> Any:
    body = {"filename": "llm.safetensors", "size": len(content), **fields}
    return client.post(f"/v1/models/{item['_id']}/uploads/s3", body, format="json")


def send_parts(upload: dict[str, Any], content: bytes) -> list[dict[str, Any]]:
    """PUT each part to its presigned URL, as a client does (no registry credentials involved)."""
    size = upload["part_size"]
    parts = []
    for part in upload["parts"]:
        start_at = (part["number"] - 1) * size
        answer = httpx.put(part["url"], content=content[start_at : start_at + size], timeout=30)
        assert answer.status_code == 200, answer.text
        parts.append({"number": part["number"], "etag": answer.headers["ETag"]})
    return parts


def complete(client: Any, item: dict[str, Any], upload: dict[str, Any], parts: list[dict[str, Any]]) -> Any:
    return client.post(f"/v1/models/{item['_id']}/uploads/s3/{upload['_id']}/complete", {"parts": parts}, format="json")


def staged_objects() -> list[str]:
    blobs = storage.blobs()
    return [entry.key for entry in blobs.bucket.objects.filter(Prefix=storage.DIRECT_PREFIX + "/")]


def open_multipart_uploads() -> list[str]:
    blobs = storage.blobs()
    answer = blobs.connection.meta.client.list_multipart_uploads(Bucket=blobs.bucket_name)
    return [upload["Key"] for upload in answer.get("Uploads", [])]


def test_the_owner_sends_parts_straight_to_the_bucket_and_the_registry_records_the_version(s3, acme, owner, model):
    started = start(owner, model, sha256=sha256_of(FILE), description="direct", metadata={"loss": 0.12})
    assert started.status_code == 201, started.content
    upload = started.json()
    assert upload["part_size"] == 5 * MIB
    assert [part["number"] for part in upload["parts"]] == [1, 2, 3]

    answer = complete(owner, model, upload, send_parts(upload, FILE))

    assert answer.status_code == 201, answer.content
    version = answer.json()
    assert version["sha256"] == sha256_of(FILE)
    assert version["size"] == len(FILE)
    assert version["description"] == "direct"
    assert version["metadata"] == [{"name": "loss", "value": 0.12}]
    assert stored_keys(acme.id) == [f"{acme.id}/{sha256_of(FILE)}"]
    assert stored_bytes(f"{acme.id}/{sha256_of(FILE)}") == FILE
    assert staged_objects() == []
    assert acme.count(UploadSession) == 0


def test_bytes_that_differ_from_the_announced_digest_leave_nothing(s3, acme, owner, model):
    upload = start(owner, model, sha256=sha256_of(b"another file")).json()

    answer = complete(owner, model, upload, send_parts(upload, FILE))

    assert error_of(answer) == (400, "digest_mismatch")
    assert stored_keys(acme.id) == []
    assert staged_objects() == []
    assert acme.count(UploadSession) == 0


def test_a_missing_part_is_refused_and_the_upload_can_still_be_completed(s3, acme, owner, model):
    upload = start(owner, model).json()
    parts = send_parts(upload, FILE)

    short = complete(owner, model, upload, parts[:2])
    wrong = complete(owner, model, upload, [parts[0], parts[1], {"number": 3, "etag": '"0123"'}])
    right = complete(owner, model, upload, parts)

    assert error_of(short) == (400, "post_request_error")
    assert "parts 1 to 3" in short.json()["details"]
    assert error_of(wrong) == (400, "post_request_error")
    assert "object store refused" in wrong.json()["details"]
    assert right.status_code == 201
    assert right.json()["sha256"] == sha256_of(FILE)


def test_deleting_a_direct_upload_drops_its_parts(s3, acme, owner, model):
    upload = start(owner, model).json()
    send_parts(upload, FILE)

    answer = owner.delete(f"/v1/models/{model['_id']}/uploads/s3/{upload['_id']}")

    assert answer.status_code == 204
    assert open_multipart_uploads() == []
    assert acme.count(UploadSession) == 0


def test_another_user_cannot_complete_or_delete_it(s3, owner, admin, model):
    upload = start(owner, model).json()

    assert error_of(complete(admin, model, upload, [])) == (404, "resource_not_found")
    assert error_of(admin.delete(f"/v1/models/{model['_id']}/uploads/s3/{upload['_id']}")) == (
        404,
        "resource_not_found",
    )


def test_a_reader_cannot_start_one(s3, reader, model):
    assert error_of(start(reader, model)) == (403, "restricted_access_create")


def test_with_files_on_local_disk_the_route_says_to_use_resumable_uploads(owner, model):

    answer = start(owner, model)

    assert error_of(answer) == (400, "post_request_error")
    assert "STORAGE=local" in answer.json()["details"]


def test_an_operator_who_did_not_turn_them_on_gets_a_refusal_naming_the_setting(s3, owner, model):
    with override_settings(S3_DIRECT_UPLOADS=False):
        answer = start(owner, model)

    assert error_of(answer) == (400, "post_request_error")
    assert "S3_DIRECT_UPLOADS" in answer.json()["details"]


def test_an_object_store_that_does_not_answer_is_a_503_with_retry_after(s3, owner, model):
    with object_store_down():
        answer = start(owner, model)

    assert error_of(answer) == (503, "service_unavailable")
    assert answer["Retry-After"]
