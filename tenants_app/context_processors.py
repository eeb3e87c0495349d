"""Template context every page gets."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest

from tenants_app.context import current_tenant


def registry(request: HttpRequest) -> dict[str, Any]:
    tenant = current_tenant()
    return {"registry_version": settings.REGISTRY_VERSION, "tenant_id": tenant.id if tenant else None}
