"""Delete every tenant's events older than EVENT_RETENTION_DAYS (or ``--days``): the feed's retention.

Writes already prune on their own (at most once an hour per process and tenant, ``tenants_app.events``);
this is for a deployment that wants it at a time of its choosing, or a tenant nobody writes to.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser
from django.utils import timezone

from tenants_app.events import prune_events
from tenants_app.models import Tenant
from tenants_app.tenancy import using_tenant


class Command(BaseCommand):
    help = "Delete the events older than EVENT_RETENTION_DAYS (or --days) in every tenant database."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--days", type=int, default=None, help="keep this many days instead (at least 0)")

    def handle(self, *args: Any, **options: Any) -> None:
        days = settings.EVENT_RETENTION_DAYS if options["days"] is None else max(0, options["days"])
        older_than = timezone.now() - timedelta(days=days)
        total = 0
        for tenant in Tenant.objects.order_by("id"):
            with using_tenant(tenant):
                deleted = prune_events(older_than)
            total += deleted
            if deleted:
                self.stdout.write(f"{tenant.id}: {deleted} event(s) deleted")
        self.stdout.write(f"{total} event(s) older than {days} day(s) deleted")
