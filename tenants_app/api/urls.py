from django.urls import re_path

from framework.api.routers import OptionalSlashRouter
from tenants_app.api.views import ApiKeyViewSet, AuditLogViewSet, LoginView, TenantViewSet, UserViewSet

router = OptionalSlashRouter()
router.register("tenants", TenantViewSet, basename="tenant")
router.register("users", UserViewSet, basename="user")
router.register("log", AuditLogViewSet, basename="log")
router.register("keys", ApiKeyViewSet, basename="key")

urlpatterns = [re_path(r"^login/?$", LoginView.as_view(), name="login"), *router.urls]
