"""Exact item counts without recounting: a per-process cache keyed by the tenant's item generation.

Counting the items a user may read is the costliest part of a list request at scale (a list of 35,000
readable items out of 100,000 spends 20 to 30 ms in ``COUNT(*)`` on PostgreSQL, more than everything else in
the request together). The counts only change when items change, so:

- every write that can change what an item list or count shows calls ``bump()`` inside its transaction
  (item create/update/delete, version add/delete, user deletion, which drops shares);
- a count is cached under ``(tenant incarnation, generation, what was counted)``; reading the generation
  is one primary-key lookup. A count computed after reading generation ``g`` reflects a state at least as
  new as ``g``, and after a write commits every request reads ``g + 1``: totals stay exact.

The cache is per process (bounded LRU), so workers never need to agree on anything but the counter.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import TypeVar

from django.db.models import F

from registry_project.items.models import Generation
from tenants_app.context import require_tenant

T = TypeVar("T")
MAX_ENTRIES = 4096
ROW = 1  # the one row of each tenant's Generation table


class LruCache:
    """A small thread-safe least-recently-used mapping (gunicorn's gthread workers share it)."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._entries: OrderedDict[Hashable, object] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: Hashable) -> tuple[bool, object]:
        with self._lock:
            if key not in self._entries:
                return False, None
            self._entries.move_to_end(key)
            return True, self._entries[key]

    def put(self, key: Hashable, value: object) -> None:
        with self._lock:
            self._entries[key] = value
            self._entries.move_to_end(key)
            while len(self._entries) > self.size:
                self._entries.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


_counts = LruCache(MAX_ENTRIES)


def bump() -> None:
    """Call inside the transaction of a write that changes items, shares, tags, metadata or versions."""
    if not Generation.objects.filter(pk=ROW).update(value=F("value") + 1):
        Generation.objects.get_or_create(pk=ROW)  # a database restored from before the table existed


def current() -> int:
    value = Generation.objects.filter(pk=ROW).values_list("value", flat=True).first()
    return value or 0


class Counts:
    """The counts of one request: reads the generation once, then serves and fills the process cache."""

    def __init__(self) -> None:
        self._generation: int | None = None

    def get(self, key: Hashable, compute: Callable[[], T]) -> T:
        if self._generation is None:
            self._generation = current()
        full_key = (require_tenant().uid, self._generation, key)
        found, value = _counts.get(full_key)
        if found:
            return value  # type: ignore[return-value]
        value = compute()
        _counts.put(full_key, value)
        return value
