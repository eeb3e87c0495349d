from algorithms_app.api.views import AlgorithmViewSet
from algorithms_app.kind import ALGORITHM
from framework.api.routers import OptionalSlashRouter

router = OptionalSlashRouter()
router.register(ALGORITHM.prefix, AlgorithmViewSet, basename=ALGORITHM.value)
urlpatterns = router.urls
