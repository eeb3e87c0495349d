"""The demo tenant at start (``manage.py bootstrap`` with ``DEMO=true``): made and filled once, then announced."""

from __future__ import annotations

from django.conf import settings

from demo_app import content, services


def prepare_demo() -> list[str]:
    """The bootstrap step: nothing without DEMO; the demo tenant made and filled on the first start with it."""
    if not settings.DEMO:
        return []
    tenant, filled = services.ensure_demo_tenant()
    if filled is None:
        return [f"demo tenant {tenant.id!r} ready: its users sign in with DEMO_PASSWORD"]
    return banner(tenant.id, filled)


def banner(tenant_id: str, filled: services.Filled) -> list[str]:
    regular = ", ".join(user.username for user in content.USERS)
    if settings.SECRETS.is_generated("DEMO_PASSWORD"):
        password = f"{settings.DEMO_PASSWORD}   (generated; kept in {settings.SECRETS.path})"
    else:
        password = "as DEMO_PASSWORD says"  # noqa: S105 - names the setting, prints no secret
    return [
        "",
        "=" * 72,
        "DEMO=true: the demo tenant was created and filled with sample content.",
        f"  tenant          {tenant_id}",
        f"  users           {settings.DEFAULT_TENANT_ADMIN_USERNAME} (admin); {regular} (regular)",
        f"  password        {password}",
        f"  content         {filled.items} items, {filled.versions} version files",
        "Every demo user has this password. The demo admin resets the tenant with DELETE /v1/demo.",
        "=" * 72,
        "",
    ]
