"""Read scoping for items: the one place that decides who can see and who can change an item.

The API viewsets and the pages both start every item query from ``visible_to(user)``; nothing else
filters on visibility.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.db import models
from django.db.models import Q

if TYPE_CHECKING:
    from tenants_app.models import User


def readable_by(user: User, path: str = "") -> Q:
    """The one visibility rule, as a condition on items (``path=""``) or on rows linked to one (``"item__"``).

    Public items, the user's own, and those shared with them; admins read everything. ``pk IN (items shared
    with the user)`` rather than a correlated EXISTS: the database can drive the query from the share index
    (SQLite) and hash the list once (PostgreSQL).
    """
    if user.is_admin:
        return Q()
    from registry_project.items.models import Share, Visibility

    shared = Share.objects.filter(user=user).values("item_id")
    return Q(**{f"{path}visibility": Visibility.PUBLIC}) | Q(**{f"{path}owner": user}) | Q(**{f"{path}pk__in": shared})


class ItemQuerySet(models.QuerySet[Any]):
    def of_kind(self, kind: str) -> ItemQuerySet:
        return self.filter(kind=kind)

    def visible_to(self, user: User) -> ItemQuerySet:
        """Items ``user`` may read: public ones, their own, those shared with them; admins read all."""
        return self.filter(readable_by(user))

    def editable_by(self, user: User) -> ItemQuerySet:
        """Items ``user`` may change, delete and add versions to: their own; admins change all."""
        return self if user.is_admin else self.filter(owner=user)


class KindManager(models.Manager[Any]):
    """The manager of a proxy (``MLModel``, ``Dataset``): only rows of its kind."""

    def __init__(self, kind: str) -> None:
        super().__init__()
        self.kind = kind

    def deconstruct(self) -> tuple[bool, str, None, tuple[str], dict[str, Any]]:
        return False, f"{type(self).__module__}.{type(self).__name__}", None, (self.kind,), {}

    def get_queryset(self) -> ItemQuerySet:
        return ItemQuerySet(self.model, using=self._db).of_kind(self.kind)
