from framework.api.routers import OptionalSlashRouter
from webhooks_app.api.views import WebhookViewSet

router = OptionalSlashRouter()
router.register("webhooks", WebhookViewSet, basename="webhook")

urlpatterns = router.urls
