"""Request types for annotations: what a view may assume of ``request.user`` once sign-in has been checked.

Django and DRF build plain ``HttpRequest`` and ``Request`` objects; these classes are never instantiated. They
tell the type checker what the gates guarantee — a page behind ``items_app.views.common.page`` or
``framework.web.pages.admin_required``, an API view behind DRF's ``IsAuthenticated`` — so that views read
``request.user`` as the tenant's ``User`` instead of ``User | AnonymousUser`` (healthchecks' pattern).
"""

from __future__ import annotations

from django.http import HttpRequest
from rest_framework.request import Request

from tenants_app.models import User


class SignedInRequest(HttpRequest):
    """A page's request whose user has signed in to the tenant."""

    user: User


class SignedInApiRequest(Request):
    """An API request authenticated as a tenant's user (a JWT)."""

    user: User


class LoggedRequest(HttpRequest):
    """A request as ``TenantContextMiddleware`` leaves it for the request log: its tenant and username."""

    registry_tenant: str | None
    registry_user: str | None
