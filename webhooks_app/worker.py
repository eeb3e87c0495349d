"""The delivery worker (``manage.py deliver_webhooks``): every tenant's events to their webhooks.

Each round, for each tenant: the active webhooks that have work (events past their ``cursor``, or a
pending message whose retry is due) are claimed one at a time with a lease, an ``UPDATE … WHERE the lease
is free`` that one worker wins (rows are locked by the update on PostgreSQL; SQLite serialises writes).
Under its lease a worker queues the webhook's new events as messages and advances the cursor in one
transaction, then delivers the pending messages oldest first, each only after the one before it went
through: an endpoint's events arrive in order, and a failing one holds back those behind it until it
succeeds or its retry period ends (the endpoint is then disabled, saying why).

At least once: an attempt is recorded after the POST; a worker that dies between the two leaves the
message pending, and the next claim (after the lease runs out) sends it again with the same
``webhook-id``, by which receivers recognise a repeat. A round with nothing to do sleeps
``WEBHOOK_POLL_SECONDS``: a delivery leaves within about that long after its commit.
"""

from __future__ import annotations

import json
import logging
import os
import random
import socket
import threading
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import DatabaseError, close_old_connections
from django.db.models import Exists, Max, OuterRef, Q
from django.utils import timezone

from framework.api.serializers import iso
from tenants_app import tenancy
from tenants_app.context import require_tenant
from tenants_app.models import Event, Tenant, User
from tenants_app.transactions import tenant_atomic
from webhooks_app import delivery, matching, signing
from webhooks_app.models import Attempt, Message, MessageState, Webhook

logger = logging.getLogger("registry.webhooks")

EVENTS_PER_BATCH = 500  # events considered per transaction that queues them
MESSAGES_PER_READ = 100  # pending messages read at once, delivered in order
TURN_SECONDS = 2.0  # a claim's turn: then the lease is given back, so that every endpoint gets its turns
MAX_BACKOFF_SECONDS = 3600.0  # retries back off up to an hour apart
PRUNE_EVERY = 3600.0  # seconds between a worker's prunes of one tenant's delivery log


def message_id(webhook: Webhook, event: Event) -> str:
    """The ``webhook-id``: one per event and endpoint, the same on every retry and redelivery."""
    return f"msg_{webhook.pk}_{event.pk}"


def payload(event: Event) -> bytes:
    """The body, in the Standard Webhooks shape: ``type``, ``timestamp`` and the event as ``data``, with the
    tenant it happened in (one receiver may serve webhooks of several tenants)."""
    data = {
        "_id": event.pk,
        "tenant": require_tenant().id,
        "actor": event.actor,
        "resource": event.resource,
        "target": event.target,
        "document": event.document,
    }
    body = {"type": event.type, "timestamp": iso(event.timestamp), "data": data}
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode()


def backoff(failures: int, base: float | None = None) -> float:
    """Seconds before the next try after ``failures`` failed ones: exponential, full jitter (uniform in
    ``[0, base·2^(failures-1)]``), so with the default base of 10 s the first two retries come within 30 s."""
    base = settings.WEBHOOK_RETRY_BASE_SECONDS if base is None else base
    ceiling = min(MAX_BACKOFF_SECONDS, base * 2 ** min(failures - 1, 30))
    return random.uniform(0, ceiling)  # noqa: S311 - jitter, not a secret


class Worker:
    """One delivery process. ``stop()`` (SIGTERM) ends it after the attempt in flight."""

    def __init__(self, name: str | None = None, heartbeat: Path | None = None) -> None:
        self.heartbeat = heartbeat
        self.name = name or f"{socket.gethostname()}:{os.getpid()}:{random.getrandbits(32):08x}"
        self.stopping = threading.Event()
        self.connections = delivery.Connections()
        self.pruned: dict[str, float] = {}  # database alias -> time.monotonic() of this worker's last prune

    def stop(self) -> None:
        self.stopping.set()

    def run(self) -> None:
        logger.info("webhook worker %s started", self.name)
        try:
            while not self.stopping.is_set():
                try:
                    busy = self.round()
                except Exception:  # the catalog unreachable, a bug: logged, and the worker goes on
                    logger.exception("webhook worker round failed")
                    busy = False
                if self.heartbeat is not None:
                    self.heartbeat.touch()
                if not busy:
                    self.stopping.wait(settings.WEBHOOK_POLL_SECONDS)
        finally:
            self.connections.close()
            logger.info("webhook worker %s stopped", self.name)

    def round(self) -> bool:
        """One pass over every tenant; whether anything was done (then the next pass starts at once)."""
        close_old_connections()
        busy = False
        for tenant in list(Tenant.objects.order_by("id")):
            if self.stopping.is_set():
                break
            try:
                with tenancy.using_tenant(tenant):
                    busy = self.tenant_round() or busy
            except Exception:  # a tenant deleted meanwhile, a database restarting: the next round
                logger.warning("webhooks of tenant %s skipped this round", tenant.id, exc_info=True)
        return busy

    def tenant_round(self) -> bool:
        now = timezone.now()
        self.prune_if_due(now)
        latest = Event.objects.aggregate(latest=Max("id"))["latest"] or 0
        pending = Message.objects.filter(webhook=OuterRef("pk"), state=MessageState.PENDING)
        candidates = (
            Webhook.objects.filter(active=True)
            .filter(Q(lease_until__isnull=True) | Q(lease_until__lt=now))
            .filter(Q(retry_at__isnull=True) | Q(retry_at__lte=now))
            .filter(Q(cursor__lt=latest) | Exists(pending))
            .values_list("pk", flat=True)
        )
        busy = False
        for webhook_id in list(candidates):
            if self.stopping.is_set():
                break
            if self.claim(webhook_id):
                try:
                    busy = self.serve(webhook_id) or busy
                except Exception:  # one webhook's trouble (a deleted row, a bug) never stops the others
                    logger.exception("webhook %s skipped this round", webhook_id)
                finally:
                    self.release(webhook_id)
        return busy

    def prune_if_due(self, now: datetime) -> None:
        """The delivery log and the messages done with are kept as long as the events (EVENT_RETENTION_DAYS);
        each worker prunes each tenant at most once every PRUNE_EVERY seconds."""
        alias = Webhook.objects.db
        if time.monotonic() - self.pruned.get(alias, -PRUNE_EVERY) < PRUNE_EVERY:
            return
        self.pruned[alias] = time.monotonic()
        prune(now - timedelta(days=settings.EVENT_RETENTION_DAYS))

    # ------------------------------------------------------------ the lease

    def lease_end(self) -> datetime:
        return timezone.now() + timedelta(seconds=settings.WEBHOOK_LEASE_SECONDS)

    def claim(self, webhook_id: str) -> bool:
        now = timezone.now()
        free = Q(lease_until__isnull=True) | Q(lease_until__lt=now)
        with tenant_atomic():
            claimed = Webhook.objects.filter(free, pk=webhook_id, active=True).update(
                lease_until=self.lease_end(), lease_owner=self.name
            )
        return claimed == 1

    def renew(self, webhook_id: str) -> bool:
        """Extend the lease; False when it is no longer ours (it ran out and another worker took it)."""
        with tenant_atomic():
            mine = Webhook.objects.filter(pk=webhook_id, lease_owner=self.name, active=True)
            return mine.update(lease_until=self.lease_end()) == 1

    def release(self, webhook_id: str) -> None:
        try:
            with tenant_atomic():
                Webhook.objects.filter(pk=webhook_id, lease_owner=self.name).update(lease_until=None, lease_owner="")
        except DatabaseError:
            logger.warning("lease on webhook %s not released (it runs out by itself)", webhook_id, exc_info=True)

    # ------------------------------------------------------------ the work of one claim

    def serve(self, webhook_id: str) -> bool:
        """Queue and deliver for one claimed webhook, for one turn at most; whether anything happened."""
        turn_ends = time.monotonic() + TURN_SECONDS
        renewed = time.monotonic()
        busy = False
        while not self.stopping.is_set() and time.monotonic() < turn_ends:
            webhook = Webhook.objects.filter(pk=webhook_id, lease_owner=self.name, active=True).first()
            if webhook is None:
                break
            queue = Message.objects.filter(webhook=webhook, state=MessageState.PENDING).order_by("id")
            pending = list(queue[:MESSAGES_PER_READ])
            if not pending:
                if not self.enqueue(webhook):
                    break
                busy = True
                continue
            if pending[0].next_attempt > timezone.now():
                break  # the head waits for its retry, and every message behind it with it
            for message in pending:
                if self.stopping.is_set() or time.monotonic() >= turn_ends:
                    break
                if message.next_attempt > timezone.now():
                    break  # redelivered behind a message that failed meanwhile: read the queue again
                delivered = self.attempt(webhook, message)
                busy = True
                if time.monotonic() - renewed > settings.WEBHOOK_LEASE_SECONDS / 3:
                    if not self.renew(webhook_id):
                        return busy
                    renewed = time.monotonic()
                if not delivered:
                    break  # it waits for its retry; so do the ones behind it
        return busy

    def enqueue(self, webhook: Webhook) -> bool:
        """Queue the webhook's next events past its cursor and move the cursor, in one transaction."""
        events = list(Event.objects.filter(id__gt=webhook.cursor).order_by("id")[:EVENTS_PER_BATCH])
        if not events:
            return False
        creator = User.objects.filter(pk=webhook.created_by).first()
        messages = [
            Message(
                webhook=webhook,
                event_id=event.pk,
                event_type=event.type,
                message_id=message_id(webhook, event),
                body=payload(event).decode(),
            )
            for event in events
            if matching.takes(webhook, creator, event)
        ]
        with tenant_atomic():
            moved = Webhook.objects.filter(pk=webhook.pk, lease_owner=self.name, cursor=webhook.cursor)
            if moved.update(cursor=events[-1].pk) != 1:
                return False  # no longer ours: queue nothing
            Message.objects.bulk_create(messages)
        return True

    def attempt(self, webhook: Webhook, message: Message) -> bool:
        """One signed POST of ``message``, its log row, and what it means for the message and the webhook."""
        body = message.body.encode()
        stamp = int(time.time())
        outcome = delivery.post(
            self.connections, webhook.url, body, signing.headers(webhook.secret, message.message_id, stamp, body)
        )
        now = timezone.now()
        first = message.first_attempt or now
        number = message.attempts + 1
        changes: dict[str, Any] = {"attempts": number, "first_attempt": first}
        next_retry = None
        disable = ""
        if outcome.delivered:
            changes["state"] = MessageState.DELIVERED
        else:
            deadline = first + timedelta(hours=settings.WEBHOOK_RETRY_HOURS)
            if now >= deadline:
                changes["state"] = MessageState.FAILED
                disable = (
                    f"Disabled {iso(now)}: event {message.event_id} failed for "
                    f"{settings.WEBHOOK_RETRY_HOURS:g} hours ({number} attempts; last: {outcome.error})"
                )
            else:
                next_retry = min(now + timedelta(seconds=backoff(number)), deadline)
                changes["next_attempt"] = next_retry
        with tenant_atomic():
            Message.objects.filter(pk=message.pk).update(**changes)
            Attempt.objects.create(
                webhook=webhook,
                message=message,
                attempt=number,
                status_code=outcome.status,
                latency_ms=outcome.latency_ms,
                response=outcome.response,
                error=outcome.error[:500],
                timestamp=now,
                next_retry=next_retry,
            )
            if disable:
                stopped = {"active": False, "disabled_reason": disable[:1000], "retry_at": None}
                Webhook.objects.filter(pk=webhook.pk).update(**stopped)
            elif next_retry is not None or webhook.retry_at is not None:
                Webhook.objects.filter(pk=webhook.pk).update(retry_at=next_retry)
                webhook.retry_at = next_retry
        if disable:
            logger.warning("webhook %s disabled: %s", webhook.pk, disable)
        return outcome.delivered


def prune(older_than: datetime) -> int:
    """Delete the current tenant's delivery attempts from before ``older_than``, and its delivered or failed
    messages queued before then (pending ones stay: their endpoint still owes them); how many rows went."""
    attempts, _ = Attempt.objects.filter(timestamp__lt=older_than).delete()
    done = Message.objects.filter(created__lt=older_than).exclude(state=MessageState.PENDING)
    messages, _ = done.delete()
    return attempts + messages


def run_until_idle(worker: Worker, *, rounds: int = 1000, condition: Callable[[], bool] | None = None) -> None:
    """Rounds until one finds nothing to do (or ``condition`` holds): for tests and ``--once``."""
    for _ in range(rounds):
        if not worker.round() or (condition is not None and condition()):
            return
