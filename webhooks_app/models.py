"""Webhooks (one table in each tenant's database), their queued messages and the log of delivery attempts.

A ``Webhook`` is an endpoint subscribed to event types; the worker (``webhooks_app.worker``) walks the
tenant's events past the webhook's ``cursor``, queues a ``Message`` for each one the webhook takes, and
delivers the messages of an endpoint one at a time, oldest first, logging each try as an ``Attempt``.
"""

from __future__ import annotations

from django.db import models
from django.utils import timezone

from framework.ids import new_object_id


class Webhook(models.Model):
    """An endpoint that receives the tenant's events of the types it names, signed with its ``secret``.

    The secret is stored as given (the worker signs with it) in the tenant's database, shown once when
    it is made, and never again. ``created_by`` (a user id) decides what the webhook may receive: what
    that user may read when the worker delivers. ``cursor`` is the id of the last event considered;
    ``lease_until``/``lease_owner`` are a worker's claim on the endpoint (one worker delivers to it at a time).
    """

    id = models.CharField(primary_key=True, max_length=24, default=new_object_id, editable=False)
    url = models.CharField(max_length=2000)
    events = models.JSONField(default=list)
    filter = models.JSONField(null=True, blank=True)
    description = models.CharField(max_length=500, blank=True, default="")
    active = models.BooleanField(default=True)
    disabled_reason = models.CharField(max_length=1000, blank=True, default="")
    secret = models.CharField(max_length=100)
    created_by = models.CharField(max_length=24)
    created_by_name = models.CharField(max_length=150, blank=True, default="")
    timestamp = models.DateTimeField(default=timezone.now, editable=False)
    lastmod = models.DateTimeField(auto_now=True)
    cursor = models.BigIntegerField(default=0)
    lease_until = models.DateTimeField(null=True, blank=True)
    lease_owner = models.CharField(max_length=64, blank=True, default="")
    # When the message at the head of the queue is tried again (null: nothing waits): no claim before.
    retry_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-timestamp", "id"]

    def __str__(self) -> str:
        return f"{self.url} ({self.id})"


class MessageState(models.TextChoices):
    PENDING = "pending"
    DELIVERED = "delivered"
    FAILED = "failed"  # retried for WEBHOOK_RETRY_HOURS without success; the webhook was disabled


class Message(models.Model):
    """One event queued for one webhook: its frozen body and ``webhook-id``, retried until delivered or
    given up. A webhook's pending messages go out in ``id`` order, each after the one before it."""

    id = models.BigAutoField(primary_key=True)
    webhook = models.ForeignKey(Webhook, on_delete=models.CASCADE, related_name="messages")
    event_id = models.BigIntegerField()
    event_type = models.CharField(max_length=40)
    message_id = models.CharField(max_length=80)  # the ``webhook-id`` header: the same on every retry
    body = models.TextField()
    state = models.CharField(max_length=16, choices=MessageState.choices, default=MessageState.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    created = models.DateTimeField(default=timezone.now)
    first_attempt = models.DateTimeField(null=True, blank=True)
    next_attempt = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["id"]
        indexes = [models.Index(fields=["webhook", "state", "id"], name="webhook_message_queue")]

    def __str__(self) -> str:
        return f"{self.message_id} ({self.state})"


class Attempt(models.Model):
    """One try at delivering a message: the delivery log (``GET /v1/webhooks/{id}/deliveries``)."""

    id = models.BigAutoField(primary_key=True)
    webhook = models.ForeignKey(Webhook, on_delete=models.CASCADE, related_name="attempts")
    message = models.ForeignKey(Message, on_delete=models.CASCADE, related_name="log")
    attempt = models.PositiveIntegerField()
    status_code = models.PositiveIntegerField(null=True, blank=True)
    latency_ms = models.PositiveIntegerField(default=0)
    response = models.TextField(blank=True, default="")  # at most RESPONSE_EXCERPT bytes of the answer, as text
    error = models.CharField(max_length=500, blank=True, default="")
    timestamp = models.DateTimeField(default=timezone.now)
    next_retry = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]
        indexes = [models.Index(fields=["webhook", "-id"], name="webhook_attempt_log")]

    def __str__(self) -> str:
        return f"{self.message_id} #{self.attempt} {self.status_code}"
