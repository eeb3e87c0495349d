"""``/v1/datasets``: the item viewset for datasets, and its OpenAPI description."""

from drf_spectacular.utils import extend_schema_view

from datasets_app.kind import DATASET
from items_app.api.schema import routes_of
from items_app.api.views import ItemViewSet


@extend_schema_view(**routes_of(DATASET))
class DatasetViewSet(ItemViewSet):
    kind = DATASET
