"""Exporting a tenant to one archive and importing it again: its database rows and its files.

It lives with the item core because the archive holds what every app below it keeps (tenants' users,
vocabulary, audit log) and the files of the item versions, which only the items know.

The archive is a tar file:
- ``manifest.json``: format, registry version, the tenant's catalog fields, the migrations its data was
  written with, and every blob's SHA-256 and size;
- ``data.json``: the tenant database's rows (Django's serialization, as ``dumpdata`` writes it);
- ``blobs/<sha256>``: the version files, streamed from storage.

Import checks the manifest, creates the tenant (database cloned from the template), loads the rows and
stores every blob after verifying its SHA-256 against its name and the manifest. Any failure removes
everything the import created.
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import shutil
import tarfile
import tempfile
from pathlib import Path
from typing import IO, Any

from django.conf import settings
from django.core.management import call_command
from django.db import connections
from django.db.migrations.recorder import MigrationRecorder
from django.utils import timezone

from framework.errors import ServiceError
from framework.files import storage
from framework.files.uploads import ReceivedFile, received_copy
from items_app import generation
from items_app.models import Blob
from tenants_app import audit, databases, services, tenancy
from tenants_app.audit import Caller
from tenants_app.models import TENANT_ID_VALIDATOR, Tenant

logger = logging.getLogger("registry.backup")
FORMAT = "model-registry-tenant/1"
TENANT_FIELDS = ("organization", "address", "email", "phone")
# Unfinished resumable uploads are not exported: their bytes are not in the archive, and they expire anyway.
# Not archived: Django's own tables, partial uploads, and the item counts, which the items table's triggers
# recount as the rows are loaded (``items_app.item_counts``; loading them too would count every item twice).
EXCLUDED = [
    "contenttypes",
    "auth.permission",
    "admin.logentry",
    "items.uploadsession",
    "items.itemcount",
    "items.itemcountchange",
    "items.itemordinal",
    "items.posting",
    "items.postingchange",
]
CHUNK = 1024 * 1024
IMPORTER = Caller(user=None, name="<import>")


class BackupError(Exception):
    """The archive cannot be imported (or the export cannot be written); the message says why."""


def _applied_migrations(alias: str) -> list[str]:
    recorder = MigrationRecorder(connections[alias])
    return sorted(f"{app}.{name}" for app, name in recorder.applied_migrations())


def _add_bytes(archive: tarfile.TarFile, name: str, content: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(content)
    info.mtime = int(timezone.now().timestamp())
    archive.addfile(info, io.BytesIO(content))


def export_tenant(tenant: Tenant, destination: Path) -> dict[str, Any]:
    """Write ``tenant``'s rows and files to ``destination`` (a tar file); returns the manifest."""
    with tenancy.using_tenant(tenant) as current, tempfile.TemporaryDirectory() as scratch:
        rows = Path(scratch) / "data.json"
        call_command(
            "dumpdata",
            database=current.alias,
            exclude=EXCLUDED,
            natural_foreign=True,
            output=str(rows),
            verbosity=0,
        )
        blobs = list(Blob.objects.order_by("sha256").values("sha256", "size"))
        manifest = {
            "format": FORMAT,
            "registry_version": settings.REGISTRY_VERSION,
            "exported_at": timezone.now().isoformat(),
            "tenant": {"_id": tenant.id, **{name: getattr(tenant, name) for name in TENANT_FIELDS}},
            "migrations": _applied_migrations(current.alias),
            "data_sha256": _file_sha256(rows),
            "blobs": blobs,
        }
        partial = destination.with_name(f".{destination.name}.partial")
        with tarfile.open(partial, "w") as archive:
            _add_bytes(archive, "manifest.json", json.dumps(manifest, indent=2).encode())
            archive.add(rows, arcname="data.json")
            for blob in blobs:
                _add_blob(archive, tenant.id, blob["sha256"], blob["size"])
        partial.replace(destination)
    logger.info("exported tenant %s: %d blob(s) to %s", tenant.id, len(blobs), destination)
    return manifest


def _add_blob(archive: tarfile.TarFile, tenant_id: str, sha256: str, size: int) -> None:
    info = tarfile.TarInfo(f"blobs/{sha256}")
    info.size = size
    opened = storage.open_range(storage.blob_key(tenant_id, sha256), 0, size)
    if opened.file is not None:
        try:
            archive.addfile(info, opened.file)
        finally:
            opened.file.close()
        return
    assert opened.chunks is not None
    archive.addfile(info, _ChunkReader(opened.chunks))


class _ChunkReader(io.RawIOBase):
    """A file-like view of an iterator of byte chunks (an S3 body), for tarfile."""

    def __init__(self, chunks: Any) -> None:
        self.chunks = iter(chunks)
        self.buffer = b""

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        while size < 0 or len(self.buffer) < size:
            try:
                self.buffer += next(self.chunks)
            except StopIteration:
                break
        if size < 0:
            data, self.buffer = self.buffer, b""
        else:
            data, self.buffer = self.buffer[:size], self.buffer[size:]
        return data


def _file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def read_manifest(archive: tarfile.TarFile) -> dict[str, Any]:
    try:
        member = archive.getmember("manifest.json")
        manifest: dict[str, Any] = json.loads(_extract(archive, member).read())
    except (KeyError, ValueError) as exc:
        raise BackupError(f"not a tenant archive: {exc}") from None
    if manifest.get("format") != FORMAT:
        raise BackupError(f"unknown archive format {manifest.get('format')!r}, expected {FORMAT!r}")
    return manifest


def _extract(archive: tarfile.TarFile, member: tarfile.TarInfo) -> IO[bytes]:
    handle = archive.extractfile(member)
    if handle is None:
        raise BackupError(f"{member.name} is not a regular file")
    return handle


def import_tenant(source: Path, tenant_id: str | None = None) -> Tenant:
    """Create a tenant from an archive (under its own id, or ``tenant_id``); all or nothing."""
    with tarfile.open(source, "r") as archive:
        manifest = read_manifest(archive)
        target_id = tenant_id or manifest["tenant"]["_id"]
        _check_importable(manifest, target_id)
        tenant = Tenant(id=target_id, **{name: manifest["tenant"].get(name, "") for name in TENANT_FIELDS})
        tenant.database = services.database_name_for(tenant)
        try:
            with services.provisioned(tenant) as current:
                with generation.changing():  # a new incarnation: nothing is cached for it yet, but say so
                    _load_rows(archive, manifest, current.alias)
                _store_blobs(archive, manifest, tenant.id)
                details = {"from": manifest["tenant"]["_id"], "exported_at": manifest["exported_at"]}
                audit.record(IMPORTER, action="import", resource="tenant", target=tenant.id, details=details)
        except ServiceError as error:  # the id was taken meanwhile
            raise BackupError(str(error.details)) from None
    logger.info("imported tenant %s from %s (%d blob(s))", tenant.id, source, len(manifest["blobs"]))
    return tenant


def _check_importable(manifest: dict[str, Any], target_id: str) -> None:
    try:
        TENANT_ID_VALIDATOR(target_id)
    except Exception:
        raise BackupError(f"{target_id!r} is not a valid tenant id") from None
    if Tenant.objects.filter(pk=target_id).exists():
        raise BackupError(f"a tenant {target_id!r} already exists; import under another id with --as")
    with databases.briefly(databases.ensure_template()) as template:
        known = set(_applied_migrations(template))
    unknown = sorted(set(manifest.get("migrations", [])) - known)
    if unknown:
        raise BackupError(f"the archive comes from a newer registry (unknown migrations: {', '.join(unknown[:5])})")


def _load_rows(archive: tarfile.TarFile, manifest: dict[str, Any], alias: str) -> None:
    with tempfile.TemporaryDirectory() as scratch:
        rows = Path(scratch) / "data.json"
        with _extract(archive, archive.getmember("data.json")) as source, open(rows, "wb") as target:
            shutil.copyfileobj(source, target, CHUNK)
        if _file_sha256(rows) != manifest.get("data_sha256"):
            raise BackupError("data.json does not match the SHA-256 in the manifest")
        call_command("loaddata", str(rows), database=alias, verbosity=0)


def _store_blobs(archive: tarfile.TarFile, manifest: dict[str, Any], tenant_id: str) -> None:
    expected = {blob["sha256"]: blob["size"] for blob in manifest["blobs"]}
    recorded = set(Blob.objects.values_list("sha256", flat=True))
    if recorded != set(expected):
        raise BackupError("the manifest's blobs and the database's blobs differ")
    for sha256, size in expected.items():
        try:
            member = archive.getmember(f"blobs/{sha256}")
        except KeyError:
            raise BackupError(f"blob {sha256} is missing from the archive") from None
        received = _verified_copy(_extract(archive, member), sha256, size)
        try:
            storage.store(storage.blob_key(tenant_id, sha256), received)
        finally:
            received.close()


def _verified_copy(source: IO[bytes], sha256: str, size: int) -> ReceivedFile:
    """Copy one archived blob to a temporary file, refusing it unless its SHA-256 and size match."""
    received = received_copy(source, f"{sha256}.blob")
    if received.sha256 != sha256 or received.size != size:
        received.close()
        raise BackupError(f"blob {sha256} is corrupt: its content does not match its SHA-256")
    return received
