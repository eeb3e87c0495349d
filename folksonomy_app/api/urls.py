from folksonomy_app.api.views import MetadataNameViewSet, TagViewSet
from framework.api.routers import OptionalSlashRouter

router = OptionalSlashRouter()
router.register("tags", TagViewSet, basename="tag")
router.register("metadata", MetadataNameViewSet, basename="metadata")
urlpatterns = router.urls
