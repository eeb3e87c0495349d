from datasets_app.api.views import DatasetViewSet
from datasets_app.kind import DATASET
from framework.api.routers import OptionalSlashRouter

router = OptionalSlashRouter()
router.register(DATASET.prefix, DatasetViewSet, basename=DATASET.value)
urlpatterns = router.urls
