"""Sends catalog models to the ``default`` database and everything else to the current tenant's database."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from tenants_app.context import require_tenant

if TYPE_CHECKING:
    from django.db.models import Model

CATALOG = "default"
# Models that live in the catalog database; every other model lives in each tenant's database.
CATALOG_MODELS = {("tenants_app", "tenant")}
# Django's database cache (login-throttling counters) is shared by every worker through the catalog.
CATALOG_APPS = {"django_cache"}


def is_catalog(app_label: str, model_name: str | None) -> bool:
    return app_label in CATALOG_APPS or (app_label, model_name) in CATALOG_MODELS


class TenantRouter:
    """Routes by model; with no tenant in context a tenant-scoped query raises ``NoTenantSelected``."""

    def _route(self, model: type[Any]) -> str:
        if is_catalog(model._meta.app_label, model._meta.model_name):
            return CATALOG
        return require_tenant().alias

    def db_for_read(self, model: type[Any], **hints: Any) -> str:
        instance: Model | None = hints.get("instance")
        if instance is not None and instance._state.db:
            return instance._state.db
        return self._route(model)

    def db_for_write(self, model: type[Any], **hints: Any) -> str:
        return self.db_for_read(model, **hints)

    def allow_relation(self, obj1: Model, obj2: Model, **hints: Any) -> bool:
        return obj1._state.db == obj2._state.db

    def allow_migrate(self, db: str, app_label: str, model_name: str | None = None, **hints: Any) -> bool:
        if db == CATALOG:
            return is_catalog(app_label, model_name)
        return not is_catalog(app_label, model_name)
