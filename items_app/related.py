"""What an item document shows beyond the item's own scalars, loaded for a page of items at once.

The API's documents (``documents.item_document``) and the pages read ``item.related``, set by
``load_related`` after a read, or by ``create_item`` from the rows it has just written. Shares, tags,
metadata and the lists of the kind's traits come from the item's ``ItemLists`` row, which every write keeps
equal to the rows (``rewrite_lists``). Lists are ordered here, in Python, rather than by the database: the
same order on every database and collation, and the same order in a create response as in a later read.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, NamedTuple, cast

from items_app import kinds
from items_app.models import (
    Alias,
    Item,
    ItemLists,
    ItemTag,
    MetadataEntry,
    Share,
    Version,
    VersionMetadataEntry,
    reader_copies,
    stored_value,
)

if TYPE_CHECKING:
    from tenants_app.models import User

CORE_LISTS = ("users", "tags", "metadata")


@dataclass(frozen=True)
class ListChange:
    """How one list field changes: a whole new list, or removals then additions."""

    replace: Sequence[Any] | None = None
    remove: Sequence[Any] = field(default_factory=tuple)
    add: Sequence[Any] = field(default_factory=tuple)

    def added(self) -> list[Any]:
        """The references this change adds (its removals need not exist)."""
        return [*(self.replace or ()), *self.add]


class MetadataValue(NamedTuple):
    """One metadata entry: a checked input value on its way to a row, or a row on its way to a document."""

    name: str
    value_type: str
    text: str
    number: float | None = None

    @property
    def value(self) -> str | float | int | bool:
        return stored_value(self.value_type, self.text)


def tag_rows(item: Item, names: Iterable[str]) -> list[ItemTag]:
    """The rows of ``item``'s tags ``names``, with the copies of its kind and public flag they carry."""
    copies = reader_copies(item)
    return [ItemTag(item=item, tag_id=name, **copies) for name in names]


def metadata_rows(item: Item, values: Iterable[MetadataValue]) -> list[MetadataEntry]:
    """The rows of ``item``'s metadata ``values``, with the copies of its kind and public flag they carry."""
    copies = reader_copies(item)
    return [
        MetadataEntry(item=item, name_id=v.name, value_type=v.value_type, text=v.text, number=v.number, **copies)
        for v in values
    ]


@dataclass
class Related:
    """An item's shares (usernames), tags, metadata, its traits' lists (``lists``, by field) and versions,
    in document order."""

    users: list[str] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)
    metadata: list[MetadataValue] = field(default_factory=list)
    lists: dict[str, list[str]] = field(default_factory=dict)
    versions: list[Version] = field(default_factory=list)

    def put_in_order(self) -> Related:
        """Users and tags alphabetically; metadata, trait lists and versions stay in the order they were added."""
        self.users.sort()
        self.tags.sort()
        return self

    def stored(self) -> dict[str, list[Any]]:
        """The ``ItemLists.content`` form: everything but the versions, which are rows read on their own."""
        return {
            "users": self.users,
            "tags": self.tags,
            "metadata": [[entry.name, entry.value_type, entry.text] for entry in self.metadata],
            **self.lists,
        }

    @classmethod
    def from_stored(cls, kind: str, content: dict[str, list[Any]]) -> Related:
        return cls(
            users=content["users"],
            tags=content["tags"],
            metadata=[MetadataValue(*entry) for entry in content["metadata"]],
            lists={trait.field: list(content.get(trait.field, ())) for trait in kinds.get(kind).lists},
        )


def load_related(items: Sequence[Item], viewer: User) -> Sequence[Item]:
    """Set ``item.related`` on each item (loaded with ``select_related("owner")``), whatever their number.

    The lists come from the items' ``ItemLists`` rows: joined already when the items were loaded with
    ``select_related("lists")``, else one query for all of them. Other queries only where needed: one per
    trait list that some item links, to keep only what the viewer may see (a hidden dataset never appears,
    not even by id); one when some item has versions; and the rows of items without stored lists.
    """
    stored = _stored_lists(items)
    kind_of = {item.pk: item.kind for item in items}
    related = {pk: Related.from_stored(kind_of[pk], content) for pk, content in stored.items()}
    unwritten = [item for item in items if item.pk not in related]
    if unwritten:
        related.update(_from_rows(unwritten))
    _hide_what_the_viewer_may_not_see(related, kind_of, viewer)
    versioned = [item.pk for item in items if item.last_ordinal]
    if versioned:
        for version in Version.objects.filter(item_id__in=versioned).select_related("owner").order_by("ordinal"):
            related[version.item_id].versions.append(version)
        attach_version_rows([version for pk in versioned for version in related[pk].versions])
    for item in items:
        item.related = related[item.pk]
    return items


def attach_version_rows(versions: Sequence[Version]) -> Sequence[Version]:
    """Set ``alias_names`` and ``metadata_values`` on each version (its document shows both): two queries
    for any number of versions."""
    by_id = {version.pk: version for version in versions}
    for version in versions:
        version.alias_names = []
        version.metadata_values = []
    if not by_id:
        return versions
    names = Alias.objects.filter(version_id__in=by_id).order_by("name").values_list("version_id", "name")
    for version_id, name in names:
        by_id[version_id].alias_names.append(name)
    entries = VersionMetadataEntry.objects.filter(version_id__in=by_id).order_by("id")
    for version_id, *entry in entries.values_list("version_id", "name_id", "value_type", "text"):
        by_id[version_id].metadata_values.append(MetadataValue(*entry))  # type: ignore[arg-type]
    return versions


def _hide_what_the_viewer_may_not_see(related: dict[str, Related], kind_of: dict[str, str], viewer: User) -> None:
    traits = {trait for kind in set(kind_of.values()) for trait in kinds.get(kind).lists}
    for trait in traits:
        linked = {ref for entry in related.values() for ref in entry.lists.get(trait.field, ())}
        if not linked:
            continue
        shown = trait.shown_to(viewer, linked)
        for entry in related.values():
            if trait.field in entry.lists:
                entry.lists[trait.field] = [ref for ref in entry.lists[trait.field] if ref in shown]


def _stored_lists(items: Sequence[Item]) -> dict[str, dict[str, list[Any]]]:
    """The stored lists of those items that have them, by item id."""
    stored = {}
    unjoined = []
    for item in items:
        if not Item.lists.is_cached(item):
            unjoined.append(item.pk)
        elif (lists := cast("ItemLists | None", Item.lists.related.get_cached_value(item))) is not None:
            stored[item.pk] = lists.content
    if unjoined:
        stored.update(ItemLists.objects.filter(item_id__in=unjoined).values_list("item_id", "content"))
    return stored


def lists_from_rows(item: Item) -> dict[str, list[Any]]:
    """What the item's ``ItemLists`` must hold now, read from its rows (what ``rewrite_lists`` stores)."""
    return _from_rows([item])[item.pk].stored()


def rewrite_lists(items: Iterable[Item], batch: int = 500) -> None:
    """Store the lists of these items as their rows now say (``lists_from_rows``): inside the transaction that
    changed the rows, with the items' rows locked. Each item needs its ``id`` and ``kind``."""
    pending = list(items)
    for start in range(0, len(pending), batch):
        chunk = pending[start : start + batch]
        from_rows = _from_rows(chunk)
        ItemLists.objects.bulk_create(
            [ItemLists(item_id=item.pk, content=from_rows[item.pk].stored()) for item in chunk],
            update_conflicts=True,
            unique_fields=["item"],
            update_fields=["content"],
        )


def _from_rows(items: Sequence[Item]) -> dict[str, Related]:
    """The items' lists as their rows say, every linked reference included, in document order: three queries
    and one per trait list of their kinds. Plain ``values_list`` rows: model instances would cost more."""
    related = {item.pk: Related() for item in items}
    ids = list(related)
    # Users and tags are sorted by put_in_order: no ORDER BY to compile and run.
    for item_id, username in Share.objects.filter(item_id__in=ids).order_by().values_list("item_id", "user__username"):
        related[item_id].users.append(username)
    for item_id, tag in ItemTag.objects.filter(item_id__in=ids).order_by().values_list("item_id", "tag_id"):
        related[item_id].tags.append(tag)
    entries = MetadataEntry.objects.filter(item_id__in=ids).order_by("id")
    for item_id, *entry in entries.values_list("item_id", "name_id", "value_type", "text"):
        # ``entry`` is the three text columns; mypy cannot count a starred list against ``number``.
        related[item_id].metadata.append(MetadataValue(*entry))  # type: ignore[arg-type]
    for trait, having in _items_by_list_trait(items).items():
        for item in having:
            related[item.pk].lists[trait.field] = []
        for item_id, ref in trait.from_rows([item.pk for item in having]):
            related[item_id].lists[trait.field].append(ref)
    return {item_id: entry.put_in_order() for item_id, entry in related.items()}


def _items_by_list_trait(items: Sequence[Item]) -> dict[Any, list[Item]]:
    by_trait: dict[Any, list[Item]] = defaultdict(list)
    for item in items:
        for trait in kinds.get(item.kind).lists:
            by_trait[trait].append(item)
    return by_trait
