"""/healthz and /readyz: liveness, and readiness of the catalog, a tenant database and storage."""

from __future__ import annotations

from django.test import override_settings

from tenants_app import services


def test_healthz_answers_without_authentication(anonymous):
    response = anonymous.get("/healthz")

    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_readyz_is_ready_when_every_part_answers(anonymous):
    services.ensure_default_tenant()

    response = anonymous.get("/readyz")

    assert response.status_code == 200
    assert response.json() == {
        "status": "ok",
        "checks": {"catalog": "ok", "tenant_database": "ok", "storage": "ok"},
    }


def test_readyz_names_unreachable_storage_without_revealing_where_it_is(anonymous, tmp_path):
    services.ensure_default_tenant()
    missing = tmp_path / "gone"
    blobs = {"BACKEND": "django.core.files.storage.FileSystemStorage", "OPTIONS": {"location": str(missing)}}

    from django.conf import settings

    with override_settings(STORAGES={**settings.STORAGES, "blobs": blobs}):
        response = anonymous.get("/readyz")

    assert response.status_code == 503
    body = response.json()
    assert body["failing"] == ["storage"]
    assert body["checks"]["storage"] == "unavailable"
    assert str(missing) not in response.content.decode()


def test_readyz_names_a_missing_tenant_database(anonymous):
    tenant, _ = services.ensure_default_tenant()
    from tenants_app import databases

    databases.drop(tenant.database)

    response = anonymous.get("/readyz")

    assert response.status_code == 503
    assert response.json()["failing"] == ["tenant_database"]


def test_readyz_reaches_the_s3_bucket(anonymous, storage_backend):
    services.ensure_default_tenant()

    response = anonymous.get("/readyz")

    assert response.json()["checks"]["storage"] == "ok"


def test_readyz_reports_an_s3_bucket_that_does_not_exist(anonymous, storage_backend):
    services.ensure_default_tenant()
    from django.conf import settings

    if storage_backend != "s3":
        return
    blobs = settings.STORAGES["blobs"]
    other = {**blobs, "OPTIONS": {**blobs["OPTIONS"], "bucket_name": "no-such-bucket"}}
    with override_settings(STORAGES={**settings.STORAGES, "blobs": other}):
        response = anonymous.get("/readyz")

    assert response.status_code == 503
    assert response.json()["failing"] == ["storage"]
