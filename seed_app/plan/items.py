"""The original registry's models, datasets and algorithms: ids, names, owners, shares, tags, metadata, lineage."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.utils import timezone

from algorithms_app.models import ALGORITHM_VALUE
from datasets_app.models import DATASET_VALUE
from framework.errors import ServiceError
from framework.ids import new_object_id
from items_app import kinds
from items_app.models import Visibility
from items_app.related import MetadataValue
from items_app.services import MAX_NAME_LENGTH, MAX_VALUE_LENGTH, metadata_value
from items_app.traits import ScalarTrait
from models_app.models import MODEL_VALUE
from seed_app.dump import Dump
from seed_app.plan.fields import (
    SCHEMA_FIELDS,
    Where,
    date_of,
    id_text,
    in_order,
    list_of,
    note_unknown_fields,
    object_id,
    required_string,
)
from seed_app.plan.records import NewItem
from seed_app.plan.versions import plan_versions
from seed_app.plan.vocabulary import Vocabulary
from seed_app.report import Report

# The item collections and their kinds; datasets first, so that models and algorithms find theirs.
SEED_KINDS = {"datasets": DATASET_VALUE, "models": MODEL_VALUE, "algorithms": ALGORITHM_VALUE}


@dataclass
class ItemContext:
    """What the items of an import check their references against, and the names and ids they took."""

    users: Mapping[str, str]
    admin_id: str
    tags: Vocabulary
    metadata: Vocabulary
    uploads: Path | None
    report: Report
    datasets: dict[str, str] = field(default_factory=dict)  # original id -> registry id
    ids: set[str] = field(default_factory=set)
    names: set[tuple[str, str, str]] = field(default_factory=set)  # (kind, owner id, name)


def plan_items(dump: Dump, context: ItemContext) -> list[NewItem]:
    items = []
    for collection, kind in SEED_KINDS.items():
        for where, doc in in_order(dump.documents(collection), dump.file(collection)):
            item = _plan_item(collection, kind, where, doc, context)
            items.append(item)
            if kind == DATASET_VALUE:
                context.datasets[where.id] = item.id
        context.report.count(collection, len(dump.documents(collection)))
    context.report.count("versions", sum(len(item.versions) for item in items))
    return items


def _plan_item(collection: str, kind: str, where: Where, doc: dict[str, Any], context: ItemContext) -> NewItem:
    report = context.report
    raw_name = required_string(doc, "name", where)
    record = f"{where.id} ({raw_name})"
    note_unknown_fields(report, collection, record, doc)
    timestamp = date_of(doc, "timestamp", where) or timezone.now()
    item = NewItem(
        id=_item_id(collection, record, doc.get("_id"), context),
        kind=kind,
        name="",
        owner_id=_owner(collection, record, doc.get("owner"), context),
        status=_status(report, collection, record, kind, doc.get("status")),
        visibility=_visibility(report, collection, record, doc.get("visibility")),
        timestamp=timestamp,
        lastmod=date_of(doc, "lastmod", where) or timestamp,
    )
    item.name = _item_name(collection, record, kind, item.owner_id, raw_name, context)
    item.users = _shares(collection, record, list_of(doc, "users", where), item.owner_id, context)
    item.tags = _item_tags(collection, record, list_of(doc, "tags", where), item.owner_id, context)
    item.metadata = _item_metadata(collection, record, list_of(doc, "metadata", where), item.owner_id, context)
    if "datasets" in SCHEMA_FIELDS[collection]:
        item.datasets = _lineage(collection, record, list_of(doc, "datasets", where), context)
    versions = list_of(doc, "versions", where)
    item.versions, item.last_ordinal = plan_versions(
        collection, record, where, versions, timestamp, context.uploads, report
    )
    return item


def _item_id(collection: str, record: str, raw: Any, context: ItemContext) -> str:
    """The original id, kept: users find their items by it. Only an id that is not an ObjectId (the
    original registry took any ``_id`` a client sent) or that another collection's item has too changes."""
    item_id = object_id(raw)
    if item_id is None or item_id in context.ids:
        why = "is not a 24-hex id" if item_id is None else "is another item's too"
        item_id = new_object_id()
        context.report.note(collection, record, f"its _id {why}: its id is now {item_id}")
    context.ids.add(item_id)
    return item_id


def _owner(collection: str, record: str, raw: Any, context: ItemContext) -> str:
    owner = context.users.get(id_text(raw))
    if owner is None:
        # The original registry deleted users who still owned algorithms (it checked only models, datasets, tags).
        context.report.note(
            collection,
            record,
            f"its owner {id_text(raw)} is not a user of the dump: it belongs to the oldest admin now",
        )
        return context.admin_id
    return owner


def _status(report: Report, collection: str, record: str, kind: str, raw: Any) -> str:
    status = next((trait for trait in kinds.get(kind).scalars if trait.field == "status"), None)
    if not isinstance(status, ScalarTrait):
        return ""
    if raw is None:
        return status.default
    if raw not in status.values:
        # The original registry did not check values on updates: its own README set "deploy", and any text passed.
        report.note(
            collection, record, f"status {raw!r} is not one of {', '.join(status.values)}: imported as {status.default}"
        )
        return status.default
    return str(raw)


def _visibility(report: Report, collection: str, record: str, raw: Any) -> str:
    if raw is None or raw == Visibility.PRIVATE:
        return Visibility.PRIVATE
    if raw == Visibility.PUBLIC:
        return Visibility.PUBLIC
    report.note(
        collection,
        record,
        f"visibility {raw!r} is not public or private: imported as private (the original registry treated it so)",
    )
    return Visibility.PRIVATE


def _item_name(collection: str, record: str, kind: str, owner_id: str, raw: str, context: ItemContext) -> str:
    """The name, unique per kind and owner: the older item keeps it, a younger one is renamed ``name (2)``."""
    name = raw.strip()[:MAX_NAME_LENGTH] or "unnamed"
    candidate, suffix = name, 2
    while (kind, owner_id, candidate) in context.names:
        candidate = f"{name[: MAX_NAME_LENGTH - 10]} ({suffix})"
        suffix += 1
    context.names.add((kind, owner_id, candidate))
    if candidate != raw:
        why = "its owner has an older one named so" if candidate != name else "names are 1 to 200 characters"
        context.report.note(collection, record, f"name {raw!r} is {candidate!r} here ({why})")
    return candidate


def _shares(collection: str, record: str, raw: list[Any], owner_id: str, context: ItemContext) -> list[str]:
    shared: list[str] = []
    for ref in raw:
        user_id = context.users.get(id_text(ref))
        if user_id is None:
            # The original registry deleted users without removing them from share lists.
            context.report.note(
                collection,
                record,
                f"shared with {id_text(ref)}, who is not a user of the dump: that share is left out",
            )
        elif user_id not in shared and user_id != owner_id:
            shared.append(user_id)
    return shared


def _item_tags(collection: str, record: str, raw: list[Any], owner_id: str, context: ItemContext) -> list[str]:
    tags = (context.tags.name_for(context.report, tag, owner_id, collection, record) for tag in raw)
    return sorted({tag for tag in tags if tag is not None})


def _item_metadata(
    collection: str, record: str, raw: list[Any], owner_id: str, context: ItemContext
) -> list[MetadataValue]:
    report = context.report
    values: dict[str, MetadataValue] = {}
    for entry in raw:
        if not isinstance(entry, dict) or "name" not in entry:
            shown = str(entry)[:60]
            report.note(collection, record, f"metadata entry {shown!r} is not a {{name, value}} pair: left out")
            continue
        name = context.metadata.name_for(report, entry["name"], owner_id, collection, record)
        if name is None:
            continue
        value = entry.get("value")
        value = "" if value is None else value
        if isinstance(value, str) and len(value) > MAX_VALUE_LENGTH:
            report.note(collection, record, f"metadata {name!r}: its value is cut to {MAX_VALUE_LENGTH} characters")
            value = value[:MAX_VALUE_LENGTH]
        if name in values:
            report.note(collection, record, f"metadata {name!r} appears twice (once per item here): the first is kept")
            continue
        try:
            values[name] = metadata_value({"name": name, "value": value})
        except ServiceError as exc:
            report.note(collection, record, f"metadata {name!r}: {exc.details}: left out")
    return list(values.values())


def _lineage(collection: str, record: str, raw: list[Any], context: ItemContext) -> list[str]:
    datasets: list[str] = []
    for ref in raw:
        dataset = context.datasets.get(id_text(ref))
        if dataset is None:
            context.report.note(
                collection, record, f"dataset {id_text(ref)} is not a dataset of the dump: that link is left out"
            )
        elif dataset not in datasets:
            datasets.append(dataset)
    return datasets
