"""Django admin for the vocabulary: browse tags and metadata names with their use, delete unused ones.

Default entries are created on /manage/vocabulary/ (``create_default``); deletion goes through
``delete_entry``, and Django's own check already refuses entries that items still use.
"""

from __future__ import annotations

from typing import Any, cast

from django.contrib import admin
from django.db.models import Count, QuerySet
from django.http import HttpRequest

from folksonomy_app import services
from folksonomy_app.models import MetadataName, Tag, VocabularyEntry
from framework.web.admin import BrowseAndDeleteAdmin
from tenants_app.audit import Caller


class VocabularyAdmin(BrowseAndDeleteAdmin):
    vocabulary: str  # the services' name for it: "tag" or "metadata"
    uses: str  # the reverse relation to the rows that use an entry
    list_display = ("id", "usage", "owner", "items", "timestamp", "lastmod")
    list_select_related = ("owner",)
    list_filter = ("usage",)
    search_fields = ("id",)
    fields = ("id", "usage", "owner", "timestamp", "lastmod")

    def get_queryset(self, request: HttpRequest) -> QuerySet[Any]:
        # django-stubs' plugin types annotate() on a QuerySet[Any] as Any.
        return cast("QuerySet[Any]", super().get_queryset(request).annotate(item_count=Count(self.uses)))

    @admin.display(description="items using it", ordering="item_count")
    def items(self, obj: Any) -> int:
        return cast(int, obj.item_count)  # annotated by get_queryset

    def delete_with_service(self, request: HttpRequest, obj: VocabularyEntry) -> None:
        services.delete_entry(Caller.of(request), self.vocabulary, obj)


@admin.register(Tag)
class TagAdmin(VocabularyAdmin):
    vocabulary = "tag"
    uses = "taggings"


@admin.register(MetadataName)
class MetadataNameAdmin(VocabularyAdmin):
    vocabulary = "metadata"
    uses = "entries"
