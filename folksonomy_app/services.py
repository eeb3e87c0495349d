"""Write workflows of the vocabulary: recording what people use, and the admins' curated entries."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

from django.core.exceptions import ValidationError
from django.db import IntegrityError
from django.db.models import ProtectedError

from folksonomy_app.models import MetadataName, Tag, Usage, VocabularyEntry, validate_vocabulary_name
from framework.errors import Conflict, Forbidden, Invalid
from tenants_app import audit
from tenants_app.audit import Caller
from tenants_app.context import require_tenant
from tenants_app.models import User
from tenants_app.transactions import breaks_a_reference, tenant_atomic

VOCABULARIES: dict[str, type[VocabularyEntry]] = {"tag": Tag, "metadata": MetadataName}


def _user_of(row: Any) -> Any:
    """What a row that uses an entry belongs to, as a refusal names it: the item of an item's tag or metadata
    entry, the item of a version's metadata entry (its ``version``), else the row itself."""
    version = getattr(row, "version", None)
    return getattr(row, "item", None) or getattr(version, "item", None) or row


T = TypeVar("T")


class KnownNames:
    """The vocabulary names this process has seen in each tenant's database (per incarnation).

    Every item create and most updates use tags and metadata names that exist already; a name seen before
    needs no lookup, which saves two of the eleven statements of a create. A remembered name can disappear
    behind this process's back (an admin of another worker deletes an entry no item uses any more): the
    write that trusted it then fails on its foreign key, and ``retrying_forgotten_names`` forgets what this
    process remembered of the tenant and runs the write once more, looking every name up.
    """

    MAX_NAMES = 50_000  # per tenant and vocabulary; past it, start again (a bound, not an eviction policy)

    def __init__(self) -> None:
        self._names: dict[tuple[str, str], set[str]] = {}
        self._lock = threading.Lock()

    def unknown(self, model: type[VocabularyEntry], names: set[str]) -> set[str]:
        with self._lock:
            return names - self._names.get(self._key(model), set())

    def remember(self, model: type[VocabularyEntry], names: Iterable[str]) -> None:
        with self._lock:
            known = self._names.setdefault(self._key(model), set())
            if len(known) > self.MAX_NAMES:
                known.clear()
            known.update(names)

    def forget(self, model: type[VocabularyEntry], names: Iterable[str]) -> None:
        with self._lock:
            self._names.get(self._key(model), set()).difference_update(names)

    def forget_tenant(self) -> None:
        """Forget every name of the current tenant, in both vocabularies."""
        uid = require_tenant().uid
        with self._lock:
            for key in [key for key in self._names if key[0] == uid]:
                del self._names[key]

    @staticmethod
    def _key(model: type[VocabularyEntry]) -> tuple[str, str]:
        return require_tenant().uid, model._meta.label


known_names = KnownNames()


def retrying_forgotten_names(write: Callable[[], T]) -> T:
    """Run ``write`` (a whole transaction); if a reference broke, forget the remembered names and run it again.

    A second failure is the caller's to report: what broke then was not a remembered name.
    """
    try:
        return write()
    except IntegrityError as exc:
        if not breaks_a_reference(exc):
            raise
    known_names.forget_tenant()
    return write()


def check_name(field: str, name: object) -> str:
    """A vocabulary name as stored (trimmed), or a 400 naming the field and the rule."""
    if not isinstance(name, str):
        raise Invalid(f"{field}: expected a string, got {type(name).__name__}")
    trimmed = name.strip()
    try:
        validate_vocabulary_name(trimmed)
    except ValidationError as exc:
        raise Invalid(f"{field}: {' '.join(exc.messages)} ({trimmed[:70]!r})") from None
    return trimmed


def record_use(model: type[VocabularyEntry], names: Iterable[str], owner: User | None) -> None:
    """Record every name used as a ``folk`` entry unless it is already known (concurrency-safe).

    Call inside the write's transaction, through ``retrying_forgotten_names``: names this process has seen
    are trusted without a lookup (``KnownNames``).
    """
    unseen = known_names.unknown(model, set(names))
    if not unseen:
        return
    existing = set(model.objects.filter(pk__in=unseen).values_list("pk", flat=True))
    missing = [model(id=name, usage=Usage.FOLK, owner=owner) for name in sorted(unseen - existing)]
    model.objects.bulk_create(missing, ignore_conflicts=True)
    known_names.remember(model, existing)  # the new ones are remembered when next seen, once committed


def create_default(caller: Caller, vocabulary: str, name: object) -> VocabularyEntry:
    """An admin's curated entry (``usage: default``); an existing name is a 409."""
    if not caller.is_admin:
        raise Forbidden(f"Only tenant admins can create default {vocabulary} entries.", action="create")
    model = VOCABULARIES[vocabulary]
    entry = model(id=check_name("_id", name), usage=Usage.DEFAULT, owner=caller.user)
    try:
        with tenant_atomic():
            entry.save(force_insert=True)
            audit.record(caller, action="create", resource=vocabulary, target=entry.id)
    except IntegrityError:
        raise Conflict(f"_id: {entry.id!r} already exists") from None
    return entry


def delete_entry(caller: Caller, vocabulary: str, entry: VocabularyEntry) -> VocabularyEntry:
    """Remove an entry nobody uses; an entry still in use is a 409 naming the items."""
    if not caller.is_admin:
        raise Forbidden(f"Only tenant admins can delete {vocabulary} entries.", action="delete")
    entry_id = entry.id
    try:
        with tenant_atomic():
            entry.delete()
            audit.record(caller, action="delete", resource=vocabulary, target=entry_id)
        known_names.forget(type(entry), [entry_id])
    except ProtectedError as exc:
        users = sorted({str(_user_of(row)) for row in exc.protected_objects})
        shown = ", ".join(users[:10]) + (f" and {len(users) - 10} more" if len(users) > 10 else "")
        raise Conflict(f"_id: {entry_id!r} is still used by {shown}") from None
    entry.id = entry_id
    return entry
