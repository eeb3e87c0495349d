"""export_tenant / import_tenant: a round trip keeps rows and files; a tampered archive changes nothing."""

from __future__ import annotations

import hashlib
import io
import json
import tarfile
from io import StringIO
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connections

from framework.files import storage
from items_app.models import Item, ItemCount, Version
from tenants_app import databases, tenancy
from tenants_app.models import Tenant, User
from testing.helpers import PASSWORD
from testing.postgres import only_on_postgres

CONTENT = b"weights " * 50_000


@pytest.fixture
def acme_with_data(storage_backend, acme):
    """acme with a shared model and one uploaded version, on local disk and on S3."""
    owner = acme.client("reggie")
    model = owner.post(
        "/v1/models",
        {"name": "resnet", "tags": ["vision"], "metadata": [{"name": "accuracy", "value": 0.93}], "users": ["olive"]},
        format="json",
    ).json()["_id"]
    uploaded = owner.post(
        f"/v1/models/{model}/versions", {"file": SimpleUploadedFile("resnet.onnx", CONTENT)}, format="multipart"
    )
    assert uploaded.status_code == 201, uploaded.content
    return acme, model


def test_an_exported_tenant_is_restored_under_another_id_with_its_rows_and_files(acme_with_data, tmp_path, anonymous):
    _, model = acme_with_data
    archive = tmp_path / "acme.tar"

    call_command("export_tenant", "acme", str(archive), stdout=StringIO())
    call_command("import_tenant", str(archive), "--as", "acme-restored", stdout=StringIO())

    restored = Tenant.objects.get(pk="acme-restored")
    with tenancy.using_tenant(restored):
        assert Item.objects.get(pk=model).name == "resnet"
        assert list(ItemCount.objects.values_list("kind", "visibility", "items")) == [("model", "private", 1)]
        assert Version.objects.get(item_id=model).original == "resnet.onnx"
        assert set(User.objects.values_list("username", flat=True)) == {"ada", "reggie", "olive"}
    sha256 = hashlib.sha256(CONTENT).hexdigest()
    assert {key for key, _ in storage.keys("acme-restored")} == {f"acme-restored/{sha256}"}
    token = anonymous.post(
        "/v1/login", {"tenant": "acme-restored", "username": "reggie", "password": PASSWORD}, format="json"
    ).json()["token"]
    download = anonymous.get(f"/v1/models/{model}/versions/1", HTTP_AUTHORIZATION=token)
    assert b"".join(download.streaming_content) == CONTENT


def test_the_manifest_lists_every_file_with_its_digest(acme_with_data, tmp_path):
    archive = tmp_path / "acme.tar"

    call_command("export_tenant", "acme", str(archive), stdout=StringIO())

    with tarfile.open(archive) as opened:
        manifest = json.loads(opened.extractfile("manifest.json").read())
        names = opened.getnames()
    sha256 = hashlib.sha256(CONTENT).hexdigest()
    assert manifest["tenant"]["_id"] == "acme"
    assert manifest["blobs"] == [{"sha256": sha256, "size": len(CONTENT)}]
    assert f"blobs/{sha256}" in names
    assert "data.json" in names


def _databases_named(prefix: str) -> list[str]:
    catalog = connections["default"]
    if catalog.vendor == "sqlite":
        return [path.name for path in (Path(catalog.settings_dict["NAME"]).parent / "tenants").glob(f"{prefix}*")]
    with catalog.cursor() as cursor:
        cursor.execute("SELECT datname FROM pg_database WHERE datname LIKE %s", [f"{prefix}%"])
        return [row[0] for row in cursor.fetchall()]


def _tamper(archive, replace_blob: bytes) -> None:
    """Rewrite the archive with the blob's bytes changed but its name and manifest kept."""
    with tarfile.open(archive) as source:
        members = [(member, source.extractfile(member).read()) for member in source.getmembers()]
    with tarfile.open(archive, "w") as target:
        for member, content in members:
            if member.name.startswith("blobs/"):
                content = replace_blob
                member.size = len(content)
            target.addfile(member, io.BytesIO(content))


def test_an_archive_whose_file_does_not_match_its_digest_is_refused_and_leaves_nothing(acme_with_data, tmp_path):
    archive = tmp_path / "acme.tar"
    call_command("export_tenant", "acme", str(archive), stdout=StringIO())
    _tamper(archive, b"not the weights")

    with pytest.raises(CommandError, match="does not match its SHA-256"):
        call_command("import_tenant", str(archive), "--as", "acme-copy", stdout=StringIO())

    assert not Tenant.objects.filter(pk="acme-copy").exists()
    assert storage.keys("acme-copy") == []
    assert _databases_named("acme-copy") == []


@only_on_postgres
def test_an_import_leaves_no_session_on_the_template_it_copies(acme_with_data, tmp_path, monkeypatch):
    # The import reads the template's migrations before it copies the template into the new tenant's database;
    # PostgreSQL copies a database no session is connected to.
    archive = tmp_path / "acme.tar"
    call_command("export_tenant", "acme", str(archive), stdout=StringIO())
    sessions_when_copied = []
    copy = databases.create_from_template

    def counting_copy(database: str) -> None:
        sessions_when_copied.append(_sessions_on(databases.template_name()))
        copy(database)

    monkeypatch.setattr(databases, "create_from_template", counting_copy)

    call_command("import_tenant", str(archive), "--as", "acme-restored", stdout=StringIO())

    assert sessions_when_copied == [0]


def _sessions_on(database: str) -> int:
    with connections["default"].cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = %s", [database])
        return cursor.fetchone()[0]


def test_an_import_over_an_existing_tenant_is_refused(acme_with_data, tmp_path):
    archive = tmp_path / "acme.tar"
    call_command("export_tenant", "acme", str(archive), stdout=StringIO())

    with pytest.raises(CommandError, match="already exists"):
        call_command("import_tenant", str(archive), stdout=StringIO())


def test_a_file_that_is_not_an_archive_is_refused(tmp_path):
    bogus = tmp_path / "bogus.tar"
    with tarfile.open(bogus, "w") as archive:
        info = tarfile.TarInfo("readme.txt")
        info.size = 2
        archive.addfile(info, io.BytesIO(b"hi"))

    with pytest.raises(CommandError, match="not a tenant archive"):
        call_command("import_tenant", str(bogus), stdout=StringIO())
