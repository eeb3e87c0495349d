"""``/v1/tags`` and ``/v1/metadata``: the vocabulary, with how many readable items use each entry."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from drf_spectacular.utils import extend_schema_view
from rest_framework import serializers, status
from rest_framework.response import Response

from folksonomy_app import lists, services, uses
from folksonomy_app.models import MetadataName, Tag, VocabularyEntry
from framework.api.schema import collection_operations
from framework.api.serializers import StrictInputSerializer, iso
from framework.api.viewsets import RegistryViewSet
from framework.errors import NotFound
from tenants_app.audit import Caller

if TYPE_CHECKING:
    from tenants_app.http import SignedInApiRequest


class EntryInput(StrictInputSerializer):
    _id = serializers.JSONField()


# An entry, and the create body, as the OpenAPI document shows them (the components ``VocabularyEntry`` and
# ``VocabularyEntryInput``; a docstring would become their description).
class VocabularyEntrySerializer(serializers.Serializer[Any]):
    _id = serializers.CharField()
    usage = serializers.ChoiceField(choices=["default", "folk"])
    owner = serializers.CharField(allow_null=True)
    timestamp = serializers.DateTimeField()
    count = serializers.IntegerField(help_text="Items the caller can read that use this entry.")


class VocabularyEntryInputSerializer(serializers.Serializer[Any]):
    _id = serializers.CharField(max_length=64)


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
    list_spec = lists.ENTRIES
    if TYPE_CHECKING:
        request: SignedInApiRequest  # signed in: IsAuthenticated, the API's default permission

    def entry(self, pk: str) -> Any:
        entry = lists.counted(self.vocabulary, self.request.user).filter(pk=pk).first()
        if entry is None:
            raise NotFound(f"_id: no {self.vocabulary} entry {pk!r}")
        return entry

    def list(self, request: SignedInApiRequest) -> Response:
        params = request.query_params
        if "count" in (params.get("filter") or "") or "count" in (params.get("sort") or ""):
            counted = lists.counted(self.vocabulary, request.user)
            return self.list_response(request, counted, lambda rows: [entry_document(e) for e in rows])

        def with_counts(rows: list[Any]) -> list[dict[str, Any]]:
            counts = uses.of(self.vocabulary).counts([row.pk for row in rows], request.user)
            for row in rows:
                row.count = counts.get(row.pk, 0)
            return [entry_document(e) for e in rows]

        return self.list_response(request, self.model.objects.select_related("owner"), with_counts)

    def retrieve(self, request: SignedInApiRequest, pk: str) -> Response:
        return Response(entry_document(self.entry(pk)))

    def create(self, request: SignedInApiRequest) -> Response:
        caller = Caller.of(request)
        if not caller.is_admin:  # before validation: non-admins learn nothing about the body rules
            services.create_default(caller, self.vocabulary, None)
        data = self.validated(EntryInput, request)
        created = services.create_default(caller, self.vocabulary, data["_id"])
        return Response(entry_document(self.entry(created.pk)), status=status.HTTP_201_CREATED)

    def destroy(self, request: SignedInApiRequest, pk: str) -> Response:
        entry = self.entry(pk)
        document = entry_document(entry)
        services.delete_entry(Caller.of(request), self.vocabulary, entry)
        return Response(document)


@extend_schema_view(
    **collection_operations("tag", VocabularyEntrySerializer, create=VocabularyEntryInputSerializer, update=None)
)
class TagViewSet(VocabularyViewSet):
    vocabulary = "tag"
    model = Tag


@extend_schema_view(
    **collection_operations(
        "metadata", VocabularyEntrySerializer, create=VocabularyEntryInputSerializer, update=None, tag="metadata"
    )
)
class MetadataNameViewSet(VocabularyViewSet):
    vocabulary = "metadata"
    model = MetadataName
