from framework.api.routers import OptionalSlashRouter
from models_app.api.views import MLModelViewSet

router = OptionalSlashRouter()
router.register("models", MLModelViewSet, basename="model")
urlpatterns = router.urls
