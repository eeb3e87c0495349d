"""Find and remove what a hard kill can leave behind: blobs no version uses, stale upload files, and the
storage of tenants that no longer exist; and resumable uploads that expired, with their bytes.

Uploads store the blob before recording its version, and release it on any failure; only a process killed
between the two leaves an orphan. Anything younger than ``--grace`` is left alone, because it may belong
to an upload in progress.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from framework.files import storage
from framework.files.resumable import partial_tenants
from framework.files.resumable import remove_tenant as remove_tenant_partials
from framework.units import parse_duration
from items_app import resumable
from items_app.blobs import release_blob
from items_app.models import Blob, Version
from tenants_app import tenancy
from tenants_app.models import Tenant


class Command(BaseCommand):
    help = "Remove orphaned version blobs, stale temporary uploads and storage of deleted tenants."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--grace", default="1h", help="leave anything younger than this alone (default 1h)")
        parser.add_argument("--dry-run", action="store_true", help="only report what would be removed")

    def handle(self, *args: Any, grace: str, dry_run: bool, **options: Any) -> None:
        cutoff = time.time() - self.seconds(grace)
        removed = 0
        tenants = list(Tenant.objects.order_by("id"))
        for tenant in tenants:
            with tenancy.using_tenant(tenant):
                for sha256 in self.orphans(tenant.id, cutoff):
                    self.stdout.write(f"{tenant.id}: orphaned blob {sha256}")
                    if not dry_run:
                        release_blob(tenant.id, sha256)
                    removed += 1
                for line in resumable.remove_expired(tenant.id, cutoff, dry_run=dry_run):
                    self.stdout.write(f"{tenant.id}: {line}")
                    removed += 1
        known = {tenant.id for tenant in tenants}
        for prefix in storage.tenant_prefixes():
            if prefix not in known:
                self.stdout.write(f"storage of deleted tenant {prefix}")
                if not dry_run:
                    storage.delete_tenant(prefix)
                removed += 1
        for prefix in partial_tenants():
            if prefix not in known:
                self.stdout.write(f"partial uploads of deleted tenant {prefix}")
                if not dry_run:
                    remove_tenant_partials(prefix)
                removed += 1
        removed += self.stale_uploads(cutoff, dry_run)
        verb = "would remove" if dry_run else "removed"
        self.stdout.write(f"{verb} {removed} orphan(s)")

    @staticmethod
    def seconds(grace: str) -> int:
        if grace.strip() in ("0", "0s"):
            return 0
        try:
            return parse_duration(grace)
        except ValueError:
            raise CommandError(f"--grace: expected a duration such as 30m or 1h, got {grace!r}") from None

    @staticmethod
    def orphans(tenant_id: str, cutoff: float) -> set[str]:
        """Blobs (rows or stored keys) older than the cutoff that no version references."""
        used = set(Version.objects.values_list("blob_id", flat=True))
        old_rows = Blob.objects.filter(timestamp__lt=datetime.fromtimestamp(cutoff, tz=UTC))
        candidates = set(old_rows.exclude(sha256__in=used).values_list("sha256", flat=True))
        for key, modified in storage.keys(tenant_id):
            sha256 = key.rsplit("/", 1)[-1]
            if sha256 not in used and modified < cutoff:
                candidates.add(sha256)
        return candidates

    def stale_uploads(self, cutoff: float, dry_run: bool) -> int:
        folder = Path(settings.FILE_UPLOAD_TEMP_DIR)
        stale = [entry for entry in folder.glob("*.upload*") if entry.is_file() and entry.stat().st_mtime < cutoff]
        for entry in stale:
            self.stdout.write(f"stale temporary upload {entry.name}")
            if not dry_run:
                entry.unlink(missing_ok=True)
        return len(stale)
