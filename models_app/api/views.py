"""``/v1/models``: the shared item viewset for items of kind ``model``."""

from items_app.api.serializers import ModelCreateInput, ModelUpdateInput
from items_app.api.views import ItemViewSet
from items_app.models import Kind


class MLModelViewSet(ItemViewSet):
    kind = Kind.MODEL
    create_input = ModelCreateInput
    update_input = ModelUpdateInput
