"""Exact reads without recomputing: a per-process cache keyed by counters that every write bumps.

Counting the items a user may read is the costliest part of a list request at scale, and building a page
of documents costs several statements more (figures in bench/README.md). What a list or an item document
shows only changes when items change, so:

- every write to item data runs inside ``changing()``, which declares what it changes and, as the last
  statements of its transaction, bumps the tenant's item *generation* and the counters of what changed.
  A write outside it is refused (``guard_item_writes``): a write path that forgets cannot run;
- a result is cached under ``(tenant incarnation, generation, what was asked, by whom)``; reading the
  generation is one primary-key lookup. A result computed after reading generation ``g`` reflects a state
  at least as new as ``g``, and once a write commits every request reads ``g + 1``: reads stay exact.

Totals are kept longer. A write also bumps the counters of the aspects of items it changes (``ASPECTS``,
through the fields it declares), and of the readers whose readable items it changes (``Readers``: everyone
for a public item, else its owner and the users it is shared with, admins always). A total is cached under
the viewer's reader counters (``public`` and their own ``item_scope``, or ``scope`` for admins) and the
counters of the aspects its filter and sort read. A description edit therefore leaves a tag filter's total
and the tags' counts cached, and so does another user's private new item for everyone it is not shared
with. The same argument keeps them exact: every write that changes what a total counts bumps one of the
counters in its key, and the viewer's own counter is read (when the request authenticates) before anything
is computed.

The cache is per process (a least-recently-used map bounded by weight: a count or a document weighs 1, a
list page 1 + its documents), so workers never need to agree on anything but the counters.
``CACHE_READS=false`` computes every read again (a test compares the two).
"""

from __future__ import annotations

import re
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any, TypeVar, cast

from django.conf import settings
from django.db.models import F

from framework.lookups import one_or_none
from items_app import item_counts, postings
from items_app.models import Generation, Visibility
from tenants_app import databases
from tenants_app.context import current_tenant, require_tenant
from tenants_app.event_order import in_commit_order
from tenants_app.events import record_events
from tenants_app.models import Event, User
from tenants_app.transactions import tenant_atomic

T = TypeVar("T")
MAX_WEIGHT = 8192  # documents (~2 KB each) or counts per worker process
ROW = 1  # the one row of each tenant's Generation table


class LruCache:
    """A thread-safe least-recently-used map bounded by total weight (gunicorn's gthread workers share it)."""

    def __init__(self, max_weight: int) -> None:
        self.max_weight = max_weight
        self.weight = 0
        self._entries: OrderedDict[Hashable, tuple[Any, int]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: Hashable) -> tuple[bool, Any]:
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                return False, None
            self._entries.move_to_end(key)
            return True, entry[0]

    def put(self, key: Hashable, value: Any, weight: int = 1) -> None:
        if weight > self.max_weight:
            return
        with self._lock:
            previous = self._entries.pop(key, None)
            if previous is not None:
                self.weight -= previous[1]
            self._entries[key] = (value, weight)
            self.weight += weight
            while self.weight > self.max_weight:
                _, (_, dropped) = self._entries.popitem(last=False)
                self.weight -= dropped


_cache = LruCache(MAX_WEIGHT)


# What a write can change besides who may read what, each with its own counter on the Generation row.
ASPECTS = ("name", "description", "status", "lastmod", "tags", "metadata", "versions", "datasets", "users")
SCOPE, PUBLIC = "scope", "public"  # who may read what: for admins, and for everyone (public items)
COUNTERS = ("value", SCOPE, PUBLIC, *ASPECTS)


@dataclass(frozen=True)
class Readers:
    """The users (besides admins) who start or stop being able to read an item: everyone for a public one."""

    everyone: bool = False
    users: frozenset[str] = frozenset()

    @classmethod
    def of(cls, visibility: str, owner_id: str, shared_with: Iterable[str]) -> Readers:
        if visibility == Visibility.PUBLIC:
            return cls(everyone=True)
        return cls(users=frozenset({owner_id, *shared_with}))

    @classmethod
    def union(cls, readers: Iterable[Readers]) -> Readers:
        """Everyone whose readable items one of several changes (the items of a batch create) changes."""
        readers = list(readers)
        return cls(everyone=any(r.everyone for r in readers), users=frozenset().union(*(r.users for r in readers)))


# The counter each field of an item document bumps when it changes; a kind's traits add theirs
# (``Trait.aspect``). ``None``: a change of the field is a change of who may read the item (``Readers``).
CORE_FIELDS: dict[str, str | None] = {
    "name": "name",
    "description": "description",
    "visibility": None,
    "users": "users",
    "tags": "tags",
    "metadata": "metadata",
    "versions": "versions",
    "lastmod": "lastmod",
}
# Fields that never change after a create: reading them depends only on which items exist.
FIXED_FIELDS = ("_id", "owner", "timestamp")


def field_aspects() -> dict[str, str | None]:
    """Every field a write can change, with its counter: the core's and those of every registered trait."""
    from items_app import kinds

    fields = dict(CORE_FIELDS)
    for kind in kinds.every():
        for trait in kind.traits:
            if trait.field:
                fields[trait.field] = trait.aspect
    return fields


class UndeclaredWrite(RuntimeError):
    """Item data was written outside ``changing()``: cached reads could outlive it. A programming error."""


@dataclass
class Change:
    """What one write to item data changes, declared as the write learns it and bumped when it commits.

    ``fields`` are document fields (``field_aspects``); ``readers`` whose readable items changed. Nothing
    declared means everything changed: a write that is not sure says nothing.
    """

    fields: set[str] = field(default_factory=set)
    readers: Readers | None = None
    events: list[Event] = field(default_factory=list)  # written at the end (``changing``)

    def emit(self, *events: Event) -> None:
        """Events of this change (``items_app.events``), written in its transaction when the block ends."""
        self.events.extend(events)

    def touches(self, *fields: str) -> None:
        self.fields.update(fields)

    def reaches(self, readers: Readers | None) -> None:
        if readers is not None:
            self.readers = readers if self.readers is None else Readers.union([self.readers, readers])

    def counters(self) -> tuple[str, ...]:
        if not self.fields and self.readers is None:
            return COUNTERS
        known = field_aspects()
        unknown = self.fields - set(known)
        if unknown:
            raise ValueError(f"unknown fields of items: {sorted(unknown)}")
        names = ("value", *sorted(cast("set[str]", {known[name] for name in self.fields} - {None})))
        if self.readers is not None:
            names += (SCOPE, PUBLIC) if self.readers.everyone else (SCOPE,)
        return names


_writing: ContextVar[Change | None] = ContextVar("registry_item_write", default=None)


@contextmanager
def changing(*fields: str, readers: Readers | None = None) -> Iterator[Change]:
    """The one way to write item data (items, their rows and versions): a transaction on the tenant's
    database that, as its last statements, bumps the counters of what it declares it changes.

    Every cached read (``Cached``) is keyed by those counters, so a write through here is never followed by
    a stale read. Item tables written outside such a block raise ``UndeclaredWrite`` (``guard_item_writes``).
    """
    change = Change(set(fields), readers)
    with tenant_atomic():
        token = _writing.set(change)
        try:
            yield change
        finally:
            _writing.reset(token)
        postings.fold(require_tenant().alias)  # before the locks below: other writers need not wait for it
        # The change's events, then the counters, in this order in every writer: the outbox's lock (taken even
        # with no event to write) is always taken before the Generation row's, so the two never deadlock.
        if change.events:
            record_events(change.events)
        else:
            in_commit_order(require_tenant().alias)
        _bump(change)


def _bump(change: Change) -> None:
    """Update the tenant's one Generation row (its lock is held until the commit, so concurrent writers queue
    on it for as short a time as possible) and the reader counters of the users the change reaches."""
    names = change.counters()
    if change.readers is not None:
        for user_id in sorted(change.readers.users):  # one order: no deadlocks (empty for everyone: ``public``)
            User.objects.filter(pk=user_id).update(item_scope=F("item_scope") + 1)
    if not Generation.objects.filter(pk=ROW).update(**{name: F(name) + 1 for name in names}):
        Generation.objects.get_or_create(pk=ROW)  # a database restored from before the table existed
    alias = require_tenant().alias
    item_counts.fold(alias)  # after the Generation row's lock: the counters' locks are held only to the commit
    databases.count_write(alias)  # keeps SQLite's planner statistics in step with growth


# The tables whose rows cached reads are made of: writing them must go through ``changing()``.
ITEM_TABLES = frozenset(
    {"items_item", "items_itemlists", "items_share", "items_lineage", "items_itemtag", "items_metadataentry",
     "items_version", "items_versionmetadataentry", "items_alias", "items_aliasmove"}
)  # fmt: skip
_WRITE = re.compile(r'^\s*(?:INSERT\s+INTO|UPDATE|DELETE\s+FROM)\s+"([a-z_]+)"', re.IGNORECASE)


def guard_item_writes(execute: Callable[..., Any], sql: str, params: Any, many: bool, context: Any) -> Any:
    """A database execute wrapper on every tenant connection: a statement that writes an item table while a
    tenant is active must run inside ``changing()``, else it is refused before it reaches the database."""
    if _writing.get() is None and current_tenant() is not None:
        match = _WRITE.match(sql)
        if match is not None and match.group(1) in ITEM_TABLES:
            raise UndeclaredWrite(f"{match.group(1)} written outside generation.changing(): {sql[:80]}")
    return execute(sql, params, many, context)


def install_guard(sender: Any, connection: Any, **kwargs: Any) -> None:
    """``connection_created`` receiver: guard the tenant databases' connections (``guard_item_writes``)."""
    if connection.alias.startswith(databases.ALIAS_PREFIX) and guard_item_writes not in connection.execute_wrappers:
        connection.execute_wrappers.append(guard_item_writes)


def current() -> dict[str, int]:
    """Every counter of the tenant's Generation row (zeros before the first write)."""
    row = one_or_none(Generation.objects.filter(pk=ROW).values(*COUNTERS))
    return row or dict.fromkeys(COUNTERS, 0)


class Cached:
    """The cached reads of one request by ``viewer``: reads the counters once, then serves and fills the
    process cache. Values are shared between requests and threads: callers never change what they get.
    """

    def __init__(self, viewer: Any) -> None:
        self.viewer = viewer
        self._counters: dict[str, int] | None = None

    def get(
        self,
        key: Hashable,
        compute: Callable[[], T],
        weight: Callable[[T], int] = lambda value: 1,
        depends_on: Iterable[str] | None = None,
    ) -> T:
        """``compute()``, or what it returned for ``key`` since nothing it depends on changed.

        ``depends_on``: the aspects of items the value reads besides which items the viewer may read; None
        (documents, pages) means everything, so any write computes it again. ``key`` names the viewer.
        """
        if not settings.CACHE_READS:
            return compute()
        full_key = self._full_key(key, depends_on)
        found, value = _cache.get(full_key)
        if found:
            return cast(T, value)  # what ``compute`` returned for this key
        value = compute()
        _cache.put(full_key, value, weight(value))
        return value

    def lookup(self, key: Hashable, depends_on: Iterable[str] | None = None) -> tuple[bool, Any]:
        if not settings.CACHE_READS:
            return False, None
        return _cache.get(self._full_key(key, depends_on))

    def store(self, key: Hashable, value: Any, weight: int = 1, depends_on: Iterable[str] | None = None) -> None:
        if settings.CACHE_READS:
            _cache.put(self._full_key(key, depends_on), value, weight)

    def _full_key(self, key: Hashable, depends_on: Iterable[str] | None) -> Hashable:
        if self._counters is None:
            self._counters = current()
        if depends_on is None:
            stamp: Hashable = self._counters["value"]
        else:
            stamp = (*self._reader_counters(), *((name, self._counters[name]) for name in sorted(set(depends_on))))
        return (require_tenant().uid, stamp, key)

    def _reader_counters(self) -> tuple[tuple[str, int], ...]:
        assert self._counters is not None
        if getattr(self.viewer, "is_admin", False) or getattr(self.viewer, "pk", None) is None:
            return ((SCOPE, self._counters[SCOPE]),)
        return ((PUBLIC, self._counters[PUBLIC]), ("mine", self.viewer.item_scope))
