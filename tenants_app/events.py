"""Writing the tenant's outbox of events (``GET /v1/events``, webhooks): one sibling of the audit log.

Every service that changes something a consumer cares about calls ``record_event`` (or ``record_events``)
inside the change's own transaction, as its LAST write: the event exists exactly when the change does (a
transactional outbox), and events become visible in id order (``tenants_app.event_order``). See
docs/events.md for the types and their documents.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Sequence
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from django.conf import settings
from django.db import DatabaseError, router, transaction
from django.db.models import Q, QuerySet, TextField
from django.db.models.fields.json import KT
from django.db.models.functions import Cast
from django.utils import timezone

from tenants_app.documents import user_document
from tenants_app.event_order import insert_in_commit_order
from tenants_app.models import Event, User

logger = logging.getLogger("registry.events")


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


# Every type, in the order docs/events.md lists them (webhooks subscribe to these).
EVENT_TYPES = (
    EventType.ITEM_CREATED,
    EventType.ITEM_UPDATED,
    EventType.ITEM_DELETED,
    EventType.VERSION_CREATED,
    EventType.VERSION_UPDATED,
    EventType.VERSION_DELETED,
    EventType.ALIAS_MOVED,
    EventType.USER_CREATED,
    EventType.USER_DELETED,
)
USERS = "users"  # the resource of user.* events, which only admins read


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
    with transaction.atomic(using=alias, savepoint=False):  # no savepoint: the caller's transaction or a new one
        insert_in_commit_order(alias, events)
        if _prune_due(alias):
            transaction.on_commit(partial(_prune_expired, alias), using=alias)


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


def record_user_event(type: str, actor: str | None, user: User, *, using: str | None = None) -> None:
    """``user.created`` or ``user.deleted`` (recorded before the delete): the user's full document, for admins
    only."""
    document = user_document(user, full=True)
    record_event(type, actor=actor, resource=USERS, target=user.pk, document=document, audience=None, using=using)


# ---------------------------------------------------------------- reading: the feed


def readable_events(user: User) -> QuerySet[Event]:
    """The events ``user`` may read: all for admins; else those of items the user could read when the event
    happened (public, owned, shared with them), never the user.* events. Portable: the share list is
    matched in the audience's JSON text, where a user id (hexadecimal) appears quoted exactly when listed."""
    events = Event.objects.all()
    if user.is_admin:
        return events
    shared = Cast(KT("audience__users"), TextField())
    return (
        events.exclude(resource=USERS)
        .alias(_shared=shared)
        .filter(Q(audience__public=True) | Q(audience__owner=user.pk) | Q(_shared__contains=f'"{user.pk}"'))
    )


# ---------------------------------------------------------------- retention


PRUNE_EVERY = 3600.0  # seconds: each process prunes each tenant's events at most this often, after a write
_last_pruned: dict[str, float] = {}  # database alias -> time.monotonic() of this process's last prune there
_prune_lock = threading.Lock()


def _prune_due(alias: str) -> bool:
    """Whether this process should prune database ``alias`` now (and, if so, note that it did)."""
    now = time.monotonic()
    with _prune_lock:
        last = _last_pruned.get(alias)
        if last is not None and now - last < PRUNE_EVERY:
            return False
        _last_pruned[alias] = now
        return True


def _prune_expired(alias: str) -> None:
    """After the commit of a write that recorded events: drop the events past EVENT_RETENTION_DAYS. A failure
    is logged, never the write's: the next due prune catches up."""
    try:
        prune_events(timezone.now() - timedelta(days=settings.EVENT_RETENTION_DAYS), using=alias)
    except DatabaseError:
        logger.warning("events of %s not pruned this time", alias, exc_info=True)


def prune_events(older_than: datetime, *, using: str | None = None) -> int:
    """Delete the events of the current tenant (or of database ``using``) from before ``older_than``; how many
    went. Called by ``manage.py prune_events`` for every tenant, and by whatever runs periodically."""
    alias = using or router.db_for_write(Event)
    deleted, _ = Event.objects.using(alias).filter(timestamp__lt=older_than).delete()
    return deleted
