"""``/v1/tags`` and ``/v1/metadata``: the vocabulary, with how many readable items use each entry."""

from __future__ import annotations

from typing import Any

from django.db.models import Count, IntegerField, OuterRef, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response

from folksonomy_app import services
from folksonomy_app.models import MetadataName, Tag, VocabularyEntry
from framework.api.errors import not_found
from framework.api.filtering import FilterField
from framework.api.listing import ListSpec
from framework.api.serializers import StrictInputSerializer
from framework.api.viewsets import RegistryViewSet
from items_app import generation
from items_app.models import Item, ItemTag, MetadataEntry
from items_app.querysets import readable_by
from tenants_app.api.serializers import iso
from tenants_app.audit import Caller


class EntryInput(StrictInputSerializer):
    _id = serializers.JSONField()


def entry_document(entry: Any) -> dict[str, Any]:
    return {
        "_id": entry.id,
        "usage": entry.usage,
        "owner": entry.owner.username if entry.owner_id else None,
        "timestamp": iso(entry.timestamp),
        "count": entry.count,
    }


class VocabularyViewSet(RegistryViewSet):
    vocabulary: str
    model: type[VocabularyEntry]
    uses: Any  # the row model linking items to entries (ItemTag, MetadataEntry)
    use_link: str  # its foreign key to the entry
    aspect: str  # the generation counter bumped when those rows change
    list_spec = ListSpec(
        fields={
            "_id": FilterField("id"),
            "usage": FilterField("usage"),
            "owner": FilterField("owner__username", nullable=True),
            "timestamp": FilterField("timestamp", "datetime"),
            "lastmod": FilterField("lastmod", "datetime"),
            "count": FilterField("count", "number"),
        }
    )

    def counted(self) -> QuerySet[Any]:
        """Entries with ``count``: how many items the caller can read use each one."""
        readable = Item.objects.visible_to(self.request.user).values("pk")
        uses = (
            self.uses.objects.filter(**{self.use_link: OuterRef("pk")}, item__in=readable)
            .order_by()
            .values(self.use_link)
            .annotate(n=Count("pk"))
            .values("n")
        )
        count = Coalesce(Subquery(uses, output_field=IntegerField()), Value(0))
        return self.model.objects.select_related("owner").annotate(count=count)

    def entry(self, pk: str) -> Any:
        entry = self.counted().filter(pk=pk).first()
        if entry is None:
            raise not_found(f"_id: no {self.vocabulary} entry {pk!r}")
        return entry

    def list(self, request: Request) -> Response:
        params = request.query_params
        if "count" in (params.get("filter") or "") or "count" in (params.get("sort") or ""):
            return self.list_response(request, self.counted(), lambda rows: [entry_document(e) for e in rows])

        def with_counts(rows: list[Any]) -> list[dict[str, Any]]:
            # One grouped query for the page's entries instead of a correlated count for every matching entry;
            # visibility is tested on the joined item row (an IN over every readable item costs 4x more).
            link = f"{self.use_link}_id"
            viewer = self.request.user
            entries = tuple(row.pk for row in rows)
            uses = self.uses.objects.filter(readable_by(viewer, "item__"), **{f"{link}__in": entries})
            counts = generation.Cached(viewer).get(
                ("uses", link, viewer.pk, viewer.role, entries),
                lambda: dict(uses.order_by().values(link).annotate(n=Count("pk")).values_list(link, "n")),
                depends_on=[self.aspect],
            )
            for row in rows:
                row.count = counts.get(row.pk, 0)
            return [entry_document(e) for e in rows]

        return self.list_response(request, self.model.objects.select_related("owner"), with_counts)

    def retrieve(self, request: Request, pk: str) -> Response:
        return Response(entry_document(self.entry(pk)))

    def create(self, request: Request) -> Response:
        caller = Caller.of(request)
        if not caller.is_admin:  # before validation: non-admins learn nothing about the body rules
            services.create_default(caller, self.vocabulary, None)
        data = self.validated(EntryInput, request)
        created = services.create_default(caller, self.vocabulary, data["_id"])
        return Response(entry_document(self.entry(created.pk)), status=status.HTTP_201_CREATED)

    def destroy(self, request: Request, pk: str) -> Response:
        entry = self.entry(pk)
        document = entry_document(entry)
        services.delete_entry(Caller.of(request), self.vocabulary, entry)
        return Response(document)


class TagViewSet(VocabularyViewSet):
    vocabulary = "tag"
    model = Tag
    uses = ItemTag
    use_link = "tag"
    aspect = "tags"


class MetadataNameViewSet(VocabularyViewSet):
    vocabulary = "metadata"
    model = MetadataName
    uses = MetadataEntry
    use_link = "name"
    aspect = "metadata"
