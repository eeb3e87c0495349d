"""The item core's answer to the vocabulary's question: how many items the viewer may read use each entry
(``folksonomy_app.uses``; registered in ``items_app.apps``)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, cast

from django.db.models import Count, IntegerField, OuterRef, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce

from items_app import generation
from items_app.models import Item
from items_app.querysets import readable_by
from tenants_app.models import User


class ItemUses:
    """Uses of one vocabulary's entries: rows of ``rows`` (``ItemTag``) linking items to entries by ``link``
    (``tag``), which change together with the generation counter ``aspect`` (``tags``)."""

    def __init__(self, rows: Any, link: str, aspect: str) -> None:
        self.rows, self.link, self.aspect = rows, link, aspect

    def counted(self, entries: QuerySet[Any], viewer: User) -> QuerySet[Any]:
        readable = Item.objects.visible_to(viewer).values("pk")
        uses = (
            self.rows.objects.filter(**{self.link: OuterRef("pk")}, item__in=readable)
            .order_by()
            .values(self.link)
            .annotate(n=Count("pk"))
            .values("n")
        )
        # django-stubs' plugin types annotate() on a QuerySet[Any] as Any.
        return cast(
            "QuerySet[Any]", entries.annotate(count=Coalesce(Subquery(uses, output_field=IntegerField()), Value(0)))
        )

    def counts(self, entry_ids: Sequence[str], viewer: User) -> dict[str, int]:
        # One grouped query for the page's entries instead of a correlated count for every matching entry;
        # visibility is tested on the joined item row (cheaper than an IN over every readable item).
        link = f"{self.link}_id"
        entries = tuple(entry_ids)
        uses = self.rows.objects.filter(readable_by(viewer, "item__"), **{f"{link}__in": entries})
        return generation.Cached(viewer).get(
            ("uses", link, viewer.pk, viewer.role, entries),
            lambda: dict(uses.order_by().values(link).annotate(n=Count("pk")).values_list(link, "n")),
            depends_on=[self.aspect],
        )
