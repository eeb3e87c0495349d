"""Write workflows for versions (an item's uploaded files): record one, find one, delete one, log a download.

The bytes are stored once per tenant and content (``framework.files.storage``, keyed by SHA-256); a
version is the row that points at them, with what the file says about itself (``items_app.facts``). No
version row without its file, no file without its row, whatever fails in between.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.db import IntegrityError
from django.db.models import F, Q
from django.utils import timezone

from framework import jsontext
from framework.errors import Conflict, DigestMismatch, Invalid, NotFound, Unavailable, UploadFailed
from framework.files import storage
from framework.files.uploads import ReceivedFile
from items_app import events, generation
from items_app.blobs import release_blob
from items_app.facts import Facts, check_allowed, facts_for
from items_app.models import Alias, AliasMove, Blob, Item, Version, VersionMetadataEntry
from items_app.related import ListChange, MetadataValue
from items_app.services import apply_metadata, checked_metadata, ensure_editable, metadata_names, put_metadata, touch
from tenants_app import audit
from tenants_app.audit import Caller
from tenants_app.context import require_tenant
from tenants_app.events import EventType

logger = logging.getLogger("registry.uploads")
LATEST = "latest"  # the alias no one sets: always the highest ordinal

# A version label (the original registry's ``?ordinal=v2.0.0``): a version number of the uploader's choosing.
LABEL = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._+-]{0,63}\Z")
LABEL_RULE = (
    "1 to 64 letters, digits, '.', '_', '+' or '-', starting with a letter or digit, with at least one digit "
    "(v2, 2.0.0-rc1, 2024-06-01)"
)


class _BlobVanished(Exception):
    """A concurrent deletion removed the blob between storing it and locking it: store it again."""


def version_metadata(raw: Any) -> list[MetadataValue]:
    """A version's metadata as a client sends it: a list of ``{"name", "value"}`` (as items take it) or an
    object ``{"accuracy": 0.93}``; each entry checked by the item rules, each name once."""
    if isinstance(raw, dict):
        raw = [{"name": name, "value": value} for name, value in raw.items()]
    if not isinstance(raw, list):
        raise Invalid('metadata: a list of {"name": …, "value": …} or an object of name: value')
    return checked_metadata(raw)


def parse_version_metadata(text: str | None) -> list[MetadataValue]:
    """``metadata`` of an upload (a form field or a query parameter): JSON text, or nothing."""
    if text is None or text.strip() == "":
        return []
    try:
        raw = jsontext.loads(text)
    except jsontext.Unreadable as exc:
        raise Invalid(
            f'metadata: not JSON the registry takes ({exc}); send a list of {{"name", "value"}} or an object'
        ) from None
    return version_metadata(raw)


def checked_label(raw: str | None, field: str = "ordinal") -> str:
    """A label as an upload asks for it (``?ordinal=``, or ``field`` in errors), checked on its own: "" for none.

    All digits is a number, which is what the registry counts itself: kept as is here and allowed only as
    the next number (``_record``). A word alone (``production``) would read as an alias, a name ending in
    letters after a dot (``model.onnx``) as a file name: both refused, so a reference means one thing.
    """
    label = (raw or "").strip()
    if label == "" or label.isdigit():
        return label
    if not LABEL.match(label):
        raise Invalid(f"{field}: {label[:80]!r} is not a version label: {LABEL_RULE}")
    suffix = label.rsplit(".", 1)[1] if "." in label else ""
    if suffix.isalpha():
        raise Invalid(f"{field}: {label!r} reads as a file name (it ends in '.{suffix}'); {LABEL_RULE}")
    if not any(character.isdigit() for character in label):
        raise Invalid(f"{field}: {label!r} reads as an alias (a word without a digit); {LABEL_RULE}")
    return label


def label_for_upload(item: Item, raw: str | None) -> str:
    """The label an upload asks for (``?ordinal=``), checked and free in ``item``: refused before the body is
    read, as both front doors' one-request uploads do."""
    label = checked_label(raw)
    ensure_label_free(item, label)
    return label


def ensure_label_free(item: Item, label: str) -> None:
    """Refuse (409) a label this item already uses, as a label or as a version's file name, in any case; an
    upload checks it before it reads the file, and again when it records the version."""
    if not label or label.isdigit():
        return
    clash = Version.objects.filter(item=item).filter(Q(label__iexact=label) | Q(original__iexact=label)).first()
    if clash is not None:
        what = "labelled" if clash.label.lower() == label.lower() else "with the file"
        raise Conflict(f"ordinal: version {clash.ordinal} of this {item.kind} is already {what} {label!r}")


def add_version(
    caller: Caller,
    item: Item,
    received: ReceivedFile,
    *,
    original: str,
    description: str = "",
    expected_sha256: str | None = None,
    metadata: Sequence[MetadataValue] = (),
    label: str = "",
) -> Version:
    """Record an uploaded file as the item's next version, storing its bytes once per tenant; ``label``
    (checked by ``checked_label``) names it besides its number.

    The blob is written first, then the row is recorded in a transaction that holds the blob's lock; any
    failure on the way releases the blob again unless another version uses it.
    """
    ensure_editable(caller, item, "create")
    sha256 = received.sha256
    tenant_id = require_tenant().id
    try:
        if expected_sha256 is not None and expected_sha256 != sha256:
            raise DigestMismatch(f"file: its SHA-256 is {sha256}, the client expected {expected_sha256}")
        if Version.objects.filter(item=item, original=original).exists():
            raise Conflict(f"original: this {item.kind} already has a version named {original!r}")
        ensure_label_free(item, label)
        with storage.object_store():  # a store that does not answer: 503, nothing recorded
            version = _store_and_record(caller, item, received, tenant_id, original, description, metadata, label)
    except IntegrityError:  # a concurrent upload took the file name or the label first
        _release(tenant_id, sha256)
        ensure_label_free(item, label)
        raise Conflict(f"original: this {item.kind} already has a version named {original!r}") from None
    except BaseException:
        _release(tenant_id, sha256)
        raise
    finally:
        received.close()
    return version


def _release(tenant_id: str, sha256: str) -> None:
    """Give the blob of a failed upload back; when the object store does not answer, the file stays for
    ``cleanup_blobs`` (no version points at it) and the upload's own refusal is what the client sees."""
    try:
        with storage.object_store():
            release_blob(tenant_id, sha256)
    except Unavailable:
        logger.warning("blob %s/%s left for cleanup_blobs: the object store does not answer", tenant_id, sha256)


def _store_and_record(
    caller: Caller,
    item: Item,
    received: ReceivedFile,
    tenant_id: str,
    original: str,
    description: str,
    metadata: Sequence[MetadataValue],
    label: str,
) -> Version:
    key = storage.blob_key(tenant_id, received.sha256)
    facts: Facts | None = None
    for _attempt in range(3):
        if not storage.exists(key):
            storage.store(key, received)
        if facts is None:  # read from the stored blob before anything is recorded: a refusal records nothing
            facts = facts_for(received.sha256, key, received.size, original)
            check_allowed(facts)
        try:
            with generation.changing("versions", "lastmod") as change:
                version = _record(caller, item, received, key, original, description, label, facts)
                put_metadata(VersionMetadataEntry, {"version": version}, metadata, caller.user)
                change.emit(events.version_event(EventType.VERSION_CREATED, caller, item, version))
                return version
        except _BlobVanished:
            continue
    raise UploadFailed("file: storage lost the file while it was recorded; try again")


def _record(
    caller: Caller,
    item: Item,
    received: ReceivedFile,
    key: str,
    original: str,
    description: str,
    label: str,
    facts: Facts,
) -> Version:
    blob, _ = Blob.objects.select_for_update().get_or_create(sha256=received.sha256, defaults={"size": received.size})
    if not storage.exists(key):
        raise _BlobVanished
    touch(item, last_ordinal=F("last_ordinal") + 1)
    ordinal = Item.objects.filter(pk=item.pk).values_list("last_ordinal", flat=True).get()
    if label.isdigit():
        if int(label) != ordinal:  # raised inside the transaction: the number is not taken
            raise Invalid(f"ordinal: {label} is not this {item.kind}'s next number ({ordinal}); {LABEL_RULE}")
        label = ""  # the number itself, not a label
    version = Version.objects.create(
        item=item,
        ordinal=ordinal,
        label=label,
        original=original,
        size=received.size,
        blob=blob,
        content_type=(received.content_type or "application/octet-stream")[:255],
        description=description,
        owner=caller.user,
        **facts.fields(),
    )
    details = {"ordinal": ordinal, "original": original, "size": received.size, "sha256": received.sha256}
    if label:
        details["label"] = label
    audit.record(caller, action="upload", resource=item.kind, target=item.pk, details=details)
    return version


def find_version(item: Item, ref: str) -> Version:
    """A version by reference: an ordinal (all digits), ``@latest`` (the highest ordinal), ``@<alias>``, its
    label (any case), or else its original file name."""
    versions = Version.objects.filter(item=item).select_related("owner")
    if ref == f"@{LATEST}":
        version = versions.order_by("-ordinal").first()
    elif ref.startswith("@"):
        version = versions.filter(aliases__name=ref[1:]).first()
    elif ref.isdigit():
        version = versions.filter(ordinal=int(ref)).first()
    else:
        version = versions.filter(label__iexact=ref).first() or versions.filter(original=ref).first()
    if version is None:
        raise NotFound(f"versions: no version {ref!r}")
    return version


@dataclass(frozen=True)
class AliasesOnDeletion:
    """What deleting a version does to the aliases pointing at it: refuse (409, the default), drop them, or
    move them to ``to``."""

    drop: bool = False
    to: Version | None = None


def delete_version(
    caller: Caller, item: Item, version: Version, aliases: AliasesOnDeletion = AliasesOnDeletion()
) -> Version:
    ensure_editable(caller, item, "delete")
    if aliases.to is not None and aliases.to.pk == version.pk:
        raise Invalid("to: the aliases cannot move to the version being deleted")
    sha256 = version.blob_id
    version_id = version.pk
    with generation.changing("versions", "lastmod") as change:
        lock_item(item)
        pointing = list(Alias.objects.filter(version_id=version_id).order_by("name"))
        if pointing and not aliases.drop and aliases.to is None:
            names = ", ".join(alias.name for alias in pointing)
            raise Conflict(
                f"aliases: {names} point(s) at version {version.ordinal}; move them first, or delete with "
                "?aliases=drop or ?aliases=move&to=<version>"
            )
        deleted = events.version_event(EventType.VERSION_DELETED, caller, item, version)  # as it was
        for alias in pointing:
            to_ordinal = aliases.to.ordinal if aliases.to else None
            record_move(caller, item, alias.name, version.ordinal, to_ordinal)
            change.emit(events.alias_moved(caller, item, alias.name, version.ordinal, to_ordinal))
            if aliases.to is not None:
                Alias.objects.filter(pk=alias.pk).update(
                    version=aliases.to, lastmod=timezone.now(), by=caller.username or ""
                )
            else:
                alias.delete()
        version.delete()
        touch(item)
        details = {"ordinal": version.ordinal, "original": version.original, "size": version.size, "sha256": sha256}
        audit.record(caller, action="delete_version", resource=item.kind, target=item.pk, details=details)
        change.emit(deleted)
    version.pk = version_id
    release_blob(require_tenant().id, sha256)
    return version


def update_version(
    caller: Caller, item: Item, version: Version, *, description: str | None, metadata: ListChange | None
) -> Version:
    """Change a version's description and metadata (same list rules as an item's: a plain list replaces,
    ``remove`` then ``add`` otherwise). Every value is checked before anything is written."""
    ensure_editable(caller, item, "modify")
    plan = None
    if metadata is not None:
        remove = "all" if metadata.replace is not None else metadata_names(metadata.remove)
        plan = (remove, checked_metadata(metadata.added()))
    with generation.changing("versions", "lastmod") as change:
        lock_item(item)
        if not Version.objects.filter(pk=version.pk).exists():
            raise NotFound(f"versions: no version {version.ordinal}")
        if description is not None:
            Version.objects.filter(pk=version.pk).update(description=description)
        if plan is not None:
            apply_metadata(VersionMetadataEntry, {"version": version}, *plan, caller.user)
        touch(item)
        fields = sorted(
            name for name, given in (("description", description), ("metadata", metadata)) if given is not None
        )
        details = {"ordinal": version.ordinal, "fields": fields}
        audit.record(caller, action="update_version", resource=item.kind, target=item.pk, details=details)
        updated = Version.objects.select_related("owner").get(pk=version.pk)
        change.emit(events.version_event(EventType.VERSION_UPDATED, caller, item, updated))
    return updated


def lock_item(item: Item) -> None:
    """Lock the item's row for the rest of the transaction: its versions and aliases change one at a time."""
    if not Item.objects.select_for_update().filter(pk=item.pk).exists():
        raise NotFound(f"_id: no {item.kind} {item.pk!r}")


def record_move(caller: Caller, item: Item, alias: str, from_ordinal: int | None, to_ordinal: int | None) -> None:
    AliasMove.objects.create(
        item=item, alias=alias, from_ordinal=from_ordinal, to_ordinal=to_ordinal, by=caller.username or ""
    )


def record_download(caller: Caller, item: Item, version: Version, byte_range: str | None) -> None:
    details = {
        "ordinal": version.ordinal,
        "original": version.original,
        "size": version.size,
        "sha256": version.blob_id,
    }
    if byte_range:
        details["range"] = byte_range
    audit.record(caller, action="download", resource=item.kind, target=item.pk, details=details)
