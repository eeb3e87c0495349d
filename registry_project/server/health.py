"""Liveness and readiness for load balancers and orchestrators (outside /v1/, no authentication), so they
restart a process that stopped answering and send no traffic to one whose database or storage is gone
(docker-compose.yml's health check asks /readyz).

``/healthz`` says the process answers. ``/readyz`` checks what a request needs: the catalog database, a
tenant database (the default tenant's) and the blob storage; it answers 503 naming the failing part.
Neither says more than "ok" or "unavailable" about a part: no hosts, paths or error texts.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.http import HttpRequest, JsonResponse
from django.views.decorators.http import require_GET

from framework.files import storage
from tenants_app import tenancy
from tenants_app.models import Tenant, User

logger = logging.getLogger("registry.health")


def _catalog() -> None:
    Tenant.objects.exists()


def _tenant_database() -> None:
    tenant = Tenant.objects.filter(pk=settings.DEFAULT_TENANT).first() or Tenant.objects.order_by("id").first()
    if tenant is None:
        raise RuntimeError("no tenant exists yet (run manage.py bootstrap)")
    with tenancy.using_tenant(tenant):
        User.objects.exists()


def _storage() -> None:
    storage.check_reachable()


CHECKS: dict[str, Callable[[], None]] = {"catalog": _catalog, "tenant_database": _tenant_database, "storage": _storage}


@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"status": "ok"})


@require_GET
def readyz(request: HttpRequest) -> JsonResponse:
    results: dict[str, str] = {}
    for name, check in CHECKS.items():
        try:
            check()
            results[name] = "ok"
        except Exception:
            logger.exception("readiness check %s failed", name)
            results[name] = "unavailable"
    failing = [name for name, result in results.items() if result != "ok"]
    body: dict[str, Any] = {"status": "unavailable" if failing else "ok", "checks": results}
    if failing:
        body["failing"] = failing
    return JsonResponse(body, status=503 if failing else 200)
