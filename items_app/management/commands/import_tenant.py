"""Restore a tenant from an export_tenant archive, verifying every file's SHA-256."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from items_app.archives import BackupError, import_tenant


class Command(BaseCommand):
    help = "Import a tenant archive (all or nothing); --as restores it under another tenant id."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("archive", help="a tar file written by export_tenant")
        parser.add_argument("--as", dest="tenant_id", default=None, help="restore under this tenant id")

    def handle(self, *args: Any, archive: str, tenant_id: str | None, **options: Any) -> None:
        if not Path(archive).is_file():
            raise CommandError(f"no archive at {archive}")
        try:
            tenant = import_tenant(Path(archive), tenant_id)
        except BackupError as error:
            raise CommandError(str(error)) from None
        self.stdout.write(f"imported tenant {tenant.id} from {archive}")
