"""Prepare an installation for serving (``make run`` calls it before starting gunicorn).

First checks that the registry can start as configured (``tenants_app.preflight``: the database server, the
blob storage; the PostgreSQL catalog database is created when missing): a problem ends the command in a line
or two naming the setting and the fix, with exit status 1 and no traceback. Then migrates the catalog, the
template and every tenant, creates the default tenant and its admin on first start, and prints the generated
secrets once, at that first start; then runs the steps other apps add (``tenants_app.startup``: the demo
tenant with ``DEMO=true``). Safe to run any number of times.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand

from tenants_app import preflight, startup
from tenants_app.services import ensure_default_tenant


class Command(BaseCommand):
    help = "Migrate all databases and create the default tenant on first start (idempotent)."

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            for line in preflight.run_checks():
                self.stdout.write(line)
        except preflight.StartupProblem as exc:
            raise SystemExit(f"configuration error: {exc}") from None  # as manage.py prints a ConfigurationError
        call_command("migrate_tenants", verbosity=0, stdout=self.stdout)
        tenant, created = ensure_default_tenant()
        if created:
            self.stdout.write(self.banner(tenant.id))
        else:
            self.stdout.write(f"default tenant {tenant.id!r} ready (data in {settings.DATA_DIR})")
        for line in startup.run_steps():  # what other apps prepare (the demo tenant)
            self.stdout.write(line)

    @staticmethod
    def banner(tenant_id: str) -> str:
        secrets = settings.SECRETS
        lines = [
            "",
            "=" * 72,
            "First start: the default tenant and its admin were created.",
            f"  tenant          {tenant_id}",
            f"  admin username  {settings.DEFAULT_TENANT_ADMIN_USERNAME}",
        ]
        if secrets.is_generated("DEFAULT_TENANT_ADMIN_TEMPORARY_PASSWORD"):
            lines.append(f"  admin password  {settings.DEFAULT_TENANT_ADMIN_TEMPORARY_PASSWORD}   (temporary)")
        if secrets.is_generated("API_TOKEN"):
            lines.append(f"  API_TOKEN       {settings.API_TOKEN}   (Authorization header of /v1/tenants)")
        if secrets.is_generated("JWT_SECRET"):
            lines.append(f"  JWT_SECRET      generated and kept in {secrets.path} (never printed)")
        lines += [
            "Generated values are kept in that file and reused on every start.",
            "The admin's first password is temporary: the first sign-in (the page, or POST /v1/login",
            'with "new_password") replaces it with one of your choice.',
            "=" * 72,
            "",
        ]
        return "\n".join(lines)
