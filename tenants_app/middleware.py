"""Per-request tenant context: empty when a request starts, reset when it ends."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from django.contrib.auth.models import AnonymousUser
from django.http import HttpRequest, HttpResponse

from framework.api.errors import is_api_path
from tenants_app import tenancy
from tenants_app.context import activate, current_tenant, reset

if TYPE_CHECKING:
    from tenants_app.http import LoggedRequest

SESSION_TENANT = "registry_tenant"
SESSION_TENANT_UID = "registry_tenant_uid"


class TenantContextMiddleware:
    """Guarantees that no tenant leaks from one request to the next on a reused worker thread."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: LoggedRequest) -> HttpResponse:
        token = activate(None)
        try:
            return self.get_response(request)
        finally:
            # For the request log, read while the tenant (and so the user's database) is still active.
            tenant = current_tenant()
            request.registry_tenant = tenant.id if tenant is not None else None
            request.registry_user = _username(request) if tenant is not None else None
            reset(token)


def _username(request: HttpRequest) -> str | None:
    user = getattr(request, "user", None)
    return user.username if user is not None and user.is_authenticated else None


class SessionTenantMiddleware:
    """Pages and admin: the signed session names the tenant; enter it before anything loads the user.

    API requests (``/v1/``, ``/login``) never use the session: they authenticate with a JWT only, so their
    ``request.user`` starts anonymous. A session whose tenant was deleted (or re-created) is flushed.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if is_api_path(request):
            request.user = AnonymousUser()
            return self.get_response(request)
        tenant_id = request.session.get(SESSION_TENANT)
        if tenant_id is not None:
            tenant = tenancy.find_tenant(tenant_id, request.session.get(SESSION_TENANT_UID))
            if tenant is None:
                request.session.flush()
                request.user = AnonymousUser()
            else:
                tenancy.enter(tenant)
        else:
            request.user = AnonymousUser()
        return self.get_response(request)
