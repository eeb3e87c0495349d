"""Django admin for tenant admins. It runs inside the signed-in tenant's database, like every page."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from django.contrib import admin, messages
from django.contrib.admin.utils import quote
from django.db.models import Model, QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse

from framework.errors import ServiceError

if TYPE_CHECKING:
    # django-stubs makes the admin classes generic in the models they show; Django's own classes cannot be
    # subscripted at run time, so the parameters are for the type checker only.
    _ModelAdmin = admin.ModelAdmin[Any]
    _TabularInline = admin.TabularInline[Any, Any]
else:
    _ModelAdmin = admin.ModelAdmin
    _TabularInline = admin.TabularInline


class RegistryAdminSite(admin.AdminSite):
    site_header = "Model Registry administration"
    site_title = "Model Registry admin"
    index_title = "Your tenant"

    def login(self, request: HttpRequest, extra_context: dict[str, Any] | None = None) -> HttpResponse:
        # The admin's own login form cannot know the tenant; the registry's sign-in page asks for it.
        target = request.GET.get("next") or reverse("admin:index")
        return HttpResponseRedirect(f"{reverse('web:signin')}?{urlencode({'next': target})}")

    # django-stubs narrows the result to Django's own logout page (a TemplateResponse); any response will do.
    def logout(  # type: ignore[override]
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        return HttpResponseRedirect(reverse("web:signout"))

    def has_permission(self, request: HttpRequest) -> bool:
        return bool(request.user.is_active and getattr(request.user, "is_admin", False))


class BrowseAndDeleteAdmin(_ModelAdmin):
    """Looking at rows, and deleting them through the service that owns that workflow.

    There is no add or change here: those happen on the /manage/ pages and in the API, where a service's
    refusal is shown next to the field it concerns. Deletion calls ``delete_with_service`` (audit entry,
    blob release, the services' rules); a refusal (409) becomes an error message instead of a 500.
    """

    def delete_with_service(self, request: HttpRequest, obj: Any) -> None:
        raise NotImplementedError

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False

    def delete_model(self, request: HttpRequest, obj: Any) -> None:
        self.delete_with_service(request, obj)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> None:
        refused = []
        for obj in queryset:
            try:
                self.delete_with_service(request, obj)
            except ServiceError as error:
                refused.append(f"{obj}: {error.details}")
        if refused:
            self.message_user(request, f"Not deleted: {'; '.join(refused)}", messages.ERROR)

    def delete_view(
        self, request: HttpRequest, object_id: str, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        try:
            return super().delete_view(request, object_id, extra_context)
        except ServiceError as error:  # raised by delete_model; the admin's transaction has rolled back
            self.message_user(request, str(error.details), messages.ERROR)
            opts = self.opts
            return HttpResponseRedirect(
                reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[quote(object_id)])
            )


class ReadOnlyInline(_TabularInline):
    """Related rows listed on an object's admin page; they change through the services only."""

    extra = 0
    can_delete = False
    show_change_link = False

    def get_readonly_fields(self, request: HttpRequest, obj: Model | None = None) -> list[str]:
        return [*(self.fields or ()), *self.readonly_fields]

    def has_add_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False
