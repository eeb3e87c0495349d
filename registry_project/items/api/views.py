"""The one viewset behind ``/v1/models`` and ``/v1/datasets``; each app only names its kind and bodies."""

from __future__ import annotations

from typing import Any

from django.db.models import Q
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response

from registry_project.api.errors import not_found
from registry_project.api.filtering import FilterField, MetadataField, RowsField
from registry_project.api.listing import ListSpec
from registry_project.api.viewsets import RegistryViewSet
from registry_project.items import services
from registry_project.items.api.serializers import item_document, item_documents, with_related
from registry_project.items.models import Item, ItemTag, Kind, Lineage, MetadataEntry, Share
from registry_project.items.querysets import ItemQuerySet
from tenants_app.audit import Caller
from tenants_app.models import User

LIST_FIELDS = set(services.LIST_FIELDS)


def item_list_spec(kind: str, viewer: User) -> ListSpec:
    """Filterable and sortable fields of an item list, as the viewer may see them."""
    metadata = MetadataField(MetadataEntry, "item")
    fields: dict[str, Any] = {
        "_id": FilterField("id"),
        "name": FilterField("name"),
        "owner": FilterField("owner__username"),
        "visibility": FilterField("visibility"),
        "description": FilterField("description"),
        "timestamp": FilterField("timestamp", "datetime"),
        "lastmod": FilterField("lastmod", "datetime"),
        "users": RowsField(Share, "item", FilterField("user__username")),
        "tags": RowsField(ItemTag, "item", FilterField("tag__id")),
        "metadata": metadata,
    }
    if kind == Kind.MODEL:
        readable = Item.objects.of_kind(Kind.DATASET).visible_to(viewer).values("pk")
        fields["status"] = FilterField("status")
        fields["datasets"] = RowsField(Lineage, "model", FilterField("dataset__id"), restrict=Q(dataset__in=readable))
    return ListSpec(fields=fields, prefixed={"metadata.": metadata.named})


class ItemViewSet(RegistryViewSet):
    """Every route starts from ``scoped()``: an item the caller cannot read is a 404 everywhere."""

    kind: str
    create_input: type[serializers.Serializer]
    update_input: type[serializers.Serializer]

    def get_list_spec(self) -> ListSpec:
        return item_list_spec(self.kind, self.request.user)

    def scoped(self) -> ItemQuerySet:
        return Item.objects.of_kind(self.kind).visible_to(self.request.user)

    def loaded(self, pk: str) -> Item:
        item = with_related(self.scoped().filter(pk=pk), self.request.user).first()
        if item is None:
            raise not_found(f"_id: no {self.kind} {pk!r}")
        return item

    def list(self, request: Request) -> Response:
        return self.list_response(request, with_related(self.scoped(), request.user), item_documents)

    def retrieve(self, request: Request, pk: str) -> Response:
        return Response(item_document(self.loaded(pk)))

    def create(self, request: Request) -> Response:
        data = self.validated(self.create_input, request)
        item = services.create_item(Caller.of(request), self.kind, **data)
        return Response(item_document(self.loaded(item.pk)), status=status.HTTP_201_CREATED)

    def update(self, request: Request, pk: str) -> Response:
        item = self.loaded(pk)
        data = self.validated(self.update_input, request)
        lists = {name: data.pop(name) for name in list(data) if name in LIST_FIELDS}
        services.update_item(Caller.of(request), item, data, lists)
        return Response(item_document(self.loaded(pk)))

    def destroy(self, request: Request, pk: str) -> Response:
        item = self.loaded(pk)
        document = item_document(item)
        services.delete_item(Caller.of(request), item)
        return Response(document)
