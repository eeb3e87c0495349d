"""Writing the tenant's outbox of events (``GET /v1/events``, webhooks): one sibling of the audit log.

Every service that changes something a consumer cares about calls ``record_event`` (or ``record_events``)
inside the change's own transaction, as its LAST write: the event exists exactly when the change does (a
transactional outbox), and events become visible in id order (``tenants_app.event_order``). See
docs/events.md for the types and their documents.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.db import router, transaction

from tenants_app.event_order import in_commit_order
from tenants_app.models import Event


class EventType:
    ITEM_CREATED = "item.created"
    ITEM_UPDATED = "item.updated"
    ITEM_DELETED = "item.deleted"
    VERSION_CREATED = "version.created"
    VERSION_UPDATED = "version.updated"
    VERSION_DELETED = "version.deleted"
    ALIAS_MOVED = "alias.moved"
    USER_CREATED = "user.created"
    USER_DELETED = "user.deleted"


def audience(*, public: bool, owner: str | None, users: Sequence[str] = ()) -> dict[str, Any]:
    """Who may read an event's resource at the time: everyone (``public``), its owner, the users (ids) it
    is shared with. Admins always may."""
    return {"public": public, "owner": owner, "users": list(users)}


def event(
    type: str,
    *,
    actor: str | None,
    resource: str,
    target: str,
    document: dict[str, Any],
    audience: dict[str, Any] | None,
) -> Event:
    """An unsaved event, for ``record_events``. ``audience`` None: admins only."""
    return Event(
        type=type,
        actor=actor or "",
        resource=resource,
        target=str(target),
        document=document,
        audience=audience,
    )


def record_events(events: Sequence[Event], *, using: str | None = None) -> None:
    """Insert ``events`` in one statement, in commit order, inside the current transaction of ``using``
    (the current tenant's database by default); in a transaction of their own when there is none."""
    if not events:
        return
    alias = using or router.db_for_write(Event)
    with transaction.atomic(using=alias):
        in_commit_order(alias)
        Event.objects.using(alias).bulk_create(events)


def record_event(
    type: str,
    *,
    actor: str | None,
    resource: str,
    target: str,
    document: dict[str, Any],
    audience: dict[str, Any] | None,
    using: str | None = None,
) -> None:
    """Insert one event: see ``record_events``."""
    record_events(
        [event(type, actor=actor, resource=resource, target=target, document=document, audience=audience)],
        using=using,
    )
