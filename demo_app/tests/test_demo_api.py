"""``/v1/demo`` with DEMO=true: the demo tenant's content for its admins, filled on demand and reset by them.

The demo tenant is made by the service ``bootstrap`` calls (``ensure_demo_tenant``); every sample user signs
in with DEMO_PASSWORD.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import zipfile
from typing import Any

import pytest
from django.test import override_settings
from rest_framework.test import APIClient

from conftest import SYSTEM
from demo_app import content, services
from items_app.models import Item, ProtectedAlias
from tenants_app import services as tenant_services
from tenants_app import tenancy
from tenants_app.audit import Caller
from tenants_app.models import AuditEntry, Tenant, User
from testing.helpers import body_of, error_of, stored_keys

DEMO_PASSWORD = "demo passphrase for the tests 42"
DEMO_TENANT = "demo-tenant-registry"
LISTS = {"users", "tags", "metadata", "models", "datasets", "algorithms"}


@pytest.fixture(autouse=True)
def demo_on():
    with override_settings(DEMO=True, DEMO_PASSWORD=DEMO_PASSWORD, DEFAULT_TENANT_DEMO=DEMO_TENANT):
        yield


@pytest.fixture
def demo() -> Tenant:
    tenant, filled = services.ensure_demo_tenant()
    assert filled is not None
    return tenant


def signed_in(username: str, password: str = DEMO_PASSWORD) -> APIClient:
    response = APIClient().post(
        "/v1/login", {"tenant": DEMO_TENANT, "username": username, "password": password}, format="json"
    )
    assert response.status_code == 200, response.content
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=response.json()["token"])
    return client


@pytest.fixture
def demo_admin(demo: Tenant) -> APIClient:
    return signed_in("admin")


@pytest.fixture
def demo_user(demo: Tenant) -> APIClient:
    return signed_in("marie")


def demo_content(client: APIClient) -> dict[str, Any]:
    response = client.get("/v1/demo")
    assert response.status_code == 200, response.content
    return response.json()


def by_name(documents: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {document["name"]: document for document in documents}


# ------------------------------------------------------------------ who may use it


def test_the_demo_admin_reads_every_list_of_the_demo_tenant(demo_admin):
    document = demo_content(demo_admin)

    assert set(document) == LISTS
    assert [user["username"] for user in document["users"]] == ["admin", "marie", "alan", "grace"]
    assert all("password" not in user for user in document["users"])
    names = {kind: sorted(by_name(document[kind])) for kind in ("datasets", "models", "algorithms")}
    assert names == {
        "datasets": ["iris-measurements", "pump-sensor-readings", "support-tickets"],
        "models": ["iris-classifier", "pump-anomaly-detector", "ticket-router"],
        "algorithms": ["kmeans-clustering", "zscore-outliers"],
    }


@pytest.mark.parametrize("method", ["get", "post", "delete"])
def test_a_regular_user_of_the_demo_tenant_is_refused(demo_user, method):
    response = getattr(demo_user, method)("/v1/demo")

    assert error_of(response) == (403, "restricted_access_read")
    assert Tenant.objects.filter(pk=DEMO_TENANT).count() == 1


@pytest.mark.parametrize("method", ["get", "post", "delete"])
def test_an_admin_of_another_tenant_is_told_the_demo_tenant_is_required(demo, admin, method):
    response = getattr(admin, method)("/v1/demo")

    assert error_of(response) == (403, "demo_tenant_required")
    assert DEMO_TENANT in response.json()["details"]
    assert Tenant.objects.get(pk=DEMO_TENANT).uid == demo.uid


@pytest.mark.parametrize("method", ["get", "post", "delete"])
def test_anonymous_callers_must_sign_in(demo, anonymous, method):
    assert error_of(getattr(anonymous, method)("/v1/demo")) == (401, "unauthorized")


@pytest.mark.parametrize("url", ["/v1/demo", "/v1/demo/"])
@pytest.mark.parametrize("method", ["get", "post", "delete"])
def test_without_demo_the_route_does_not_exist(demo, admin, anonymous, method, url):
    demo_admin = signed_in("admin")
    with override_settings(DEMO=False):
        for client in (demo_admin, admin, anonymous):
            response = getattr(client, method)(url)
            assert error_of(response) == (404, "resource_not_found")
    assert Tenant.objects.get(pk=DEMO_TENANT).uid == demo.uid


# ------------------------------------------------------------------ what the fill makes


def test_every_demo_version_downloads_as_the_bytes_its_document_describes(demo_admin):
    document = demo_content(demo_admin)

    downloaded = 0
    for kind in ("datasets", "models", "algorithms"):
        for item in document[kind]:
            assert item["versions"], item["name"]
            for version in item["versions"]:
                response = demo_admin.get(f"/v1/{kind}/{item['_id']}/versions/{version['ordinal']}")
                assert response.status_code == 200, response.content
                data = body_of(response)
                assert hashlib.sha256(data).hexdigest() == version["sha256"]
                assert len(data) == version["size"]
                assert_is_what_its_name_says(version["original"], data)
                downloaded += 1
    assert downloaded == sum(len(sample.versions) for sample in content.ITEMS)


def assert_is_what_its_name_says(original: str, data: bytes) -> None:
    """Real files: each parses as the format its name gives."""
    if original.endswith(".csv"):
        rows = list(csv.DictReader(io.StringIO(data.decode())))
        assert len(rows) >= 100
        assert rows[0]["species"] == "setosa"
    elif original.endswith(".zip"):
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            assert archive.testzip() is None
            assert "readings/pump-01.csv" in archive.namelist()
    elif original.endswith(".jsonl"):
        assert all("queue" in json.loads(line) for line in data.decode().splitlines())
    elif original.endswith(".json"):
        assert "rules" in json.loads(data)
    elif original.endswith(".py"):
        compile(data, original, "exec")
    elif original.endswith(".onnx"):
        assert data.startswith(b"\x08\x08\x12\x13model-registry-demo")  # ir_version 8, then the producer
    else:
        raise AssertionError(f"no check for {original}")


def test_the_fill_shares_links_labels_and_aliases_as_a_team_would(demo_admin):
    document = demo_content(demo_admin)
    datasets, models = by_name(document["datasets"]), by_name(document["models"])

    classifier = models["iris-classifier"]
    assert (classifier["status"], classifier["visibility"]) == ("production", "public")
    assert classifier["datasets"] == [datasets["iris-measurements"]["_id"]]
    assert classifier["aliases"] == {"production": 2, "staging": 2, "previous": 1}
    assert [version["label"] for version in classifier["versions"]] == ["1.0.0", "1.1.0"]
    assert {"name": "accuracy", "value": 0.9} in classifier["metadata"]
    assert {"name": "accuracy", "value": 0.887} in classifier["versions"][0]["metadata"]
    assert datasets["pump-sensor-readings"]["users"] == ["grace"]
    assert datasets["support-tickets"]["visibility"] == "private"
    tags = {entry["_id"]: entry["usage"] for entry in document["tags"]}
    assert (tags["classification"], tags["onnx"]) == ("default", "folk")
    metadata = {entry["_id"]: entry["usage"] for entry in document["metadata"]}
    assert (metadata["accuracy"], metadata["learning_rate"]) == ("default", "folk")


def test_the_fill_is_written_through_the_services_with_its_audit_trail(demo):
    with tenancy.using_tenant(demo):
        actions = list(AuditEntry.objects.values_list("actor", "action", "resource"))
        assert ProtectedAlias.objects.filter(pk="production").exists()

    versions = sum(len(sample.versions) for sample in content.ITEMS)
    assert sum(1 for _, action, _ in actions if action == "upload") == versions
    assert sum(1 for _, action, resource in actions if (action, resource) == ("create", "user")) == 3
    assert ("marie", "create", "model") in actions
    assert ("alan", "alias", "model") in actions
    assert ("admin", "protect", "alias") in actions


def test_regular_demo_users_see_what_is_public_or_shared_with_them(demo):
    marie, grace = signed_in("marie"), signed_in("grace")

    marie_sees = {document["name"] for document in marie.get("/v1/datasets").json()["docs"]}
    grace_sees = {document["name"] for document in grace.get("/v1/datasets").json()["docs"]}

    assert marie_sees == {"iris-measurements"}
    assert grace_sees == {"iris-measurements", "pump-sensor-readings", "support-tickets"}


def test_protected_production_alias_is_moved_by_admins_only(demo, demo_admin):
    marie = signed_in("marie")
    classifier = by_name(demo_content(demo_admin)["models"])["iris-classifier"]
    url = f"/v1/models/{classifier['_id']}/aliases/production"

    assert error_of(marie.put(url, {"version": 1}, format="json")) == (403, "restricted_access_modify")
    assert demo_admin.put(url, {"version": 1}, format="json").status_code == 200


# ------------------------------------------------------------------ POST: fill an empty demo tenant


@pytest.fixture
def empty_demo() -> Tenant:
    """A demo tenant with its admin and nothing else (its items deleted, say)."""
    return tenant_services.create_tenant(
        SYSTEM, tenant_id=DEMO_TENANT, admin_username="admin", admin_password=DEMO_PASSWORD
    )


def test_post_fills_an_empty_demo_tenant_once(empty_demo):
    demo_admin = signed_in("admin")

    first = demo_admin.post("/v1/demo")
    again = demo_admin.post("/v1/demo")

    assert first.status_code == 201, first.content
    assert again.status_code == 200, again.content
    assert again.json() == first.json()
    assert len(first.json()["models"]) == 3
    with tenancy.using_tenant(empty_demo):
        assert Item.objects.count() == len(content.ITEMS)
        assert User.objects.count() == 1 + len(content.USERS)
    assert signed_in("grace").get("/v1/models").status_code == 200


def test_post_keeps_the_demo_users_who_exist_already(empty_demo):
    with tenancy.using_tenant(empty_demo):
        admin = User.objects.get(username="admin")
        tenant_services.create_user(Caller(user=admin), username="grace", password="grace's own passphrase", email=None)
    demo_admin = signed_in("admin")

    assert demo_admin.post("/v1/demo").status_code == 201
    assert signed_in("grace", "grace's own passphrase").get("/v1/models").status_code == 200


# ------------------------------------------------------------------ DELETE: reset


def test_delete_brings_the_demo_tenant_back_to_its_sample_content(demo, demo_admin):
    before = demo_content(demo_admin)
    assert demo_admin.post("/v1/models", {"name": "scratch"}, format="json").status_code == 201
    changed = demo_admin.put("/v1/users/admin", {"password": "a visitor's new password"}, format="json")
    assert changed.status_code == 200, changed.content
    visitor = signed_in("admin", "a visitor's new password")

    response = visitor.delete("/v1/demo")

    assert response.status_code == 200, response.content
    assert response.json() == {"ok": True}
    assert error_of(visitor.get("/v1/models")) == (401, "unauthorized")  # the old tenant's tokens are dead
    after = demo_content(signed_in("admin"))
    for kind in ("datasets", "models", "algorithms"):
        assert sorted(by_name(after[kind])) == sorted(by_name(before[kind]))
    tenant = Tenant.objects.get(pk=DEMO_TENANT)
    assert tenant.uid != demo.uid
    expected_blobs = {version["sha256"] for kind in ("datasets", "models", "algorithms") for item in after[kind]
                      for version in item["versions"]}  # fmt: skip
    assert {key.rsplit("/", 1)[-1] for key in stored_keys(DEMO_TENANT)} == expected_blobs
    with tenancy.using_tenant(tenant):
        assert AuditEntry.objects.filter(action="reset", resource="tenant", actor="admin").count() == 1


def test_a_reset_leaves_other_tenants_alone(demo, acme, admin):
    model = admin.post("/v1/models", {"name": "keeps"}, format="json").json()

    assert signed_in("admin").delete("/v1/demo").status_code == 200

    assert admin.get(f"/v1/models/{model['_id']}").status_code == 200
    assert Tenant.objects.filter(pk="acme").exists()
