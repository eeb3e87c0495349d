"""Request bodies of the item endpoints, and the read shape of an item (contract §4)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

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
    stored_value,
)
from registry_project.items.querysets import readable_by
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


class MetadataValue(NamedTuple):
    """A metadata entry as documents and pages show it (the fields of ``MetadataEntry`` they read)."""

    name_id: str
    value_type: str
    text: str

    @property
    def value(self) -> str | float | int | bool:
        return stored_value(self.value_type, self.text)


@dataclass
class Related:
    """What an item document shows beyond the item's own row."""

    users: list[str] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)
    metadata: list[MetadataValue] = field(default_factory=list)
    datasets: list[str] = field(default_factory=list)
    versions: list[Version] = field(default_factory=list)


def load_related(items: Sequence[Item], viewer: User) -> Sequence[Item]:
    """Set ``item.related`` on each item (loaded with ``select_related("owner")``), whatever their number,
    in at most five queries; none for versions when no item ever had one, none for lineage without models.

    Plain ``values_list`` rows rather than ``prefetch_related``: building model instances and prefetch
    querysets for a page's ~300 related rows cost more than the queries themselves.
    Lineage is restricted to datasets the viewer can read: a hidden dataset never appears, not even by id.
    """
    related = {item.pk: Related() for item in items}
    if not related:
        return items
    ids = list(related)
    shares = Share.objects.filter(item_id__in=ids).order_by("user__username", "id")
    for item_id, username in shares.values_list("item_id", "user__username"):
        related[item_id].users.append(username)
    for item_id, tag in ItemTag.objects.filter(item_id__in=ids).order_by("tag_id").values_list("item_id", "tag_id"):
        related[item_id].tags.append(tag)
    entries = MetadataEntry.objects.filter(item_id__in=ids).order_by("id")
    for item_id, *entry in entries.values_list("item_id", "name_id", "value_type", "text"):
        related[item_id].metadata.append(MetadataValue(*entry))
    models = [item.pk for item in items if item.kind == Kind.MODEL]
    if models:
        readable = readable_by(viewer, "dataset__")
        links = Lineage.objects.filter(readable, model_id__in=models).order_by("id")
        for model_id, dataset_id in links.values_list("model_id", "dataset_id"):
            related[model_id].datasets.append(dataset_id)
    versioned = [item.pk for item in items if item.last_ordinal]
    if versioned:
        for version in Version.objects.filter(item_id__in=versioned).select_related("owner").order_by("ordinal"):
            related[version.item_id].versions.append(version)
    for item in items:
        item.related = related[item.pk]
    return items


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
            "metadata": [{"name": entry.name_id, "value": entry.value} for entry in related.metadata],
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
