"""Request bodies of the item endpoints (contract §4): what every kind takes, plus the fields of its traits."""

from __future__ import annotations

import functools
from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from framework.api.serializers import NonEmptyInputSerializer, StrictInputSerializer
from items_app.kinds import ItemKind
from items_app.models import Visibility
from items_app.related import ListChange

MAX_DESCRIPTION_LENGTH = 20000


@extend_schema_field(
    {
        "oneOf": [
            {"type": "array", "items": {}, "description": "the whole new list"},
            {
                "type": "object",
                "properties": {"remove": {"type": "array", "items": {}}, "add": {"type": "array", "items": {}}},
                "additionalProperties": False,
                "description": "removes first, then adds",
            },
        ]
    }
)
class ListChangeField(serializers.Field[ListChange, Any, Any, Any]):
    """A list field of an update: a plain array (replaces the list) or ``{"remove": [...], "add": [...]}``."""

    # DRF formats this text with str.format: the braces are doubled.
    default_error_messages = {"invalid": 'expected an array, or {{"remove": [...], "add": [...]}}'}

    def to_internal_value(self, data: Any) -> ListChange:
        if isinstance(data, list):
            return ListChange(replace=data)
        if (
            isinstance(data, dict)
            and data
            and set(data) <= {"remove", "add"}
            and all(isinstance(value, list) for value in data.values())
        ):
            return ListChange(remove=data.get("remove", []), add=data.get("add", []))
        self.fail("invalid")
        raise AssertionError  # fail() raises

    def to_representation(self, value: Any) -> Any:
        return value


def _list() -> serializers.ListField:
    return serializers.ListField(child=serializers.JSONField(), required=False, default=list)


class ItemCreateInput(StrictInputSerializer):
    name = serializers.CharField(max_length=200)
    visibility = serializers.ChoiceField(choices=Visibility.values, required=False, default=Visibility.PRIVATE)
    description = serializers.CharField(max_length=MAX_DESCRIPTION_LENGTH, required=False, allow_blank=True, default="")
    users = _list()
    metadata = _list()
    tags = _list()


class ItemUpdateInput(NonEmptyInputSerializer):
    name = serializers.CharField(max_length=200, required=False)
    visibility = serializers.ChoiceField(choices=Visibility.values, required=False)
    description = serializers.CharField(max_length=MAX_DESCRIPTION_LENGTH, required=False, allow_blank=True)
    users = ListChangeField(required=False)
    metadata = ListChangeField(required=False)
    tags = ListChangeField(required=False)


@functools.cache
def create_input(kind: ItemKind) -> type[serializers.Serializer[Any]]:
    """The create body of ``kind``: what every item takes, then its traits' fields (``ModelCreateInput``); a
    kind without fields of its own takes the body every item takes."""
    fields = {trait.field: field for trait in kind.traits if (field := trait.create_input()) is not None}
    return type(f"{kind.singular}CreateInput", (ItemCreateInput,), fields) if fields else ItemCreateInput


@functools.cache
def update_input(kind: ItemKind) -> type[serializers.Serializer[Any]]:
    """The update body of ``kind``, built as ``create_input`` builds its create body."""
    fields = {trait.field: field for trait in kind.traits if (field := trait.update_input()) is not None}
    return type(f"{kind.singular}UpdateInput", (ItemUpdateInput,), fields) if fields else ItemUpdateInput
