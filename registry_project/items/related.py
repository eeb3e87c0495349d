"""What an item document shows beyond the item's own row, loaded for a page of items at once.

The API's documents (``item_document``) and the pages read ``item.related``, set by ``load_related`` after
a read, or by ``create_item`` from the rows it has just written. Lists are ordered here, in Python, rather
than by the database: the same order on every database and collation, and the same order in a create
response as in a later read.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, NamedTuple

from registry_project.items.models import Item, ItemTag, Kind, Lineage, MetadataEntry, Share, Version, stored_value

if TYPE_CHECKING:
    from tenants_app.models import User


class MetadataValue(NamedTuple):
    """One metadata entry: a checked input value on its way to a row, or a row on its way to a document."""

    name: str
    value_type: str
    text: str
    number: float | None = None

    @property
    def value(self) -> str | float | int | bool:
        return stored_value(self.value_type, self.text)


@dataclass
class Related:
    """An item's shares (usernames), tags, metadata, datasets (readable ones) and versions, in document order."""

    users: list[str] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)
    metadata: list[MetadataValue] = field(default_factory=list)
    datasets: list[str] = field(default_factory=list)
    versions: list[Version] = field(default_factory=list)

    def put_in_order(self) -> Related:
        """Users and tags alphabetically; metadata, datasets and versions stay in the order they were added."""
        self.users.sort()
        self.tags.sort()
        return self


def load_related(items: Sequence[Item], viewer: User) -> Sequence[Item]:
    """Set ``item.related`` on each item (loaded with ``select_related("owner")``), whatever their number,
    in at most six queries; none for versions when no item ever had one, none for lineage without models.

    Plain ``values_list`` rows rather than ``prefetch_related``: building model instances and prefetch
    querysets for a page's ~300 related rows cost more than the queries themselves.
    Lineage is restricted to datasets the viewer can read: a hidden dataset never appears, not even by id.
    That test is a second query, made only when there are links at all.
    """
    related = {item.pk: Related() for item in items}
    if not related:
        return items
    ids = list(related)
    # Users and tags are sorted by put_in_order: no ORDER BY to compile and run.
    for item_id, username in Share.objects.filter(item_id__in=ids).order_by().values_list("item_id", "user__username"):
        related[item_id].users.append(username)
    for item_id, tag in ItemTag.objects.filter(item_id__in=ids).order_by().values_list("item_id", "tag_id"):
        related[item_id].tags.append(tag)
    entries = MetadataEntry.objects.filter(item_id__in=ids).order_by("id")
    for item_id, *entry in entries.values_list("item_id", "name_id", "value_type", "text"):
        related[item_id].metadata.append(MetadataValue(*entry))
    models = [item.pk for item in items if item.kind == Kind.MODEL]
    links = list(Lineage.objects.filter(model_id__in=models).order_by("id").values_list("model_id", "dataset_id"))
    if links:  # the visibility test only when there is something to test
        datasets = {dataset_id for _, dataset_id in links}
        readable = set(Item.objects.visible_to(viewer).filter(pk__in=datasets).values_list("pk", flat=True))
        for model_id, dataset_id in links:
            if dataset_id in readable:
                related[model_id].datasets.append(dataset_id)
    versioned = [item.pk for item in items if item.last_ordinal]
    if versioned:
        for version in Version.objects.filter(item_id__in=versioned).select_related("owner").order_by("ordinal"):
            related[version.item_id].versions.append(version)
    for item in items:
        item.related = related[item.pk].put_in_order()
    return items
