"""Version labels: the original registry's ``?ordinal=<label>`` on an upload (contract §9.3).

A label names a version besides its number (``v2.0.0``), is unique per item in any case, and works wherever
a version reference does: downloads, edits, deletions, aliases. Labels that would read as a number, an alias
or a file name are refused before a byte of the file is read.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

import pytest

from items_app.models import Version
from testing.helpers import (
    CONTENT,
    OTHER_CONTENT,
    assert_nothing_kept,
    audit_entries,
    body_of,
    create_model,
    error_of,
    stored_keys,
    upload,
    upload_raw,
    uploaded,
)


def versions_url(item: dict[str, Any]) -> str:
    return f"/v1/models/{item['_id']}/versions"


def test_an_upload_with_a_label_is_found_by_it_in_any_case(owner, reader):
    model = create_model(owner, visibility="public")
    version = uploaded(upload(owner, f"{versions_url(model)}?ordinal=v2.0.0-rc1"))

    by_label = reader.get(f"{versions_url(model)}/V2.0.0-RC1")

    assert version["ordinal"] == 1
    assert version["label"] == "v2.0.0-rc1"
    assert body_of(by_label) == CONTENT
    assert reader.get(versions_url(model)).json()[0]["label"] == "v2.0.0-rc1"


def test_a_version_without_a_label_says_so_and_counts_as_before(owner):
    model = create_model(owner)

    first = uploaded(upload(owner, versions_url(model)))
    second = uploaded(upload(owner, f"{versions_url(model)}?ordinal=%20", name="b.onnx", content=OTHER_CONTENT))

    assert (first["ordinal"], first["label"]) == (1, None)
    assert (second["ordinal"], second["label"]) == (2, None)


def test_a_raw_upload_takes_a_label_too(owner):
    model = create_model(owner)

    version = uploaded(upload_raw(owner, f"{versions_url(model)}?ordinal=2024-06-01"))

    assert version["label"] == "2024-06-01"


def test_a_label_is_unique_per_item_in_any_case_and_the_second_file_is_not_kept(owner, acme):
    model = create_model(owner)
    uploaded(upload(owner, f"{versions_url(model)}?ordinal=v2"))

    status, name = error_of(upload(owner, f"{versions_url(model)}?ordinal=V2", name="b.onnx", content=OTHER_CONTENT))

    assert (status, name) == (409, "conflict")
    assert acme.count(Version) == 1
    assert len(stored_keys(acme.id)) == 1  # the first version's file, not the refused one


def test_another_item_may_use_the_same_label(owner):
    first, second = create_model(owner, name="a"), create_model(owner, name="b")

    uploaded(upload(owner, f"{versions_url(first)}?ordinal=v1.0"))
    version = uploaded(upload(owner, f"{versions_url(second)}?ordinal=v1.0"))

    assert version["label"] == "v1.0"


def test_a_label_equal_to_a_versions_file_name_is_refused(owner):
    model = create_model(owner)
    uploaded(upload(owner, versions_url(model), name="r2"))

    response = upload(owner, f"{versions_url(model)}?ordinal=R2", name="b.onnx", content=OTHER_CONTENT)

    assert error_of(response) == (409, "conflict")
    assert "file" in response.json()["details"]


@pytest.mark.parametrize(
    ("label", "why"),
    [
        ("production", "alias"),  # a word alone reads as an alias
        ("model.onnx", "file name"),
        ("v2.tar", "file name"),
        ("@v2", "letters, digits"),
        ("v 2", "letters, digits"),
        ("-v2", "letters, digits"),
        ("v2/../x", "letters, digits"),
        ("v" + "1" * 64, "letters, digits"),
        ("v2\u00e9", "letters, digits"),
        ("70", "next number"),
    ],
)
def test_labels_that_could_be_misread_are_refused_before_the_file_is_read(owner, acme, label, why):
    model = create_model(owner)

    response = owner.post(
        f"{versions_url(model)}?{urlencode({'ordinal': label})}", {"file": _file()}, format="multipart"
    )

    assert error_of(response) == (400, "post_request_error")
    assert why in response.json()["details"]
    assert acme.count(Version) == 0
    assert_nothing_kept(acme)


def _file() -> Any:
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile("model.onnx", CONTENT, content_type="application/octet-stream")


def test_all_digits_is_allowed_as_the_next_number_and_stays_a_number(owner):
    model = create_model(owner)
    uploaded(upload(owner, versions_url(model)))

    version = uploaded(upload(owner, f"{versions_url(model)}?ordinal=2", name="b.onnx", content=OTHER_CONTENT))

    assert (version["ordinal"], version["label"]) == (2, None)


def test_an_alias_can_be_set_by_label_and_a_labelled_version_deleted_by_it(owner):
    model = create_model(owner)
    uploaded(upload(owner, f"{versions_url(model)}?ordinal=v1.0"))
    uploaded(upload(owner, f"{versions_url(model)}?ordinal=v2.0", name="b.onnx", content=OTHER_CONTENT))

    moved = owner.put(f"/v1/models/{model['_id']}/aliases/production", {"version": "v1.0"}, format="json")
    deleted = owner.delete(f"{versions_url(model)}/v2.0")

    assert moved.status_code == 200, moved.content
    assert moved.json()["version"] == 1
    assert deleted.status_code == 200, deleted.content
    assert [version["label"] for version in owner.get(versions_url(model)).json()] == ["v1.0"]


def test_the_audit_log_names_the_label(owner, acme):
    model = create_model(owner)

    uploaded(upload(owner, f"{versions_url(model)}?ordinal=v3"))

    assert audit_entries(acme, "upload")[-1]["details"]["label"] == "v3"


def test_a_reader_cannot_label_anything_and_the_outsider_sees_nothing(owner, reader, outsider):
    model = create_model(owner, visibility="public")
    private = create_model(owner, name="secret")

    assert error_of(upload(reader, f"{versions_url(model)}?ordinal=v1"))[0] == 403
    assert error_of(upload(outsider, f"{versions_url(private)}?ordinal=v1"))[0] == 404
