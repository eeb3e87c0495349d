"""Django admin for the tenant's users and audit log. The catalog (``Tenant``) is not here: it is not a tenant's.

Users are browsed and deleted here (``delete_user``: the last admin stays, owners of items stay); they are
created and changed on /manage/users/, where the password rules and the services' errors are shown next to
the fields. Password hashes are never displayed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.contrib import admin
from django.contrib.auth.models import Group
from django.http import HttpRequest

from framework.web.admin import BrowseAndDeleteAdmin
from tenants_app import keys, services
from tenants_app.audit import Caller
from tenants_app.models import ApiKey, AuditEntry, User

if TYPE_CHECKING:
    # django-stubs makes ModelAdmin generic in its model; Django's cannot be subscripted at run time.
    _AuditEntryAdmin = admin.ModelAdmin[AuditEntry]
else:
    _AuditEntryAdmin = admin.ModelAdmin

# Tenant users have roles, not Django groups or permissions.
if admin.site.is_registered(Group):
    admin.site.unregister(Group)


@admin.register(User)
class UserAdmin(BrowseAndDeleteAdmin):
    list_display = ("username", "email", "role", "is_service", "is_active", "timestamp", "lastmod")
    list_filter = ("role", "is_service", "is_active")
    search_fields = ("username", "email")
    ordering = ("username",)
    fields = ("id", "username", "email", "role", "is_service", "is_active", "timestamp", "lastmod")  # no password

    def delete_with_service(self, request: HttpRequest, obj: User) -> None:
        services.delete_user(Caller.of(request), obj)


@admin.register(AuditEntry)
class AuditEntryAdmin(_AuditEntryAdmin):
    """The audit log is written by the services only and never edited or deleted."""

    list_display = ("timestamp", "actor", "action", "resource", "target", "result", "address")
    list_filter = ("action", "resource", "result")
    search_fields = ("actor", "target")
    date_hierarchy = "timestamp"
    fields = ("timestamp", "actor", "action", "resource", "target", "result", "address", "details")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: AuditEntry | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: AuditEntry | None = None) -> bool:
        return False


@admin.register(ApiKey)
class ApiKeyAdmin(BrowseAndDeleteAdmin):
    """API keys: browsed and revoked here (``keys.revoke_key``); made through the API or /account/keys/.
    The digest of the secret is never shown."""

    list_display = ("name", "user", "scopes", "created", "expires", "last_used", "last_used_address")
    search_fields = ("name", "user__username")
    ordering = ("-created",)
    fields = ("id", "name", "user", "scopes", "created", "created_by", "expires", "last_used", "last_used_address")

    def delete_with_service(self, request: HttpRequest, obj: ApiKey) -> None:
        keys.revoke_key(Caller.of(request), obj)
