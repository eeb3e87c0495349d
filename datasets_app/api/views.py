"""``/v1/datasets``: the shared item viewset for items of kind ``dataset``."""

from registry_project.items.api.serializers import ItemCreateInput, ItemUpdateInput
from registry_project.items.api.views import ItemViewSet
from registry_project.items.models import Kind


class DatasetViewSet(ItemViewSet):
    kind = Kind.DATASET
    create_input = ItemCreateInput
    update_input = ItemUpdateInput
