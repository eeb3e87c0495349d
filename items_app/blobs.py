"""Version files are blobs stored once per content; a blob goes when no version uses it any more."""

from __future__ import annotations

from framework.files import storage
from framework.lookups import one_or_none
from items_app.models import Blob, Version
from tenants_app.transactions import tenant_atomic


def release_blob(tenant_id: str, sha256: str) -> None:
    """Remove a blob (file and row) unless a version still uses it; its row's lock keeps an upload of the
    same content from recording a version on it meanwhile."""
    with tenant_atomic():
        blob = one_or_none(Blob.objects.select_for_update().filter(pk=sha256))
        if Version.objects.filter(blob_id=sha256).exists():
            return
        storage.delete(storage.blob_key(tenant_id, sha256))
        if blob is not None:
            blob.delete()
