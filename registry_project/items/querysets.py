"""Read scoping for items: the one place that decides who can see and who can change an item.

The API viewsets and the pages both start every item query from ``visible_to(user)``; nothing else
filters on visibility.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.db import models
from django.db.models import Exists, OuterRef, Q

if TYPE_CHECKING:
    from tenants_app.models import User


class ItemQuerySet(models.QuerySet[Any]):
    def of_kind(self, kind: str) -> ItemQuerySet:
        return self.filter(kind=kind)

    def visible_to(self, user: User) -> ItemQuerySet:
        """Items ``user`` may read: public ones, their own, those shared with them; admins read all."""
        if user.is_admin:
            return self
        from registry_project.items.models import Share, Visibility

        shared = Share.objects.filter(item=OuterRef("pk"), user=user)
        return self.filter(Q(visibility=Visibility.PUBLIC) | Q(owner=user) | Q(Exists(shared)))

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
