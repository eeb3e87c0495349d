"""Import one tenant of the original (Node/MongoDB) registry from its operators' dump and uploads folder."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from seed_app.dump import DumpError, read_dump
from seed_app.importer import TENANT_FIELDS, ImportRefused, import_plan, new_tenant
from seed_app.plan import plan_import


class Command(BaseCommand):
    help = (
        "Create a tenant from one tenant database of the original registry: a mongodump folder (BSON) or "
        "mongoexport files (extended JSON), plus its uploads folder. All or nothing; --dry-run writes nothing "
        "and prints the same report."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("tenant", help="the id of the tenant to create")
        parser.add_argument("--dump", required=True, type=Path, help="the folder of the tenant database's dump")
        parser.add_argument("--uploads", type=Path, help="the original registry's UPLOAD_PATH folder")
        parser.add_argument("--dry-run", action="store_true", help="print the report, write nothing")
        for name in TENANT_FIELDS:
            parser.add_argument(f"--{name}", default="", help=f"the new tenant's {name}")

    def handle(self, *args: Any, tenant: str, dump: Path, uploads: Path | None, dry_run: bool, **options: Any) -> None:
        if uploads is not None and not uploads.is_dir():
            raise CommandError(f"--uploads {uploads}: not a folder")
        try:
            new = new_tenant(tenant, {name: options[name] for name in TENANT_FIELDS})
            plan = plan_import(read_dump(dump), uploads)
        except (DumpError, ImportRefused) as error:
            raise CommandError(f"nothing imported: {error}") from None
        for line in plan.report.rendered():
            self.stdout.write(line)
        if dry_run:
            self.stdout.write(f"dry run: tenant {tenant!r} was not created, nothing was written")
            return
        try:
            import_plan(plan, new)
        except ImportRefused as error:
            raise CommandError(f"nothing imported: {error}") from None
        self.stdout.write(f"imported tenant {tenant!r}")
