"""``/v1/protected-aliases`` and ``/v1/settings``; the item routes themselves are mounted by each kind app
(``models_app.api``)."""

from django.urls import re_path

from framework.api.routers import OptionalSlashRouter
from items_app.api.settings import SettingsView
from items_app.api.views import ProtectedAliasViewSet

router = OptionalSlashRouter()
router.register("protected-aliases", ProtectedAliasViewSet, basename="protected-alias")
urlpatterns = [re_path(r"^settings/?$", SettingsView.as_view(), name="settings"), *router.urls]
