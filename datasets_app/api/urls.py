from datasets_app.api.views import DatasetViewSet
from framework.api.routers import OptionalSlashRouter

router = OptionalSlashRouter()
router.register("datasets", DatasetViewSet, basename="dataset")
urlpatterns = router.urls
