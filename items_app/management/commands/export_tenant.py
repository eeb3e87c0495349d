"""Back up one tenant: its database rows and its files, with SHA-256 digests, in one tar archive."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from items_app.archives import export_tenant
from tenants_app.models import Tenant


class Command(BaseCommand):
    help = "Export a tenant (rows + files + manifest of digests) to a tar archive."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("tenant", help="the tenant id")
        parser.add_argument("archive", help="the tar file to write")

    def handle(self, *args: Any, tenant: str, archive: str, **options: Any) -> None:
        found = Tenant.objects.filter(pk=tenant).first()
        if found is None:
            raise CommandError(f"no tenant {tenant!r}")
        manifest = export_tenant(found, Path(archive))
        self.stdout.write(f"exported {tenant} to {archive}: {len(manifest['blobs'])} file(s)")
