"""Resumable uploads, tus 1.0 (contract §9.5): ``/v1/{kind}/{id}/uploads`` and ``…/uploads/{upload id}``.

Create, append, ask where it stands, finish into a version through the same service as a plain upload, give
up; every refusal the protocol names (wrong offset 409, chunk checksum 460, past the length, another user's
or tenant's upload 404, expired 410, too large 413, unknown version 412). Most tests run on local disk and on
the real S3 server (``storage_backend``). Kill-and-resume against real gunicorn is in
``test_resumable_uploads_server.py``.
"""

from __future__ import annotations

import base64
import hashlib
from datetime import timedelta
from typing import Any

import pytest
from django.core.management import call_command
from django.test import override_settings
from django.utils import timezone
from rest_framework.test import APIClient

from items_app.models import UploadSession, Version
from tenants_app import tenancy
from testing.helpers import (
    CONTENT,
    assert_nothing_kept,
    audit_entries,
    create_model,
    csrf_token,
    details_of,
    error_of,
    object_store_down,
    sha256_of,
    signed_in,
    stored_bytes,
    stored_keys,
    upload_raw,
)

FILE = bytes(range(256)) * 400  # 102,400 bytes
TUS = {"HTTP_TUS_RESUMABLE": "1.0.0"}


def b64(text: str | bytes) -> str:
    return base64.b64encode(text.encode() if isinstance(text, str) else text).decode()


def metadata_header(**fields: str) -> str:
    return ",".join(f"{key} {b64(value)}" for key, value in fields.items())


def create_upload(client: APIClient, item: dict[str, Any], length: int = len(FILE), **fields: str) -> Any:
    fields.setdefault("filename", "model.onnx")
    return client.post(
        f"/v1/models/{item['_id']}/uploads",
        HTTP_UPLOAD_LENGTH=str(length),
        HTTP_UPLOAD_METADATA=metadata_header(**fields),
        **TUS,
    )


def started(client: APIClient, item: dict[str, Any], length: int = len(FILE), **fields: str) -> str:
    response = create_upload(client, item, length, **fields)
    assert response.status_code == 201, response.content
    assert response["Upload-Offset"] == "0"
    return str(response["Location"])


def patch(client: APIClient, location: str, offset: int, chunk: bytes, **headers: str) -> Any:
    return client.generic(
        "PATCH",
        location,
        chunk,
        content_type="application/offset+octet-stream",
        HTTP_UPLOAD_OFFSET=str(offset),
        **TUS,
        **headers,
    )


def offset_of(client: APIClient, location: str) -> int:
    response = client.head(location, **TUS)
    assert response.status_code == 200, response.content
    return int(response["Upload-Offset"])


def send_all(client: APIClient, location: str, content: bytes, chunk: int = 40_000) -> Any:
    response = None
    for start in range(0, len(content), chunk):
        response = patch(client, location, start, content[start : start + chunk])
        assert response.status_code == 204, response.content
    return response


def version_at(client: APIClient, response: Any) -> dict[str, Any]:
    document = client.get(response["Content-Location"])
    assert document.status_code == 200, document.content
    return dict(document.json())


# ------------------------------------------------------------------ the protocol


def test_options_tells_a_client_what_the_server_speaks(owner, model):
    response = owner.options(f"/v1/models/{model['_id']}/uploads")

    assert response.status_code == 204
    assert response["Tus-Version"] == "1.0.0"
    assert set(response["Tus-Extension"].split(",")) == {"creation", "checksum", "termination", "expiration"}
    assert response["Tus-Checksum-Algorithm"] == "sha256"
    assert int(response["Tus-Max-Size"]) > 0


def test_the_owner_uploads_in_chunks_and_the_last_one_makes_the_version(acme, owner, model, storage_backend):
    location = started(owner, model)
    assert offset_of(owner, location) == 0

    first = patch(owner, location, 0, FILE[:40_000])
    assert first.status_code == 204
    assert first["Upload-Offset"] == "40000"
    assert first["Tus-Resumable"] == "1.0.0"
    assert "Upload-Expires" in first
    assert offset_of(owner, location) == 40_000
    assert acme.count(Version) == 0  # nothing exists before the last byte

    last = patch(owner, location, 40_000, FILE[40_000:])
    assert last.status_code == 204
    assert version_at(owner, last)["sha256"] == sha256_of(FILE)


def test_a_whole_upload_becomes_one_version_with_its_metadata(acme, owner, model, storage_backend):
    location = started(owner, model, description="resumed", metadata='{"accuracy": 0.93}', sha256=sha256_of(FILE))

    last = send_all(owner, location, FILE)

    assert last["Upload-Offset"] == str(len(FILE))
    version = version_at(owner, last)
    assert version["ordinal"] == 1
    assert version["original"] == "model.onnx"
    assert version["size"] == len(FILE)
    assert version["sha256"] == sha256_of(FILE)
    assert version["description"] == "resumed"
    assert version["metadata"] == [{"name": "accuracy", "value": 0.93}]
    assert stored_bytes(f"{acme.id}/{sha256_of(FILE)}") == FILE
    assert acme.count(UploadSession) == 0
    assert owner.head(location, **TUS).status_code == 404  # finished: the upload is gone
    assert audit_entries(acme, "upload")[-1]["details"]["sha256"] == sha256_of(FILE)


def test_a_label_in_the_upload_metadata_names_the_version(owner, reader, model):
    location = started(owner, model, label="v2.0.0")

    version = version_at(owner, send_all(owner, location, FILE))

    assert (version["ordinal"], version["label"]) == (1, "v2.0.0")
    assert owner.get(f"/v1/models/{model['_id']}/versions/V2.0.0/info").json()["ordinal"] == 1


def test_a_taken_label_is_a_409_at_creation_before_any_byte_is_sent(acme, owner, model):
    upload_raw(owner, f"/v1/models/{model['_id']}/versions?ordinal=v2.0.0")

    response = create_upload(owner, model, filename="other.onnx", label="V2.0.0")

    assert error_of(response)[0] == 409
    assert "'V2.0.0'" in details_of(response)
    assert acme.count(UploadSession) == 0


def test_a_label_taken_while_the_bytes_were_sent_keeps_nothing_of_the_second(acme, owner, model):
    location = started(owner, model, filename="resumed.onnx", label="v3.1")
    assert upload_raw(owner, f"/v1/models/{model['_id']}/versions?ordinal=v3.1").status_code == 201

    response = patch(owner, location, 0, FILE)

    assert error_of(response)[0] == 409
    assert acme.count(Version) == 1
    assert acme.count(UploadSession) == 0


@pytest.mark.parametrize("label", ["production", "model.onnx", "-v1", "v" * 65])
def test_a_label_that_could_be_misread_is_a_400_naming_the_metadata_key(acme, owner, model, label):
    response = create_upload(owner, model, label=label)

    assert error_of(response)[0] == 400
    assert details_of(response).startswith("Upload-Metadata label:")
    assert acme.count(UploadSession) == 0


def test_a_file_already_stored_is_deduplicated_like_a_plain_upload(acme, owner, model, storage_backend):
    plain = upload_raw(owner, f"/v1/models/{model['_id']}/versions", "first.onnx", FILE)
    assert plain.status_code == 201
    location = started(owner, model, filename="second.onnx")

    version = version_at(owner, send_all(owner, location, FILE))

    assert version["ordinal"] == 2
    assert stored_keys(acme.id) == [f"{acme.id}/{sha256_of(FILE)}"]


def test_an_empty_file_is_a_version_as_soon_as_the_upload_is_created(owner, model):
    response = create_upload(owner, model, length=0, filename="empty.txt")

    assert response.status_code == 201
    assert response["Upload-Offset"] == "0"
    assert version_at(owner, response)["size"] == 0


def test_the_upload_resumes_from_where_the_server_says_it_stands(owner, model):
    location = started(owner, model)
    patch(owner, location, 0, FILE[:30_000])

    resume_at = offset_of(owner, location)
    last = patch(owner, location, resume_at, FILE[resume_at:])

    assert version_at(owner, last)["sha256"] == sha256_of(FILE)


def test_a_chunk_with_a_matching_checksum_is_kept(owner, model):
    location = started(owner, model)
    chunk = FILE[:50_000]

    response = patch(owner, location, 0, chunk, HTTP_UPLOAD_CHECKSUM=f"sha256 {b64(hashlib.sha256(chunk).digest())}")

    assert response.status_code == 204
    assert offset_of(owner, location) == 50_000


def test_a_chunk_whose_checksum_differs_is_refused_with_460_and_not_appended(owner, model):
    location = started(owner, model)
    patch(owner, location, 0, FILE[:10_000])
    wrong = f"sha256 {b64(hashlib.sha256(b'something else').digest())}"

    response = patch(owner, location, 10_000, FILE[10_000:20_000], HTTP_UPLOAD_CHECKSUM=wrong)

    assert error_of(response) == (460, "checksum_mismatch")
    assert response["Tus-Resumable"] == "1.0.0"
    assert offset_of(owner, location) == 10_000
    # and the upload still finishes with the right bytes: the refused chunk left no trace in the digest
    last = patch(owner, location, 10_000, FILE[10_000:])
    assert version_at(owner, last)["sha256"] == sha256_of(FILE)


def test_an_unknown_checksum_algorithm_is_a_400_naming_it(owner, model):
    location = started(owner, model)

    response = patch(owner, location, 0, FILE[:10], HTTP_UPLOAD_CHECKSUM=f"md5 {b64(b'x' * 16)}")

    assert error_of(response) == (400, "put_request_error")
    assert "Upload-Checksum" in response.json()["details"]


def test_a_chunk_at_the_wrong_offset_is_a_409_that_says_where_the_upload_is(owner, model):
    location = started(owner, model)
    patch(owner, location, 0, FILE[:1000])

    response = patch(owner, location, 500, FILE[500:1500])

    assert error_of(response) == (409, "conflict")
    assert "is at 1000" in response.json()["details"]
    assert offset_of(owner, location) == 1000


def test_a_chunk_past_the_declared_length_is_refused(owner, model):
    location = started(owner, model, length=100)

    response = patch(owner, location, 0, b"x" * 101)

    assert error_of(response) == (400, "put_request_error")
    assert "Upload-Length" in response.json()["details"]
    assert offset_of(owner, location) == 0


def test_a_digest_that_differs_at_the_end_keeps_nothing(acme, owner, model, storage_backend):
    location = started(owner, model, sha256=sha256_of(b"another file"))

    response = patch(owner, location, 0, FILE)

    assert error_of(response) == (400, "digest_mismatch")
    assert_nothing_kept(acme)
    assert acme.count(UploadSession) == 0


def repr_digest(content: bytes, *others: str) -> str:
    """``Repr-Digest`` (RFC 9530) of ``content``, after any other members given."""
    return ", ".join([*others, f"sha-256=:{b64(hashlib.sha256(content).digest())}:"])


def test_a_repr_digest_on_the_last_patch_is_the_whole_files_digest(acme, owner, model, storage_backend):
    location = started(owner, model)  # no sha256 announced at creation: the client hashes while it sends
    patch(owner, location, 0, FILE[:40_000])

    last = patch(owner, location, 40_000, FILE[40_000:], HTTP_REPR_DIGEST=repr_digest(FILE))

    assert last.status_code == 204, last.content
    assert version_at(owner, last)["sha256"] == sha256_of(FILE)
    assert acme.count(UploadSession) == 0


def test_a_repr_digest_that_differs_at_the_end_keeps_nothing(acme, owner, model, storage_backend):
    location = started(owner, model)
    patch(owner, location, 0, FILE[:40_000])

    response = patch(owner, location, 40_000, FILE[40_000:], HTTP_REPR_DIGEST=repr_digest(b"another file"))

    assert error_of(response) == (400, "digest_mismatch")
    assert_nothing_kept(acme)
    assert acme.count(UploadSession) == 0
    assert partial_files(acme) == []


def test_other_digest_algorithms_beside_sha_256_are_ignored(owner, model):
    location = started(owner, model)
    header = repr_digest(FILE, "sha-512=:" + b64(hashlib.sha512(b"not checked").digest()) + ":", "unixsum=?1;p=1")

    last = patch(owner, location, 0, FILE, HTTP_REPR_DIGEST=header)

    assert last.status_code == 204, last.content
    assert version_at(owner, last)["sha256"] == sha256_of(FILE)


def test_a_repr_digest_without_sha_256_checks_nothing_more(owner, model):
    location = started(owner, model)

    last = patch(owner, location, 0, FILE, HTTP_REPR_DIGEST=f"sha-512=:{b64(hashlib.sha512(FILE).digest())}:")

    assert last.status_code == 204, last.content
    assert version_at(owner, last)["sha256"] == sha256_of(FILE)


def test_a_repr_digest_on_a_patch_that_does_not_complete_the_upload_is_a_400(acme, owner, model):
    location = started(owner, model)

    response = patch(owner, location, 0, FILE[:40_000], HTTP_REPR_DIGEST=repr_digest(FILE))

    assert error_of(response) == (400, "put_request_error")
    assert "Repr-Digest" in response.json()["details"]
    assert "last PATCH" in response.json()["details"]
    assert offset_of(owner, location) == 0  # nothing of the chunk was kept
    last = patch(owner, location, 0, FILE, HTTP_REPR_DIGEST=repr_digest(FILE))
    assert version_at(owner, last)["sha256"] == sha256_of(FILE)


def test_a_repr_digest_that_contradicts_the_announced_sha256_is_refused_before_any_byte(acme, owner, model):
    location = started(owner, model, sha256=sha256_of(FILE))
    patch(owner, location, 0, FILE[:40_000])

    response = patch(owner, location, 40_000, FILE[40_000:], HTTP_REPR_DIGEST=repr_digest(b"another file"))

    assert error_of(response) == (400, "put_request_error")
    assert "Repr-Digest" in response.json()["details"]
    assert offset_of(owner, location) == 40_000
    assert acme.count(Version) == 0
    last = patch(owner, location, 40_000, FILE[40_000:], HTTP_REPR_DIGEST=repr_digest(FILE))  # the same: fine
    assert version_at(owner, last)["sha256"] == sha256_of(FILE)


@pytest.mark.parametrize(
    "header",
    [
        "sha-256=:" + b64(b"short") + ":",  # not 32 bytes
        "sha-256=" + sha256_of(FILE),  # hex, a token: not a byte sequence
        'sha-256="' + b64(hashlib.sha256(FILE).digest()) + '"',  # a string
        "sha-256=:***:",  # not base64
        "sha-256=:" + b64(hashlib.sha256(FILE).digest()),  # not closed
        "SHA-256=:" + b64(hashlib.sha256(FILE).digest()) + ":",  # keys are lowercase
        "sha-256=:" + b64(hashlib.sha256(FILE).digest()) + ":,",  # a trailing comma
        "sha-256=:" + b64(hashlib.sha256(FILE).digest()) + ": sha-512=:AA==:",  # no comma between members
    ],
)
def test_a_malformed_repr_digest_is_a_400_naming_the_header_and_nothing_is_kept(acme, owner, model, header):
    location = started(owner, model)

    response = patch(owner, location, 0, FILE, HTTP_REPR_DIGEST=header)

    assert error_of(response) == (400, "put_request_error")
    assert "Repr-Digest" in response.json()["details"]
    assert offset_of(owner, location) == 0
    assert acme.count(Version) == 0


def test_the_readers_and_outsiders_repr_digest_changes_nothing_of_the_owners_upload(owner, reader, outsider, model):
    location = started(owner, model)

    assert error_of(patch(reader, location, 0, FILE, HTTP_REPR_DIGEST=repr_digest(FILE))) == (404, "resource_not_found")
    assert error_of(patch(outsider, location, 0, FILE, HTTP_REPR_DIGEST=repr_digest(FILE))) == (
        404,
        "resource_not_found",
    )
    assert offset_of(owner, location) == 0


def test_deleting_an_upload_removes_it_and_its_bytes(acme, owner, model):
    location = started(owner, model)
    patch(owner, location, 0, FILE[:1000])

    response = owner.delete(location, **TUS)

    assert response.status_code == 204
    assert owner.head(location, **TUS).status_code == 404
    assert acme.count(UploadSession) == 0


# ------------------------------------------------------------------ refusals at creation


def test_a_file_larger_than_the_limit_is_refused_at_creation(owner, model):
    with override_settings(MAX_UPLOAD_SIZE=1000):
        response = create_upload(owner, model, length=1001)

    assert error_of(response) == (413, "payload_too_large")


def test_a_request_without_the_tus_version_is_a_412(owner, model):
    response = owner.post(f"/v1/models/{model['_id']}/uploads", HTTP_UPLOAD_LENGTH="10")

    assert error_of(response) == (412, "precondition_failed")
    assert response["Tus-Resumable"] == "1.0.0"


@pytest.mark.parametrize(
    ("headers", "named"),
    [
        ({"HTTP_UPLOAD_METADATA": f"filename {b64('m.onnx')}"}, "Upload-Length"),
        ({"HTTP_UPLOAD_LENGTH": "ten", "HTTP_UPLOAD_METADATA": f"filename {b64('m.onnx')}"}, "Upload-Length"),
        ({"HTTP_UPLOAD_LENGTH": "10"}, "file"),
        ({"HTTP_UPLOAD_LENGTH": "10", "HTTP_UPLOAD_METADATA": "filename ***"}, "Upload-Metadata"),
        ({"HTTP_UPLOAD_LENGTH": "10", "HTTP_UPLOAD_METADATA": f"filename {b64('m')},color {b64('red')}"}, "color"),
        ({"HTTP_UPLOAD_LENGTH": "10", "HTTP_UPLOAD_METADATA": f"filename {b64('m')},sha256 {b64('abc')}"}, "sha256"),
        ({"HTTP_UPLOAD_LENGTH": "10", "HTTP_UPLOAD_METADATA": f"filename {b64('m')},metadata {b64('[1')}"}, "metadata"),
    ],
)
def test_a_creation_with_bad_headers_is_a_400_naming_the_header(acme, owner, model, headers, named):
    response = owner.post(f"/v1/models/{model['_id']}/uploads", **TUS, **headers)

    assert response.status_code == 400, response.content
    assert named in response.json()["details"]
    assert acme.count(UploadSession) == 0


def test_a_file_name_the_item_already_has_is_a_409_before_any_byte(owner, model):
    upload_raw(owner, f"/v1/models/{model['_id']}/versions", "model.onnx", CONTENT)

    response = create_upload(owner, model, filename="model.onnx")

    assert error_of(response) == (409, "conflict")


def test_unfinished_uploads_per_user_are_limited(owner, model):
    with override_settings(UPLOAD_SESSIONS_PER_USER=2):
        started(owner, model, filename="a.bin")
        started(owner, model, filename="b.bin")
        response = create_upload(owner, model, filename="c.bin")

    assert error_of(response) == (409, "conflict")
    assert "UPLOAD_SESSIONS_PER_USER" in response.json()["details"]


# ------------------------------------------------------------------ who may


def test_a_reader_cannot_start_an_upload(reader, model):
    assert error_of(create_upload(reader, model)) == (403, "restricted_access_create")


def test_an_outsider_does_not_see_the_item_at_all(outsider, model):
    assert error_of(create_upload(outsider, model)) == (404, "resource_not_found")


def test_another_users_upload_is_a_404_even_for_an_admin(owner, admin, model):
    location = started(owner, model)

    assert admin.head(location, **TUS).status_code == 404  # (a HEAD answer has no body)
    assert error_of(patch(admin, location, 0, FILE[:10])) == (404, "resource_not_found")
    assert error_of(admin.delete(location, **TUS)) == (404, "resource_not_found")
    assert offset_of(owner, location) == 0


def test_another_tenants_user_cannot_reach_an_upload(owner, other_tenant, model):
    location = started(owner, model)

    assert other_tenant.head(location, **TUS).status_code == 404
    assert error_of(patch(other_tenant, location, 0, FILE[:10]))[0] == 404


def test_an_upload_to_another_item_is_not_found_through_that_item(owner, model):
    location = started(owner, model)
    other = create_model(owner, "other")

    response = patch(owner, location.replace(model["_id"], other["_id"]), 0, FILE[:10])

    assert error_of(response) == (404, "resource_not_found")


# ------------------------------------------------------------------ expiry and clean-up


def test_an_expired_upload_is_a_410_until_the_clean_up_removes_it(acme, owner, model):
    location = started(owner, model)
    patch(owner, location, 0, FILE[:1000])
    with tenancy.using_tenant(acme.tenant):
        UploadSession.objects.update(expires=timezone.now() - timedelta(seconds=1))

    assert owner.head(location, **TUS).status_code == 410
    assert error_of(patch(owner, location, 1000, FILE[1000:2000])) == (410, "upload_expired")

    call_command("cleanup_blobs", verbosity=0)

    assert owner.head(location, **TUS).status_code == 404
    assert acme.count(UploadSession) == 0
    assert partial_files(acme) == []


def partial_files(tenant: Any) -> list[str]:
    from framework.files.resumable import partial_ids

    return [upload_id for upload_id, _ in partial_ids(tenant.id)]


# ------------------------------------------------------------------ the object store


def test_an_object_store_down_at_the_last_chunk_is_a_503_and_an_empty_patch_finishes_later(
    acme, owner, model, storage_backend
):
    if storage_backend != "s3":
        pytest.skip("an object store that does not answer")
    location = started(owner, model)
    with object_store_down():
        refused = patch(owner, location, 0, FILE)

    assert error_of(refused) == (503, "service_unavailable")
    assert refused["Retry-After"]
    assert acme.count(Version) == 0
    assert offset_of(owner, location) == len(FILE)  # every byte is still there
    finished = patch(owner, location, len(FILE), b"", CONTENT_LENGTH="0")
    assert finished.status_code == 204, finished.content
    assert version_at(owner, finished)["sha256"] == sha256_of(FILE)


def test_a_repr_digest_sent_before_a_store_outage_binds_the_patch_that_finishes_later(
    acme, owner, model, storage_backend
):
    if storage_backend != "s3":
        pytest.skip("an object store that does not answer")
    location = started(owner, model)
    with object_store_down():
        refused = patch(owner, location, 0, FILE, HTTP_REPR_DIGEST=repr_digest(FILE))
    assert error_of(refused) == (503, "service_unavailable")

    contradicting = patch(owner, location, len(FILE), b"", CONTENT_LENGTH="0", HTTP_REPR_DIGEST=repr_digest(b"x"))
    finished = patch(owner, location, len(FILE), b"", CONTENT_LENGTH="0")

    assert error_of(contradicting) == (400, "put_request_error")
    assert "Repr-Digest" in contradicting.json()["details"]
    assert finished.status_code == 204, finished.content
    assert version_at(owner, finished)["sha256"] == sha256_of(FILE)


# ------------------------------------------------------------------ the item page's door


def test_the_page_routes_take_the_session_and_refuse_a_missing_csrf_token(acme, model):
    browser = signed_in(acme, "reggie", enforce_csrf_checks=True)
    headers = {**TUS, "HTTP_UPLOAD_LENGTH": str(len(FILE)), "HTTP_UPLOAD_METADATA": metadata_header(filename="m.bin")}

    forged = browser.post(f"/models/{model['_id']}/uploads/", **headers)
    token = csrf_token(browser, f"/models/{model['_id']}/")
    created = browser.post(f"/models/{model['_id']}/uploads/", HTTP_X_CSRFTOKEN=token, **headers)
    location = created["Location"]
    last = browser.generic(
        "PATCH",
        location,
        FILE,
        content_type="application/offset+octet-stream",
        HTTP_UPLOAD_OFFSET="0",
        HTTP_X_CSRFTOKEN=token,
        **TUS,
    )
    document = browser.get(last["Content-Location"])

    assert error_of(forged) == (403, "restricted_access_create")
    assert forged["Tus-Resumable"] == "1.0.0"
    assert created.status_code == 201
    assert location.startswith(f"/models/{model['_id']}/uploads/")
    assert last.status_code == 204
    assert document.json()["sha256"] == sha256_of(FILE)


def test_an_outsider_on_the_page_routes_sees_nothing(acme, model, outsider):
    browser = signed_in(acme, "oscar")
    headers = {**TUS, "HTTP_UPLOAD_LENGTH": "10", "HTTP_UPLOAD_METADATA": metadata_header(filename="m.bin")}

    assert error_of(browser.post(f"/models/{model['_id']}/uploads/", **headers)) == (404, "resource_not_found")
