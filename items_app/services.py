"""Write workflows for items of every kind: create (one or a batch), update (add/remove), delete.

Every caller (API, pages, admin, commands) uses these. List fields are rows (shares, tags, metadata
entries, and the rows of a kind's list traits); an update inserts and deletes only the rows it names,
inside one transaction, so concurrent updates of different entries never lose each other. Every write runs
inside ``generation.changing()``, which declares what it changes for the cached reads. What a kind adds
(its traits) is asked through the hooks of ``items_app.traits``.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, TypeVar, cast

from django.db import IntegrityError
from django.db.models import F, Q
from django.utils import timezone

from folksonomy_app.models import MetadataName, Tag
from folksonomy_app.services import check_name, record_use, retrying_forgotten_names
from framework.errors import Action, Conflict, Forbidden, Invalid, NotFound, numbered
from framework.ids import looks_like_object_id
from framework.lookups import one_or_none
from items_app import events, generation, kinds
from items_app.blobs import release_blob
from items_app.generation import Readers
from items_app.kinds import ItemKind
from items_app.models import (
    Item,
    ItemLists,
    ItemTag,
    MetadataEntry,
    Share,
    ValueType,
    Version,
    VersionMetadataEntry,
    Visibility,
    reader_copies,
)
from items_app.related import ListChange, MetadataValue, Related, metadata_rows, rewrite_lists, tag_rows
from items_app.traits import ListTrait
from tenants_app import audit
from tenants_app.audit import Caller
from tenants_app.context import require_tenant
from tenants_app.models import User
from tenants_app.transactions import breaks_a_reference

MAX_LIST_LENGTH = 1000
MAX_BATCH = 1000  # items per batch create
MAX_VALUE_LENGTH = 1024
MAX_NAME_LENGTH = 200
CORE_LISTS = ("users", "tags", "metadata")
CORE_SCALARS = ("name", "visibility", "description")


def touch(item: Item, **changes: Any) -> None:
    """Record, inside a write's transaction, that ``item`` (a row, a list entry or a version) changed."""
    Item.objects.filter(pk=item.pk).update(lastmod=timezone.now(), revision=F("revision") + 1, **changes)


def ensure_editable(caller: Caller, item: Item, action: Action) -> None:
    """Refuse unless the caller owns the item or is an admin (also checked before an upload body is read)."""
    if not (caller.is_admin or (caller.user is not None and item.owner_id == caller.user.pk)):
        raise Forbidden("Only the owner or an admin can change this item.", action=action)


def readable_item(user: User, kind: str, pk: str, *related: str) -> Item:
    """The item ``pk`` of ``kind`` if ``user`` may read it (``readable_one``), with ``related`` joined; not
    found otherwise, the same as for a missing one. Every item route of the API and the pages starts here."""
    item = Item.objects.of_kind(kind).select_related(*related).readable_one(pk, user)
    if item is None:
        raise NotFound(f"_id: no {kind} {pk!r}")
    return item


def item_id_by_name(kind: str, owner: str, name: str) -> str | None:
    """The id of ``owner``'s item of ``kind`` named ``name`` (the pair is unique), whoever may read it: the
    caller's route then reads it by id, with the one visibility rule."""
    ids = Item.objects.of_kind(kind).filter(owner__username=owner, name=name).values_list("pk", flat=True)
    return ids.first()


def is_item_id(value: str) -> bool:
    return looks_like_object_id(value)


# ---------------------------------------------------------------- checking references and values


@dataclass(frozen=True)
class References:
    """The users, and the rows each list trait links to, that the items of one write name: each looked up in
    one query whatever the number of items; each item then checks its own references against them."""

    users: dict[str, User] = field(default_factory=dict)
    lists: dict[str, Mapping[str, Any]] = field(default_factory=dict)

    @classmethod
    def named_in(cls, caller: Caller, kind: ItemKind, named: Mapping[str, Iterable[Any]]) -> References:
        """``named``: the references a write adds, by list field (``users`` and the kind's list traits)."""
        lists = {trait.field: trait.lookup(caller, _strings(named.get(trait.field, ()))) for trait in kind.lists}
        return cls(users=_users_by_ref(_strings(named.get("users", ()))), lists=lists)

    @classmethod
    def named_by(cls, caller: Caller, kind: ItemKind, bodies: Iterable[Mapping[str, Any]]) -> References:
        """What the create bodies name (a body's lists are checked to be lists before)."""
        bodies = list(bodies)
        fields = ["users", *(trait.field for trait in kind.lists)]
        return cls.named_in(
            caller, kind, {name: [ref for body in bodies for ref in body.get(name, ())] for name in fields}
        )

    def users_named(self, refs: Iterable[Any]) -> list[User]:
        """Users named by id or username; every one must exist in this tenant."""
        found: dict[str, User] = {}
        for ref in refs:
            if not isinstance(ref, str):
                raise Invalid(f"users: expected usernames or user ids, got {json.dumps(ref)[:60]}")
            user = self.users.get(ref)
            if user is None:
                raise Invalid(f"users: there is no user {ref!r} in this tenant")
            found[user.pk] = user
        return list(found.values())

    def of(self, trait: ListTrait) -> Mapping[str, Any]:
        return self.lists.get(trait.field, {})


def _strings(refs: Iterable[Any]) -> set[str]:
    return {ref for ref in refs if isinstance(ref, str)}


def _users_by_ref(refs: set[str]) -> dict[str, User]:
    """The users these references name, under each reference that names them (an id wins over a username)."""
    if not refs:
        return {}
    users = list(User.objects.filter(Q(pk__in=refs) | Q(username__in=refs)))
    by_ref = {user.username: user for user in users}
    by_ref.update({user.pk: user for user in users})
    return by_ref


def _tags(names: Iterable[Any]) -> list[str]:
    return sorted({check_name("tags", name) for name in names})


def metadata_value(entry: Any) -> MetadataValue:
    """One ``{"name", "value"}`` pair, checked; numbers and booleans are kept as their JSON text."""
    if not isinstance(entry, dict) or set(entry) != {"name", "value"}:
        raise Invalid('metadata: each entry is {"name": …, "value": …}')
    name = check_name("metadata.name", entry["name"])
    value = entry["value"]
    if isinstance(value, bool):
        return MetadataValue(name, ValueType.BOOLEAN, json.dumps(value), None)
    if isinstance(value, int | float):
        try:
            number = float(value)
        except OverflowError:
            number = math.inf
        if not math.isfinite(number):
            raise Invalid(f"metadata.{name}: numbers must be finite and within ±1.8e308")
        return MetadataValue(name, ValueType.NUMBER, json.dumps(value), number)
    if isinstance(value, str):
        if len(value) > MAX_VALUE_LENGTH:
            raise Invalid(f"metadata.{name}: values are at most {MAX_VALUE_LENGTH} characters")
        return MetadataValue(name, ValueType.STRING, value, None)
    raise Invalid(f"metadata.{name}: a value is a string, a number or true/false")


def checked_metadata(entries: Iterable[Any]) -> list[MetadataValue]:
    values = [metadata_value(entry) for entry in entries]
    names = [value.name for value in values]
    duplicated = sorted({name for name in names if names.count(name) > 1})
    if duplicated:
        raise Invalid(f"metadata: each name appears once per item ({', '.join(duplicated)})")
    return values


def metadata_names(entries: Iterable[Any]) -> list[str]:
    """Names to remove: given as ``{"name", "value"?}`` objects (as the seed did) or plain names."""
    names = []
    for entry in entries:
        raw = entry.get("name") if isinstance(entry, dict) else entry
        names.append(check_name("metadata.name", raw))
    return names


def _check_length(field_name: str, values: Sequence[Any] | None) -> None:
    if values is not None and len(values) > MAX_LIST_LENGTH:
        raise Invalid(f"{field_name}: at most {MAX_LIST_LENGTH} entries")


def _check_scalars(item: Item) -> None:
    if not isinstance(item.name, str) or not item.name.strip():
        raise Invalid("name: required, a non-empty string")
    item.name = item.name.strip()
    if len(item.name) > MAX_NAME_LENGTH:
        raise Invalid(f"name: at most {MAX_NAME_LENGTH} characters")
    if item.visibility not in Visibility.values:
        raise Invalid(f"visibility: one of {', '.join(Visibility.values)}")
    for scalar in kinds.get(item.kind).scalars:
        scalar.check(getattr(item, scalar.field))


# ---------------------------------------------------------------- create


@dataclass(frozen=True)
class NewItem:
    """One item of a create, checked and with its references resolved: what its transaction writes."""

    item: Item
    related: Related
    share_with: list[User]
    links: dict[ListTrait, list[Any]]  # what each list trait links the item to

    @property
    def readers(self) -> Readers:
        return Readers.of(self.item.visibility, self.item.owner_id, [user.pk for user in self.share_with])


def create_item(caller: Caller, kind: ItemKind, **fields: Any) -> Item:
    """Create one item from the fields of a ``POST`` body (already shaped by the API's input serializer)."""
    new = _new_item(caller, kind, fields, References.named_by(caller, kind, [fields]))
    _insert(caller, [new], lambda: f"name: you already have a {kind.value} named {new.item.name!r}")
    return new.item


def create_items(caller: Caller, kind: ItemKind, bodies: Sequence[dict[str, Any]]) -> list[Item]:
    """Create several items in one transaction: all of them, or (on any error) none. An error names the
    position of the item it is about, ``[3] name: …``, counted from 0 as in the request's array."""
    check_batch_size(bodies)
    references = References.named_by(caller, kind, bodies)
    new_items = []
    for index, fields in enumerate(bodies):
        with numbered(index):
            new_items.append(_new_item(caller, kind, fields, references))
    _check_distinct_names(new_items)
    _insert(caller, new_items, lambda: _taken_names(caller, kind, new_items))
    return [new.item for new in new_items]


def check_batch_size(bodies: Sequence[Any]) -> None:
    """1 to ``MAX_BATCH`` items per batch create (checked before the bodies are)."""
    if not bodies:
        raise Invalid("body: an empty array creates nothing; send at least one item")
    if len(bodies) > MAX_BATCH:
        raise Invalid(f"body: at most {MAX_BATCH} items per request, got {len(bodies)}")


def _new_item(caller: Caller, kind: ItemKind, fields: dict[str, Any], references: References) -> NewItem:
    assert caller.user is not None
    for list_name in (*CORE_LISTS, *(trait.field for trait in kind.lists)):
        _check_length(list_name, fields.get(list_name))
    item = Item(
        kind=kind.value,
        name=cast(str, fields.get("name")),  # required by the create body's serializer
        owner=caller.user,
        visibility=fields.get("visibility", Visibility.PRIVATE),
        description=fields.get("description", ""),
    )
    for scalar in kind.scalars:
        setattr(item, scalar.field, scalar.initial(fields.get(scalar.field)))
    _check_scalars(item)
    share_with = references.users_named(fields.get("users", ()))
    links = {trait: trait.named(fields.get(trait.field, ()), references.of(trait)) for trait in kind.lists}
    # What a read would load, from the rows about to be written: the response needs no second round of
    # queries, and the item's stored lists are written with it.
    related = Related(
        users=[user.username for user in share_with],
        tags=_tags(fields.get("tags", ())),
        metadata=checked_metadata(fields.get("metadata", ())),
        lists={trait.field: trait.stored(targets) for trait, targets in links.items()},
    ).put_in_order()
    item.related = related
    return NewItem(item, related, share_with, links)


def _check_distinct_names(new_items: Sequence[NewItem]) -> None:
    first_with: dict[str, int] = {}
    for index, new in enumerate(new_items):
        earlier = first_with.setdefault(new.item.name, index)
        if earlier != index:
            raise Conflict(f"[{index}] name: item [{earlier}] of this request is named {new.item.name!r} too")


def _taken_names(caller: Caller, kind: ItemKind, new_items: Sequence[NewItem]) -> str:
    """The 409 details of a batch whose insert hit the unique name constraint: the first name now taken."""
    names = [new.item.name for new in new_items]
    mine = Item.objects.of_kind(kind.value).filter(owner=caller.user, name__in=names)
    taken = set(mine.values_list("name", flat=True))
    for index, name in enumerate(names):
        if name in taken:
            return f"[{index}] name: you already have a {kind.value} named {name!r}"
    return "name: another request created one of these names meanwhile: send it again"


def _insert(caller: Caller, new_items: Sequence[NewItem], name_taken: Callable[[], str]) -> None:
    try:
        retrying_forgotten_names(lambda: _insert_items(caller, new_items))
    except IntegrityError as exc:
        raise _conflict(exc, name_taken) from None


def _insert_items(caller: Caller, new_items: Sequence[NewItem]) -> None:
    """The writes of a create, in one transaction, one statement per table whatever the number of items:
    the items, their stored lists, their list rows (shares, trait links, tags and metadata as ``related``
    lists them), the names they use and one log entry each. The rows are built before the transaction
    starts, so that on SQLite the write lock is held for the statements only."""
    items = [new.item for new in new_items]
    stored = [ItemLists(item=new.item, content=new.related.stored()) for new in new_items]
    shares = [Share(item=new.item, user=user) for new in new_items for user in new.share_with]
    links = [row for new in new_items for trait, targets in new.links.items() for row in trait.rows(new.item, targets)]
    tags = [row for new in new_items for row in tag_rows(new.item, new.related.tags)]
    metadata = [row for new in new_items for row in metadata_rows(new.item, new.related.metadata)]
    logged = [(item.pk, {"name": item.name}) for item in items]
    with generation.changing(readers=Readers.union(new.readers for new in new_items)) as change:
        Item.objects.bulk_create(items)
        ItemLists.objects.bulk_create(stored)
        Share.objects.bulk_create(shares)
        _insert_links(links)
        record_use(Tag, {row.tag_id for row in tags}, caller.user)
        ItemTag.objects.bulk_create(tags)
        record_use(MetadataName, {row.name_id for row in metadata}, caller.user)
        MetadataEntry.objects.bulk_create(metadata)
        audit.record_each(caller, action="create", resource=items[0].kind, changes=logged)
        change.emit(*(events.created_item(caller, new.item, [user.pk for user in new.share_with]) for new in new_items))


def _insert_links(rows: Sequence[Any]) -> None:
    """The trait link rows of a create, one statement per link table."""
    by_model: dict[type[Any], list[Any]] = {}
    for row in rows:
        by_model.setdefault(type(row), []).append(row)
    for model, model_rows in by_model.items():
        model.objects.bulk_create(model_rows)


def _conflict(exc: IntegrityError, name_taken: Callable[[], str]) -> Conflict:
    """The 409 of a write that failed on a constraint: a row it refers to went away, or a name is taken
    (``name_taken`` says which, asked only then)."""
    if breaks_a_reference(exc):
        return Conflict("a user, dataset or vocabulary entry this refers to was deleted meanwhile: send it again")
    return Conflict(name_taken())


# ---------------------------------------------------------------- update


def update_item(caller: Caller, item: Item, scalars: dict[str, Any], lists: dict[str, ListChange]) -> Item:
    """Set scalars and apply list changes (removes first, then adds; a plain list replaces)."""
    kind = kinds.get(item.kind)
    ensure_editable(caller, item, "modify")
    for name, value in scalars.items():
        setattr(item, name, value)
    _check_scalars(item)
    for list_name, change in lists.items():
        for values in (change.replace, change.remove, change.add):
            _check_length(list_name, values)
    # Resolve every reference before writing anything: a bad one changes nothing.
    added = {name: change.added() for name, change in lists.items()}
    references = References.named_in(caller, kind, added)
    plan = {name: _resolve(kind, name, change, references) for name, change in lists.items()}
    try:
        retrying_forgotten_names(lambda: _apply_update(caller, item, scalars, set(lists), plan))
    except IntegrityError as exc:
        raise _conflict(exc, lambda: f"name: the owner already has a {item.kind} named {item.name!r}") from None
    return Item.objects.get(pk=item.pk)


def _apply_update(
    caller: Caller, item: Item, scalars: dict[str, Any], lists: set[str], plan: dict[str, tuple[Any, Any]]
) -> None:
    """The writes of an update, in one transaction, on the item's locked row."""
    kind = kinds.get(item.kind)
    with generation.changing("lastmod", *scalars, *lists) as change:
        was_public = _locked_visibility(item) == Visibility.PUBLIC
        shared_before = _shared_with(item) if "users" in lists else None
        if scalars:
            Item.objects.filter(pk=item.pk).update(**scalars)
        for name, (remove, add) in plan.items():
            _apply_list(kind, item, name, remove, add, caller)
        if plan:
            rewrite_lists([item])
        if "visibility" in scalars or {"tags", "metadata"} & set(plan):
            _copy_readers_to_rows(item)
        touch(item)
        action = "share" if lists == {"users"} and not scalars else "update"
        details = {"fields": sorted({*scalars, *lists})}
        audit.record(caller, action=action, resource=item.kind, target=item.pk, details=details)
        change.reaches(_new_readers(item, was_public, shared_before))
        change.emit(events.updated_item(caller, item.pk))


def _copy_readers_to_rows(item: Item) -> None:
    """Bring the item's tag and metadata rows' copy of its public flag in step with its row, as this
    transaction leaves it (rows added from an instance read before the lock may carry an older one)."""
    public = Item.objects.filter(pk=item.pk).values_list("visibility", flat=True).get() == Visibility.PUBLIC
    for model in (ItemTag, MetadataEntry):
        model.objects.filter(item=item).exclude(public=public).update(public=public)


def _locked_visibility(item: Item) -> str:
    """Lock the item's row for the rest of the transaction and read its visibility as committed: another
    change of who may read the item then happens wholly before this one or after it, so each bumps the
    right readers' counters (``generation.Readers``)."""
    visibility = one_or_none(Item.objects.select_for_update().filter(pk=item.pk).values_list("visibility", flat=True))
    if visibility is None:  # deleted by someone else meanwhile
        raise NotFound(f"_id: no {item.kind} {item.pk!r}")
    return visibility


def _shared_with(item: Item) -> set[str]:
    return set(Share.objects.filter(item=item).values_list("user_id", flat=True))


def _new_readers(item: Item, was_public: bool, shared_before: set[str] | None) -> Readers | None:
    """Who starts or stops being able to read ``item`` by this update (None: nobody)."""
    if was_public != (item.visibility == Visibility.PUBLIC):
        return Readers(everyone=True)
    if was_public or shared_before is None:
        return None
    changed = shared_before ^ _shared_with(item)
    return Readers(users=frozenset(changed)) if changed else None


def _resolve(kind: ItemKind, name: str, change: ListChange, references: References) -> tuple[Any, Any]:
    """(what to remove, what to add) for one list field, with every reference checked."""
    if name == "users":
        if change.replace is not None:
            return "all", references.users_named(change.replace)
        return [user.pk for user in _existing_users(change.remove)], references.users_named(change.add)
    if name == "tags":
        if change.replace is not None:
            return "all", _tags(change.replace)
        return _tags(change.remove), _tags(change.add)
    if name == "metadata":
        if change.replace is not None:
            return "all", checked_metadata(change.replace)
        return metadata_names(change.remove), checked_metadata(change.add)
    trait = kind.trait(name)
    if not isinstance(trait, ListTrait):
        raise Invalid(f"{name}: {kind.plural.lower()} have no {name}")
    return trait.resolve(change, references.of(trait))


def _existing_users(refs: Iterable[Any]) -> list[User]:
    wanted = [ref for ref in refs if isinstance(ref, str)]
    return list(User.objects.filter(Q(pk__in=wanted) | Q(username__in=wanted)))


def _apply_list(kind: ItemKind, item: Item, name: str, remove: Any, add: Any, caller: Caller) -> None:
    if name in _APPLY:
        _APPLY[name](item, remove, add, caller.user)
        return
    trait = kind.trait(name)
    assert isinstance(trait, ListTrait)  # _resolve checked it
    trait.apply(item, remove, add, caller)


def _apply_users(item: Item, remove: Any, add: list[User], user: User | None) -> None:
    rows = Share.objects.filter(item=item)
    (rows if remove == "all" else rows.filter(user_id__in=remove)).exclude(
        user_id__in=[added.pk for added in add] if remove == "all" else []
    ).delete()
    Share.objects.bulk_create([Share(item=item, user=added) for added in add], ignore_conflicts=True)


def _apply_tags(item: Item, remove: Any, add: list[str], user: User | None) -> None:
    rows = ItemTag.objects.filter(item=item)
    (rows.exclude(tag_id__in=add) if remove == "all" else rows.filter(tag_id__in=remove)).delete()
    record_use(Tag, add, user)
    ItemTag.objects.bulk_create(tag_rows(item, add), ignore_conflicts=True)


def _apply_metadata(item: Item, remove: Any, add: list[MetadataValue], user: User | None) -> None:
    apply_metadata(MetadataEntry, {"item": item}, remove, add, user)


# The rows of an item's or of a version's metadata: the same columns and rules (``put_metadata``).
MetadataRow = TypeVar("MetadataRow", MetadataEntry, VersionMetadataEntry)


def apply_metadata(
    model: type[MetadataRow],
    owner: dict[str, Any],
    remove: Any,
    add: Sequence[MetadataValue],
    user: User | None,
) -> None:
    """Change the metadata rows of one owner (``{"item": item}``, ``{"version": version}``): remove the
    names ``remove`` lists (``"all"``: every name ``add`` does not set), then ``put_metadata``."""
    rows = model.objects.filter(**owner)
    names = [value.name for value in add]
    (rows.exclude(name_id__in=names) if remove == "all" else rows.filter(name_id__in=remove)).delete()
    put_metadata(model, owner, add, user)


def put_metadata(
    model: type[MetadataRow],
    owner: dict[str, Any],
    values: Iterable[MetadataValue],
    user: User | None,
) -> None:
    """Add entries to one owner's metadata rows; a name it already has gets the new value (upsert per row).
    The names join the vocabulary (folk)."""
    values = list(values)
    if not values:
        return
    record_use(MetadataName, [value.name for value in values], user)
    copies = reader_copies(owner["item"]) if model is MetadataEntry else {}
    for value in values:
        fields = {"value_type": value.value_type, "text": value.text, "number": value.number}
        if model.objects.filter(**owner, name_id=value.name).update(**fields):
            continue
        row = model(**owner, name_id=value.name, **fields, **copies)
        created = model.objects.bulk_create([row], ignore_conflicts=True)
        if not created or created[0].pk is None:  # inserted concurrently by someone else: ours wins
            model.objects.filter(**owner, name_id=value.name).update(**fields)


_APPLY: dict[str, Callable[[Item, Any, Any, User | None], None]] = {
    "users": _apply_users,
    "tags": _apply_tags,
    "metadata": _apply_metadata,
}


# ---------------------------------------------------------------- delete


def delete_item(caller: Caller, item: Item) -> Item:
    """Delete an item and its rows, unless a trait's rule forbids it (a dataset still in use is a 409)."""
    ensure_editable(caller, item, "delete")
    for trait in kinds.get(item.kind).traits:
        trait.before_delete(caller, item)
    item_id = item.pk
    blobs = set(Version.objects.filter(item=item).values_list("blob_id", flat=True))
    with generation.changing() as change:
        change.reaches(Readers.of(_locked_visibility(item), item.owner_id, _shared_with(item)))
        change.emit(events.deleted_item(caller, item_id))
        item.delete()
        audit.record(caller, action="delete", resource=item.kind, target=item_id, details={"name": item.name})
    item.pk = item_id
    for sha256 in blobs:
        release_blob(require_tenant().id, sha256)
    return item


# ---------------------------------------------------------------- users leaving


@contextmanager
def forgetting_user(user: User) -> Iterator[None]:
    """``tenants_app.services.delete_user``'s step for items, around the deletion of ``user``: the items shared
    with the user list their name, so they are locked before the user (and with them the shares) goes, and
    their lists are rewritten after. A username leaves documents: everything counts as changed."""
    with generation.changing():
        shared = Item.objects.select_for_update().filter(pk__in=Share.objects.filter(user=user).values("item_id"))
        shared_items = list(shared.order_by("pk").only("id", "kind"))
        yield
        rewrite_lists(shared_items)
