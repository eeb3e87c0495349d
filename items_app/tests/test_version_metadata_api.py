"""Metrics and notes per version (contract §9.2): v2's accuracy never overwrites v1's."""

from __future__ import annotations

import json

import pytest

from items_app.models import Blob, Version, VersionMetadataEntry
from testing.helpers import error_of, log_of, upload, upload_raw


def versions_url(kind, item):
    return f"{kind.url(item)}/versions"


def metadata_of(document):
    return {entry["name"]: entry["value"] for entry in document["metadata"]}


@pytest.fixture
def item(owner, kind):
    return kind.create(owner, visibility="public")


def test_metadata_is_set_at_upload_as_a_form_field_or_a_query_parameter(owner, kind, item):
    form = owner.post(
        versions_url(kind, item),
        {"file": upload_file("v1.onnx"), "metadata": json.dumps({"accuracy": 0.91, "epochs": 90}), "description": "v1"},
        format="multipart",
    )
    raw = upload_raw(
        owner,
        versions_url(kind, item) + "?metadata=" + json.dumps([{"name": "accuracy", "value": 0.95}]),
        "v2.onnx",
        b"two",
    )

    assert metadata_of(form.json()) == {"accuracy": 0.91, "epochs": 90}
    assert metadata_of(raw.json()) == {"accuracy": 0.95}
    versions = owner.get(kind.url(item)).json()["versions"]
    assert [metadata_of(v)["accuracy"] for v in versions] == [0.91, 0.95]  # each version keeps its own


def upload_file(name, content=b"bytes"):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile(name, content)


@pytest.mark.parametrize(
    "metadata",
    [
        "not json",
        '"text"',
        '[{"name": "a"}]',
        '{"a": {"nested": 1}}',
        '[{"name": "a", "value": 1}, {"name": "a", "value": 2}]',
    ],
)
def test_bad_metadata_at_upload_is_a_400_and_keeps_nothing(owner, kind, item, acme, metadata):
    response = upload_raw(owner, versions_url(kind, item) + "?metadata=" + metadata, "v1.onnx", b"kept?")

    assert response.status_code == 400
    assert "metadata" in response.json()["details"]
    assert acme.count(Version) == 0
    assert acme.count(Blob) == 0


def test_put_changes_a_versions_description_and_metadata(owner, reader, kind, item):
    upload(owner, versions_url(kind, item))
    url = f"{versions_url(kind, item)}/1"
    reader.get(kind.url(item))  # a cached document must not outlive the change

    first = owner.put(url, {"description": "epoch 90", "metadata": [{"name": "accuracy", "value": 0.9}]}, format="json")
    second = owner.put(
        url, {"metadata": {"add": [{"name": "f1", "value": 0.8}], "remove": ["accuracy"]}}, format="json"
    )

    assert first.json()["description"] == "epoch 90"
    assert metadata_of(second.json()) == {"f1": 0.8}
    assert metadata_of(reader.get(kind.url(item)).json()["versions"][0]) == {"f1": 0.8}
    assert reader.get(f"{url}/info").json()["description"] == "epoch 90"


@pytest.mark.parametrize(
    "body",
    [{}, {"size": 3}, {"metadata": "accuracy"}, {"metadata": [{"name": "", "value": 1}]}, {"description": "x" * 20001}],
)
def test_bad_version_updates_are_400s(owner, kind, item, body):
    upload(owner, versions_url(kind, item))

    response = owner.put(f"{versions_url(kind, item)}/1", body, format="json")

    assert response.status_code == 400


def test_who_may_change_a_version(owner, reader, outsider, admin, kind):
    item = kind.create(owner, "shared", users=["olive"])
    upload(owner, versions_url(kind, item))
    url = f"{versions_url(kind, item)}/1"

    assert error_of(reader.put(url, {"description": "x"}, format="json")) == (403, "restricted_access_modify")
    assert error_of(outsider.put(url, {"description": "x"}, format="json"))[0] == 404
    assert admin.put(url, {"description": "by ada"}, format="json").status_code == 200
    assert next(e for e in log_of(admin) if e["action"] == "update_version")["details"]["fields"] == ["description"]


def test_version_metadata_names_join_the_vocabulary(owner, kind, item):
    upload_raw(owner, versions_url(kind, item) + '?metadata={"val_loss": 0.3}', "v1.onnx", b"x")

    names = [entry["_id"] for entry in owner.get("/v1/metadata").json()["docs"]]

    assert "val_loss" in names


def test_a_metadata_name_used_by_a_version_cannot_be_deleted(owner, admin, kind, item, acme):
    upload_raw(owner, versions_url(kind, item) + '?metadata={"val_loss": 0.3}', "v1.onnx", b"x")

    refused = admin.delete("/v1/metadata/val_loss")

    assert refused.status_code == 409
    assert item["_id"] in refused.json()["details"]  # names the item whose version uses it
    assert acme.count(VersionMetadataEntry) == 1


def test_concurrent_updates_of_different_names_both_survive(acme, owner, kind, item):
    from testing.helpers import run_together

    upload(owner, versions_url(kind, item))
    url = f"{versions_url(kind, item)}/1"
    clients = [acme.client("reggie"), acme.client("reggie")]

    run_together(
        lambda: clients[0].put(url, {"metadata": {"add": [{"name": "a", "value": 1}]}}, format="json"),
        lambda: clients[1].put(url, {"metadata": {"add": [{"name": "b", "value": 2}]}}, format="json"),
    )

    assert metadata_of(owner.get(f"{url}/info").json()) == {"a": 1, "b": 2}


# ------------------------------------------------------------------ sorting and filtering by metadata


@pytest.fixture
def scored(owner, kind):
    """Four public items: accuracy 0.7, 0.95, "n/a" (text) and none."""
    made = {}
    for name, metadata in (
        ("low", [{"name": "accuracy", "value": 0.7}]),
        ("high", [{"name": "accuracy", "value": 0.95}]),
        ("text", [{"name": "accuracy", "value": "n/a"}]),
        ("none", []),
    ):
        made[name] = kind.create(owner, name, visibility="public", metadata=metadata)
    return made


def names(client, kind, **params):
    response = client.get(kind.api, params)
    assert response.status_code == 200, response.json()
    return [doc["name"] for doc in response.json()["docs"]]


def test_lists_sort_by_a_metadata_value_with_items_without_it_last(reader, kind, scored):
    assert names(reader, kind, sort='{"metadata.accuracy": "desc"}') == ["high", "low", "text", "none"]
    assert names(reader, kind, sort='{"metadata.accuracy": "asc"}') == ["low", "high", "text", "none"]
    assert names(reader, kind, sort='{"metadata.accuracy": -1}', limit=2, page=2) == ["text", "none"]


def test_a_metadata_sort_follows_changes_at_once(owner, reader, kind, scored):
    assert names(reader, kind, sort='{"metadata.accuracy": "desc"}')[0] == "high"

    owner.put(kind.url(scored["low"]), {"metadata": {"add": [{"name": "accuracy", "value": 0.99}]}}, format="json")

    assert names(reader, kind, sort='{"metadata.accuracy": "desc"}')[0] == "low"


def test_bad_metadata_sorts_are_400s(reader, kind):
    assert error_of(reader.get(kind.api, {"sort": '{"metadata.": "desc"}'}))[0] == 400
    assert error_of(reader.get(kind.api, {"sort": '{"metadata.' + "x" * 65 + '": "desc"}'}))[0] == 400
    assert error_of(reader.get(kind.api, {"sort": '{"metadata.a": "sideways"}'}))[0] == 400


def test_a_version_list_sorts_by_its_versions_metadata(owner, kind, item):
    for index, accuracy in enumerate((0.8, 0.9, None)):
        query = "" if accuracy is None else "?metadata=" + json.dumps({"accuracy": accuracy})
        upload_raw(owner, versions_url(kind, item) + query, f"v{index}.onnx", str(index).encode())

    ordered = owner.get(versions_url(kind, item), {"sort": '{"metadata.accuracy": "desc"}'}).json()

    assert [v["ordinal"] for v in ordered] == [2, 1, 3]
    assert [
        v["ordinal"] for v in owner.get(versions_url(kind, item), {"sort": '{"size": 1, "ordinal": -1}'}).json()
    ] == [3, 2, 1]
    assert error_of(owner.get(versions_url(kind, item), {"sort": '{"sha256": 1}'}))[0] == 400


def test_filters_reach_the_metadata_of_any_version_and_of_an_aliased_one(owner, reader, outsider, kind):
    good = kind.create(owner, "good", visibility="public")
    bad = kind.create(owner, "bad", visibility="public")
    hidden = kind.create(owner, "hidden")
    for target in (good, bad, hidden):
        accuracy = {"good": 0.95, "bad": 0.5, "hidden": 0.99}[target["name"]]
        upload_raw(owner, versions_url(kind, target) + f'?metadata={{"accuracy": {accuracy}}}', "v1.onnx", b"x")
        upload_raw(owner, versions_url(kind, target) + '?metadata={"accuracy": 0.1}', "v2.onnx", b"y")
        owner.put(f"{kind.url(target)}/aliases/production", {"version": 1}, format="json")
    owner.put(f"{kind.url(bad)}/aliases/production", {"version": 2}, format="json")

    assert names(reader, kind, filter='{"versions.metadata.accuracy": {"$gte": 0.9}}') == ["good"]
    assert names(
        reader, kind, filter='{"aliases.production.metadata.accuracy": {"$gte": 0.05}}', sort='{"name": 1}'
    ) == ["bad", "good"]
    assert names(reader, kind, filter='{"aliases.production.metadata.accuracy": {"$gte": 0.9}}') == ["good"]
    assert names(outsider, kind, filter='{"aliases.production.metadata.accuracy": {"$gte": 0.9}}') == ["good"]
    assert names(owner, kind, filter='{"aliases.production.metadata.accuracy": {"$gte": 0.9}}', sort='{"name": 1}') == [
        "good",
        "hidden",
    ]


@pytest.mark.parametrize(
    "field", ["aliases.production", "aliases.production.metadata.", "aliases..metadata.a", "versions.metadata."]
)
def test_unsupported_version_filters_are_named(reader, kind, field):
    response = reader.get(kind.api, {"filter": json.dumps({field: 1})})

    assert error_of(response) == (400, "invalid_filter")
