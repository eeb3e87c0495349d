"""``/v1/models``: the item viewset for models, and its OpenAPI description."""

from drf_spectacular.utils import extend_schema_view

from items_app.api.schema import routes_of
from items_app.api.views import ItemViewSet
from models_app.kind import MODEL


@extend_schema_view(**routes_of(MODEL))
class MLModelViewSet(ItemViewSet):
    kind = MODEL
