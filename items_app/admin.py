"""Django admin for what models and datasets share: item pages with their rows, and versions (read-only).

``models_app`` and ``datasets_app`` register their proxies with ``ItemAdmin``; deletions go through the
item services, so the audit log is written and blobs are released exactly as through the API.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest

from framework.web.admin import BrowseAndDeleteAdmin, ReadOnlyInline
from items_app import services
from items_app.models import Item, ItemTag, Lineage, MetadataEntry, Share, Version
from tenants_app.audit import Caller


class TagInline(ReadOnlyInline):
    model = ItemTag
    fields = ("tag",)
    verbose_name = "tag"
    verbose_name_plural = "tags"


class MetadataInline(ReadOnlyInline):
    model = MetadataEntry
    fields = ("name", "value_type", "text")
    verbose_name = "metadata entry"
    verbose_name_plural = "metadata"


class ShareInline(ReadOnlyInline):
    model = Share
    fields = ("user",)
    verbose_name = "shared with"
    verbose_name_plural = "shared with"

    def get_queryset(self, request: HttpRequest) -> QuerySet[Any]:
        return super().get_queryset(request).select_related("user")


class DatasetsInline(ReadOnlyInline):
    """The datasets a model was trained or tested on."""

    model = Lineage
    fk_name = "model"
    fields = ("dataset",)
    verbose_name = "dataset"
    verbose_name_plural = "datasets"

    def get_queryset(self, request: HttpRequest) -> QuerySet[Any]:
        return super().get_queryset(request).select_related("dataset")


class UsedByInline(ReadOnlyInline):
    """The models that use a dataset (while there are any, the dataset cannot be deleted)."""

    model = Lineage
    fk_name = "dataset"
    fields = ("model",)
    verbose_name = "used by model"
    verbose_name_plural = "used by models"

    def get_queryset(self, request: HttpRequest) -> QuerySet[Any]:
        return super().get_queryset(request).select_related("model")


class VersionInline(ReadOnlyInline):
    model = Version
    fields = ("ordinal", "original", "size", "sha256", "owner", "timestamp")
    show_change_link = True

    def get_queryset(self, request: HttpRequest) -> QuerySet[Any]:
        return super().get_queryset(request).select_related("owner")


class ItemAdmin(BrowseAndDeleteAdmin):
    """Models and datasets: browse, search, filter, and delete through ``delete_item``."""

    list_display = ("name", "owner", "status", "visibility", "lastmod")
    list_select_related = ("owner",)
    list_filter = ("status", "visibility", ("owner", admin.RelatedOnlyFieldListFilter), "lastmod")
    search_fields = ("name", "description", "owner__username", "=id")
    ordering = ("-lastmod", "id")
    fields = ("id", "name", "owner", "status", "visibility", "description", "timestamp", "lastmod")
    inlines = (TagInline, MetadataInline, ShareInline, DatasetsInline, VersionInline)

    def delete_with_service(self, caller: Caller, obj: Item) -> None:
        services.delete_item(caller, obj)


@admin.register(Version)
class VersionAdmin(BrowseAndDeleteAdmin):
    """Uploaded files: read-only; deleting one goes through ``delete_version``, which releases its blob."""

    list_display = ("original", "item", "ordinal", "size", "sha256", "owner", "timestamp")
    list_select_related = ("item", "owner")
    list_filter = ("item__kind", "timestamp")
    search_fields = ("original", "=blob__sha256", "item__name")
    date_hierarchy = "timestamp"
    fields = ("item", "ordinal", "original", "size", "sha256", "content_type", "description", "owner", "timestamp")
    readonly_fields = ("sha256",)

    @admin.display(description="SHA-256")
    def sha256(self, obj: Version) -> str:
        return obj.blob_id

    def delete_with_service(self, caller: Caller, obj: Version) -> None:
        services.delete_version(caller, obj.item, obj)
