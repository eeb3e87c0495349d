"""Per-request tenant context: empty when a request starts, reset when it ends."""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from tenants_app.context import activate, current_tenant, reset


class TenantContextMiddleware:
    """Guarantees that no tenant leaks from one request to the next on a reused worker thread."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        token = activate(None)
        try:
            return self.get_response(request)
        finally:
            tenant = current_tenant()
            request.registry_tenant = tenant.id if tenant is not None else None  # for the request log
            reset(token)
