"""``/v1/models/{id}/versions`` and ``/v1/datasets/{id}/versions`` (contract §5, permissions §1.2, errors §1.3).

Upload (multipart or raw body), list, download by ordinal or file name, delete — and who may do what.
Storage-level guarantees (deduplication, no half states, concurrency) are in ``test_versions_storage.py``.
Most tests run twice through ``storage_backend``: on local disk and on a real S3 server.
"""

from __future__ import annotations

import json
import socket
import struct
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from datetime import datetime, timedelta
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import override_settings
from gunicorn.http.body import Body, LengthReader
from gunicorn.http.unreader import SocketUnreader

from items_app.models import Blob, Version
from testing.helpers import (
    BOUNDARY,
    CONTENT,
    OTHER_CONTENT,
    VERSION_KEYS,
    assert_logged_inside_its_transaction,
    assert_nothing_kept,
    audit_entries,
    body_of,
    create_dataset,
    create_model,
    error_of,
    multipart_body,
    sha256_of,
    stored_bytes,
    stored_keys,
    temporary_files,
    upload,
    upload_named,
    upload_raw,
    uploaded,
)


def versions_url(item: dict[str, Any], kind: str = "models") -> str:
    return f"/v1/{kind}/{item['_id']}/versions"


def assert_utc_timestamp(value: str) -> None:
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    assert parsed.utcoffset() == timedelta(0), value


# ------------------------------------------------------------------ upload


def test_the_owner_uploads_a_file_as_multipart_and_gets_the_version(acme, owner, model, storage_backend):
    response = upload(
        owner, versions_url(model), "model.onnx", CONTENT, content_type="application/x-onnx", description="first cut"
    )

    version = uploaded(response)
    assert set(version) == VERSION_KEYS
    assert version == {
        "ordinal": 1,
        "label": None,
        "original": "model.onnx",
        "size": len(CONTENT),
        "sha256": sha256_of(CONTENT),
        "content_type": "application/x-onnx",
        "description": "first cut",
        "metadata": [],
        "aliases": [],
        "timestamp": version["timestamp"],
        "owner": "reggie",
        # the bytes are not ONNX, whatever the name says: stored, with the reason (test_version_facts.py)
        "format": "unknown",
        "facts": version["facts"],
        "safety": "not_applicable",
        "safety_globals": [],
    }
    assert_utc_timestamp(version["timestamp"])
    assert acme.count(Version, item_id=model["_id"], ordinal=1, original="model.onnx") == 1
    assert acme.count(Blob, sha256=sha256_of(CONTENT), size=len(CONTENT)) == 1
    assert stored_keys("acme") == [f"acme/{sha256_of(CONTENT)}"]
    assert stored_bytes(f"acme/{sha256_of(CONTENT)}") == CONTENT
    assert temporary_files() == []


def test_the_owner_uploads_a_raw_body_named_by_content_disposition(acme, owner, model, storage_backend):
    response = upload_raw(owner, f"{versions_url(model)}?description=raw%20upload", "weights.bin", CONTENT)

    version = uploaded(response)
    assert version["original"] == "weights.bin"
    assert version["description"] == "raw upload"
    assert version["size"] == len(CONTENT)
    assert version["sha256"] == sha256_of(CONTENT)
    assert version["content_type"] == "application/octet-stream"
    assert version["owner"] == "reggie"
    assert stored_bytes(f"acme/{sha256_of(CONTENT)}") == CONTENT
    assert temporary_files() == []


def test_a_raw_upload_may_name_its_file_in_utf8(owner, model, storage_backend):
    response = owner.post(
        versions_url(model),
        data=CONTENT,
        content_type="application/octet-stream",
        HTTP_CONTENT_DISPOSITION="attachment; filename*=UTF-8''mod%C3%A8le.onnx",
    )

    assert uploaded(response)["original"] == "modèle.onnx"


def test_the_description_is_empty_when_not_given(owner, model):
    assert uploaded(upload(owner, versions_url(model), "a.onnx"))["description"] == ""
    assert uploaded(upload_raw(owner, versions_url(model), "b.onnx"))["description"] == ""


def test_a_file_of_several_chunks_is_stored_whole(owner, model, storage_backend):
    content = bytes(range(256)) * (9 * 4096)  # 9 MiB: several upload chunks, an S3 multipart upload

    version = uploaded(upload_raw(owner, versions_url(model), "big.bin", content))

    assert version["size"] == len(content)
    assert version["sha256"] == sha256_of(content)
    assert stored_bytes(f"acme/{sha256_of(content)}") == content


def test_an_empty_file_is_a_version_too(owner, model, storage_backend):
    version = uploaded(upload(owner, versions_url(model), "empty.txt", b""))

    assert (version["size"], version["sha256"]) == (0, sha256_of(b""))
    response = owner.get(f"{versions_url(model)}/empty.txt")
    assert response.status_code == 200
    assert response["Content-Length"] == "0"
    assert body_of(response) == b""


def test_the_routes_answer_the_same_with_a_trailing_slash(owner, model):
    version = uploaded(upload(owner, f"{versions_url(model)}/", "model.onnx"))

    assert owner.get(f"{versions_url(model)}/").json() == [version]
    assert body_of(owner.get(f"{versions_url(model)}/1/")) == CONTENT
    assert owner.delete(f"{versions_url(model)}/1/").status_code == 200


def test_an_upload_needs_a_file_part(acme, owner, model):
    response = owner.post(versions_url(model), {"description": "no file"}, format="multipart")

    assert error_of(response) == (400, "post_request_error")
    assert "file" in response.json()["details"]
    assert acme.count(Version) == 0


def test_an_upload_with_an_unknown_part_is_refused_by_name(acme, owner, model):
    response = owner.post(
        versions_url(model),
        {"file": SimpleUploadedFile("model.onnx", CONTENT), "colour": "blue"},
        format="multipart",
    )

    assert error_of(response) == (400, "post_request_error")
    assert "colour" in response.json()["details"]
    assert acme.count(Version) == 0
    assert temporary_files() == []


def test_an_upload_in_json_is_415(acme, owner, model):
    response = owner.post(versions_url(model), {"file": "bW9kZWw="}, format="json")

    assert error_of(response) == (415, "unsupported_media_type")
    assert acme.count(Version) == 0


def test_a_raw_upload_needs_a_file_name(acme, owner, model):
    response = owner.post(versions_url(model), data=CONTENT, content_type="application/octet-stream")

    assert error_of(response)[0] == 400
    assert acme.count(Version) == 0
    assert temporary_files() == []


def test_the_same_file_name_twice_in_one_item_is_409(acme, owner, model, storage_backend):
    first = uploaded(upload(owner, versions_url(model), "model.onnx", CONTENT))

    response = upload(owner, versions_url(model), "model.onnx", OTHER_CONTENT)

    assert error_of(response) == (409, "conflict")
    assert "original" in response.json()["details"]
    assert acme.count(Version) == 1
    assert stored_keys("acme") == [f"acme/{first['sha256']}"]
    assert temporary_files() == []


def test_names_are_compared_after_their_directories_are_stripped(acme, owner, model):
    uploaded(upload(owner, versions_url(model), "model.onnx"))

    response = upload_named(owner, versions_url(model), "exports/model.onnx", OTHER_CONTENT)

    assert error_of(response) == (409, "conflict")
    assert acme.count(Version) == 1


def test_two_items_may_each_have_a_file_of_the_same_name(acme, owner, model):
    other = create_model(owner, "fraud")

    uploaded(upload(owner, versions_url(model), "model.onnx"))
    uploaded(upload(owner, versions_url(other), "model.onnx"))

    assert acme.count(Version, original="model.onnx") == 2


def test_a_deleted_versions_file_name_may_be_uploaded_again(owner, model):
    uploaded(upload(owner, versions_url(model), "model.onnx"))
    assert owner.delete(f"{versions_url(model)}/model.onnx").status_code == 200

    version = uploaded(upload(owner, versions_url(model), "model.onnx", OTHER_CONTENT))

    assert (version["ordinal"], version["sha256"]) == (2, sha256_of(OTHER_CONTENT))


# ------------------------------------------------------------------ safe file names


@pytest.mark.parametrize(
    ("sent", "kept"),
    [
        ("../../etc/passwd", "passwd"),
        ("C:\\x\\y.onnx", "y.onnx"),
        ("exports/2024/model.onnx", "model.onnx"),
        ("mo\x07del\x1b.onnx", "model.onnx"),
    ],
)
@pytest.mark.parametrize("send", [upload_named, upload_raw], ids=["multipart", "raw"])
def test_the_original_name_is_the_base_name_without_control_characters(acme, owner, model, send, sent, kept):
    version = uploaded(send(owner, versions_url(model), sent, CONTENT))

    assert version["original"] == kept
    assert acme.count(Version, original=kept) == 1
    assert stored_keys("acme") == [f"acme/{sha256_of(CONTENT)}"]


@pytest.mark.parametrize("send", [upload_named, upload_raw], ids=["multipart", "raw"])
def test_a_name_of_255_characters_is_accepted(owner, model, send):
    name = "m" * 250 + ".onnx"

    assert uploaded(send(owner, versions_url(model), name, CONTENT))["original"] == name


@pytest.mark.parametrize("send", [upload_named, upload_raw], ids=["multipart", "raw"])
def test_a_name_over_255_characters_is_400(acme, owner, model, send, storage_backend):
    response = send(owner, versions_url(model), "m" * 251 + ".onnx", CONTENT)

    assert error_of(response)[0] == 400
    assert acme.count(Version) == 0
    assert stored_keys("acme") == []
    assert temporary_files() == []


@pytest.mark.parametrize("name", ["12345", "007", "1"])
@pytest.mark.parametrize("send", [upload_named, upload_raw], ids=["multipart", "raw"])
def test_a_name_of_digits_only_is_400_because_it_would_read_as_an_ordinal(acme, owner, model, send, name):
    response = send(owner, versions_url(model), name, CONTENT)

    assert error_of(response)[0] == 400
    assert acme.count(Version) == 0
    assert stored_keys("acme") == []
    assert temporary_files() == []


@pytest.mark.parametrize("name", ["..", "dir/", "\x07\x1b"])
@pytest.mark.parametrize("send", [upload_named, upload_raw], ids=["multipart", "raw"])
def test_a_name_with_nothing_left_after_cleaning_is_400(acme, owner, model, send, name):
    response = send(owner, versions_url(model), name, CONTENT)

    assert error_of(response)[0] == 400
    assert acme.count(Version) == 0
    assert temporary_files() == []


# ------------------------------------------------------------------ list and read shape


def test_the_list_holds_the_versions_by_ordinal(owner, model, storage_backend):
    first = uploaded(upload(owner, versions_url(model), "b.onnx", CONTENT))
    second = uploaded(upload_raw(owner, versions_url(model), "a.onnx", OTHER_CONTENT))

    response = owner.get(versions_url(model))

    assert response.status_code == 200
    assert response.json() == [first, second]
    assert [version["ordinal"] for version in response.json()] == [1, 2]


def test_an_item_without_versions_lists_none(owner, model):
    response = owner.get(versions_url(model))

    assert response.status_code == 200
    assert response.json() == []


def test_the_item_read_shape_lists_its_versions(owner, reader, model):
    first = uploaded(upload(owner, versions_url(model), "model.onnx", CONTENT, description="first"))
    second = uploaded(upload(owner, versions_url(model), "model-v2.onnx", OTHER_CONTENT))

    assert owner.get(f"/v1/models/{model['_id']}").json()["versions"] == [first, second]
    assert reader.get(f"/v1/models/{model['_id']}").json()["versions"] == [first, second]
    listed = owner.get("/v1/models").json()["docs"]
    assert [document["versions"] for document in listed] == [[first, second]]


def test_ordinals_count_per_item_and_are_never_reused(acme, owner, model):
    other = create_model(owner, "fraud")
    for name in ("a.onnx", "b.onnx", "c.onnx"):
        uploaded(upload(owner, versions_url(model), name, name.encode()))
    assert uploaded(upload(owner, versions_url(other), "a.onnx", b"x"))["ordinal"] == 1

    assert owner.delete(f"{versions_url(model)}/3").status_code == 200
    assert uploaded(upload(owner, versions_url(model), "d.onnx", b"d"))["ordinal"] == 4
    assert owner.delete(f"{versions_url(model)}/2").status_code == 200
    assert uploaded(upload(owner, versions_url(model), "e.onnx", b"e"))["ordinal"] == 5

    assert [version["ordinal"] for version in owner.get(versions_url(model)).json()] == [1, 4, 5]
    assert error_of(owner.get(f"{versions_url(model)}/2")) == (404, "resource_not_found")
    assert acme.count(Version, item_id=model["_id"]) == 3


# ------------------------------------------------------------------ download


def test_a_version_downloads_by_ordinal_with_its_headers(owner, model, storage_backend):
    uploaded(upload(owner, versions_url(model), "model.onnx", CONTENT, content_type="application/x-onnx"))

    response = owner.get(f"{versions_url(model)}/1")

    assert response.status_code == 200
    assert body_of(response) == CONTENT
    assert response["Content-Disposition"] == 'attachment; filename="model.onnx"'
    assert response["Content-Type"] == "application/x-onnx"
    assert response["Content-Length"] == str(len(CONTENT))
    assert response["ETag"] == f'"{sha256_of(CONTENT)}"'
    assert response["Accept-Ranges"] == "bytes"


def test_a_version_downloads_by_its_file_name(owner, model, storage_backend):
    uploaded(upload(owner, versions_url(model), "model.onnx", CONTENT))
    uploaded(upload(owner, versions_url(model), "model-v2.onnx", OTHER_CONTENT))

    response = owner.get(f"{versions_url(model)}/model-v2.onnx")

    assert response.status_code == 200
    assert body_of(response) == OTHER_CONTENT
    assert response["Content-Disposition"] == 'attachment; filename="model-v2.onnx"'
    assert response["ETag"] == f'"{sha256_of(OTHER_CONTENT)}"'


def test_a_non_ascii_name_downloads_with_an_rfc_5987_file_name(owner, model, storage_backend):
    uploaded(upload(owner, versions_url(model), "modèle €.onnx", CONTENT))

    response = owner.get(f"{versions_url(model)}/mod%C3%A8le%20%E2%82%AC.onnx")

    assert response.status_code == 200
    assert body_of(response) == CONTENT
    disposition = response["Content-Disposition"]
    assert disposition.startswith("attachment;")
    assert "filename*=utf-8''mod%C3%A8le%20%E2%82%AC.onnx" in disposition
    disposition.encode("ascii")  # header values stay ASCII


def test_a_quote_in_a_file_name_is_escaped_in_content_disposition(owner, model):
    uploaded(upload_raw(owner, versions_url(model), 'say \\"hi\\".onnx', CONTENT))

    response = owner.get(f"{versions_url(model)}/1")

    assert response["Content-Disposition"] == 'attachment; filename="say \\"hi\\".onnx"'


@pytest.mark.parametrize("ref", ["2", "99", "missing.onnx", "model.onnx.bak"])
def test_an_unknown_version_is_404(owner, model, ref):
    uploaded(upload(owner, versions_url(model), "model.onnx"))

    assert error_of(owner.get(f"{versions_url(model)}/{ref}")) == (404, "resource_not_found")
    assert error_of(owner.delete(f"{versions_url(model)}/{ref}")) == (404, "resource_not_found")


@pytest.mark.parametrize(
    ("header", "start", "end"),
    [
        ("bytes=0-99", 0, 99),
        ("bytes=100-", 100, 1023),
        ("bytes=-100", 924, 1023),
        ("bytes=1000-5000", 1000, 1023),
        ("bytes=-5000", 0, 1023),
        ("bytes=1023-1023", 1023, 1023),
    ],
)
def test_a_single_range_answers_206_with_those_bytes(owner, model, storage_backend, header, start, end):
    content = bytes(range(256)) * 4
    uploaded(upload(owner, versions_url(model), "model.onnx", content))

    response = owner.get(f"{versions_url(model)}/1", HTTP_RANGE=header)

    assert response.status_code == 206
    assert body_of(response) == content[start : end + 1]
    assert response["Content-Range"] == f"bytes {start}-{end}/1024"
    assert response["Content-Length"] == str(end - start + 1)
    assert response["ETag"] == f'"{sha256_of(content)}"'


@pytest.mark.parametrize("header", ["bytes=1024-", "bytes=5000-6000", "bytes=-0"])
def test_an_unsatisfiable_range_is_416_with_the_size(owner, model, storage_backend, header):
    uploaded(upload(owner, versions_url(model), "model.onnx", bytes(range(256)) * 4))

    response = owner.get(f"{versions_url(model)}/1", HTTP_RANGE=header)

    assert error_of(response) == (416, "range_not_satisfiable")
    assert response["Content-Range"] == "bytes */1024"


def test_a_range_with_a_stale_if_range_gets_the_whole_file(owner, model):
    uploaded(upload(owner, versions_url(model), "model.onnx", CONTENT))

    response = owner.get(f"{versions_url(model)}/1", HTTP_RANGE="bytes=0-9", HTTP_IF_RANGE='"stale"')

    assert response.status_code == 200
    assert body_of(response) == CONTENT


@pytest.mark.parametrize("header", ['"{sha}"', 'W/"{sha}"', '"other", "{sha}"', "*"])
def test_a_matching_if_none_match_is_304(owner, model, storage_backend, header):
    uploaded(upload(owner, versions_url(model), "model.onnx", CONTENT))

    response = owner.get(f"{versions_url(model)}/1", HTTP_IF_NONE_MATCH=header.format(sha=sha256_of(CONTENT)))

    assert response.status_code == 304
    assert response["ETag"] == f'"{sha256_of(CONTENT)}"'
    assert response.content == b""


def test_a_stale_if_none_match_gets_the_file(owner, model):
    uploaded(upload(owner, versions_url(model), "model.onnx", CONTENT))

    response = owner.get(f"{versions_url(model)}/1", HTTP_IF_NONE_MATCH=f'"{sha256_of(OTHER_CONTENT)}"')

    assert response.status_code == 200
    assert body_of(response) == CONTENT


# ------------------------------------------------------------------ delete


def test_the_owner_deletes_a_version_by_ordinal_and_gets_it_back(acme, owner, model, storage_backend):
    version = uploaded(upload(owner, versions_url(model), "model.onnx", CONTENT))

    response = owner.delete(f"{versions_url(model)}/1")

    assert response.status_code == 200
    assert response.json() == version
    assert acme.count(Version) == 0
    assert acme.count(Blob) == 0
    assert stored_keys("acme") == []
    assert owner.get(versions_url(model)).json() == []
    assert error_of(owner.get(f"{versions_url(model)}/1")) == (404, "resource_not_found")


def test_the_owner_deletes_a_version_by_file_name(acme, owner, model, storage_backend):
    uploaded(upload(owner, versions_url(model), "model.onnx", CONTENT))
    kept = uploaded(upload(owner, versions_url(model), "model-v2.onnx", OTHER_CONTENT))

    response = owner.delete(f"{versions_url(model)}/model.onnx")

    assert response.status_code == 200
    assert response.json()["original"] == "model.onnx"
    assert owner.get(versions_url(model)).json() == [kept]
    assert stored_keys("acme") == [f"acme/{sha256_of(OTHER_CONTENT)}"]


# ------------------------------------------------------------------ datasets


def test_datasets_have_the_same_version_routes(acme, owner, storage_backend):
    dataset = create_dataset(owner, "customers", users=["olive"])
    url = versions_url(dataset, "datasets")

    version = uploaded(upload(owner, url, "customers.csv", CONTENT, content_type="text/csv"))
    uploaded(upload_raw(owner, url, "customers-2.csv", OTHER_CONTENT))

    assert version["ordinal"] == 1
    assert owner.get(url).json()[0] == version
    assert body_of(acme.client("olive").get(f"{url}/customers.csv")) == CONTENT
    assert error_of(acme.client("olive").delete(f"{url}/1")) == (403, "restricted_access_delete")
    assert owner.delete(f"{url}/1").status_code == 200
    assert [v["original"] for v in owner.get(url).json()] == ["customers-2.csv"]
    assert stored_keys("acme") == [f"acme/{sha256_of(OTHER_CONTENT)}"]


def test_a_models_versions_are_not_found_under_datasets(owner, model):
    uploaded(upload(owner, versions_url(model), "model.onnx"))

    assert error_of(owner.get(versions_url(model, "datasets"))) == (404, "resource_not_found")
    assert error_of(owner.get(f"{versions_url(model, 'datasets')}/1")) == (404, "resource_not_found")


# ------------------------------------------------------------------ who may do what


def test_the_shared_reader_lists_and_downloads(owner, reader, model, storage_backend):
    version = uploaded(upload(owner, versions_url(model), "model.onnx", CONTENT))

    assert reader.get(versions_url(model)).json() == [version]
    assert body_of(reader.get(f"{versions_url(model)}/1")) == CONTENT
    assert body_of(reader.get(f"{versions_url(model)}/model.onnx")) == CONTENT


def test_the_shared_reader_may_not_upload(acme, owner, reader, model, storage_backend):
    uploaded(upload(owner, versions_url(model), "model.onnx", CONTENT))

    multipart = upload(reader, versions_url(model), "mine.onnx", OTHER_CONTENT)
    raw = upload_raw(reader, versions_url(model), "mine.onnx", OTHER_CONTENT)

    assert error_of(multipart) == (403, "restricted_access_create")
    assert error_of(raw) == (403, "restricted_access_create")
    assert acme.count(Version) == 1
    assert stored_keys("acme") == [f"acme/{sha256_of(CONTENT)}"]
    assert temporary_files() == []


def test_the_shared_reader_may_not_delete(acme, owner, reader, model, storage_backend):
    uploaded(upload(owner, versions_url(model), "model.onnx", CONTENT))

    by_ordinal = reader.delete(f"{versions_url(model)}/1")
    by_name = reader.delete(f"{versions_url(model)}/model.onnx")

    assert error_of(by_ordinal) == (403, "restricted_access_delete")
    assert error_of(by_name) == (403, "restricted_access_delete")
    assert acme.count(Version) == 1
    assert stored_keys("acme") == [f"acme/{sha256_of(CONTENT)}"]


def test_the_admin_uploads_and_deletes_on_someone_elses_item(acme, owner, model, storage_backend):
    admin = acme.client("ada")

    version = uploaded(upload(admin, versions_url(model), "tuned.onnx", CONTENT))

    assert version["owner"] == "ada"
    assert body_of(owner.get(f"{versions_url(model)}/tuned.onnx")) == CONTENT
    assert admin.delete(f"{versions_url(model)}/tuned.onnx").status_code == 200
    assert acme.count(Version) == 0
    assert stored_keys("acme") == []


def test_everyone_in_the_tenant_reads_a_public_items_versions_but_only_the_owner_writes(acme, owner, outsider):
    public = create_model(owner, "public", visibility="public")
    version = uploaded(upload(owner, versions_url(public), "model.onnx", CONTENT))

    assert outsider.get(versions_url(public)).json() == [version]
    assert body_of(outsider.get(f"{versions_url(public)}/1")) == CONTENT
    assert error_of(upload(outsider, versions_url(public), "x.onnx")) == (403, "restricted_access_create")
    assert error_of(outsider.delete(f"{versions_url(public)}/1")) == (403, "restricted_access_delete")
    assert acme.count(Version) == 1


def assert_every_route_is_404(client: Any, model: dict[str, Any]) -> None:
    url = versions_url(model)
    answers = {
        "list": client.get(url),
        "upload multipart": upload(client, url, "x.onnx", OTHER_CONTENT),
        "upload raw": upload_raw(client, url, "x.onnx", OTHER_CONTENT),
        "download by ordinal": client.get(f"{url}/1"),
        "download by name": client.get(f"{url}/model.onnx"),
        "download a missing one": client.get(f"{url}/2"),
        "delete by ordinal": client.delete(f"{url}/1"),
        "delete by name": client.delete(f"{url}/model.onnx"),
    }
    assert {route: error_of(response) for route, response in answers.items()} == dict.fromkeys(
        answers, (404, "resource_not_found")
    )


def test_an_outsider_of_the_item_gets_404_on_every_route(acme, owner, outsider, model, storage_backend):
    uploaded(upload(owner, versions_url(model), "model.onnx", CONTENT))

    assert_every_route_is_404(outsider, model)

    assert acme.count(Version) == 1
    assert stored_keys("acme") == [f"acme/{sha256_of(CONTENT)}"]
    assert temporary_files() == []


def test_another_tenant_gets_404_on_every_route(acme, globex, owner, storage_backend):
    public = create_model(owner, "public", visibility="public")
    uploaded(upload(owner, versions_url(public), "model.onnx", CONTENT))

    assert_every_route_is_404(globex.client("gus"), public)

    assert acme.count(Version) == 1
    assert stored_keys("acme") == [f"acme/{sha256_of(CONTENT)}"]
    assert stored_keys("globex") == []


def test_anonymous_callers_get_401_on_every_route(acme, owner, anonymous):
    public = create_model(owner, "public", visibility="public")
    uploaded(upload(owner, versions_url(public), "model.onnx", CONTENT))
    url = versions_url(public)

    answers = [
        anonymous.get(url),
        upload(anonymous, url, "x.onnx"),
        upload_raw(anonymous, url, "x.onnx"),
        anonymous.get(f"{url}/1"),
        anonymous.get(f"{url}/model.onnx"),
        anonymous.delete(f"{url}/1"),
    ]

    assert [error_of(response) for response in answers] == [(401, "unauthorized")] * len(answers)
    assert acme.count(Version) == 1


@pytest.mark.parametrize("item_id", ["not-an-id", "0" * 24, "x" * 300])
def test_versions_of_a_malformed_or_unknown_item_are_404(owner, item_id):
    url = f"/v1/models/{item_id}/versions"

    assert error_of(owner.get(url)) == (404, "resource_not_found")
    assert error_of(upload(owner, url, "model.onnx")) == (404, "resource_not_found")
    assert error_of(owner.get(f"{url}/1")) == (404, "resource_not_found")
    assert error_of(owner.delete(f"{url}/1")) == (404, "resource_not_found")
    assert temporary_files() == []


def test_an_upload_with_more_form_fields_than_allowed_is_a_400_naming_the_limit_not_a_500(acme, owner, model):
    fields = {f"field{number}": "x" for number in range(1001)}

    response = owner.post(versions_url(model), {"file": SimpleUploadedFile("model.onnx", CONTENT), **fields})

    assert error_of(response) == (400, "post_request_error")
    assert response.json()["details"] == "body: more than 1000 fields"
    assert acme.count(Version) == 0
    assert temporary_files() == []


def test_an_outsiders_oversized_upload_is_404_not_413(acme, model, outsider):
    """The size check must not reveal that a private item exists."""
    with override_settings(MAX_UPLOAD_SIZE=1024):
        raw = upload_raw(outsider, versions_url(model), "x.onnx", b"x" * 2048)
        multipart = upload(outsider, versions_url(model), "x.onnx", b"x" * 100_000)

    assert error_of(raw) == (404, "resource_not_found")
    assert error_of(multipart) == (404, "resource_not_found")


def test_a_readers_upload_is_refused_before_its_digest_or_size_is_checked(acme, model, reader):
    with override_settings(MAX_UPLOAD_SIZE=1024):
        oversized = upload_raw(reader, versions_url(model), "x.onnx", b"x" * 2048)
    mismatched = upload(reader, versions_url(model), "x.onnx", HTTP_X_CHECKSUM_SHA256="0" * 64)

    assert error_of(oversized) == (403, "restricted_access_create")
    assert error_of(mismatched) == (403, "restricted_access_create")
    assert acme.count(Version) == 0


# ------------------------------------------------------------------ audit log


def test_uploads_downloads_and_deletes_are_in_the_audit_log(acme, owner, reader, model, storage_backend):
    version = uploaded(upload(owner, versions_url(model), "model.onnx", CONTENT))
    assert body_of(reader.get(f"{versions_url(model)}/model.onnx")) == CONTENT
    assert owner.delete(f"{versions_url(model)}/1").status_code == 200

    details = {"ordinal": 1, "original": "model.onnx", "size": len(CONTENT), "sha256": version["sha256"]}
    (upload_entry,) = audit_entries(acme, "upload")
    (download_entry,) = audit_entries(acme, "download")
    (delete_entry,) = audit_entries(acme, "delete_version")
    assert (upload_entry["actor"], upload_entry["target"], upload_entry["details"]) == ("reggie", model["_id"], details)
    assert (download_entry["actor"], download_entry["details"]) == ("olive", details)
    assert (delete_entry["actor"], delete_entry["details"]) == ("reggie", details)
    assert {upload_entry["resource"], download_entry["resource"], delete_entry["resource"]} == {"model"}


def test_an_upload_and_a_version_deletion_are_logged_inside_their_transactions(acme, owner, model, storage_backend):
    assert_logged_inside_its_transaction(acme.tenant, lambda: uploaded(upload(owner, versions_url(model), "m.onnx")))
    assert_logged_inside_its_transaction(acme.tenant, lambda: owner.delete(f"{versions_url(model)}/1"))


def test_the_audit_log_shows_version_actions_to_admins(acme, owner, model):
    uploaded(upload(owner, versions_url(model), "model.onnx"))
    owner.get(f"{versions_url(model)}/1")
    owner.delete(f"{versions_url(model)}/1")

    docs = acme.client("ada").get("/v1/log", {"limit": "100"}).json()["docs"]
    actions = [(doc["actor"], doc["action"], doc["target"]) for doc in docs if doc["target"] == model["_id"]]

    assert ("reggie", "upload", model["_id"]) in actions
    assert ("reggie", "download", model["_id"]) in actions
    assert ("reggie", "delete_version", model["_id"]) in actions


# ------------------------------------------------------------------ filters on versions


def names_found(client: Any, query: dict[str, Any]) -> list[str]:
    response = client.get("/v1/models", {"filter": json.dumps(query)})
    assert response.status_code == 200, response.content
    return sorted(document["name"] for document in response.json()["docs"])


def test_models_filter_on_their_versions_name_digest_and_size(owner, model):
    fraud = create_model(owner, "fraud")
    uploaded(upload(owner, versions_url(model), "churn.onnx", CONTENT))
    uploaded(upload(owner, versions_url(fraud), "fraud.onnx", OTHER_CONTENT))

    assert names_found(owner, {"versions.original": "churn.onnx"}) == ["churn"]
    assert names_found(owner, {"versions.original": {"$regex": "\\.onnx$"}}) == ["churn", "fraud"]
    assert names_found(owner, {"versions.sha256": sha256_of(OTHER_CONTENT)}) == ["fraud"]
    assert names_found(owner, {"versions.size": {"$gt": len(CONTENT)}}) == ["fraud"]
    assert names_found(owner, {"versions.size": len(CONTENT)}) == ["churn"]


def test_a_version_filter_never_finds_items_the_caller_cannot_read(owner, outsider, model):
    uploaded(upload(owner, versions_url(model), "churn.onnx", CONTENT))

    assert names_found(outsider, {"versions.original": "churn.onnx"}) == []
    assert names_found(outsider, {"versions.sha256": sha256_of(CONTENT)}) == []


# ------------------------------------------------------------------ under gunicorn: the body read from its socket
# framework/files/uploads.py reads a body straight from gunicorn's socket (``recv_into``), past gunicorn's
# own reader. These tests hand the view gunicorn's real reader classes over a real loopback TCP connection, with
# part of the body already in gunicorn's buffer (as after it parsed the headers) and a pipelined next request
# behind the body, which gunicorn must still find where it belongs.

PIPELINED = b"GET /v1/version HTTP/1.1\r\nHost: registry\r\n\r\n"
SEVERAL_BUFFERS = bytes(range(256)) * 12_345  # ~3 MiB: several receive buffers, and a partly filled last one


def encoded(encoding: str, content: bytes) -> tuple[bytes, dict[str, str]]:
    """The request body and its headers (as WSGI environ keys) for an upload of ``content``."""
    if encoding == "multipart":
        return multipart_body("model.onnx", content), {"CONTENT_TYPE": f"multipart/form-data; boundary={BOUNDARY}"}
    headers = {
        "CONTENT_TYPE": "application/octet-stream",
        "HTTP_CONTENT_DISPOSITION": 'attachment; filename="model.onnx"',
    }
    return content, headers


@contextmanager
def gunicorn_body(wire: bytes, declared: int, held: int = 5000, reset: bool = False) -> Iterator[Body]:
    """gunicorn's ``Body`` for a ``declared``-byte body on a loopback TCP connection whose peer sends ``wire``.

    The first ``held`` bytes of ``wire`` are already in gunicorn's buffer; the peer sends the rest, then closes
    (with a reset when ``reset``).
    """
    with socket.create_server(("127.0.0.1", 0)) as listener:
        peer = socket.create_connection(listener.getsockname())
        server, _ = listener.accept()
    server.settimeout(20)
    unreader = SocketUnreader(server)
    unreader.unread(wire[:held])

    def send() -> None:
        with suppress(OSError):  # a reset by the test itself; what matters is what the server did
            peer.sendall(wire[held:])
        if reset:
            peer.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        peer.close()

    sender = threading.Thread(target=send, daemon=True)
    sender.start()
    try:
        yield Body(LengthReader(unreader, declared))
    finally:
        sender.join(timeout=20)
        server.close()


def post_through(client: Any, url: str, body: Body, declared: int, headers: dict[str, str]) -> Any:
    extra = {key: value for key, value in headers.items() if key != "CONTENT_TYPE"}
    return client.generic(
        "POST", url, content_type=headers["CONTENT_TYPE"], CONTENT_LENGTH=str(declared), **extra, **{"wsgi.input": body}
    )


def rest_of_connection(body: Body) -> bytes:
    """What gunicorn reads on the connection after this request: it skips what is left of the body first."""
    while body.read(64 * 1024):
        pass
    unreader, rest = body.reader.unreader, b""
    while chunk := unreader.read():
        rest += chunk
    return rest


def never_through_gunicorns_reader(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(self: Any, size: int | None = None) -> bytes:
        raise AssertionError("the body went through gunicorn's Body.read, not the socket")

    monkeypatch.setattr(Body, "read", refuse)


@pytest.mark.parametrize("encoding", ["raw", "multipart"])
@pytest.mark.parametrize("content", [SEVERAL_BUFFERS, b"fits in what gunicorn already holds"], ids=["large", "small"])
def test_under_gunicorn_an_upload_is_read_from_the_socket_byte_for_byte(owner, model, encoding, content, monkeypatch):
    request_body, headers = encoded(encoding, content)
    with gunicorn_body(request_body + PIPELINED, len(request_body)) as body:
        never_through_gunicorns_reader(monkeypatch)
        response = post_through(owner, versions_url(model), body, len(request_body), headers)
        monkeypatch.undo()

        version = uploaded(response)
        assert (version["size"], version["sha256"]) == (len(content), sha256_of(content))
        assert stored_bytes(f"acme/{sha256_of(content)}") == content
        assert temporary_files() == []
        assert (body.reader.length, body.failed) == (0, False)
        assert rest_of_connection(body) == PIPELINED


@pytest.mark.parametrize("encoding", ["raw", "multipart"])
@pytest.mark.parametrize("reset", [False, True], ids=["closed", "reset"])
def test_under_gunicorn_a_body_cut_off_is_400_keeps_nothing_and_closes_the_connection(
    acme, owner, model, encoding, reset
):
    request_body, headers = encoded(encoding, SEVERAL_BUFFERS)
    with gunicorn_body(request_body[: len(request_body) // 2], len(request_body), reset=reset) as body:
        response = post_through(owner, versions_url(model), body, len(request_body), headers)

        assert error_of(response) == (400, "generic_upload_error")
        assert_nothing_kept(acme)
        assert body.failed  # gunicorn closes the connection instead of looking for a next request on it


def test_under_gunicorn_a_multipart_file_over_the_limit_is_413_and_gunicorn_skips_the_rest(acme, owner, model):
    content = b"x" * (2 * 1024 * 1024 + 1)  # declared length within the limit plus multipart overhead
    request_body, headers = encoded("multipart", content)
    with (
        override_settings(MAX_UPLOAD_SIZE=len(content) - 1),
        gunicorn_body(request_body + PIPELINED, len(request_body)) as body,
    ):
        response = post_through(owner, versions_url(model), body, len(request_body), headers)

        assert error_of(response) == (413, "payload_too_large")
        assert_nothing_kept(acme)
        assert not body.failed
        assert rest_of_connection(body) == PIPELINED  # what was read is accounted for to the byte
