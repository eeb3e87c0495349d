"""The /manage/webhooks/ pages (mounted by ``registry_project.urls`` beside the other /manage/ pages)."""

from django.urls import path

from webhooks_app import views

app_name = "webhooks"
urlpatterns = [
    path("", views.webhook_list, name="webhooks"),
    path("<str:webhook_id>/", views.webhook_detail, name="webhook"),
    path("<str:webhook_id>/delete/", views.webhook_delete, name="webhook-delete"),
    path("<str:webhook_id>/deliveries/<str:attempt_id>/redeliver/", views.redeliver, name="redeliver"),
]
