"""Exact reads without recomputing: a per-process cache keyed by the tenant's item generation.

Counting the items a user may read is the costliest part of a list request at scale (a list of 35,000
readable items out of 100,000 spends 20 to 30 ms in ``COUNT(*)`` on PostgreSQL, more than everything else
in the request together), and building a page of documents costs five more statements. What a list or an
item document shows only changes when items change, so:

- every write that can change what an item list, count or document shows calls ``bump()`` inside its
  transaction (item create/update/delete, version add/delete, user deletion, which drops shares);
- a result is cached under ``(tenant incarnation, generation, what was asked, by whom)``; reading the
  generation is one primary-key lookup. A result computed after reading generation ``g`` reflects a state
  at least as new as ``g``, and once a write commits every request reads ``g + 1``: reads stay exact.

Totals are kept longer. A write also bumps the counters of the aspects of items it changes (``ASPECTS``),
and of the readers whose readable items it changes (``Readers``: everyone for a public item, else its
owner and the users it is shared with, admins always). A total is cached under the viewer's reader
counters (``public`` and their own ``item_scope``, or ``scope`` for admins) and the counters of the aspects
its filter and sort read. A description edit therefore leaves a tag filter's total and the tags' counts
cached, and so does another user's private new item for everyone it is not shared with. The same
argument keeps them exact: every write that changes what a total counts bumps one of the counters in its
key, and the viewer's own counter is read (when the request authenticates) before anything is computed.

The cache is per process (a least-recently-used map bounded by weight: a count or a document weighs 1, a
list page 1 + its documents), so workers never need to agree on anything but the counters.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterable
from dataclasses import dataclass
from typing import Any, TypeVar

from django.db.models import F

from framework.lookups import one_or_none
from items_app.models import Generation, Visibility
from tenants_app import databases
from tenants_app.context import require_tenant
from tenants_app.models import User

T = TypeVar("T")
MAX_WEIGHT = 8192  # about 8,000 documents (~2 KB each) or counts per worker process
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


def bump(*aspects: str, readers: Readers | None = None) -> None:
    """Call inside the transaction of a write that changes items, shares, tags, metadata or versions, as its
    last statements: every write updates the one Generation row, and its lock is held until the commit, so
    concurrent writers queue on it for as short a time as possible.

    ``aspects`` names what the write changed (``ASPECTS``) and ``readers`` whose readable items it changed;
    without either, everything counts as changed: a write that is not sure says nothing.
    """
    unknown = set(aspects) - set(ASPECTS)
    if unknown:
        raise ValueError(f"unknown aspects of items: {sorted(unknown)}")
    if not aspects and readers is None:
        names: tuple[str, ...] = COUNTERS
    else:
        names = ("value", *aspects)
    if readers is not None:
        names += (SCOPE, PUBLIC) if readers.everyone else (SCOPE,)
        for user_id in sorted(readers.users):  # one order: no deadlocks (empty for everyone: ``public``)
            User.objects.filter(pk=user_id).update(item_scope=F("item_scope") + 1)
    if not Generation.objects.filter(pk=ROW).update(**{name: F(name) + 1 for name in names}):
        Generation.objects.get_or_create(pk=ROW)  # a database restored from before the table existed
    databases.count_write(require_tenant().alias)  # keeps SQLite's planner statistics in step with growth


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
        full_key = self._full_key(key, depends_on)
        found, value = _cache.get(full_key)
        if found:
            return value  # type: ignore[no-any-return]
        value = compute()
        _cache.put(full_key, value, weight(value))
        return value

    def lookup(self, key: Hashable, depends_on: Iterable[str] | None = None) -> tuple[bool, Any]:
        return _cache.get(self._full_key(key, depends_on))

    def store(self, key: Hashable, value: Any, weight: int = 1, depends_on: Iterable[str] | None = None) -> None:
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
