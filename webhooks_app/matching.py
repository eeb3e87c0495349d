"""Which events a webhook receives: its types, what its creator may read, and its filter.

Visibility is decided with the event's ``audience`` (who could read the item when the change happened)
and the creator as the worker finds them: an admin receives every item's events; a creator who is no
longer an admin receives those of items that were public, theirs or shared with them; a deleted creator
receives nothing. ``user.*`` events go only to webhooks whose creator is an admin.

The filter (the list filter language, docs/api.md) is evaluated by the item lists' own machinery on the
one item the event is about, as it stands when the worker gets to the event. An item that no longer
exists (``item.deleted``, or any event of an item deleted since) cannot be tested: its events pass the
filter (docs/webhooks.md says so). ``user.*`` events are not filtered either: the filter is about items.
"""

from __future__ import annotations

from typing import Any

from django.db.models import Q

from framework.api.filtering import FilterTranslator
from framework.errors import InvalidFilter
from items_app import kinds
from items_app.listing import item_list_spec
from items_app.models import Item
from tenants_app.events import USERS
from tenants_app.models import Event, User
from webhooks_app.models import Webhook


def filter_condition(kind: kinds.ItemKind, viewer: User, document: Any) -> Q:
    """The filter as a condition on items of ``kind``; ``InvalidFilter`` naming what is wrong."""
    spec = item_list_spec(kind, viewer)
    return FilterTranslator(spec.fields, spec.prefixed).translate(document)


def check_filter(document: Any, viewer: User) -> None:
    """A webhook's filter must be valid on at least one kind of item (``status`` exists only on models,
    say; such a filter then lets through only the events of that kind)."""
    if not isinstance(document, dict | list):
        raise InvalidFilter("filter: a JSON object in the filter language (docs/api.md), or null")
    first: InvalidFilter | None = None
    for kind in kinds.every():
        try:
            filter_condition(kind, viewer, document)
        except InvalidFilter as exc:
            first = first or exc
        else:
            return
    if first is not None:
        raise InvalidFilter(f"filter: {first.details}")


def may_read(creator: User, event: Event) -> bool:
    if event.resource == USERS or event.audience is None:
        return creator.is_admin
    if creator.is_admin:
        return True
    audience: dict[str, Any] = event.audience
    return (
        bool(audience.get("public")) or audience.get("owner") == creator.pk or creator.pk in audience.get("users", [])
    )


def passes_filter(webhook: Webhook, creator: User, event: Event) -> bool:
    if not webhook.filter or event.resource == USERS:
        return True
    kind_value = Item.objects.filter(pk=event.target).values_list("kind", flat=True).first()
    if kind_value is None:
        return True  # gone: nothing to test (see the module's docstring)
    try:
        condition = filter_condition(kinds.get(kind_value), creator, webhook.filter)
    except (InvalidFilter, KeyError):
        return False  # a filter on fields another kind has
    return Item.objects.filter(pk=event.target).filter(condition).exists()


def takes(webhook: Webhook, creator: User | None, event: Event) -> bool:
    """Whether ``webhook`` (created by ``creator``, None once deleted) receives ``event``."""
    if event.type not in webhook.events or creator is None or not creator.is_active:
        return False
    return may_read(creator, event) and passes_filter(webhook, creator, event)
