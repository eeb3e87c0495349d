"""The events of items, versions and aliases (``tenants_app.events``; docs/events.md): built here, written
by ``generation.changing()`` as the last statements of the change's own transaction (``Change.emit``).

Every function runs inside that transaction, after the change's writes: a document reflects the change as
it commits, and the audience is who may read the item then. An item's document is the one its owner reads
(``load_related`` hides, from a viewer, the linked datasets that viewer may not read).
"""

from __future__ import annotations

from typing import Any

from items_app import kinds
from items_app.documents import item_document, version_document
from items_app.models import Item, Share, Version, Visibility
from items_app.related import attach_version_rows, load_related
from tenants_app.audit import Caller
from tenants_app.events import EventType, audience, event
from tenants_app.models import Event


def resource_of(item: Item) -> str:
    """The API's collection of the item: ``models``, ``datasets``, ``algorithms``."""
    return kinds.get(item.kind).prefix


def item_audience(item_id: str) -> dict[str, Any]:
    """Who may read the item now, read inside the transaction that changes it."""
    visibility, owner_id = Item.objects.filter(pk=item_id).values_list("visibility", "owner_id").get()
    shared = Share.objects.filter(item_id=item_id).order_by("user_id").values_list("user_id", flat=True)
    return audience(public=visibility == Visibility.PUBLIC, owner=owner_id, users=list(shared))


def loaded_item(item_id: str) -> Item:
    """The item as it stands in the transaction, with what its document shows, as its owner reads it."""
    item = Item.objects.select_related("owner", "lists").get(pk=item_id)
    load_related([item], item.owner)
    return item


def created_item(caller: Caller, item: Item, shared_with: list[str]) -> Event:
    """``item.created`` for an item a create has just inserted (``item.related`` set by the create)."""
    who = audience(public=item.visibility == Visibility.PUBLIC, owner=item.owner_id, users=sorted(shared_with))
    return _item_event(EventType.ITEM_CREATED, caller, item, item_document(item), who)


def updated_item(caller: Caller, item_id: str) -> Event:
    item = loaded_item(item_id)
    return _item_event(EventType.ITEM_UPDATED, caller, item, item_document(item), item_audience(item_id))


def deleted_item(caller: Caller, item_id: str) -> Event:
    """``item.deleted``: built before the delete, with the document and audience as they were."""
    item = loaded_item(item_id)
    return _item_event(EventType.ITEM_DELETED, caller, item, item_document(item), item_audience(item_id))


def _item_event(type: str, caller: Caller, item: Item, document: dict[str, Any], who: dict[str, Any]) -> Event:
    resource = resource_of(item)
    return event(type, actor=caller.username, resource=resource, target=item.pk, document=document, audience=who)


def version_event(type: str, caller: Caller, item: Item, version: Version, *, loaded: bool = False) -> Event:
    """``version.created``, ``version.updated`` or ``version.deleted`` (built before the delete): the version's
    document and ``"item"``, its item's id. ``loaded``: the version's aliases and metadata are attached."""
    if not loaded:
        attach_version_rows([version])
    document = {**version_document(version), "item": item.pk}
    return event(
        type,
        actor=caller.username,
        resource=resource_of(item),
        target=item.pk,
        document=document,
        audience=item_audience(item.pk),
    )


def alias_moved(caller: Caller, item: Item, alias: str, from_ordinal: int | None, to_ordinal: int | None) -> Event:
    """``alias.moved``: ``from`` None for a new alias, ``to`` None for a removed one."""
    document = {"alias": alias, "from": from_ordinal, "to": to_ordinal, "item": item.pk}
    return event(
        EventType.ALIAS_MOVED,
        actor=caller.username,
        resource=resource_of(item),
        target=item.pk,
        document=document,
        audience=item_audience(item.pk),
    )
