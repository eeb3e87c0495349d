"""The original registry's tags and metadata names: which come over, as default or folk, and whose."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import ValidationError
from django.utils import timezone

from folksonomy_app.models import Usage, validate_vocabulary_name
from seed_app.dump import Dump
from seed_app.plan.fields import date_of, id_text, in_order, note_unknown_fields, required_string
from seed_app.plan.records import NewEntry
from seed_app.report import Report

VOCABULARIES = {"tags": "tag", "metadatas": "metadata name"}


@dataclass
class Vocabulary:
    """One vocabulary (tags or metadata names) as the import builds it: the entries, and what each name of
    the original registry becomes (None: left out)."""

    collection: str
    entries: dict[str, NewEntry] = field(default_factory=dict)
    names: dict[str, str | None] = field(default_factory=dict)

    def name_for(self, report: Report, raw: Any, owner_id: str, collection: str, record: str) -> str | None:
        """What an item's tag or metadata name becomes; a name the vocabulary lacks joins it as ``folk``, as
        the original registry's own writes would have recorded it."""
        what = VOCABULARIES[self.collection]
        if not isinstance(raw, str):
            report.note(collection, record, f"{what} {raw!r} is not a string: left out")
            return None
        if raw in self.names:
            name = self.names[raw]
            if name is None:
                report.note(collection, record, f"{what} {raw!r} is not a name the registry takes: left out")
            return name
        checked = _checked_name(raw)
        if checked is None:
            report.note(collection, record, f"{what} {raw!r} is not a name the registry takes: left out")
            self.names[raw] = None
            return None
        if checked not in self.entries:
            self.entries[checked] = NewEntry(checked, Usage.FOLK, owner_id, timezone.now())
            report.note(
                self.collection,
                repr(checked),
                f"used by {collection} {record} but missing from {self.collection}: added as a folk {what}",
            )
        self.names[raw] = checked
        return checked


def _checked_name(raw: str) -> str | None:
    trimmed = raw.strip()
    try:
        validate_vocabulary_name(trimmed)
    except ValidationError:
        return None
    return trimmed


def plan_vocabulary(dump: Dump, collection: str, users: Mapping[str, str], report: Report) -> Vocabulary:
    vocabulary = Vocabulary(collection)
    what = VOCABULARIES[collection]
    for where, doc in in_order(dump.documents(collection), dump.file(collection)):
        raw = required_string(doc, "_id", where)
        record = repr(raw)
        note_unknown_fields(report, collection, record, doc)
        name = _checked_name(raw)
        if name is None:
            vocabulary.names[raw] = None
            report.note(
                collection,
                record,
                f"not a {what} the registry takes (1 to 64 characters, no control "
                "characters): left out, and from every item that uses it",
            )
            continue
        vocabulary.names[raw] = name
        if name in vocabulary.entries:
            report.note(collection, record, f"the same {what} as {name!r} once trimmed: merged into it")
            continue
        usage = doc.get("usage", Usage.FOLK)
        if usage not in Usage.values:
            report.note(collection, record, f"usage {usage!r} is not default or folk: imported as folk")
            usage = Usage.FOLK
        owner = doc.get("owner")
        owner_id = users.get(id_text(owner)) if owner is not None else None
        if owner is not None and owner_id is None:
            report.note(
                collection, record, f"its owner {id_text(owner)} is not a user of the dump: imported without an owner"
            )
        created = date_of(doc, "timestamp", where) or timezone.now()
        vocabulary.entries[name] = NewEntry(name, str(usage), owner_id, created)
    return vocabulary
