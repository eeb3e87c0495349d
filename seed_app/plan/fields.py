"""Reading the fields of the original registry's documents, and naming a document whose field is not as its
schema had it (a ``DumpError`` with the file, the document and the field)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from bson import ObjectId
from django.utils import timezone

from framework.ids import looks_like_object_id
from seed_app.dump import DumpError
from seed_app.report import Report

# The fields of each collection's schema in the original registry, besides those every document has.
SCHEMA_FIELDS = {
    "users": {"username", "password", "createdPassword", "validityPasswordDays", "email", "role"},
    "tags": {"usage", "owner"},
    "metadatas": {"usage", "owner"},
    "datasets": {"name", "owner", "users", "versions", "metadata", "visibility", "tags"},
    "models": {"name", "owner", "users", "versions", "metadata", "visibility", "tags", "status", "datasets"},
    "algorithms": {"name", "owner", "users", "versions", "metadata", "visibility", "tags", "status", "datasets"},
}
EVERY_DOCUMENT = {"_id", "timestamp", "lastmod", "__v"}


@dataclass(frozen=True)
class Where:
    """A document of a collection file, as error messages name it."""

    file: str
    number: int
    id: str

    def error(self, field_name: str, problem: str) -> DumpError:
        return DumpError(f"{self.file}: document {self.number} (_id {self.id}): {field_name}: {problem}")


def object_id(value: Any) -> str | None:
    """A MongoDB ObjectId (or its 24-hex text) as the registry's id; None for any other id."""
    if isinstance(value, ObjectId):
        return str(value)
    if isinstance(value, str) and looks_like_object_id(value.lower()):
        return value.lower()
    return None


def id_text(value: Any) -> str:
    return str(value) if value is not None else "?"


def date_of(document: Mapping[str, Any], name: str, where: Where) -> datetime | None:
    value = document.get(name)
    if value is None:
        return None
    if isinstance(value, datetime):
        return value if timezone.is_aware(value) else value.replace(tzinfo=UTC)
    if isinstance(value, int | float) and not isinstance(value, bool):  # milliseconds, as JavaScript counts
        return datetime.fromtimestamp(value / 1000, tz=UTC)
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            raise where.error(name, f"{value[:40]!r} is not a date") from None
        return parsed if timezone.is_aware(parsed) else parsed.replace(tzinfo=UTC)
    raise where.error(name, f"expected a date, got {type(value).__name__}")


def optional_string(document: Mapping[str, Any], name: str, where: Where) -> str | None:
    value = document.get(name)
    if value is not None and not isinstance(value, str):
        raise where.error(name, f"expected a string, got {type(value).__name__}")
    return value


def required_string(document: Mapping[str, Any], name: str, where: Where) -> str:
    value = optional_string(document, name, where)
    if value is None:
        raise where.error(name, "required, a string")
    return value


def list_of(document: Mapping[str, Any], name: str, where: Where) -> list[Any]:
    value = document.get(name)
    if value is None:
        return []
    if not isinstance(value, list):
        raise where.error(name, f"expected a list, got {type(value).__name__}")
    return value


def note_unknown_fields(report: Report, collection: str, record: str, document: Mapping[str, Any]) -> None:
    unknown = sorted(set(document) - SCHEMA_FIELDS[collection] - EVERY_DOCUMENT)
    if unknown:
        report.note(collection, record, f"{field_names(unknown)} not in the original registry's schema: ignored")


def field_names(names: list[str]) -> str:
    return f"field {names[0]!r}" if len(names) == 1 else f"fields {', '.join(repr(name) for name in names)}"


def in_order(documents: list[dict[str, Any]], file: str) -> list[tuple[Where, dict[str, Any]]]:
    """The documents, oldest first (``timestamp``, then their place in the file): the older of two that
    clash keeps its name."""
    placed = [(Where(file, number, id_text(doc.get("_id"))), doc) for number, doc in enumerate(documents, 1)]
    epoch = datetime.min.replace(tzinfo=UTC)
    return sorted(placed, key=lambda pair: (date_of(pair[1], "timestamp", pair[0]) or epoch, pair[0].number))
