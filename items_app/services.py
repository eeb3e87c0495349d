"""Write workflows for models and datasets: create, update (add/remove), delete. Every caller uses these.

List fields are rows (shares, lineage, tags, metadata entries); an update inserts and deletes only the rows
it names, inside one transaction, so concurrent updates of different entries never lose each other.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from django.db import IntegrityError
from django.db.models import F, Q
from django.utils import timezone

from folksonomy_app.models import MetadataName, Tag
from folksonomy_app.services import check_name, record_use, retrying_forgotten_names
from framework.api.errors import ApiError, conflict, forbidden, not_found, numbered
from framework.files import storage
from framework.files.uploads import ReceivedFile
from framework.ids import looks_like_object_id
from framework.lookups import one_or_none
from items_app import generation
from items_app.generation import Readers
from items_app.models import (
    Blob,
    Item,
    ItemLists,
    ItemTag,
    Kind,
    Lineage,
    MetadataEntry,
    Share,
    Status,
    ValueType,
    Version,
    Visibility,
)
from items_app.related import MetadataValue, Related, rewrite_lists
from tenants_app import audit
from tenants_app.audit import Caller
from tenants_app.context import require_tenant
from tenants_app.models import User
from tenants_app.transactions import breaks_a_reference, tenant_atomic

R = TypeVar("R", User, Item)
MAX_LIST_LENGTH = 1000
MAX_BATCH = 1000  # items per batch create
CREATE_ERROR, UPDATE_ERROR = "post_request_error", "put_request_error"
MAX_VALUE_LENGTH = 1024
LIST_FIELDS = ("users", "datasets", "tags", "metadata")
SCALAR_FIELDS = ("name", "status", "visibility", "description")
# The generation counter each field's change bumps (who may read the item is ``generation.Readers``'s part).
ASPECT_OF_FIELD = {
    "name": "name",
    "status": "status",
    "visibility": None,
    "description": "description",
    "users": "users",
    "datasets": "datasets",
    "tags": "tags",
    "metadata": "metadata",
}


@dataclass(frozen=True)
class ListChange:
    """How one list field changes: a whole new list, or removals then additions."""

    replace: Sequence[Any] | None = None
    remove: Sequence[Any] = field(default_factory=tuple)
    add: Sequence[Any] = field(default_factory=tuple)


# ---------------------------------------------------------------- checking references and values


@dataclass(frozen=True)
class References:
    """The users and readable datasets that the items of one write name, each kind looked up in one query
    whatever the number of items; each item then checks its own references against them."""

    users: dict[str, User] = field(default_factory=dict)
    datasets: dict[str, Item] = field(default_factory=dict)

    @classmethod
    def named_in(cls, caller: Caller, user_refs: Iterable[Any], dataset_refs: Iterable[Any]) -> References:
        return cls(users=_users_by_ref(_strings(user_refs)), datasets=_readable_by_id(caller, _strings(dataset_refs)))

    @classmethod
    def named_by(cls, caller: Caller, bodies: Iterable[Mapping[str, Any]]) -> References:
        """What the create bodies name (a body's lists are checked to be lists before)."""
        bodies = list(bodies)
        users = [ref for body in bodies for ref in body.get("users", ())]
        datasets = [ref for body in bodies for ref in body.get("datasets", ())]
        return cls.named_in(caller, users, datasets)

    def users_named(self, refs: Iterable[Any], kind: str) -> list[User]:
        """Users named by id or username; every one must exist in this tenant."""
        return _each_named(refs, self.users, kind, "users", "usernames or user ids", "no user {!r} in this tenant")

    def datasets_named(self, refs: Iterable[Any], kind: str) -> list[Item]:
        """Datasets named by id; each must exist and be readable by the caller (else it does not exist)."""
        return _each_named(refs, self.datasets, kind, "datasets", "dataset ids", "no dataset {!r}")


def _each_named(
    refs: Iterable[Any], known: Mapping[str, R], kind: str, field: str, expected: str, missing: str
) -> list[R]:
    """The rows ``refs`` name, each once; a reference that is not a string, or names no row, is a 400."""
    found: dict[str, R] = {}
    for ref in refs:
        if not isinstance(ref, str):
            raise ApiError(kind, f"{field}: expected {expected}, got {json.dumps(ref)[:60]}")
        row = known.get(ref)
        if row is None:
            raise ApiError(kind, f"{field}: there is {missing.format(ref)}")
        found[row.pk] = row
    return list(found.values())


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


def _readable_by_id(caller: Caller, ids: set[str]) -> dict[str, Item]:
    if not ids:
        return {}
    readable = Item.objects.of_kind(Kind.DATASET).visible_to(caller.user).filter(pk__in=ids)
    return {dataset.pk: dataset for dataset in readable}


def _tags(names: Iterable[Any], kind: str) -> list[str]:
    return sorted({check_name("tags", name, kind) for name in names})


def metadata_value(entry: Any, kind: str) -> MetadataValue:
    """One ``{"name", "value"}`` pair, checked; numbers and booleans are kept as their JSON text."""
    if not isinstance(entry, dict) or set(entry) != {"name", "value"}:
        raise ApiError(kind, 'metadata: each entry is {"name": …, "value": …}')
    name = check_name("metadata.name", entry["name"], kind)
    value = entry["value"]
    if isinstance(value, bool):
        return MetadataValue(name, ValueType.BOOLEAN, json.dumps(value), None)
    if isinstance(value, int | float):
        try:
            number = float(value)
        except OverflowError:
            number = math.inf
        if not math.isfinite(number):
            raise ApiError(kind, f"metadata.{name}: numbers must be finite and within ±1.8e308")
        return MetadataValue(name, ValueType.NUMBER, json.dumps(value), number)
    if isinstance(value, str):
        if len(value) > MAX_VALUE_LENGTH:
            raise ApiError(kind, f"metadata.{name}: values are at most {MAX_VALUE_LENGTH} characters")
        return MetadataValue(name, ValueType.STRING, value, None)
    raise ApiError(kind, f"metadata.{name}: a value is a string, a number or true/false")


def _metadata(entries: Iterable[Any], kind: str) -> list[MetadataValue]:
    values = [metadata_value(entry, kind) for entry in entries]
    names = [value.name for value in values]
    duplicated = sorted({name for name in names if names.count(name) > 1})
    if duplicated:
        raise ApiError(kind, f"metadata: each name appears once per item ({', '.join(duplicated)})")
    return values


def _metadata_names(entries: Iterable[Any], kind: str) -> list[str]:
    """Names to remove: given as ``{"name", "value"?}`` objects (as the seed did) or plain names."""
    names = []
    for entry in entries:
        raw = entry.get("name") if isinstance(entry, dict) else entry
        names.append(check_name("metadata.name", raw, kind))
    return names


def _check_length(field_name: str, values: Sequence[Any] | None, kind: str) -> None:
    if values is not None and len(values) > MAX_LIST_LENGTH:
        raise ApiError(kind, f"{field_name}: at most {MAX_LIST_LENGTH} entries")


def _check_scalars(item: Item, kind: str) -> None:
    if not isinstance(item.name, str) or not item.name.strip():
        raise ApiError(kind, "name: required, a non-empty string")
    item.name = item.name.strip()
    if len(item.name) > 200:
        raise ApiError(kind, "name: at most 200 characters")
    if item.visibility not in Visibility.values:
        raise ApiError(kind, f"visibility: one of {', '.join(Visibility.values)}")
    if item.kind == Kind.MODEL and item.status not in Status.values:
        raise ApiError(kind, f"status: one of {', '.join(Status.values)}")


def touch(item: Item, **changes: Any) -> None:
    """Record, inside a write's transaction, that ``item`` (a row, a list entry or a version) changed."""
    Item.objects.filter(pk=item.pk).update(lastmod=timezone.now(), revision=F("revision") + 1, **changes)


def ensure_editable(caller: Caller, item: Item, method: str) -> None:
    """403 unless the caller owns the item or is an admin (also checked before an upload body is read)."""
    if not (caller.is_admin or (caller.user is not None and item.owner_id == caller.user.pk)):
        raise forbidden(method, "Only the owner or an admin can change this item.")


# ---------------------------------------------------------------- writing rows


def _add_shares(item: Item, users: Iterable[User]) -> None:
    Share.objects.bulk_create([Share(item=item, user=user) for user in users], ignore_conflicts=True)


def _add_lineage(item: Item, datasets: Iterable[Item]) -> None:
    Lineage.objects.bulk_create([Lineage(model=item, dataset=dataset) for dataset in datasets], ignore_conflicts=True)


def _add_tags(item: Item, names: Iterable[str], owner: User | None) -> None:
    names = list(names)
    record_use(Tag, names, owner)
    ItemTag.objects.bulk_create([ItemTag(item=item, tag_id=name) for name in names], ignore_conflicts=True)


def _put_metadata(item: Item, values: Iterable[MetadataValue], owner: User | None) -> None:
    """Add entries; an entry whose name the item already has gets the new value (upsert per row)."""
    values = list(values)
    record_use(MetadataName, [value.name for value in values], owner)
    for value in values:
        fields = {"value_type": value.value_type, "text": value.text, "number": value.number}
        if MetadataEntry.objects.filter(item=item, name_id=value.name).update(**fields):
            continue
        created = MetadataEntry.objects.bulk_create(
            [MetadataEntry(item=item, name_id=value.name, **fields)], ignore_conflicts=True
        )
        if not created or created[0].pk is None:  # inserted concurrently by someone else: ours wins
            MetadataEntry.objects.filter(item=item, name_id=value.name).update(**fields)


# ---------------------------------------------------------------- workflows


@dataclass(frozen=True)
class NewItem:
    """One item of a create, checked and with its references resolved: what its transaction writes."""

    item: Item
    related: Related
    share_with: list[User]
    uses: list[Item]

    @property
    def readers(self) -> Readers:
        return Readers.of(self.item.visibility, self.item.owner_id, [user.pk for user in self.share_with])


def create_item(caller: Caller, kind: str, **fields: Any) -> Item:
    """Create one item from the fields of a ``POST`` body (already shaped by the API's input serializer)."""
    new = _new_item(caller, kind, fields, References.named_by(caller, [fields]))
    _insert(caller, [new], lambda: f"name: you already have a {kind} named {new.item.name!r}")
    return new.item


def create_items(caller: Caller, kind: str, bodies: Sequence[dict[str, Any]]) -> list[Item]:
    """Create several items in one transaction: all of them, or (on any error) none. An error names the
    position of the item it is about, ``[3] name: …``, counted from 0 as in the request's array."""
    check_batch_size(bodies)
    references = References.named_by(caller, bodies)
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
        raise ApiError(CREATE_ERROR, "body: an empty array creates nothing; send at least one item")
    if len(bodies) > MAX_BATCH:
        raise ApiError(CREATE_ERROR, f"body: at most {MAX_BATCH} items per request, got {len(bodies)}")


def _new_item(caller: Caller, kind: str, fields: dict[str, Any], references: References) -> NewItem:
    assert caller.user is not None
    for list_name in LIST_FIELDS:
        _check_length(list_name, fields.get(list_name), CREATE_ERROR)
    item = Item(
        kind=kind,
        name=fields.get("name"),
        owner=caller.user,
        status=(fields.get("status") or Status.TRAINING) if kind == Kind.MODEL else "",
        visibility=fields.get("visibility", Visibility.PRIVATE),
        description=fields.get("description", ""),
    )
    _check_scalars(item, CREATE_ERROR)
    share_with = references.users_named(fields.get("users", ()), CREATE_ERROR)
    uses = references.datasets_named(fields.get("datasets", ()), CREATE_ERROR) if kind == Kind.MODEL else []
    # What a read would load, from the rows about to be written: the response needs no second round of
    # queries, and the item's stored lists are written with it.
    related = Related(
        users=[user.username for user in share_with],
        tags=_tags(fields.get("tags", ()), CREATE_ERROR),
        metadata=_metadata(fields.get("metadata", ()), CREATE_ERROR),
        datasets=[dataset.pk for dataset in uses],
    ).put_in_order()
    item.related = related
    return NewItem(item, related, share_with, uses)


def _check_distinct_names(new_items: Sequence[NewItem]) -> None:
    first_with: dict[str, int] = {}
    for index, new in enumerate(new_items):
        earlier = first_with.setdefault(new.item.name, index)
        if earlier != index:
            raise conflict(f"[{index}] name: item [{earlier}] of this request is named {new.item.name!r} too")


def _taken_names(caller: Caller, kind: str, new_items: Sequence[NewItem]) -> str:
    """The 409 details of a batch whose insert hit the unique name constraint: the first name now taken."""
    names = [new.item.name for new in new_items]
    taken = set(Item.objects.of_kind(kind).filter(owner=caller.user, name__in=names).values_list("name", flat=True))
    for index, name in enumerate(names):
        if name in taken:
            return f"[{index}] name: you already have a {kind} named {name!r}"
    return "name: another request created one of these names meanwhile: send it again"


def _insert(caller: Caller, new_items: Sequence[NewItem], name_taken: Callable[[], str]) -> None:
    try:
        retrying_forgotten_names(lambda: _insert_items(caller, new_items))
    except IntegrityError as exc:
        raise _conflict(exc, name_taken) from None


def _insert_items(caller: Caller, new_items: Sequence[NewItem]) -> None:
    """The writes of a create, in one transaction, one statement per table whatever the number of items:
    the items, their stored lists, their list rows (shares, lineage, tags and metadata as ``related`` lists
    them), the names they use and one log entry each. The rows are built before the transaction starts, so
    that on SQLite the write lock is held for the statements only."""
    items = [new.item for new in new_items]
    stored = [ItemLists(item=new.item, content=new.related.stored()) for new in new_items]
    shares = [Share(item=new.item, user=user) for new in new_items for user in new.share_with]
    lineage = [Lineage(model=new.item, dataset=used) for new in new_items for used in new.uses]
    tags = [ItemTag(item=new.item, tag_id=name) for new in new_items for name in new.related.tags]
    metadata = [
        MetadataEntry(item=new.item, name_id=v.name, value_type=v.value_type, text=v.text, number=v.number)
        for new in new_items
        for v in new.related.metadata
    ]
    logged = [(item.pk, {"name": item.name}) for item in items]
    readers = Readers.union(new.readers for new in new_items)
    with tenant_atomic():
        Item.objects.bulk_create(items)
        ItemLists.objects.bulk_create(stored)
        Share.objects.bulk_create(shares)
        Lineage.objects.bulk_create(lineage)
        record_use(Tag, {row.tag_id for row in tags}, caller.user)
        ItemTag.objects.bulk_create(tags)
        record_use(MetadataName, {row.name_id for row in metadata}, caller.user)
        MetadataEntry.objects.bulk_create(metadata)
        audit.record_each(caller, action="create", resource=items[0].kind, changes=logged)
        generation.bump(readers=readers)


def _conflict(exc: IntegrityError, name_taken: Callable[[], str]) -> ApiError:
    """The 409 of a write that failed on a constraint: a row it refers to went away, or a name is taken
    (``name_taken`` says which, asked only then)."""
    if breaks_a_reference(exc):
        return conflict("a user, dataset or vocabulary entry this refers to was deleted meanwhile: send it again")
    return conflict(name_taken())


def update_item(caller: Caller, item: Item, scalars: dict[str, Any], lists: dict[str, ListChange]) -> Item:
    """Set scalars and apply list changes (removes first, then adds; a plain list replaces)."""
    error = UPDATE_ERROR
    ensure_editable(caller, item, "PUT")
    for name, value in scalars.items():
        setattr(item, name, value)
    _check_scalars(item, error)
    for list_name, change in lists.items():
        for values in (change.replace, change.remove, change.add):
            _check_length(list_name, values, error)
    # Resolve every reference before writing anything: a bad one changes nothing.
    references = References.named_in(caller, _named(lists.get("users")), _named(lists.get("datasets")))
    plan = {name: _resolve(item, name, change, references, error) for name, change in lists.items()}
    try:
        retrying_forgotten_names(lambda: _apply_update(caller, item, scalars, set(lists), plan))
    except IntegrityError as exc:
        raise _conflict(exc, lambda: f"name: the owner already has a {item.kind} named {item.name!r}") from None
    return Item.objects.get(pk=item.pk)


def _apply_update(
    caller: Caller, item: Item, scalars: dict[str, Any], lists: set[str], plan: dict[str, tuple[Any, Any]]
) -> None:
    """The writes of an update, in one transaction, on the item's locked row."""
    with tenant_atomic():
        was_public = _locked_visibility(item) == Visibility.PUBLIC
        shared_before = _shared_with(item) if "users" in lists else None
        if scalars:
            Item.objects.filter(pk=item.pk).update(**scalars)
        for name, (remove, add) in plan.items():
            _APPLY[name](item, remove, add, caller.user)
        if plan:
            rewrite_lists([item])
        touch(item)
        action = "share" if lists == {"users"} and not scalars else "update"
        details = {"fields": sorted({*scalars, *lists})}
        audit.record(caller, action=action, resource=item.kind, target=item.pk, details=details)
        aspects = {ASPECT_OF_FIELD[name] for name in (*scalars, *lists)} - {None}
        generation.bump("lastmod", *aspects, readers=_new_readers(item, was_public, shared_before))


def _locked_visibility(item: Item) -> str:
    """Lock the item's row for the rest of the transaction and read its visibility as committed: another
    change of who may read the item then happens wholly before this one or after it, so each bumps the
    right readers' counters (``generation.Readers``)."""
    visibility = one_or_none(Item.objects.select_for_update().filter(pk=item.pk).values_list("visibility", flat=True))
    if visibility is None:  # deleted by someone else meanwhile
        raise not_found(f"_id: no {item.kind} {item.pk!r}")
    return visibility  # type: ignore[no-any-return]


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


def _named(change: ListChange | None) -> list[Any]:
    """The references a list change adds (its removals need not exist)."""
    return [*(change.replace or ()), *change.add] if change is not None else []


def _resolve(item: Item, name: str, change: ListChange, references: References, error: str) -> tuple[Any, Any]:
    """(what to remove, what to add) for one list field, with every reference checked."""
    if name == "users":
        if change.replace is not None:
            return "all", references.users_named(change.replace, error)
        return [user.pk for user in _existing_users(change.remove)], references.users_named(change.add, error)
    if name == "datasets":
        if item.kind != Kind.MODEL:
            raise ApiError(error, "datasets: only models have datasets")
        if change.replace is not None:
            return "all", references.datasets_named(change.replace, error)
        return [ref for ref in change.remove if isinstance(ref, str)], references.datasets_named(change.add, error)
    if name == "tags":
        if change.replace is not None:
            return "all", _tags(change.replace, error)
        return _tags(change.remove, error), _tags(change.add, error)
    if change.replace is not None:
        return "all", _metadata(change.replace, error)
    return _metadata_names(change.remove, error), _metadata(change.add, error)


def _existing_users(refs: Iterable[Any]) -> list[User]:
    wanted = [ref for ref in refs if isinstance(ref, str)]
    return list(User.objects.filter(Q(pk__in=wanted) | Q(username__in=wanted)))


def _apply_users(item: Item, remove: Any, add: list[User], owner: User | None) -> None:
    rows = Share.objects.filter(item=item)
    (rows if remove == "all" else rows.filter(user_id__in=remove)).exclude(
        user_id__in=[user.pk for user in add] if remove == "all" else []
    ).delete()
    _add_shares(item, add)


def _apply_datasets(item: Item, remove: Any, add: list[Item], owner: User | None) -> None:
    rows = Lineage.objects.filter(model=item)
    if remove == "all":
        # Links to datasets the caller cannot read are not theirs to drop: keep them.
        rows.filter(dataset__in=Item.objects.of_kind(Kind.DATASET).visible_to(owner)).exclude(
            dataset__in=[dataset.pk for dataset in add]
        ).delete()
    else:
        rows.filter(dataset_id__in=remove).delete()
    _add_lineage(item, add)


def _apply_tags(item: Item, remove: Any, add: list[str], owner: User | None) -> None:
    rows = ItemTag.objects.filter(item=item)
    (rows.exclude(tag_id__in=add) if remove == "all" else rows.filter(tag_id__in=remove)).delete()
    _add_tags(item, add, owner)


def _apply_metadata(item: Item, remove: Any, add: list[MetadataValue], owner: User | None) -> None:
    rows = MetadataEntry.objects.filter(item=item)
    names = [value.name for value in add]
    (rows.exclude(name_id__in=names) if remove == "all" else rows.filter(name_id__in=remove)).delete()
    _put_metadata(item, add, owner)


_APPLY = {"users": _apply_users, "datasets": _apply_datasets, "tags": _apply_tags, "metadata": _apply_metadata}


def delete_item(caller: Caller, item: Item) -> Item:
    """Delete an item and its rows; a dataset still used by a model is a 409 naming those models."""
    ensure_editable(caller, item, "DELETE")
    users_of = Item.objects.filter(lineage__dataset=item).order_by("name")
    if users_of.exists():
        readable = list(users_of.visible_to(caller.user).values_list("name", flat=True)[:10])
        hidden = users_of.count() - len(readable)
        names = ", ".join(readable) + (f" and {hidden} other model(s)" if hidden else "")
        raise conflict(f"_id: the dataset is used by {names}")
    item_id = item.pk
    blobs = set(Version.objects.filter(item=item).values_list("blob_id", flat=True))
    with tenant_atomic():
        readers = Readers.of(_locked_visibility(item), item.owner_id, _shared_with(item))
        item.delete()
        audit.record(caller, action="delete", resource=item.kind, target=item_id, details={"name": item.name})
        generation.bump(readers=readers)
    item.pk = item_id
    for sha256 in blobs:
        release_blob(require_tenant().id, sha256)
    return item


def is_item_id(value: str) -> bool:
    return looks_like_object_id(value)


# ---------------------------------------------------------------- versions (files)


class _BlobVanished(Exception):
    """A concurrent deletion removed the blob between storing it and locking it: store it again."""


def add_version(
    caller: Caller,
    item: Item,
    received: ReceivedFile,
    *,
    original: str,
    description: str = "",
    expected_sha256: str | None = None,
) -> Version:
    """Record an uploaded file as the item's next version, storing its bytes once per tenant.

    The blob is written first, then the row is recorded in a transaction that holds the blob's lock; any
    failure on the way releases the blob again unless another version uses it. No version row without its
    file, no file without its row.
    """
    ensure_editable(caller, item, "POST")
    sha256 = received.sha256
    tenant_id = require_tenant().id
    try:
        if expected_sha256 is not None and expected_sha256 != sha256:
            raise ApiError("digest_mismatch", f"file: its SHA-256 is {sha256}, the client expected {expected_sha256}")
        if Version.objects.filter(item=item, original=original).exists():
            raise conflict(f"original: this {item.kind} already has a version named {original!r}")
        version = _store_and_record(caller, item, received, tenant_id, original, description)
    except IntegrityError:
        release_blob(tenant_id, sha256)
        raise conflict(f"original: this {item.kind} already has a version named {original!r}") from None
    except BaseException:
        release_blob(tenant_id, sha256)
        raise
    finally:
        received.close()
    return version


def _store_and_record(
    caller: Caller, item: Item, received: ReceivedFile, tenant_id: str, original: str, description: str
) -> Version:
    key = storage.blob_key(tenant_id, received.sha256)
    for _attempt in range(3):
        if not storage.exists(key):
            storage.store(key, received)
        try:
            with tenant_atomic():
                return _record(caller, item, received, key, original, description)
        except _BlobVanished:
            continue
    raise ApiError("generic_upload_error", "file: storage lost the file while it was recorded; try again")


def _record(caller: Caller, item: Item, received: ReceivedFile, key: str, original: str, description: str) -> Version:
    blob, _ = Blob.objects.select_for_update().get_or_create(sha256=received.sha256, defaults={"size": received.size})
    if not storage.exists(key):
        raise _BlobVanished
    touch(item, last_ordinal=F("last_ordinal") + 1)
    ordinal = Item.objects.filter(pk=item.pk).values_list("last_ordinal", flat=True).get()
    version = Version.objects.create(
        item=item,
        ordinal=ordinal,
        original=original,
        size=received.size,
        blob=blob,
        content_type=(received.content_type or "application/octet-stream")[:255],
        description=description,
        owner=caller.user,
    )
    details = {"ordinal": ordinal, "original": original, "size": received.size, "sha256": received.sha256}
    audit.record(caller, action="upload", resource=item.kind, target=item.pk, details=details)
    generation.bump("versions", "lastmod")
    return version


def release_blob(tenant_id: str, sha256: str) -> None:
    """Remove a blob (file and row) unless a version still uses it."""
    with tenant_atomic():
        blob = one_or_none(Blob.objects.select_for_update().filter(pk=sha256))
        if Version.objects.filter(blob_id=sha256).exists():
            return
        storage.delete(storage.blob_key(tenant_id, sha256))
        if blob is not None:
            blob.delete()


def readable_item(user: User, kind: str, pk: str, *related: str) -> Item:
    """The item ``pk`` of ``kind`` if ``user`` may read it (``readable_one``), with ``related`` joined; a 404
    otherwise, the same as for a missing one. Every item route of the API and the pages starts here."""
    item = Item.objects.of_kind(kind).select_related(*related).readable_one(pk, user)
    if item is None:
        raise not_found(f"_id: no {kind} {pk!r}")
    return item  # type: ignore[no-any-return]


def find_version(item: Item, ref: str) -> Version:
    """A version by ordinal (all digits) or else by original file name."""
    versions = Version.objects.filter(item=item).select_related("owner")
    version = versions.filter(ordinal=int(ref)).first() if ref.isdigit() else versions.filter(original=ref).first()
    if version is None:
        raise ApiError("resource_not_found", f"versions: no version {ref!r}")
    return version


def delete_version(caller: Caller, item: Item, version: Version) -> Version:
    ensure_editable(caller, item, "DELETE")
    sha256 = version.blob_id
    version_id = version.pk
    with tenant_atomic():
        version.delete()
        touch(item)
        details = {"ordinal": version.ordinal, "original": version.original, "size": version.size, "sha256": sha256}
        audit.record(caller, action="delete_version", resource=item.kind, target=item.pk, details=details)
        generation.bump("versions", "lastmod")
    version.pk = version_id
    release_blob(require_tenant().id, sha256)
    return version


def record_download(caller: Caller, item: Item, version: Version, byte_range: str | None) -> None:
    details = {
        "ordinal": version.ordinal,
        "original": version.original,
        "size": version.size,
        "sha256": version.blob_id,
    }
    if byte_range:
        details["range"] = byte_range
    audit.record(caller, action="download", resource=item.kind, target=item.pk, details=details)
