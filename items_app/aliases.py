"""Aliases: names such as ``production`` that point at one version of an item, moved by its owner or an admin.

A move is one transaction on the item's locked row: the alias row changes, a history row records who moved
it from which ordinal to which, and the item's revision is bumped (its document shows its aliases). Two
concurrent moves of one alias queue on that lock: the last one wins and the history holds both.
``latest`` is never stored: ``@latest`` always names the highest ordinal (``versions.find_version``).
Alias names a tenant admin marks as protected (``ProtectedAlias``) are moved by admins only.
"""

from __future__ import annotations

import re

from django.db import IntegrityError
from django.db.models import QuerySet
from django.utils import timezone

from framework.errors import Conflict, Forbidden, Invalid, NotFound
from framework.lookups import one_or_none
from items_app import events, generation
from items_app.models import Alias, AliasMove, Item, ProtectedAlias, Version
from items_app.services import ensure_editable, touch
from items_app.versions import LATEST, find_version, lock_item, record_move
from tenants_app import audit
from tenants_app.audit import Caller
from tenants_app.transactions import tenant_atomic

NAME = re.compile(r"^[a-z][a-z0-9_-]{0,31}\Z")
RULE = "an alias is 1 to 32 lowercase letters, digits, '-' or '_', starting with a letter"


def check_name(name: str, field: str = "alias") -> str:
    if not isinstance(name, str) or not NAME.match(name):
        raise Invalid(f"{field}: {name!r} is not an alias name; {RULE}")
    if name == LATEST:
        raise Invalid(f"{field}: 'latest' is reserved: @latest always names the highest ordinal")
    return name


def aliases_of(item: Item) -> list[Alias]:
    return list(Alias.objects.filter(item=item).select_related("version").order_by("name"))


def find_alias(item: Item, name: str) -> Alias:
    alias = one_or_none(Alias.objects.filter(item=item, name=name).select_related("version"))
    if alias is None:
        raise NotFound(f"alias: {item.kind} {item.pk} has no alias {name!r}")
    return alias


def history(item: Item, name: str) -> QuerySet[AliasMove]:
    return AliasMove.objects.filter(item=item, alias=name)


def is_protected(name: str) -> bool:
    return ProtectedAlias.objects.filter(pk=name).exists()


def _ensure_movable(caller: Caller, item: Item, name: str) -> None:
    ensure_editable(caller, item, "modify")
    if is_protected(name) and not caller.is_admin:
        raise Forbidden(f"alias: {name!r} is protected; only tenant admins move it", action="modify")


def _target(item: Item, ref: object) -> Version:
    """The version of *this* item that ``ref`` names (an ordinal, a file name): an alias cannot point
    anywhere else, since versions are looked up inside the item."""
    if isinstance(ref, bool) or not isinstance(ref, int | str) or str(ref) == "" or str(ref).startswith("@"):
        raise Invalid("version: an ordinal or a file name of this item's versions")
    try:
        return find_version(item, str(ref))
    except NotFound:
        raise Invalid(f"version: {item.kind} {item.pk} has no version {ref!r}") from None


def move_alias(caller: Caller, item: Item, name: str, ref: object) -> Alias:
    """Point ``name`` at the version ``ref`` names, creating the alias or moving it."""
    check_name(name)
    _ensure_movable(caller, item, name)
    version = _target(item, ref)
    with generation.changing("versions", "lastmod") as change:
        lock_item(item)
        current = one_or_none(Alias.objects.filter(item=item, name=name).select_related("version"))
        if current is not None and current.version_id == version.pk:
            return current  # already there: nothing moved, nothing to record
        if not Version.objects.filter(pk=version.pk).exists():
            raise Invalid(f"version: {item.kind} {item.pk} has no version {ref!r}")
        now = timezone.now()
        if current is None:
            current = Alias.objects.create(item=item, name=name, version=version, lastmod=now, by=caller.username or "")
        else:
            Alias.objects.filter(pk=current.pk).update(version=version, lastmod=now, by=caller.username or "")
        from_ordinal = None if current.version_id == version.pk else current.version.ordinal
        record_move(caller, item, name, from_ordinal, version.ordinal)
        touch(item)
        details = {"alias": name, "from": from_ordinal, "to": version.ordinal}
        audit.record(caller, action="alias", resource=item.kind, target=item.pk, details=details)
        change.emit(events.alias_moved(caller, item, name, from_ordinal, version.ordinal))
    return find_alias(item, name)


def remove_alias(caller: Caller, item: Item, name: str) -> Alias:
    _ensure_movable(caller, item, name)
    alias = find_alias(item, name)
    with generation.changing("versions", "lastmod") as change:
        lock_item(item)
        if not Alias.objects.filter(pk=alias.pk).delete()[0]:
            raise NotFound(f"alias: {item.kind} {item.pk} has no alias {name!r}")
        record_move(caller, item, name, alias.version.ordinal, None)
        touch(item)
        details = {"alias": name, "from": alias.version.ordinal, "to": None}
        audit.record(caller, action="alias", resource=item.kind, target=item.pk, details=details)
        change.emit(events.alias_moved(caller, item, name, alias.version.ordinal, None))
    return alias


# ---------------------------------------------------------------- protected names (tenant admins)


def protect(caller: Caller, name: str) -> ProtectedAlias:
    if not caller.is_admin:
        raise Forbidden("Only tenant admins protect alias names.", action="create")
    check_name(name, "_id")
    try:
        with tenant_atomic():
            entry = ProtectedAlias.objects.create(name=name, by=caller.username or "")
    except IntegrityError:
        raise Conflict(f"_id: {name!r} is already protected") from None
    audit.record(caller, action="protect", resource="alias", target=name)
    return entry


def unprotect(caller: Caller, name: str) -> ProtectedAlias:
    if not caller.is_admin:
        raise Forbidden("Only tenant admins unprotect alias names.", action="delete")
    entry = one_or_none(ProtectedAlias.objects.filter(pk=name))
    if entry is None:
        raise NotFound(f"_id: {name!r} is not protected")
    with tenant_atomic():
        entry.delete()
    entry.name = name
    audit.record(caller, action="unprotect", resource="alias", target=name)
    return entry
