"""Django admin for items of every kind (``kind_admin``) and for versions (read-only).

A kind app registers its proxy with ``kind_admin(KIND)``: the columns, filters and inlines of what every
item has, plus those of the kind's traits. Deletions go through the item services, so the audit log is
written and blobs are released exactly as through the API.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest

from framework.web.admin import BrowseAndDeleteAdmin, ReadOnlyInline
from items_app import kinds, services, versions
from items_app.kinds import ItemKind
from items_app.models import Item, ItemTag, MetadataEntry, Share, Version
from tenants_app.audit import Caller


def choices_filter(field_path: str, title: str, choices: Sequence[tuple[str, str]]) -> type[admin.SimpleListFilter]:
    """A list filter offering ``choices`` for ``field_path`` (the choices live in code, not on the column)."""

    class ChoicesFilter(admin.SimpleListFilter):
        parameter_name = f"{field_path}__exact"

        def lookups(self, request: HttpRequest, model_admin: Any) -> Sequence[tuple[str, str]]:
            return choices

        def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
            value = self.value()
            return queryset.filter(**{field_path: value}) if value else queryset

    ChoicesFilter.title = title
    return ChoicesFilter


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


class VersionInline(ReadOnlyInline):
    model = Version
    fields = ("ordinal", "original", "size", "sha256", "owner", "timestamp")
    show_change_link = True

    def get_queryset(self, request: HttpRequest) -> QuerySet[Any]:
        return super().get_queryset(request).select_related("owner")


class ItemAdmin(BrowseAndDeleteAdmin):
    """Items: browse, search, filter, and delete through ``delete_item``."""

    list_select_related = ("owner",)
    search_fields = ("name", "description", "owner__username", "=id")
    ordering = ("-lastmod", "id")

    def delete_with_service(self, request: HttpRequest, obj: Item) -> None:
        services.delete_item(Caller.of(request), obj)


def kind_admin(kind: ItemKind) -> type[ItemAdmin]:
    """The admin of ``kind``'s proxy: what every item shows, with the columns and inlines of its traits."""
    scalars = tuple(scalar.field for scalar in kind.scalars)
    filters = tuple(choices_filter(scalar.field, scalar.label, scalar.choices) for scalar in kind.scalars)
    trait_inlines = tuple(inline for trait in kind.traits for inline in trait.admin_inlines)
    attributes: dict[str, Any] = {
        "__doc__": f"{kind.plural}: browse, search, filter, and delete through ``delete_item``.",
        "list_display": ("name", "owner", *scalars, "visibility", "lastmod"),
        "list_filter": (*filters, "visibility", ("owner", admin.RelatedOnlyFieldListFilter), "lastmod"),
        "fields": ("id", "name", "owner", *scalars, "visibility", "description", "timestamp", "lastmod"),
        "inlines": (TagInline, MetadataInline, ShareInline, *trait_inlines, VersionInline),
    }
    return type(f"{kind.singular}Admin", (ItemAdmin,), attributes)


class VersionKindFilter(admin.SimpleListFilter):
    title = "kind"
    parameter_name = "item__kind__exact"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [(kind.value, kind.singular) for kind in kinds.every()]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        value = self.value()
        return queryset.filter(item__kind=value) if value else queryset


@admin.register(Version)
class VersionAdmin(BrowseAndDeleteAdmin):
    """Uploaded files: read-only; deleting one goes through ``delete_version``, which releases its blob."""

    list_display = ("original", "item", "ordinal", "size", "sha256", "owner", "timestamp")
    list_select_related = ("item", "owner")
    list_filter = (VersionKindFilter, "timestamp")
    search_fields = ("original", "=blob__sha256", "item__name")
    date_hierarchy = "timestamp"
    fields = ("item", "ordinal", "original", "size", "sha256", "content_type", "description", "owner", "timestamp")
    readonly_fields = ("sha256",)

    @admin.display(description="SHA-256")
    def sha256(self, obj: Version) -> str:
        return obj.blob_id

    def delete_with_service(self, request: HttpRequest, obj: Version) -> None:
        versions.delete_version(Caller.of(request), obj.item, obj)
