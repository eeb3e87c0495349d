"""Read what stored files say about themselves (``items_app.facts``) for versions uploaded before uploads
were inspected, or again for all of them (``--all``, after the readers learnt more)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from framework.files import storage
from items_app.facts import inspect_versions
from tenants_app import tenancy
from tenants_app.models import Tenant


class Command(BaseCommand):
    help = "Inspect the files of stored versions: format, facts and pickle safety (never inspected ones by default)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--tenant", help="only this tenant (default: every tenant)")
        which = parser.add_mutually_exclusive_group()
        which.add_argument("--missing", action="store_true", help="versions never inspected (the default)")
        which.add_argument("--all", action="store_true", help="every version, inspected again")

    def handle(self, *args: Any, tenant: str | None, all: bool, **options: Any) -> None:
        tenants = Tenant.objects.order_by("id")
        if tenant is not None:
            tenants = tenants.filter(pk=tenant)
            if not tenants.exists():
                raise CommandError(f"--tenant: no tenant {tenant!r}")
        total = 0
        for row in tenants:
            with tenancy.using_tenant(row), storage.object_store():
                filled = inspect_versions(row.id, only_missing=not all)
            formats = ", ".join(f"{name} {count}" for name, count in sorted(filled.formats.items())) or "none"
            self.stdout.write(
                f"{row.id}: {filled.versions} version(s) of {filled.blobs} file(s) inspected ({formats}); "
                f"{filled.warned} suspicious or dangerous"
            )
            total += filled.versions
        self.stdout.write(f"inspected {total} version(s)")
