"""The pages of models and datasets (``/models/…``, ``/datasets/…``), comparison and the form's suggestions.

Both kinds get the same routes from the same views; the kind is a fixed keyword argument. Ids are opaque
strings (``<str:pk>``), never integers.
"""

from __future__ import annotations

from django.urls import URLPattern, path

from items_app import views
from items_app.models import Kind


def _item_routes(kind: str, prefix: str) -> list[URLPattern]:
    fixed = {"kind": kind}
    return [
        path(f"{prefix}/", views.browse, fixed, name=f"{kind}-list"),
        path(f"{prefix}/new/", views.create, fixed, name=f"{kind}-create"),
        path(f"{prefix}/<str:pk>/", views.detail, fixed, name=f"{kind}-detail"),
        path(f"{prefix}/<str:pk>/edit/", views.edit, fixed, name=f"{kind}-edit"),
        path(f"{prefix}/<str:pk>/delete/", views.delete, fixed, name=f"{kind}-delete"),
        path(f"{prefix}/<str:pk>/versions/", views.versions_fragment, fixed, name=f"{kind}-versions"),
        path(f"{prefix}/<str:pk>/versions/upload", views.upload_version, fixed, name=f"{kind}-upload"),
        path(
            f"{prefix}/<str:pk>/versions/<str:ref>/download",
            views.download_version,
            fixed,
            name=f"{kind}-download",
        ),
        path(
            f"{prefix}/<str:pk>/versions/<str:ref>/delete/",
            views.delete_version,
            fixed,
            name=f"{kind}-version-delete",
        ),
    ]


app_name = "items"
urlpatterns = [
    *_item_routes(Kind.MODEL, "models"),
    *_item_routes(Kind.DATASET, "datasets"),
    path("compare/", views.compare, name="compare"),
    path("suggest/tags", views.suggest, {"vocabulary": "tags"}, name="suggest-tags"),
    path("suggest/metadata", views.suggest, {"vocabulary": "metadata"}, name="suggest-metadata"),
    path("suggest/users", views.suggest_users, name="suggest-users"),
]
