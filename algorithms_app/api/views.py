"""``/v1/algorithms``: the item viewset for algorithms, and its OpenAPI description."""

from drf_spectacular.utils import extend_schema_view

from algorithms_app.kind import ALGORITHM
from items_app.api.schema import routes_of
from items_app.api.views import ItemViewSet


@extend_schema_view(**routes_of(ALGORITHM))
class AlgorithmViewSet(ItemViewSet):
    kind = ALGORITHM
