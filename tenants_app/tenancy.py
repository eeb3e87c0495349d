"""Resolving a tenant from the catalog and making it the current one."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from django.conf import settings

from framework.lookups import one_or_none
from tenants_app import databases
from tenants_app.context import ActiveTenant, activate, tenant_context
from tenants_app.models import Tenant


def find_tenant(tenant_id: object, uid: object = None) -> Tenant | None:
    """The tenant with this id (and, when given, this incarnation ``uid``), or None.

    The catalog is asked every time, so a tenant deleted by another worker stops resolving at once.
    """
    if not isinstance(tenant_id, str) or not tenant_id:
        return None
    tenant = one_or_none(Tenant.objects.filter(pk=tenant_id))
    if tenant is None or (uid is not None and tenant.uid != uid):
        return None
    return tenant


MAX_OFFERED_TENANTS = 1000  # as many as the original's sign-in list held


def offered_tenant_ids() -> list[str]:
    """The tenant ids a sign-in page may offer: none unless the operator enabled SIGNIN_TENANT_LIST."""
    if not settings.SIGNIN_TENANT_LIST:
        return []
    return list(Tenant.objects.order_by("id").values_list("id", flat=True)[:MAX_OFFERED_TENANTS])


def active(tenant: Tenant) -> ActiveTenant:
    """Register the tenant's database alias in this process and describe it for the context."""
    return ActiveTenant(id=tenant.id, uid=tenant.uid, alias=databases.register(tenant.database))


def enter(tenant: Tenant) -> ActiveTenant:
    """Make ``tenant`` current for the rest of the request (the middleware resets it)."""
    current = active(tenant)
    activate(current)
    return current


@contextmanager
def using_tenant(tenant: Tenant) -> Iterator[ActiveTenant]:
    """Run a block (a command, a test, a service step) inside one tenant's database."""
    with tenant_context(active(tenant)) as current:
        yield current
