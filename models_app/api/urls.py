from framework.api.routers import OptionalSlashRouter
from models_app.api.views import MLModelViewSet
from models_app.kind import MODEL

router = OptionalSlashRouter()
router.register(MODEL.prefix, MLModelViewSet, basename=MODEL.value)
urlpatterns = router.urls
