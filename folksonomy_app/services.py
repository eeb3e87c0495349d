"""Write workflows of the vocabulary: recording what people use, and the admins' curated entries."""

from __future__ import annotations

from collections.abc import Iterable

from django.core.exceptions import ValidationError
from django.db import IntegrityError
from django.db.models import ProtectedError

from folksonomy_app.models import MetadataName, Tag, Usage, VocabularyEntry, validate_vocabulary_name
from registry_project.api.errors import ApiError, conflict, forbidden
from registry_project.transactions import tenant_atomic
from tenants_app import audit
from tenants_app.audit import Caller
from tenants_app.models import User

VOCABULARIES: dict[str, type[VocabularyEntry]] = {"tag": Tag, "metadata": MetadataName}


def check_name(field: str, name: object, kind: str = "post_request_error") -> str:
    """A vocabulary name as stored (trimmed), or a 400 naming the field and the rule."""
    if not isinstance(name, str):
        raise ApiError(kind, f"{field}: expected a string, got {type(name).__name__}")
    trimmed = name.strip()
    try:
        validate_vocabulary_name(trimmed)
    except ValidationError as exc:
        raise ApiError(kind, f"{field}: {' '.join(exc.messages)} ({trimmed[:70]!r})") from None
    return trimmed


def record_use(model: type[VocabularyEntry], names: Iterable[str], owner: User | None) -> None:
    """Remember every name used as a ``folk`` entry unless it is already known (concurrency-safe)."""
    wanted = set(names)
    if not wanted:
        return
    known = set(model.objects.filter(pk__in=wanted).values_list("pk", flat=True))
    missing = [model(id=name, usage=Usage.FOLK, owner=owner) for name in sorted(wanted - known)]
    model.objects.bulk_create(missing, ignore_conflicts=True)


def create_default(caller: Caller, vocabulary: str, name: object) -> VocabularyEntry:
    """An admin's curated entry (``usage: default``); an existing name is a 409."""
    if not caller.is_admin:
        raise forbidden("POST", f"Only tenant admins can create default {vocabulary} entries.")
    model = VOCABULARIES[vocabulary]
    entry = model(id=check_name("_id", name), usage=Usage.DEFAULT, owner=caller.user)
    try:
        with tenant_atomic():
            entry.save(force_insert=True)
            audit.record(caller, action="create", resource=vocabulary, target=entry.id)
    except IntegrityError:
        raise conflict(f"_id: {entry.id!r} already exists") from None
    return entry


def delete_entry(caller: Caller, vocabulary: str, entry: VocabularyEntry) -> VocabularyEntry:
    """Remove an entry nobody uses; an entry still in use is a 409 naming the items."""
    if not caller.is_admin:
        raise forbidden("DELETE", f"Only tenant admins can delete {vocabulary} entries.")
    entry_id = entry.id
    try:
        with tenant_atomic():
            entry.delete()
            audit.record(caller, action="delete", resource=vocabulary, target=entry_id)
    except ProtectedError as exc:
        users = sorted({str(getattr(row, "item", row)) for row in exc.protected_objects})
        shown = ", ".join(users[:10]) + (f" and {len(users) - 10} more" if len(users) > 10 else "")
        raise conflict(f"_id: {entry_id!r} is still used by {shown}") from None
    entry.id = entry_id
    return entry
