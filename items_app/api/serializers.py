"""Request bodies of the item endpoints, and the read shape of an item (contract §4)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from framework.api.serializers import NonEmptyInputSerializer, StrictInputSerializer
from items_app.models import (
    Item,
    Kind,
    Status,
    Version,
    Visibility,
)
from items_app.related import Related, load_related
from items_app.services import ListChange
from tenants_app.api.serializers import iso
from tenants_app.models import User

# ------------------------------------------------------------------ input


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
class ListChangeField(serializers.Field):
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
    description = serializers.CharField(max_length=20000, required=False, allow_blank=True, default="")
    users = _list()
    metadata = _list()
    tags = _list()


class ModelCreateInput(ItemCreateInput):
    status = serializers.ChoiceField(choices=Status.values, required=False)
    datasets = _list()


class ItemUpdateInput(NonEmptyInputSerializer):
    name = serializers.CharField(max_length=200, required=False)
    visibility = serializers.ChoiceField(choices=Visibility.values, required=False)
    description = serializers.CharField(max_length=20000, required=False, allow_blank=True)
    users = ListChangeField(required=False)
    metadata = ListChangeField(required=False)
    tags = ListChangeField(required=False)


class ModelUpdateInput(ItemUpdateInput):
    status = serializers.ChoiceField(choices=Status.values, required=False)
    datasets = ListChangeField(required=False)


# ------------------------------------------------------------------ output


def version_document(version: Version) -> dict[str, Any]:
    return {
        "ordinal": version.ordinal,
        "original": version.original,
        "size": version.size,
        "sha256": version.blob_id,
        "content_type": version.content_type,
        "description": version.description,
        "timestamp": iso(version.timestamp),
        "owner": version.owner.username if version.owner_id else None,
    }


def item_document(item: Item) -> dict[str, Any]:
    """The read shape; expects an item passed through ``load_related``."""
    related: Related = item.related
    document: dict[str, Any] = {
        "_id": item.pk,
        "name": item.name,
        "owner": item.owner.username,
    }
    if item.kind == Kind.MODEL:
        document["status"] = item.status
    document.update(
        {
            "visibility": item.visibility,
            "users": related.users,
        }
    )
    if item.kind == Kind.MODEL:
        document["datasets"] = related.datasets
    document.update(
        {
            "metadata": [{"name": entry.name, "value": entry.value} for entry in related.metadata],
            "tags": related.tags,
            "description": item.description,
            "versions": [version_document(version) for version in related.versions],
            "timestamp": iso(item.timestamp),
            "lastmod": iso(item.lastmod),
        }
    )
    return document


def item_documents(items: Sequence[Item], viewer: User) -> list[dict[str, Any]]:
    return [item_document(item) for item in load_related(items, viewer)]
