"""The /manage/ pages (mounted by ``registry_project.urls``): overview, users, audit log, and the vocabulary."""

from django.urls import include, path

from tenants_app import views

app_name = "manage"
urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("users/", views.user_list, name="users"),
    path("users/new/", views.user_create, name="user-create"),
    path("users/<str:user_id>/", views.user_detail, name="user"),
    path("users/<str:user_id>/role/", views.user_role, name="user-role"),
    path("users/<str:user_id>/password/", views.user_password, name="user-password"),
    path("users/<str:user_id>/delete/", views.user_delete, name="user-delete"),
    path("log/", views.audit_log, name="log"),
    path("vocabulary/", include("folksonomy_app.urls")),
]
