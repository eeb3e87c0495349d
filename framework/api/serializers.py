"""Serializer base classes shared by every app's API."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from rest_framework import serializers


def iso(value: Any) -> str | None:
    """A timestamp as every document writes it: ISO 8601 in UTC with a ``Z``."""
    return value.isoformat().replace("+00:00", "Z") if value is not None else None


class StrictInputSerializer(serializers.Serializer[Any]):
    """Validates a JSON request body and refuses fields it does not declare (naming them).

    Clients can never slip in server-owned fields (``_id``, ``owner``, timestamps) or misspelled ones.
    """

    def to_internal_value(self, data: Any) -> Any:
        if not isinstance(data, Mapping):
            raise serializers.ValidationError({"body": "expected a JSON object"})
        unknown = sorted(set(data) - set(self.fields))
        if unknown:
            raise serializers.ValidationError({name: "unknown or read-only field" for name in unknown})
        return super().to_internal_value(data)


class NonEmptyInputSerializer(StrictInputSerializer):
    """For updates: an empty body changes nothing and is a client mistake."""

    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, Mapping) and not data:
            raise serializers.ValidationError({"body": "nothing to change: send at least one field"})
        return super().to_internal_value(data)
