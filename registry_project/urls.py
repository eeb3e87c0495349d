"""URL map: the REST API under /v1/ (contract), plus /login as the seed's alias of /v1/login."""

from django.contrib import admin
from django.urls import URLPattern, URLResolver, include, path, re_path
from drf_spectacular.views import SpectacularAPIView

from framework.api.docs import RedocView, SwaggerView
from registry_project import types
from registry_project import views as api
from registry_project.server import health
from tenants_app.api.views import LoginView

v1: list[URLPattern | URLResolver] = [
    re_path(r"^version/?$", api.VersionView.as_view(), name="version"),
    re_path(r"^info/?$", api.InfoView.as_view(), name="info"),
    re_path(r"^errors/?$", api.ErrorsView.as_view(), name="errors"),
    re_path(r"^schema/?$", SpectacularAPIView.as_view(authentication_classes=[], permission_classes=[]), name="schema"),
    path("", include("tenants_app.api.urls")),
    path("", include("models_app.api.urls")),
    path("", include("datasets_app.api.urls")),
    path("", include("algorithms_app.api.urls")),
    path("", include("folksonomy_app.api.urls")),
    path("", include("items_app.api.urls")),
    path("", include("demo_app.api.urls")),
    path("", include("webhooks_app.api.urls")),
    re_path(r"^types/?$", types.TypesView.as_view(), name="types"),
    re_path(r"^types/tenants/?$", types.TenantListView.as_view(), name="types-tenants"),
    re_path(r"^.*$", api.api_not_found),  # unknown routes under /v1/ answer the JSON 404 envelope
]

urlpatterns = [
    path("v1/", include(v1)),
    re_path(r"^v1$", api.api_not_found),
    re_path(r"^login/?$", LoginView.as_view(), name="login-alias"),
    path("docs.html", SwaggerView.as_view(url_name="schema"), name="docs"),
    path("redoc.html", RedocView.as_view(url_name="schema"), name="redoc"),
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
    path("admin/", admin.site.urls),
    path("", include("items_app.urls")),
    path("", include("models_app.urls")),
    path("", include("datasets_app.urls")),
    path("", include("algorithms_app.urls")),
    path("manage/webhooks/", include("webhooks_app.urls")),
    path("manage/", include("tenants_app.urls")),
    path("", include("tenants_app.signin_urls")),
]

handler400 = "registry_project.views.handler400"
handler404 = "registry_project.views.handler404"
handler500 = "registry_project.views.handler500"
