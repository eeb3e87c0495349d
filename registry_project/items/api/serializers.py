"""Request bodies of the item endpoints, and the read shape of an item (contract §4)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.db.models import Prefetch, QuerySet
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from registry_project.api.serializers import NonEmptyInputSerializer, StrictInputSerializer
from registry_project.items.models import (
    Item,
    ItemTag,
    Kind,
    Lineage,
    MetadataEntry,
    Share,
    Status,
    Version,
    Visibility,
)
from registry_project.items.services import ListChange
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


def with_related(queryset: QuerySet[Item], viewer: User) -> QuerySet[Item]:
    """Load everything an item document shows in a fixed number of queries, whatever the page size.

    Lineage is restricted to datasets the viewer can read: a hidden dataset never appears, not even by id.
    """
    readable_datasets = Item.objects.of_kind(Kind.DATASET).visible_to(viewer).values("pk")
    return queryset.select_related("owner").prefetch_related(
        Prefetch("shares", queryset=Share.objects.select_related("user").order_by("user__username")),
        Prefetch("taggings", queryset=ItemTag.objects.order_by("tag_id")),
        Prefetch("metadata", queryset=MetadataEntry.objects.order_by("id")),
        Prefetch("lineage", queryset=Lineage.objects.filter(dataset__in=readable_datasets).order_by("id")),
        Prefetch("versions", queryset=Version.objects.select_related("owner").order_by("ordinal")),
    )


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
    """The read shape; expects an item loaded through ``with_related``."""
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
            "users": [share.user.username for share in item.shares.all()],
        }
    )
    if item.kind == Kind.MODEL:
        document["datasets"] = [link.dataset_id for link in item.lineage.all()]
    document.update(
        {
            "metadata": [{"name": entry.name_id, "value": entry.value} for entry in item.metadata.all()],
            "tags": [tagging.tag_id for tagging in item.taggings.all()],
            "description": item.description,
            "versions": [version_document(version) for version in item.versions.all()],
            "timestamp": iso(item.timestamp),
            "lastmod": iso(item.lastmod),
        }
    )
    return document


def item_documents(items: Iterable[Item]) -> list[dict[str, Any]]:
    return [item_document(item) for item in items]
