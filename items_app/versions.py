"""Write workflows for versions (an item's uploaded files): record one, find one, delete one, log a download.

The bytes are stored once per tenant and content (``framework.files.storage``, keyed by SHA-256); a
version is the row that points at them. No version row without its file, no file without its row,
whatever fails in between.
"""

from __future__ import annotations

from django.db import IntegrityError
from django.db.models import F

from framework.errors import Conflict, DigestMismatch, NotFound, UploadFailed
from framework.files import storage
from framework.files.uploads import ReceivedFile
from items_app import generation
from items_app.blobs import release_blob
from items_app.models import Blob, Item, Version
from items_app.services import ensure_editable, touch
from tenants_app import audit
from tenants_app.audit import Caller
from tenants_app.context import require_tenant


class _BlobVanished(Exception):
    """A concurrent deletion removed the blob between storing it and locking it: store it again."""


def add_version(
    caller: Caller,
    item: Item,
    received: ReceivedFile,
    *,
    original: str,
    description: str = "",
    expected_sha256: str | None = None,
) -> Version:
    """Record an uploaded file as the item's next version, storing its bytes once per tenant.

    The blob is written first, then the row is recorded in a transaction that holds the blob's lock; any
    failure on the way releases the blob again unless another version uses it.
    """
    ensure_editable(caller, item, "create")
    sha256 = received.sha256
    tenant_id = require_tenant().id
    try:
        if expected_sha256 is not None and expected_sha256 != sha256:
            raise DigestMismatch(f"file: its SHA-256 is {sha256}, the client expected {expected_sha256}")
        if Version.objects.filter(item=item, original=original).exists():
            raise Conflict(f"original: this {item.kind} already has a version named {original!r}")
        version = _store_and_record(caller, item, received, tenant_id, original, description)
    except IntegrityError:
        release_blob(tenant_id, sha256)
        raise Conflict(f"original: this {item.kind} already has a version named {original!r}") from None
    except BaseException:
        release_blob(tenant_id, sha256)
        raise
    finally:
        received.close()
    return version


def _store_and_record(
    caller: Caller, item: Item, received: ReceivedFile, tenant_id: str, original: str, description: str
) -> Version:
    key = storage.blob_key(tenant_id, received.sha256)
    for _attempt in range(3):
        if not storage.exists(key):
            storage.store(key, received)
        try:
            with generation.changing("versions", "lastmod"):
                return _record(caller, item, received, key, original, description)
        except _BlobVanished:
            continue
    raise UploadFailed("file: storage lost the file while it was recorded; try again")


def _record(caller: Caller, item: Item, received: ReceivedFile, key: str, original: str, description: str) -> Version:
    blob, _ = Blob.objects.select_for_update().get_or_create(sha256=received.sha256, defaults={"size": received.size})
    if not storage.exists(key):
        raise _BlobVanished
    touch(item, last_ordinal=F("last_ordinal") + 1)
    ordinal = Item.objects.filter(pk=item.pk).values_list("last_ordinal", flat=True).get()
    version = Version.objects.create(
        item=item,
        ordinal=ordinal,
        original=original,
        size=received.size,
        blob=blob,
        content_type=(received.content_type or "application/octet-stream")[:255],
        description=description,
        owner=caller.user,
    )
    details = {"ordinal": ordinal, "original": original, "size": received.size, "sha256": received.sha256}
    audit.record(caller, action="upload", resource=item.kind, target=item.pk, details=details)
    return version


def find_version(item: Item, ref: str) -> Version:
    """A version by ordinal (all digits) or else by original file name."""
    versions = Version.objects.filter(item=item).select_related("owner")
    version = versions.filter(ordinal=int(ref)).first() if ref.isdigit() else versions.filter(original=ref).first()
    if version is None:
        raise NotFound(f"versions: no version {ref!r}")
    return version


def delete_version(caller: Caller, item: Item, version: Version) -> Version:
    ensure_editable(caller, item, "delete")
    sha256 = version.blob_id
    version_id = version.pk
    with generation.changing("versions", "lastmod"):
        version.delete()
        touch(item)
        details = {"ordinal": version.ordinal, "original": version.original, "size": version.size, "sha256": sha256}
        audit.record(caller, action="delete_version", resource=item.kind, target=item.pk, details=details)
    version.pk = version_id
    release_blob(require_tenant().id, sha256)
    return version


def record_download(caller: Caller, item: Item, version: Version, byte_range: str | None) -> None:
    details = {
        "ordinal": version.ordinal,
        "original": version.original,
        "size": version.size,
        "sha256": version.blob_id,
    }
    if byte_range:
        details["range"] = byte_range
    audit.record(caller, action="download", resource=item.kind, target=item.pk, details=details)
