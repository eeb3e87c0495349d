"""The vocabulary pages, under /manage/vocabulary/ (included by ``tenants_app.urls``)."""

from django.urls import path

from folksonomy_app import views

app_name = "vocabulary"
urlpatterns = [
    path("", views.overview, name="index"),
    path("tags/", views.entries, {"vocabulary": "tag"}, name="tags"),
    path("tags/delete/", views.delete, {"vocabulary": "tag"}, name="tag-delete"),
    path("metadata/", views.entries, {"vocabulary": "metadata"}, name="metadata"),
    path("metadata/delete/", views.delete, {"vocabulary": "metadata"}, name="metadata-delete"),
]
