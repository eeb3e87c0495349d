"""``/v1/models``: the shared item viewset for items of kind ``model``."""

from registry_project.items.api.serializers import ModelCreateInput, ModelUpdateInput
from registry_project.items.api.views import ItemViewSet
from registry_project.items.models import Kind


class MLModelViewSet(ItemViewSet):
    kind = Kind.MODEL
    create_input = ModelCreateInput
    update_input = ModelUpdateInput
