"""How many items the viewer may read use each vocabulary entry: the ``count`` of the vocabulary's lists.

Counting uses is a question about items (which ones a viewer may read, which entries they carry), so the
item core answers it. The vocabulary sits below the items (an item's tags and metadata names are
vocabulary entries), so it cannot ask the item core directly: the item core registers its answer here when
it loads (``items_app.apps``), and the vocabulary's lists call ``of(vocabulary)``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Protocol

from django.db.models import QuerySet

if TYPE_CHECKING:
    from tenants_app.models import User


class Uses(Protocol):
    """How many readable items use the entries of one vocabulary."""

    def counted(self, entries: QuerySet[Any], viewer: User) -> QuerySet[Any]:
        """``entries`` annotated with ``count``, so that a filter or a sort can read it."""
        ...

    def counts(self, entry_ids: Sequence[str], viewer: User) -> dict[str, int]:
        """The count of each of a page's entries (entries no readable item uses are left out)."""
        ...


_uses: dict[str, Uses] = {}


def register(vocabulary: str, uses: Uses) -> None:
    _uses[vocabulary] = uses


def of(vocabulary: str) -> Uses:
    """The counts of ``vocabulary`` ("tag", "metadata"); the item core registers them when it loads."""
    return _uses[vocabulary]
