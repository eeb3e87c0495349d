"""``/v1/algorithms`` (contract §9.3): the original registry's third kind, with every route and rule of models.

Algorithms have the models' traits (algorithms_app/kind.py), so the shared tests of items_app and
datasets_app, run over models, check the code algorithms use; these tests check each feature once through
the algorithms' own routes (testing/kinds.py says why algorithms are not in ``KINDS``).

Personas: ``owner`` (reggie) owns the algorithms, ``reader`` (olive) is the user one is shared with,
``outsider`` (oscar) was given nothing, ``admin`` (ada) is acme's admin and ``other_tenant`` (gus) globex's.
"""

from __future__ import annotations

import json
from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command

from folksonomy_app.models import MetadataName, Tag
from items_app.models import Item, Lineage, Version
from tenants_app import tenancy
from tenants_app.models import Tenant
from testing.helpers import (
    CONTENT,
    audit_entries,
    body_of,
    create_dataset,
    create_model,
    details_of,
    error_of,
    names_in,
    sha256_of,
    stored_keys,
    upload,
    uploaded,
)
from testing.kinds import ALGORITHM

API = "/v1/algorithms"


def create(client: Any, name: str = "sorter", **fields: Any) -> dict[str, Any]:
    return ALGORITHM.create(client, name, **fields)


def matching(client: Any, document: Any) -> list[str]:
    return names_in(client.get(API, {"filter": json.dumps(document), "limit": "100"}))


# ------------------------------------------------------------------ create, read, update, delete


def test_an_algorithm_has_the_models_read_shape_and_defaults(acme, owner):
    response = owner.post(API, {"name": "sorter"}, format="json")

    assert response.status_code == 201, response.content
    body = response.json()
    assert set(body) == ALGORITHM.keys
    assert (body["owner"], body["status"], body["visibility"]) == ("reggie", "training", "private")
    assert body["datasets"] == []
    assert acme.count(Item, pk=body["_id"], kind="algorithm", status="training") == 1
    assert owner.get(f"{API}/{body['_id']}").json() == body
    assert owner.get(f"{API}/by-name/reggie/sorter").json() == body
    created = [(entry["resource"], entry["target"]) for entry in audit_entries(acme, "create")]
    assert created[-1] == ("algorithm", body["_id"])


@pytest.mark.parametrize("status", ["training", "test", "production", "deploy"])
def test_an_algorithm_takes_every_status_a_model_takes(acme, owner, status):
    body = create(owner, status=status)

    assert body["status"] == status
    assert acme.count(Item, pk=body["_id"], status=status) == 1


def test_an_invalid_status_is_refused_on_create_and_on_update(acme, owner):
    refused = owner.post(API, {"name": "sorter", "status": "retired"}, format="json")
    assert error_of(refused) == (400, "post_request_error")
    assert "status" in details_of(refused)
    algorithm = create(owner)

    response = owner.put(f"{API}/{algorithm['_id']}", {"status": "retired"}, format="json")

    assert error_of(response) == (400, "put_request_error")
    assert acme.count(Item, kind="algorithm", status="training") == 1


def test_a_name_is_unique_per_owner_but_not_across_owners_or_kinds(acme, owner, reader):
    create(owner, "sorter")
    create_model(owner, "sorter")
    create(reader, "sorter")

    response = owner.post(API, {"name": "sorter"}, format="json")

    assert error_of(response) == (409, "conflict")
    assert acme.count(Item, name="sorter") == 3


def test_the_owner_sets_the_status_and_changes_the_lists(acme, owner):
    dataset = create_dataset(owner)
    algorithm = create(owner, tags=["a"], metadata=[{"name": "speed", "value": 1}])

    response = owner.put(
        f"{API}/{algorithm['_id']}",
        {
            "status": "production",
            "visibility": "public",
            "tags": {"remove": ["a"], "add": ["b"]},
            "metadata": {"add": [{"name": "speed", "value": 2}]},
            "users": {"add": ["olive"]},
            "datasets": {"add": [dataset["_id"]]},
        },
        format="json",
    )

    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["status"], body["visibility"], body["tags"]) == ("production", "public", ["b"])
    assert (body["metadata"], body["users"], body["datasets"]) == (
        [{"name": "speed", "value": 2}],
        ["olive"],
        [dataset["_id"]],
    )
    assert acme.count(Item, pk=algorithm["_id"], status="production", visibility="public") == 1
    assert acme.count(Lineage, model_id=algorithm["_id"], dataset_id=dataset["_id"]) == 1


def test_the_owner_deletes_an_algorithm_with_its_versions_and_files(acme, owner):
    algorithm = create(owner)
    uploaded(upload(owner, f"{API}/{algorithm['_id']}/versions", "sorter.py"))

    response = owner.delete(f"{API}/{algorithm['_id']}")

    assert response.status_code == 200, response.content
    assert response.json()["_id"] == algorithm["_id"]
    assert acme.count(Item) == 0
    assert acme.count(Version) == 0
    assert stored_keys(acme.id) == []


# ------------------------------------------------------------------ who sees and changes what


def test_a_private_algorithm_is_read_by_its_owner_reader_and_admin_only(owner, reader, outsider, admin, other_tenant):
    algorithm = create(owner, users=["olive"])
    url = f"{API}/{algorithm['_id']}"

    for client in (owner, reader, admin):
        assert client.get(url).status_code == 200
    assert error_of(outsider.get(url)) == (404, "resource_not_found")
    assert error_of(other_tenant.get(url)) == (404, "resource_not_found")
    assert names_in(reader.get(API)) == ["sorter"]
    assert names_in(outsider.get(API)) == []
    assert names_in(other_tenant.get(API)) == []


def test_a_public_algorithm_is_read_by_everyone_in_the_tenant_only(owner, outsider, other_tenant):
    algorithm = create(owner, visibility="public")

    assert outsider.get(f"{API}/{algorithm['_id']}").status_code == 200
    assert names_in(outsider.get(API)) == ["sorter"]
    assert error_of(other_tenant.get(f"{API}/{algorithm['_id']}")) == (404, "resource_not_found")


def test_only_the_owner_and_admins_change_or_delete_an_algorithm(acme, owner, reader, outsider, admin, other_tenant):
    algorithm = create(owner, users=["olive"])
    url = f"{API}/{algorithm['_id']}"

    assert error_of(reader.put(url, {"status": "test"}, format="json"))[0] == 403
    assert error_of(reader.delete(url))[0] == 403
    assert error_of(outsider.put(url, {"status": "test"}, format="json"))[0] == 404
    assert error_of(other_tenant.delete(url))[0] == 404
    assert acme.count(Item, pk=algorithm["_id"], status="training") == 1
    assert admin.put(url, {"status": "deploy"}, format="json").json()["owner"] == "reggie"
    assert admin.delete(url).status_code == 200
    assert acme.count(Item) == 0


def test_anonymous_callers_get_401(owner, anonymous):
    algorithm = create(owner, visibility="public")

    assert error_of(anonymous.get(API)) == (401, "unauthorized")
    assert error_of(anonymous.get(f"{API}/{algorithm['_id']}")) == (401, "unauthorized")
    assert error_of(anonymous.post(API, {"name": "x"}, format="json")) == (401, "unauthorized")


def test_algorithms_models_and_datasets_are_listed_apart(owner):
    algorithm = create(owner, "sorter")
    model = create_model(owner, "churn")
    create_dataset(owner, "customers")

    assert names_in(owner.get(API)) == ["sorter"]
    assert names_in(owner.get("/v1/models")) == ["churn"]
    assert error_of(owner.get(f"/v1/models/{algorithm['_id']}")) == (404, "resource_not_found")
    assert error_of(owner.get(f"{API}/{model['_id']}")) == (404, "resource_not_found")


# ------------------------------------------------------------------ lineage: the datasets it was trained on


def test_an_algorithm_names_only_datasets_its_owner_can_read(acme, owner, reader):
    public = create_dataset(reader, "public", visibility="public")
    hidden = create_dataset(reader, "olives-private")
    model = create_model(owner, "churn")

    assert create(owner, datasets=[public["_id"]])["datasets"] == [public["_id"]]
    for refused in (hidden, model):
        response = owner.post(API, {"name": "other", "datasets": [refused["_id"]]}, format="json")
        assert error_of(response) == (400, "post_request_error")
        assert refused["_id"] in details_of(response)
    assert acme.count(Lineage) == 1


def test_a_dataset_an_algorithm_uses_cannot_be_deleted_until_the_algorithm_is(acme, owner):
    dataset = create_dataset(owner)
    algorithm = create(owner, datasets=[dataset["_id"]])

    refused = owner.delete(f"/v1/datasets/{dataset['_id']}")

    assert error_of(refused) == (409, "conflict")
    assert "sorter" in details_of(refused)
    assert acme.count(Item, pk=dataset["_id"]) == 1
    assert owner.delete(f"{API}/{algorithm['_id']}").status_code == 200
    assert owner.delete(f"/v1/datasets/{dataset['_id']}").status_code == 200
    assert acme.count(Item) == 0


def test_the_409_of_a_used_dataset_counts_the_algorithms_the_caller_cannot_read(acme, owner, reader):
    dataset = create_dataset(owner, visibility="public")
    create(reader, "olives-private", datasets=[dataset["_id"]])

    refused = owner.delete(f"/v1/datasets/{dataset['_id']}")

    assert error_of(refused) == (409, "conflict")
    assert "olives-private" not in details_of(refused)
    assert "1 other algorithm(s)" in details_of(refused)


# ------------------------------------------------------------------ versions


def test_versions_are_uploaded_listed_downloaded_and_deleted(acme, owner, reader):
    algorithm = create(owner, users=["olive"])
    versions = f"{API}/{algorithm['_id']}/versions"

    version = uploaded(upload(owner, versions, "sorter.py", description="first"))

    assert (version["ordinal"], version["original"], version["sha256"]) == (1, "sorter.py", sha256_of(CONTENT))
    assert [entry["original"] for entry in reader.get(versions).json()] == ["sorter.py"]
    download = reader.get(f"{versions}/1")
    assert download.status_code == 200
    assert body_of(download) == CONTENT
    assert error_of(upload(reader, versions, "mine.py"))[0] == 403
    assert owner.delete(f"{versions}/sorter.py").status_code == 200
    assert acme.count(Version) == 0
    assert stored_keys(acme.id) == []


# ------------------------------------------------------------------ filters and the vocabulary


def test_algorithms_are_filtered_by_status_datasets_tags_and_metadata(owner):
    dataset = create_dataset(owner)
    create(owner, "fast", status="production", tags=["sort"], metadata=[{"name": "speed", "value": 9}])
    create(owner, "slow", status="test", datasets=[dataset["_id"]], metadata=[{"name": "speed", "value": 2}])
    create(owner, "new", status="deploy")

    assert matching(owner, {"status": {"$in": ["production", "deploy"]}}) == ["fast", "new"]
    assert matching(owner, {"datasets": dataset["_id"]}) == ["slow"]
    assert matching(owner, {"tags": "sort"}) == ["fast"]
    assert matching(owner, {"metadata.speed": {"$gt": 5}}) == ["fast"]


def test_the_vocabulary_counts_the_algorithms_that_use_an_entry(acme, owner, reader):
    create(owner, "mine", tags=["sorting"], metadata=[{"name": "speed", "value": 1}])
    create(reader, "olives", tags=["sorting"], metadata=[{"name": "speed", "value": 2}])
    create_model(owner, "churn", tags=["sorting"])

    tags = {entry["_id"]: entry["count"] for entry in owner.get("/v1/tags").json()["docs"]}
    metadata = {entry["_id"]: entry["count"] for entry in owner.get("/v1/metadata").json()["docs"]}

    assert tags["sorting"] == 2  # reggie's algorithm and model; olive's algorithm is private
    assert metadata["speed"] == 1
    assert acme.count(Tag, pk="sorting") == 1
    assert acme.count(MetadataName, pk="speed") == 1


def test_a_tag_an_algorithm_uses_cannot_be_deleted(acme, owner, admin):
    create(owner, tags=["sorting"])

    response = admin.delete("/v1/tags/sorting")

    assert error_of(response) == (409, "conflict")
    assert "sorter" in details_of(response)
    assert acme.count(Tag, pk="sorting") == 1


# ------------------------------------------------------------------ tenant archives


def test_an_algorithm_survives_a_tenant_export_and_import(acme, owner, tmp_path):
    dataset = create_dataset(owner)
    algorithm = create(owner, status="test", datasets=[dataset["_id"]])
    uploaded(upload(owner, f"{API}/{algorithm['_id']}/versions", "sorter.py"))
    archive = tmp_path / "acme.tar"

    call_command("export_tenant", "acme", str(archive), stdout=StringIO())
    call_command("import_tenant", str(archive), "--as", "acme-restored", stdout=StringIO())

    with tenancy.using_tenant(Tenant.objects.get(pk="acme-restored")):
        restored = Item.objects.get(pk=algorithm["_id"])
        assert (restored.kind, restored.status) == ("algorithm", "test")
        assert list(Lineage.objects.filter(model=restored).values_list("dataset_id", flat=True)) == [dataset["_id"]]
        assert Version.objects.get(item=restored).original == "sorter.py"
