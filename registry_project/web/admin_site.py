"""Django admin for tenant admins. It runs inside the signed-in tenant's database, like every page."""

from __future__ import annotations

from urllib.parse import urlencode

from django.contrib import admin
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse


class RegistryAdminSite(admin.AdminSite):
    site_header = "Model Registry administration"
    site_title = "Model Registry admin"
    index_title = "Your tenant"

    def login(self, request: HttpRequest, extra_context: dict | None = None) -> HttpResponse:
        # The admin's own login form cannot know the tenant; the registry's sign-in page asks for it.
        target = request.GET.get("next") or reverse("admin:index")
        return HttpResponseRedirect(f"{reverse('web:signin')}?{urlencode({'next': target})}")

    def logout(self, request: HttpRequest, extra_context: dict | None = None) -> HttpResponse:
        return HttpResponseRedirect(reverse("web:signout"))

    def has_permission(self, request: HttpRequest) -> bool:
        return bool(request.user.is_active and getattr(request.user, "is_admin", False))
