"""The pages every kind shares (comparison, the form's suggestions), and the routes of a kind's pages.

A kind app mounts ``item_routes(KIND)`` (``models_app.urls``): the same views for every kind, the kind a
fixed keyword argument. Ids are opaque strings (``<str:pk>``), never integers.
"""

from __future__ import annotations

from django.urls import URLPattern, path

from items_app.kinds import ItemKind
from items_app.views import aliases, browse, compare, item, settings, suggest, versions


def item_routes(kind: ItemKind) -> list[URLPattern]:
    """``/<prefix>/…``: the list, the form, an item's page, its deletion and its versions."""
    fixed = {"kind": kind.value}
    prefix, name = kind.prefix, kind.value
    return [
        path(f"{prefix}/", browse.browse, fixed, name=f"{name}-list"),
        path(f"{prefix}/new/", item.create, fixed, name=f"{name}-create"),
        path(f"{prefix}/<str:pk>/", item.detail, fixed, name=f"{name}-detail"),
        path(f"{prefix}/<str:pk>/edit/", item.edit, fixed, name=f"{name}-edit"),
        path(f"{prefix}/<str:pk>/delete/", item.delete, fixed, name=f"{name}-delete"),
        path(f"{prefix}/<str:pk>/versions/", versions.versions_fragment, fixed, name=f"{name}-versions"),
        path(f"{prefix}/<str:pk>/versions/upload", versions.upload_version, fixed, name=f"{name}-upload"),
        path(f"{prefix}/<str:pk>/uploads/", versions.resumable_uploads, fixed, name=f"{name}-uploads"),
        path(
            f"{prefix}/<str:pk>/uploads/<str:upload_id>",
            versions.resumable_upload,
            fixed,
            name=f"{name}-resumable-upload",
        ),
        path(f"{prefix}/<str:pk>/versions/<str:ref>/info", versions.version_info, fixed, name=f"{name}-version-info"),
        path(
            f"{prefix}/<str:pk>/versions/<str:ref>/download",
            versions.download_version,
            fixed,
            name=f"{name}-download",
        ),
        path(f"{prefix}/<str:pk>/aliases/", aliases.alias_list, fixed, name=f"{name}-aliases"),
        path(f"{prefix}/<str:pk>/aliases/move", aliases.move_alias, fixed, name=f"{name}-alias-move"),
        path(
            f"{prefix}/<str:pk>/aliases/<str:alias>/remove/",
            aliases.remove_alias,
            fixed,
            name=f"{name}-alias-remove",
        ),
        path(
            f"{prefix}/<str:pk>/versions/<str:ref>/delete/",
            versions.delete_version,
            fixed,
            name=f"{name}-version-delete",
        ),
    ]


app_name = "items"
urlpatterns = [
    path("compare/", compare.compare, name="compare"),
    path("suggest/tags", suggest.suggest, {"vocabulary": "tags"}, name="suggest-tags"),
    path("suggest/metadata", suggest.suggest, {"vocabulary": "metadata"}, name="suggest-metadata"),
    path("suggest/users", suggest.suggest_users, name="suggest-users"),
    path("manage/settings/", settings.tenant_settings_page, name="settings"),
]
