from models_app.api.views import MLModelViewSet
from registry_project.api.routers import OptionalSlashRouter

router = OptionalSlashRouter()
router.register("models", MLModelViewSet, basename="model")
urlpatterns = router.urls
