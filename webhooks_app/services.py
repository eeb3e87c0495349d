"""Write workflows for webhooks, for the API and the ``/manage/webhooks/`` pages alike: tenant admins only.

Every change is checked here (URL and SSRF guard, event types, filter) and written to the audit log; the
secret leaves the registry in the answer that made it (or rotated it), and in signatures, nothing else.
"""

from __future__ import annotations

from typing import Any

from django.db.models import Max, QuerySet
from django.utils import timezone

from framework.errors import Action as ErrorAction
from framework.errors import Forbidden, Invalid, NotFound
from framework.lookups import one_or_none
from tenants_app import audit
from tenants_app.audit import Caller
from tenants_app.events import EVENT_TYPES
from tenants_app.models import Event
from tenants_app.transactions import tenant_atomic
from webhooks_app import addresses, matching, signing
from webhooks_app.models import Attempt, Message, MessageState, Webhook

RESOURCE = "webhook"
MAX_DESCRIPTION = 500
CHANGEABLE = ("url", "events", "filter", "description", "active")


def _admin_only(caller: Caller, action: ErrorAction) -> None:
    if not caller.is_admin:
        raise Forbidden("Only tenant admins can manage webhooks.", action=action)


def webhooks(caller: Caller) -> QuerySet[Webhook]:
    _admin_only(caller, "read")
    return Webhook.objects.all()


def find_webhook(caller: Caller, webhook_id: str) -> Webhook:
    webhook = one_or_none(webhooks(caller).filter(pk=webhook_id))
    if webhook is None:
        raise NotFound(f"_id: no webhook {webhook_id!r}")
    return webhook


def check_events(types: Any) -> list[str]:
    if not isinstance(types, list) or not types or not all(isinstance(name, str) for name in types):
        raise Invalid(f"events: a non-empty array of event types: {', '.join(EVENT_TYPES)}")
    unknown = [name for name in types if name not in EVENT_TYPES]
    if unknown:
        raise Invalid(f"events: unknown event type {unknown[0]!r}; the types are {', '.join(EVENT_TYPES)}")
    return [name for name in EVENT_TYPES if name in types]  # one order, no repeats


def _checked(caller: Caller, changes: dict[str, Any]) -> dict[str, Any]:
    assert caller.user is not None
    checked = dict(changes)
    if "url" in changes:
        addresses.check_url(changes["url"])
    if "events" in changes:
        checked["events"] = check_events(changes["events"])
    if changes.get("filter") in ({}, []):
        checked["filter"] = None
    elif changes.get("filter") is not None:
        matching.check_filter(changes["filter"], caller.user)
    if len(changes.get("description") or "") > MAX_DESCRIPTION:
        raise Invalid(f"description: at most {MAX_DESCRIPTION} characters")
    return checked


def create_webhook(
    caller: Caller, *, url: str, events: list[str], filter: Any = None, description: str = "", active: bool = True
) -> tuple[Webhook, str]:
    """A new webhook and its secret, which exists only in this answer. It receives the events that come
    after it."""
    _admin_only(caller, "create")
    assert caller.user is not None
    data = _checked(caller, {"url": url, "events": events, "filter": filter, "description": description or ""})
    secret = signing.new_secret()
    with tenant_atomic():
        latest = Event.objects.aggregate(latest=Max("id"))["latest"] or 0
        webhook = Webhook.objects.create(
            **data,
            active=active,
            secret=secret,
            created_by=caller.user.pk,
            created_by_name=caller.user.username,
            cursor=latest,
        )
        audit.record(caller, action="create", resource=RESOURCE, target=webhook.pk, details=_details(webhook))
    return webhook, secret


def update_webhook(caller: Caller, webhook: Webhook, changes: dict[str, Any]) -> Webhook:
    """Change what ``CHANGEABLE`` names; turning a disabled webhook on again clears the reason, and it
    resumes from the event where it stopped."""
    _admin_only(caller, "modify")
    unknown = sorted(set(changes) - set(CHANGEABLE))
    if unknown:
        raise Invalid(f"{unknown[0]}: not a field of a webhook that can be changed")
    data = _checked(caller, changes)
    with tenant_atomic():
        for name, value in data.items():
            setattr(webhook, name, value)
        fields = [*data, "lastmod"]
        if data.get("active"):
            webhook.disabled_reason = ""
            webhook.retry_at = None
            fields += ["disabled_reason", "retry_at"]
        # Only what changed: the worker moves the cursor and the lease meanwhile, and must not see them go back.
        webhook.save(update_fields=fields)
        audit.record(caller, action="update", resource=RESOURCE, target=webhook.pk, details=_details(webhook))
    return webhook


def rotate_secret(caller: Caller, webhook: Webhook) -> str:
    """A new secret for the webhook, in force from the next attempt; the old one stops signing at once."""
    _admin_only(caller, "modify")
    secret = signing.new_secret()
    with tenant_atomic():
        Webhook.objects.filter(pk=webhook.pk).update(secret=secret, lastmod=timezone.now())
        audit.record(caller, action="rotate", resource=RESOURCE, target=webhook.pk)
    webhook.secret = secret
    return secret


def delete_webhook(caller: Caller, webhook: Webhook) -> Webhook:
    _admin_only(caller, "delete")
    webhook_id = webhook.pk
    with tenant_atomic():
        webhook.delete()
        audit.record(caller, action="delete", resource=RESOURCE, target=webhook_id, details=_details(webhook))
    webhook.pk = webhook_id
    return webhook


def attempts(caller: Caller, webhook: Webhook) -> QuerySet[Attempt]:
    _admin_only(caller, "read")
    return Attempt.objects.filter(webhook=webhook).select_related("message")


def redeliver(caller: Caller, webhook: Webhook, attempt_id: str) -> Message:
    """Queue the message of one logged attempt again, with its ``webhook-id`` and body, behind the
    webhook's pending messages; a message still pending is simply tried now."""
    _admin_only(caller, "modify")
    attempt = one_or_none(Attempt.objects.filter(webhook=webhook, pk=attempt_id if attempt_id.isdigit() else 0))
    if attempt is None:
        raise NotFound(f"delivery: no delivery {attempt_id!r} of this webhook")
    old = attempt.message
    with tenant_atomic():
        if old.state == MessageState.PENDING:
            Message.objects.filter(pk=old.pk).update(next_attempt=timezone.now())
            Webhook.objects.filter(pk=webhook.pk).update(retry_at=None)
            message = old
        else:
            message = Message.objects.create(
                webhook=webhook,
                event_id=old.event_id,
                event_type=old.event_type,
                message_id=old.message_id,
                body=old.body,
            )
        audit.record(caller, action="redeliver", resource=RESOURCE, target=webhook.pk, details={"event": old.event_id})
    return message


def _details(webhook: Webhook) -> dict[str, Any]:
    return {"url": webhook.url, "events": webhook.events, "active": webhook.active}
