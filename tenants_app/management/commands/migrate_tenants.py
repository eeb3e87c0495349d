"""Apply pending migrations to the catalog, the tenant template and every tenant database (upgrades)."""

from __future__ import annotations

from typing import Any

from django.core.management import call_command
from django.core.management.base import BaseCommand

from tenants_app import databases
from tenants_app.services import migrate_all_tenants


class Command(BaseCommand):
    help = "Migrate the catalog database, the tenant template and every tenant database."

    def handle(self, *args: Any, **options: Any) -> None:
        databases.migrate_alias("default")
        call_command("createcachetable", database="default", verbosity=0)
        migrated = migrate_all_tenants()
        self.stdout.write(f"catalog, template and {len(migrated)} tenant database(s) are up to date")
