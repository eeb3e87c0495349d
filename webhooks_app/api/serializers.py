"""Request bodies and documents of ``/v1/webhooks`` (docs/webhooks.md)."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from framework.api.serializers import NonEmptyInputSerializer, StrictInputSerializer, iso
from tenants_app.events import EVENT_TYPES
from webhooks_app.models import Attempt, Webhook

FILTER_HELP = "A filter of the list filter language (docs/api.md) on the item an event is about; null: every item."


class WebhookCreateInput(StrictInputSerializer):
    url = serializers.CharField(max_length=2000, help_text="http(s); internal addresses need WEBHOOK_ALLOWED_HOSTS.")
    events = serializers.JSONField(help_text=f"Event types: {', '.join(EVENT_TYPES)}.")
    filter = serializers.JSONField(required=False, allow_null=True, default=None, help_text=FILTER_HELP)
    description = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")
    active = serializers.BooleanField(required=False, default=True)


class WebhookUpdateInput(NonEmptyInputSerializer):
    url = serializers.CharField(max_length=2000, required=False)
    events = serializers.JSONField(required=False)
    filter = serializers.JSONField(required=False, allow_null=True, help_text=FILTER_HELP)
    description = serializers.CharField(max_length=500, required=False, allow_blank=True)
    active = serializers.BooleanField(required=False, help_text="true turns a disabled webhook on again.")


class WebhookSerializer(serializers.Serializer[Any]):
    _id = serializers.CharField()
    url = serializers.CharField()
    events = serializers.ListField(child=serializers.CharField())
    filter = serializers.JSONField(allow_null=True)
    description = serializers.CharField()
    active = serializers.BooleanField()
    disabled_reason = serializers.CharField(help_text="Why the worker disabled it; empty while active.")
    created_by = serializers.CharField(help_text="The admin who created it (a username).")
    timestamp = serializers.DateTimeField()
    lastmod = serializers.DateTimeField()
    secret = serializers.CharField(
        required=False, help_text="whsec_…: only in the answer of a create or a rotation, never again."
    )


class SecretSerializer(serializers.Serializer[Any]):
    _id = serializers.CharField()
    secret = serializers.CharField()


class DeliverySerializer(serializers.Serializer[Any]):
    _id = serializers.IntegerField(help_text="The attempt's id (redeliver names it).")
    event = serializers.IntegerField(help_text="The event's _id (GET /v1/events).")
    type = serializers.CharField()
    message = serializers.CharField(help_text="The webhook-id header: the same on every attempt of the event.")
    attempt = serializers.IntegerField()
    status = serializers.IntegerField(allow_null=True, help_text="The receiver's HTTP status; null: no answer.")
    latency_ms = serializers.IntegerField()
    response = serializers.CharField(help_text="The start of the answer's body (1 KiB at most).")
    error = serializers.CharField()
    timestamp = serializers.DateTimeField()
    next_retry = serializers.DateTimeField(allow_null=True)
    state = serializers.CharField(help_text="The message's state now: pending, delivered or failed.")


class RedeliverySerializer(serializers.Serializer[Any]):
    event = serializers.IntegerField()
    message = serializers.CharField(help_text="The webhook-id it is sent with again.")
    state = serializers.CharField()


def webhook_document(webhook: Webhook, secret: str | None = None) -> dict[str, Any]:
    document: dict[str, Any] = {
        "_id": webhook.pk,
        "url": webhook.url,
        "events": webhook.events,
        "filter": webhook.filter,
        "description": webhook.description,
        "active": webhook.active,
        "disabled_reason": webhook.disabled_reason,
        "created_by": webhook.created_by_name,
        "timestamp": iso(webhook.timestamp),
        "lastmod": iso(webhook.lastmod),
    }
    if secret is not None:
        document["secret"] = secret
    return document


def delivery_document(attempt: Attempt) -> dict[str, Any]:
    return {
        "_id": attempt.pk,
        "event": attempt.message.event_id,
        "type": attempt.message.event_type,
        "message": attempt.message.message_id,
        "attempt": attempt.attempt,
        "status": attempt.status_code,
        "latency_ms": attempt.latency_ms,
        "response": attempt.response,
        "error": attempt.error,
        "timestamp": iso(attempt.timestamp),
        "next_retry": iso(attempt.next_retry),
        "state": attempt.message.state,
    }
