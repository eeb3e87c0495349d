"""What version uploads and deletions leave in the blob store (contract §5): content-addressed blobs
``<tenant>/<sha256>`` stored once per tenant and removed with their last version, and no half states — a
digest mismatch, a size limit, a cut-off body or a storage failure leaves neither a row nor a file.

Every test runs on local disk and on a real S3 server (``storage_backend``).
"""

from __future__ import annotations

import base64
import hashlib
import io
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import override_settings
from django.test.client import encode_multipart
from rest_framework.test import APIClient

from framework.files import storage
from items_app.models import Blob, Version
from testing.helpers import (
    BOUNDARY,
    CONTENT,
    OTHER_CONTENT,
    assert_nothing_kept,
    assert_store_matches_rows,
    body_of,
    create_dataset,
    create_model,
    error_of,
    every_stored_name,
    object_store_down,
    run_together,
    sha256_of,
    stored_bytes,
    stored_keys,
    upload,
    upload_named,
    upload_raw,
    uploaded,
)

pytestmark = pytest.mark.usefixtures("storage_backend")


def versions_url(item: dict[str, Any], kind: str = "models") -> str:
    return f"/v1/{kind}/{item['_id']}/versions"


def base64_sha256(content: bytes) -> str:
    return base64.b64encode(hashlib.sha256(content).digest()).decode()


# ------------------------------------------------------------------ content addressing


def test_a_blob_is_stored_under_the_tenant_and_the_sha256_of_its_bytes(acme, owner, model):
    version = uploaded(upload(owner, versions_url(model), "model.onnx", CONTENT))

    assert version["sha256"] == hashlib.sha256(CONTENT).hexdigest()
    assert stored_keys("acme") == [f"acme/{version['sha256']}"]
    assert stored_bytes(f"acme/{version['sha256']}") == CONTENT
    assert_store_matches_rows(acme)


@pytest.mark.parametrize("name", ["../../globex/evil.onnx", "../../../etc/passwd", "..\\..\\x.onnx", "acme/y.onnx"])
@pytest.mark.parametrize("send", [upload_named, upload_raw], ids=["multipart", "raw"])
def test_the_stored_key_never_derives_from_the_clients_file_name(acme, owner, model, send, name):
    before = set(every_stored_name())

    uploaded(send(owner, versions_url(model), name, CONTENT))

    assert set(every_stored_name()) - before == {f"acme/{sha256_of(CONTENT)}"}
    assert stored_keys("globex") == []


def test_the_same_bytes_uploaded_twice_in_a_tenant_are_stored_once(acme, owner, model):
    other = create_model(owner, "fraud")

    uploaded(upload(owner, versions_url(model), "model.onnx", CONTENT))
    uploaded(upload_raw(owner, versions_url(model), "copy.onnx", CONTENT))
    uploaded(upload(acme.client("ada"), versions_url(other), "model.onnx", CONTENT))

    assert acme.count(Version) == 3
    assert acme.count(Blob) == 1
    assert stored_keys("acme") == [f"acme/{sha256_of(CONTENT)}"]


def test_each_tenant_stores_its_own_copy_of_the_same_bytes(acme, globex, owner, model):
    gus = globex.client("gus")
    theirs = create_model(gus, "churn")
    uploaded(upload(owner, versions_url(model), "model.onnx", CONTENT))
    uploaded(upload(gus, versions_url(theirs), "model.onnx", CONTENT))

    assert stored_keys("acme") == [f"acme/{sha256_of(CONTENT)}"]
    assert stored_keys("globex") == [f"globex/{sha256_of(CONTENT)}"]

    assert owner.delete(f"{versions_url(model)}/1").status_code == 200

    assert stored_keys("acme") == []
    assert stored_keys("globex") == [f"globex/{sha256_of(CONTENT)}"]
    assert body_of(gus.get(f"{versions_url(theirs)}/1")) == CONTENT


# ------------------------------------------------------------------ removing blobs with their last version


def test_a_blob_stays_while_another_version_uses_it_and_goes_with_the_last(acme, owner, model):
    other = create_model(owner, "fraud")
    uploaded(upload(owner, versions_url(model), "model.onnx", CONTENT))
    uploaded(upload(owner, versions_url(model), "copy.onnx", CONTENT))
    uploaded(upload(owner, versions_url(other), "model.onnx", CONTENT))

    assert owner.delete(f"{versions_url(model)}/model.onnx").status_code == 200
    assert owner.delete(f"{versions_url(model)}/copy.onnx").status_code == 200

    assert stored_keys("acme") == [f"acme/{sha256_of(CONTENT)}"]
    assert body_of(owner.get(f"{versions_url(other)}/1")) == CONTENT

    assert owner.delete(f"{versions_url(other)}/1").status_code == 200

    assert acme.count(Blob) == 0
    assert stored_keys("acme") == []


def test_deleting_an_item_removes_the_blobs_only_it_used(acme, owner, model):
    other = create_model(owner, "fraud")
    uploaded(upload(owner, versions_url(model), "model.onnx", CONTENT))
    uploaded(upload(owner, versions_url(model), "only-here.onnx", OTHER_CONTENT))
    uploaded(upload(owner, versions_url(other), "model.onnx", CONTENT))

    assert owner.delete(f"/v1/models/{model['_id']}").status_code == 200

    assert acme.count(Version) == 1
    assert stored_keys("acme") == [f"acme/{sha256_of(CONTENT)}"]
    assert_store_matches_rows(acme)
    assert body_of(owner.get(f"{versions_url(other)}/1")) == CONTENT


def test_deleting_a_dataset_removes_its_blobs(acme, owner):
    dataset = create_dataset(owner)
    uploaded(upload(owner, versions_url(dataset, "datasets"), "customers.csv", CONTENT))

    assert owner.delete(f"/v1/datasets/{dataset['_id']}").status_code == 200

    assert_nothing_kept(acme)


def test_a_dataset_that_cannot_be_deleted_keeps_its_blobs(acme, owner):
    dataset = create_dataset(owner)
    uploaded(upload(owner, versions_url(dataset, "datasets"), "customers.csv", CONTENT))
    create_model(owner, "churn", datasets=[dataset["_id"]])

    assert error_of(owner.delete(f"/v1/datasets/{dataset['_id']}")) == (409, "conflict")

    assert stored_keys("acme") == [f"acme/{sha256_of(CONTENT)}"]
    assert body_of(owner.get(f"{versions_url(dataset, 'datasets')}/1")) == CONTENT


def test_deleting_a_tenant_removes_its_blobs_and_no_one_elses(acme, globex, owner, model, superuser):
    gus = globex.client("gus")
    theirs = create_model(gus, "churn")
    uploaded(upload(owner, versions_url(model), "model.onnx", CONTENT))
    uploaded(upload(owner, versions_url(model), "model-v2.onnx", OTHER_CONTENT))
    uploaded(upload(gus, versions_url(theirs), "model.onnx", CONTENT))

    assert superuser.delete("/v1/tenants/acme").status_code == 200

    assert stored_keys("acme") == []
    assert stored_keys("globex") == [f"globex/{sha256_of(CONTENT)}"]
    assert body_of(gus.get(f"{versions_url(theirs)}/1")) == CONTENT


# ------------------------------------------------------------------ expected digests


@pytest.mark.parametrize(
    "header",
    [
        {"HTTP_DIGEST": f"sha-256={base64_sha256(CONTENT)}"},
        {"HTTP_DIGEST": f"md5=AAAA, SHA-256={base64_sha256(CONTENT)}"},
        {"HTTP_X_CHECKSUM_SHA256": sha256_of(CONTENT)},
        {"HTTP_X_CHECKSUM_SHA256": sha256_of(CONTENT).upper()},
    ],
    ids=["digest", "digest-among-others", "checksum-hex", "checksum-upper-hex"],
)
@pytest.mark.parametrize("send", [upload, upload_raw], ids=["multipart", "raw"])
def test_a_matching_expected_digest_is_accepted(acme, owner, model, send, header):
    version = uploaded(send(owner, versions_url(model), "model.onnx", CONTENT, **header))

    assert version["sha256"] == sha256_of(CONTENT)
    assert stored_keys("acme") == [f"acme/{sha256_of(CONTENT)}"]


@pytest.mark.parametrize(
    "header",
    [
        {"HTTP_DIGEST": f"sha-256={base64_sha256(OTHER_CONTENT)}"},
        {"HTTP_X_CHECKSUM_SHA256": sha256_of(OTHER_CONTENT)},
    ],
    ids=["digest", "checksum"],
)
@pytest.mark.parametrize("send", [upload, upload_raw], ids=["multipart", "raw"])
def test_a_digest_mismatch_is_400_and_keeps_nothing(acme, owner, model, send, header):
    response = send(owner, versions_url(model), "model.onnx", CONTENT, **header)

    assert error_of(response) == (400, "digest_mismatch")
    assert sha256_of(CONTENT) in response.json()["details"]
    assert_nothing_kept(acme)
    assert owner.get(versions_url(model)).json() == []


def test_a_digest_mismatch_keeps_the_blob_other_versions_use(acme, owner, model):
    uploaded(upload(owner, versions_url(model), "model.onnx", CONTENT))

    response = upload(owner, versions_url(model), "copy.onnx", CONTENT, HTTP_X_CHECKSUM_SHA256="0" * 64)

    assert error_of(response) == (400, "digest_mismatch")
    assert acme.count(Version) == 1
    assert stored_keys("acme") == [f"acme/{sha256_of(CONTENT)}"]
    assert body_of(owner.get(f"{versions_url(model)}/1")) == CONTENT


@pytest.mark.parametrize(
    "header",
    [
        {"HTTP_X_CHECKSUM_SHA256": "not-hex"},
        {"HTTP_X_CHECKSUM_SHA256": "ab" * 16},
        {"HTTP_DIGEST": "sha-256=***"},
        {"HTTP_DIGEST": "sha-256=" + base64.b64encode(b"short").decode()},
    ],
    ids=["checksum-not-hex", "checksum-too-short", "digest-not-base64", "digest-too-short"],
)
def test_a_malformed_expected_digest_is_400_and_keeps_nothing(acme, owner, model, header):
    response = upload(owner, versions_url(model), "model.onnx", CONTENT, **header)

    assert error_of(response)[0] == 400
    assert_nothing_kept(acme)


# ------------------------------------------------------------------ MAX_UPLOAD_SIZE


@pytest.mark.parametrize("send", [upload, upload_raw], ids=["multipart", "raw"])
def test_a_file_of_exactly_max_upload_size_is_accepted(acme, owner, model, send):
    with override_settings(MAX_UPLOAD_SIZE=1024):
        version = uploaded(send(owner, versions_url(model), "model.onnx", b"x" * 1024))

    assert version["size"] == 1024
    assert stored_keys("acme") == [f"acme/{sha256_of(b'x' * 1024)}"]


@pytest.mark.parametrize(
    ("send", "size"),
    [
        (upload_raw, 1025),  # refused from Content-Length, before reading
        (upload, 200_000),  # refused from Content-Length (beyond any multipart overhead)
        (upload, 1025),  # refused while streaming: the declared length is within the multipart allowance
    ],
    ids=["raw-declared", "multipart-declared", "multipart-streamed"],
)
def test_a_file_above_max_upload_size_is_413_and_keeps_nothing(acme, owner, model, send, size):
    with override_settings(MAX_UPLOAD_SIZE=1024):
        response = send(owner, versions_url(model), "model.onnx", b"x" * size)

    assert error_of(response) == (413, "payload_too_large")
    assert_nothing_kept(acme)


def test_a_file_above_max_upload_size_does_not_remove_an_existing_copy(acme, owner, model):
    uploaded(upload(owner, versions_url(model), "model.onnx", b"x" * 2048))

    with override_settings(MAX_UPLOAD_SIZE=1024):
        response = upload(owner, versions_url(model), "copy.onnx", b"x" * 2048)

    assert error_of(response) == (413, "payload_too_large")
    assert acme.count(Version) == 1
    assert stored_keys("acme") == [f"acme/{sha256_of(b'x' * 2048)}"]


# ------------------------------------------------------------------ cut-off and failing bodies


class FailingBody(io.RawIOBase):
    """A request body that breaks after ``good`` bytes, as a reset connection does under a WSGI server."""

    def __init__(self, good: bytes) -> None:
        self.rest = io.BytesIO(good)

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        data = self.rest.read(size)
        if not data:
            raise ConnectionResetError("the client went away")
        return data

    def readline(self, size: int = -1) -> bytes:
        return self.rest.readline(size)


def multipart_of(content: bytes) -> bytes:
    return encode_multipart(BOUNDARY, {"file": SimpleUploadedFile("model.onnx", content)})


def post_cut_off(client: APIClient, url: str, body: bytes, content_type: str, wsgi_input: Any, **extra: str) -> Any:
    """POST announcing ``len(body)`` bytes while only the first half arrives (through ``wsgi_input``)."""
    return client.generic(
        "POST",
        url,
        data=body[: len(body) // 2],
        content_type=content_type,
        CONTENT_LENGTH=str(len(body)),
        **{"wsgi.input": wsgi_input},
        **extra,
    )


MULTIPART = f"multipart/form-data; boundary={BOUNDARY}"


def request_of(encoding: str, content: bytes) -> tuple[bytes, str, dict[str, str]]:
    """(body, Content-Type, extra headers) of an upload of ``content`` named model.onnx."""
    if encoding == "multipart":
        return multipart_of(content), MULTIPART, {}
    return content, "application/octet-stream", {"HTTP_CONTENT_DISPOSITION": 'attachment; filename="model.onnx"'}


@pytest.mark.parametrize("encoding", ["multipart", "raw"])
def test_an_upload_whose_body_ends_early_is_400_and_keeps_nothing(acme, owner, model, encoding):
    body, content_type, extra = request_of(encoding, b"x" * 200_000)
    short = io.BytesIO(body[: len(body) // 2])

    response = post_cut_off(owner, versions_url(model), body, content_type, short, **extra)

    assert error_of(response) == (400, "generic_upload_error")
    assert_nothing_kept(acme)


@pytest.mark.parametrize("encoding", ["multipart", "raw"])
def test_an_upload_whose_connection_breaks_is_400_and_keeps_nothing(acme, owner, model, encoding):
    body, content_type, extra = request_of(encoding, b"x" * 200_000)
    broken = FailingBody(body[: len(body) // 2])

    response = post_cut_off(owner, versions_url(model), body, content_type, broken, **extra)

    assert error_of(response) == (400, "generic_upload_error")
    assert_nothing_kept(acme)


def test_after_a_cut_off_upload_the_same_file_uploads_fine(acme, owner, model):
    body = multipart_of(CONTENT)
    post_cut_off(owner, versions_url(model), body, MULTIPART, io.BytesIO(body[: len(body) // 2]))

    version = uploaded(upload(owner, versions_url(model), "model.onnx", CONTENT))

    assert version["ordinal"] == 1
    assert stored_bytes(f"acme/{version['sha256']}") == CONTENT


# ------------------------------------------------------------------ storage failures


def failing_store(key: str, uploaded_file: Any) -> None:
    raise OSError("No space left on device")


def store_then_fail(real_store: Any) -> Any:
    """Storage that writes the whole blob and then reports a failure (a lost acknowledgement)."""

    def store(key: str, uploaded_file: Any) -> None:
        real_store(key, uploaded_file)
        raise OSError("the connection to storage was lost")

    return store


STORAGE_FAILED = {(500, "internal_server_error"), (400, "generic_upload_error"), (503, "service_unavailable")}


@pytest.mark.parametrize("send", [upload, upload_raw], ids=["multipart", "raw"])
def test_a_storage_error_keeps_nothing(acme, owner, model, monkeypatch, send):
    monkeypatch.setattr(storage, "store", failing_store)

    response = send(owner, versions_url(model), "model.onnx", CONTENT)

    assert error_of(response) in STORAGE_FAILED
    assert "No space left" not in response.json()["details"]
    assert_nothing_kept(acme)


@pytest.mark.parametrize("send", [upload, upload_raw], ids=["multipart", "raw"])
def test_a_storage_error_after_the_bytes_were_written_keeps_nothing(acme, owner, model, monkeypatch, send):
    monkeypatch.setattr(storage, "store", store_then_fail(storage.store))

    response = send(owner, versions_url(model), "model.onnx", CONTENT)

    assert error_of(response) in STORAGE_FAILED
    assert_nothing_kept(acme)


def test_after_a_storage_error_the_same_file_uploads_fine(acme, owner, model, monkeypatch):
    with monkeypatch.context() as patched:
        patched.setattr(storage, "store", failing_store)
        assert error_of(upload(owner, versions_url(model), "model.onnx", CONTENT)) in STORAGE_FAILED

    uploaded(upload(owner, versions_url(model), "model.onnx", CONTENT))

    assert body_of(owner.get(f"{versions_url(model)}/model.onnx")) == CONTENT
    assert_store_matches_rows(acme)


# ------------------------------------------------------------------ concurrency


def upload_as(handle: Any, username: str, url: str, name: str, content: bytes) -> Any:
    def call() -> Any:
        return upload(handle.client(username), url, name, content)

    return call


def test_two_uploads_of_the_same_name_at_once_give_one_201_and_one_409(acme, model):
    url = versions_url(model)

    first, second = run_together(
        upload_as(acme, "reggie", url, "model.onnx", CONTENT),
        upload_as(acme, "reggie", url, "model.onnx", OTHER_CONTENT),
    )

    assert sorted([first.status_code, second.status_code]) == [201, 409]
    loser = first if first.status_code == 409 else second
    winner = (second if first.status_code == 409 else first).json()
    assert error_of(loser) == (409, "conflict")
    assert acme.count(Version) == 1
    assert stored_keys("acme") == [f"acme/{winner['sha256']}"]
    assert_store_matches_rows(acme)
    assert body_of(acme.client("reggie").get(f"{url}/model.onnx")) in (CONTENT, OTHER_CONTENT)


def test_two_uploads_of_the_same_bytes_at_once_share_one_blob(acme, owner, model):
    url = versions_url(model)

    first, second = run_together(
        upload_as(acme, "reggie", url, "a.onnx", CONTENT),
        upload_as(acme, "ada", url, "b.onnx", CONTENT),
    )

    assert (first.status_code, second.status_code) == (201, 201), (first.content, second.content)
    assert sorted([first.json()["ordinal"], second.json()["ordinal"]]) == [1, 2]
    assert acme.count(Version) == 2
    assert acme.count(Blob) == 1
    assert stored_keys("acme") == [f"acme/{sha256_of(CONTENT)}"]


def test_deleting_the_last_user_of_a_blob_while_the_same_bytes_upload_loses_nothing(acme, owner, model):
    url = versions_url(model)
    uploaded(upload(owner, url, "old.onnx", CONTENT))

    def delete_old() -> Any:
        return acme.client("reggie").delete(f"{url}/old.onnx")

    deleted, added = run_together(delete_old, upload_as(acme, "reggie", url, "new.onnx", CONTENT))

    assert deleted.status_code == 200, deleted.content
    assert added.status_code == 201, added.content
    assert [version["original"] for version in owner.get(url).json()] == ["new.onnx"]
    assert stored_keys("acme") == [f"acme/{sha256_of(CONTENT)}"]
    assert body_of(owner.get(f"{url}/new.onnx")) == CONTENT


def test_a_download_while_the_object_store_does_not_answer_is_a_503_with_retry_after(
    acme, owner, model, storage_backend
):
    if storage_backend != "s3":
        pytest.skip("an object store that does not answer")
    uploaded(upload(owner, f"/v1/models/{model['_id']}/versions", "model.onnx", CONTENT))
    with object_store_down():
        response = owner.get(f"/v1/models/{model['_id']}/versions/1")

    assert error_of(response) == (503, "service_unavailable")
    assert response["Retry-After"]
    assert body_of(owner.get(f"/v1/models/{model['_id']}/versions/1")) == CONTENT  # back by itself
