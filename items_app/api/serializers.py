"""Request bodies of the item endpoints (contract §4): what every kind takes, plus the fields of its traits."""

from __future__ import annotations

import functools
import json
from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from framework.api.filtering import FilterField
from framework.api.listing import ListSpec, bad_parameter, requested_sort
from framework.api.serializers import NonEmptyInputSerializer, StrictInputSerializer, iso
from framework.files.uploads import MAX_DESCRIPTION_LENGTH as MAX_VERSION_DESCRIPTION_LENGTH
from items_app.cards import MAX_CARD_LENGTH
from items_app.kinds import ItemKind
from items_app.models import Alias, AliasMove, ProtectedAlias, Visibility
from items_app.related import ListChange
from items_app.resumable import DirectUpload

MAX_DESCRIPTION_LENGTH = MAX_CARD_LENGTH  # an item's card; a version's description has the uploads' limit


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


# ------------------------------------------------------------------ versions and aliases (contract §9.2)


class VersionUpdateInput(NonEmptyInputSerializer):
    description = serializers.CharField(max_length=MAX_VERSION_DESCRIPTION_LENGTH, required=False, allow_blank=True)
    metadata = ListChangeField(required=False)


class AliasInput(StrictInputSerializer):
    version = serializers.JSONField(help_text="An ordinal, or a file name of one of the item's versions.")


class DirectUploadInput(StrictInputSerializer):
    filename = serializers.CharField(max_length=1000, help_text="The version's file name.")
    size = serializers.IntegerField(min_value=1, help_text="The file's size in bytes.")
    sha256 = serializers.RegexField(r"^[0-9a-fA-F]{64}$", required=False, help_text="The file's SHA-256 (hex).")
    content_type = serializers.CharField(max_length=255, required=False)
    description = serializers.CharField(required=False, allow_blank=True, max_length=MAX_VERSION_DESCRIPTION_LENGTH)
    metadata = serializers.JSONField(required=False, help_text='{"accuracy": 0.93} or [{"name", "value"}].')
    label = serializers.CharField(  # type: ignore[assignment]  # named like Field.label (see schema.py)
        required=False, allow_blank=True, max_length=200, help_text="A version label (v2.0.0), as ?ordinal= gives."
    )


class UploadedPart(StrictInputSerializer):
    number = serializers.IntegerField(min_value=1, max_value=10000)
    etag = serializers.CharField(max_length=200, help_text="The ETag the object store answered the part with.")


class DirectCompleteInput(StrictInputSerializer):
    parts = UploadedPart(many=True)


def direct_document(upload: DirectUpload) -> dict[str, Any]:
    session = upload.session
    return {
        "_id": session.pk,
        "size": session.length,
        "part_size": upload.part_size,
        "parts": [{"number": number, "url": url} for number, url in enumerate(upload.urls, start=1)],
        "expires": iso(session.expires),
    }


def alias_document(alias: Alias) -> dict[str, Any]:
    return {"alias": alias.name, "version": alias.version.ordinal, "lastmod": iso(alias.lastmod), "by": alias.by}


def move_document(move: AliasMove) -> dict[str, Any]:
    return {
        "_id": move.id,
        "alias": move.alias,
        "from": move.from_ordinal,
        "to": move.to_ordinal,
        "by": move.by,
        "timestamp": iso(move.timestamp),
    }


ALIAS_HISTORY = ListSpec(
    fields={
        "_id": FilterField("id"),
        "from": FilterField("from_ordinal", "number", nullable=True),
        "to": FilterField("to_ordinal", "number", nullable=True),
        "by": FilterField("by"),
        "timestamp": FilterField("timestamp", "datetime"),
    },
    default_sort=("-timestamp", "_id"),
)

VERSION_SORT_FIELDS = ("ordinal", "timestamp", "size", "original")


def sort_versions(documents: list[dict[str, Any]], raw: str | None) -> list[dict[str, Any]]:
    """A version list in the order ``sort`` asks (``{"metadata.accuracy": "desc"}``, ``{"size": 1}``…), by
    ordinal without one. The keys apply as stable sorts, the last key first."""
    if raw is None or raw.strip() == "":
        return documents
    ordered = list(documents)
    for name, prefix in reversed(requested_sort(raw)):
        descending = prefix == "-"
        if name.startswith("metadata."):
            ordered = _by_metadata(ordered, name[len("metadata.") :], descending)
        elif name in VERSION_SORT_FIELDS:
            ordered.sort(key=functools.partial(_field_key, name), reverse=descending)
        else:
            fields = ", ".join([*VERSION_SORT_FIELDS, "metadata.<name>"])
            raise bad_parameter(f"cannot sort versions on {name!r}; sortable: {fields}")
    return ordered


def _field_key(name: str, document: dict[str, Any]) -> Any:
    return document[name]


def _by_metadata(documents: list[dict[str, Any]], name: str, descending: bool) -> list[dict[str, Any]]:
    """Numbers first (as numbers), then other values (as text), then versions without the name: the same
    order as an item list's ``metadata.<name>`` sort."""
    numbers, others, missing = [], [], []
    for document in documents:
        value = next((entry["value"] for entry in document["metadata"] if entry["name"] == name), None)
        if value is None:
            missing.append(document)
        elif isinstance(value, int | float) and not isinstance(value, bool):
            numbers.append((float(value), document))
        else:
            others.append((json.dumps(value) if isinstance(value, bool) else str(value), document))
    numbers.sort(key=_first, reverse=descending)
    others.sort(key=_first, reverse=descending)
    return [document for _, document in numbers] + [document for _, document in others] + missing


def _first(pair: tuple[Any, Any]) -> Any:
    return pair[0]


class ProtectedAliasInput(StrictInputSerializer):
    _id = serializers.CharField(max_length=32)


def protected_document(entry: ProtectedAlias) -> dict[str, Any]:
    return {"_id": entry.name, "by": entry.by, "timestamp": iso(entry.timestamp)}
