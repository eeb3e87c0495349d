"""``/v1/protected-aliases``; the item routes themselves are mounted by each kind app (``models_app.api``)."""

from framework.api.routers import OptionalSlashRouter
from items_app.api.views import ProtectedAliasViewSet

router = OptionalSlashRouter()
router.register("protected-aliases", ProtectedAliasViewSet, basename="protected-alias")
urlpatterns = router.urls
