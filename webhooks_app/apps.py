from django.apps import AppConfig


class WebhooksConfig(AppConfig):
    """Webhooks: subscriptions to a tenant's events, delivered by ``manage.py deliver_webhooks`` (docs/webhooks.md)."""

    name = "webhooks_app"
    verbose_name = "Webhooks"
