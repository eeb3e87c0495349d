"""Reading the one row a lookup can match."""

from __future__ import annotations

from typing import Any, TypeVar

from django.db.models import QuerySet

T = TypeVar("T")


def one_or_none(queryset: QuerySet[Any, T]) -> T | None:
    """The row of a lookup that matches at most one (a primary key), or None.

    ``first()`` would add an ORDER BY: compiling the models' default ordering (``-timestamp, id``, resolved
    through the joins of a ``select_related``) is paid on every request by the tenant, user and item reads,
    and buys nothing for one row.
    """
    return next(iter(queryset.order_by()[:1]), None)
