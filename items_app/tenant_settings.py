"""The tenant's own settings (``/v1/settings``, ``/manage/settings/``): read by anyone signed in, changed by
its admins, kept in the tenant's database as one row (none until an admin first changes them)."""

from __future__ import annotations

from typing import Any

from django.utils import timezone

from framework.api.serializers import iso
from framework.errors import Forbidden
from items_app.models import TenantSettings
from tenants_app import audit
from tenants_app.audit import Caller
from tenants_app.transactions import tenant_atomic

FIELDS = ("refuse_dangerous_uploads",)


def current() -> TenantSettings:
    """The settings: the stored row, or the defaults."""
    return TenantSettings.objects.filter(pk=1).first() or TenantSettings(pk=1)


def change(caller: Caller, values: dict[str, Any]) -> TenantSettings:
    """Set the given settings (tenant admins only); the others keep their values."""
    if not caller.is_admin:
        raise Forbidden("Only tenant admins change the tenant's settings.", action="modify")
    changed = {name: values[name] for name in FIELDS if name in values}
    with tenant_atomic():
        row = TenantSettings.objects.select_for_update().filter(pk=1).first() or TenantSettings(pk=1)
        for name, value in changed.items():
            setattr(row, name, value)
        row.lastmod = timezone.now()
        row.by = caller.username or ""
        row.save()
    audit.record(caller, action="settings", resource="settings", target="", details=changed)
    return row


def settings_document(row: TenantSettings) -> dict[str, Any]:
    return {
        "refuse_dangerous_uploads": row.refuse_dangerous_uploads,
        "lastmod": iso(row.lastmod) if row.by else None,
        "by": row.by or None,
    }
