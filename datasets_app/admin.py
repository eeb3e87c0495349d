from django.contrib import admin

from datasets_app.models import Dataset
from items_app.admin import ItemAdmin, MetadataInline, ShareInline, TagInline, UsedByInline, VersionInline


@admin.register(Dataset)
class DatasetAdmin(ItemAdmin):
    """Datasets have no status and no datasets of their own; they list the models that use them."""

    list_display = ("name", "owner", "visibility", "lastmod")
    list_filter = ("visibility", ("owner", admin.RelatedOnlyFieldListFilter), "lastmod")
    fields = ("id", "name", "owner", "visibility", "description", "timestamp", "lastmod")
    inlines = (TagInline, MetadataInline, ShareInline, UsedByInline, VersionInline)
