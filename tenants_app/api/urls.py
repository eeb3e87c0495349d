from django.urls import re_path

from framework.api.routers import OptionalSlashRouter
from tenants_app.api.events import EventViewSet
from tenants_app.api.views import (
    ApiKeyViewSet,
    AuditLogViewSet,
    LoginView,
    PasswordStrengthView,
    SelfResetView,
    SelfView,
    TenantViewSet,
    UserViewSet,
)

router = OptionalSlashRouter()
router.register("tenants", TenantViewSet, basename="tenant")
router.register("users", UserViewSet, basename="user")
router.register("log", AuditLogViewSet, basename="log")
router.register("keys", ApiKeyViewSet, basename="key")
router.register("events", EventViewSet, basename="event")

urlpatterns = [
    re_path(r"^login/?$", LoginView.as_view(), name="login"),
    re_path(r"^self/reset/?$", SelfResetView.as_view(), name="self-reset"),
    re_path(r"^self/?$", SelfView.as_view(), name="self"),
    re_path(r"^types/passwordStrength/?$", PasswordStrengthView.as_view(), name="password-strength"),
    *router.urls,
]
