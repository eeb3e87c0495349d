"""``/v1/datasets``: the shared item viewset for items of kind ``dataset``."""

from items_app.api.serializers import ItemCreateInput, ItemUpdateInput
from items_app.api.views import ItemViewSet
from items_app.models import Kind


class DatasetViewSet(ItemViewSet):
    kind = Kind.DATASET
    create_input = ItemCreateInput
    update_input = ItemUpdateInput
