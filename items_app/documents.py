"""The read shape of items and versions (contract §4, §5), shared by the API and the pages.

An item document holds, in this order: ``_id``, ``name``, ``owner``, the kind's scalar traits
(``status``), ``visibility``, ``users``, the kind's list traits (``datasets``), ``metadata``, ``tags``,
``description``, ``versions``, ``aliases`` (name → ordinal), ``timestamp``, ``lastmod``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from framework.api.serializers import iso
from items_app import kinds
from items_app.facts import document_fields
from items_app.models import Item, Version
from items_app.related import Related, attach_version_rows, load_related

if TYPE_CHECKING:
    from tenants_app.models import User


def version_document(version: Version) -> dict[str, Any]:
    """A version as the API shows it; its aliases and metadata come from ``attach_version_rows`` (loaded
    here when a caller did not)."""
    if not hasattr(version, "alias_names"):
        attach_version_rows([version])
    return {
        "ordinal": version.ordinal,
        "label": version.label or None,
        "original": version.original,
        "size": version.size,
        "sha256": version.blob_id,
        "content_type": version.content_type,
        "description": version.description,
        "metadata": [{"name": entry.name, "value": entry.value} for entry in version.metadata_values],
        **document_fields(version),  # format, facts, safety, safety_globals (contract §9.6)
        "aliases": version.alias_names,
        "timestamp": iso(version.timestamp),
        # An ``owner_id`` means an owner row (SET_NULL clears both); mypy cannot relate the two.
        "owner": version.owner.username if version.owner_id else None,  # type: ignore[union-attr]
    }


def item_document(item: Item) -> dict[str, Any]:
    """The read shape; expects an item passed through ``load_related``."""
    kind = kinds.get(item.kind)
    related: Related = item.related
    document: dict[str, Any] = {"_id": item.pk, "name": item.name, "owner": item.owner.username}
    for scalar in kind.scalars:
        document[scalar.field] = getattr(item, scalar.field)
    document["visibility"] = item.visibility
    document["users"] = related.users
    for trait in kind.lists:
        document[trait.field] = related.lists[trait.field]
    document.update(
        {
            "metadata": [{"name": entry.name, "value": entry.value} for entry in related.metadata],
            "tags": related.tags,
            "description": item.description,
            "versions": [version_document(version) for version in related.versions],
            "aliases": {name: version.ordinal for version in related.versions for name in version.alias_names},
            "timestamp": iso(item.timestamp),
            "lastmod": iso(item.lastmod),
        }
    )
    return document


def item_documents(items: Sequence[Item], viewer: User) -> list[dict[str, Any]]:
    return [item_document(item) for item in load_related(items, viewer)]
