"""Resumable uploads (tus 1.0) of a version: start one, append chunks, finish, give up, expire; and direct
uploads to S3 (presigned parts the client sends to the bucket; the registry checks the whole object).

An upload belongs to one user, one item and one tenant (its row is in the tenant's database; another
user's upload is a 404, like an item one cannot read). It is created with the file's total size, name,
description, metadata and optionally its SHA-256; chunks are appended at the offset the row records; when
the last byte arrives the version is recorded by ``versions.add_version``, the same service as a one-request
upload (content-addressed blob, dedup, audit, a digest mismatch keeps nothing), and the upload row goes.

The HTTP side of tus (headers, status codes) is ``items_app.tus``; its bytes are ``framework.files.resumable``;
the S3 calls of direct uploads are ``framework.files.storage``.
"""

from __future__ import annotations

import contextlib
import logging
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.http import HttpRequest
from django.utils import timezone

from framework.errors import Conflict, DigestMismatch, Gone, Invalid, NotFound, ServiceError, Unavailable
from framework.files import storage
from framework.files.resumable import Appended, Appender, PartialFile, partial_ids
from framework.files.uploads import MAX_DESCRIPTION_LENGTH, safe_original, too_large
from items_app import versions
from items_app.models import Item, UploadSession, Version
from items_app.related import MetadataValue
from items_app.services import ensure_editable
from tenants_app.audit import Caller
from tenants_app.context import require_tenant

logger = logging.getLogger("registry.uploads")


@dataclass(frozen=True)
class Progress:
    """Where an upload stands after a request: its offset, and the version once the last byte is in."""

    session: UploadSession
    version: Version | None = None


def partial_of(session: UploadSession) -> PartialFile:
    return PartialFile(require_tenant().id, session.pk)


@dataclass(frozen=True)
class Announced:
    """What a client says of a file before sending it: the same for a tus and a direct upload."""

    length: int
    filename: str | None
    description: str = ""
    metadata: Sequence[MetadataValue] = ()
    expected_sha256: str | None = None
    content_type: str = "application/octet-stream"
    label: str = ""  # checked by ``versions.checked_label``


def start_upload(caller: Caller, item: Item, file: Announced) -> Progress:
    """Open a tus upload of ``file`` to ``item``; an empty file is a version at once."""
    session = _new_session(caller, item, file)
    partial = partial_of(session)
    partial.create()
    try:
        session.save(force_insert=True)
    except BaseException:
        partial.remove()
        raise
    if file.length == 0:
        with partial.appending() as appender:
            return Progress(session, _finish(caller, item, session, appender))
    return Progress(session)


def _new_session(caller: Caller, item: Item, file: Announced) -> UploadSession:
    """An unsaved upload row, once every rule of a new upload holds (tus and direct alike)."""
    ensure_editable(caller, item, "create")
    assert caller.user is not None  # ensure_editable lets only a signed-in owner or admin through
    if file.length < 0:
        raise Invalid("Upload-Length: a number of bytes, 0 or more")
    if file.length > settings.MAX_UPLOAD_SIZE:
        raise too_large(file.length)
    original = safe_original(file.filename)
    if len(file.description) > MAX_DESCRIPTION_LENGTH:
        raise Invalid(f"description: at most {MAX_DESCRIPTION_LENGTH} characters")
    if Version.objects.filter(item=item, original=original).exists():
        raise Conflict(f"original: this {item.kind} already has a version named {original!r}")
    versions.ensure_label_free(item, file.label)  # a 409 before the bytes are sent, not after
    open_uploads = UploadSession.objects.filter(owner=caller.user, expires__gt=timezone.now()).count()
    if open_uploads >= settings.UPLOAD_SESSIONS_PER_USER:
        raise Conflict(
            f"uploads: you have {open_uploads} unfinished uploads (UPLOAD_SESSIONS_PER_USER); "
            "finish or delete one first"
        )
    return UploadSession(
        id=secrets.token_hex(16),
        item=item,
        owner=caller.user,
        length=file.length,
        original=original,
        label=file.label,
        description=file.description,
        metadata=[{"name": entry.name, "value": entry.value} for entry in file.metadata],
        expected_sha256=file.expected_sha256 or "",
        content_type=file.content_type[:255] or "application/octet-stream",
        expires=timezone.now() + timedelta(seconds=settings.UPLOAD_SESSION_EXPIRY),
    )


def find_upload(caller: Caller, item: Item, upload_id: str, *, direct: bool = False) -> UploadSession:
    """The caller's upload ``upload_id`` to ``item`` (a tus one, or with ``direct`` a direct one): 404 for
    anyone else's, 410 once it has expired."""
    found = UploadSession.objects.filter(pk=upload_id, item=item, owner_id=getattr(caller.user, "pk", None))
    session = (found.exclude(direct_id="") if direct else found.filter(direct_id="")).first()
    if session is None:
        raise NotFound(f"upload: no upload {upload_id!r} of yours to this {item.kind}")
    if session.expires <= timezone.now():
        raise Gone(f"upload: expired at {session.expires.isoformat()}; start a new upload")
    return session


def settled(session: UploadSession) -> UploadSession:
    """The upload as it stands once an append in progress has ended (``PartialFile.settle``)."""
    partial_of(session).settle()
    session.refresh_from_db(fields=["offset"])
    return session


@dataclass(frozen=True)
class Chunk:
    """What a PATCH says of its body: where it goes, how long it is, and the digests it must match: the
    chunk's own (``Upload-Checksum``) and, on the PATCH that completes the upload, the whole file's
    (``Repr-Digest``, hex)."""

    offset: int
    declared: int
    checksum: bytes | None = None
    whole_sha256: str | None = None


def append_chunk(caller: Caller, item: Item, session: UploadSession, request: HttpRequest, chunk: Chunk) -> Progress:
    """Append the request body at ``chunk.offset``, which must be where the upload stands (409 otherwise)."""
    ensure_editable(caller, item, "create")  # a role or an owner may have changed since the upload began
    partial = partial_of(session)
    offset, declared = chunk.offset, chunk.declared
    with partial.appending() as appender:
        session.refresh_from_db(fields=["offset"])  # the lock is held: no other request moves it now
        if offset != session.offset:
            raise Conflict(f"Upload-Offset: the upload is at {session.offset}, not {offset}")
        if offset + declared > session.length:
            raise Invalid(f"Content-Length: {declared} bytes at {offset} go past Upload-Length {session.length}")
        if chunk.whole_sha256 is not None:
            _check_whole_digest(session, offset + declared, chunk.whole_sha256)
        if declared or offset < session.length:
            _record_offset(session, appender.append(request, offset, declared, chunk.checksum))
        if session.offset < session.length:
            return Progress(session)
        if chunk.whole_sha256 is not None and not session.expected_sha256:
            # Kept with the upload, so that the empty PATCH finishing it after a 503 checks it too.
            UploadSession.objects.filter(pk=session.pk).update(expected_sha256=chunk.whole_sha256)
            session.expected_sha256 = chunk.whole_sha256
        return Progress(session, _finish(caller, item, session, appender))


def _check_whole_digest(session: UploadSession, end: int, sha256: str) -> None:
    """``Repr-Digest`` means what ``sha256`` at creation means, so it is sent once the whole file is known:
    on the PATCH that completes the upload, and never contradicting the one announced."""
    if end < session.length:
        raise Invalid(
            f"Repr-Digest: the whole file's digest belongs on the last PATCH, the one that reaches "
            f"Upload-Length {session.length}; this one ends at {end}"
        )
    if session.expected_sha256 and session.expected_sha256 != sha256:
        raise Invalid(
            f"Repr-Digest: {sha256} differs from the SHA-256 this upload was announced with "
            f"({session.expected_sha256}); nothing of this PATCH was kept"
        )


def _record_offset(session: UploadSession, appended: Appended) -> None:
    if appended.offset != session.offset:
        UploadSession.objects.filter(pk=session.pk).update(offset=appended.offset)
        session.offset = appended.offset
    if appended.cut_off:
        logger.info("upload %s cut off at %d of %d bytes", session.pk, appended.offset, session.length)


def _finish(caller: Caller, item: Item, session: UploadSession, appender: Appender) -> Version:
    """Record the complete file as the item's next version. The upload goes whatever the refusal; when the
    store was unreachable it stays, complete, and an empty PATCH at its end finishes it later."""
    sha256 = appender.sha256(session.length)
    received = appender.finished(session.length, sha256, session.original, session.content_type)
    try:
        version = versions.add_version(
            caller,
            item,
            received,  # type: ignore[arg-type]  # FinishedUpload has what add_version reads of a ReceivedFile
            original=session.original,
            description=session.description,
            expected_sha256=session.expected_sha256 or None,
            metadata=versions.version_metadata(session.metadata),
            label=session.label,
        )
    except Unavailable:
        raise  # the upload stays, complete: an empty PATCH at its end finishes it once the store answers
    except ServiceError:
        forget(session, appender.partial)
        raise
    forget(session, appender.partial)
    return version


def forget(session: UploadSession, partial: PartialFile) -> None:
    UploadSession.objects.filter(pk=session.pk).delete()
    partial.remove()


def terminate(session: UploadSession) -> None:
    """Give an upload up (tus termination): its row and bytes go at once."""
    partial = partial_of(session)
    with partial.appending():  # not while a chunk is being appended
        forget(session, partial)


def remove_expired(tenant_id: str, cutoff: float, *, dry_run: bool = False) -> list[str]:
    """Remove expired uploads (a direct one's parts too), and partial files older than ``cutoff`` (epoch
    seconds) that no upload row knows (a crash between writing the two); what was (or would be) removed."""
    expired = list(UploadSession.objects.filter(expires__lte=timezone.now()).values_list("pk", "direct_id"))
    known = set(UploadSession.objects.values_list("pk", flat=True))
    orphans = [
        upload_id for upload_id, modified in partial_ids(tenant_id) if upload_id not in known and modified < cutoff
    ]
    if not dry_run:
        for upload_id, direct_id in expired:
            if direct_id:
                _abort_quietly(storage.direct_key(tenant_id, upload_id), direct_id)
            UploadSession.objects.filter(pk=upload_id).delete()
            PartialFile(tenant_id, upload_id).remove()
        for upload_id in orphans:
            PartialFile(tenant_id, upload_id).remove()
    return [f"expired upload {upload_id}" for upload_id, _ in expired] + [
        f"orphaned partial upload {upload_id}" for upload_id in orphans
    ]


# ------------------------------------------------------------ direct uploads (S3)

MIN_PART_SIZE = 5 * 1024 * 1024  # S3's smallest part (but the last)
MAX_PARTS = 10_000  # S3's most parts per upload


@dataclass(frozen=True)
class DirectUpload:
    """A direct upload as its client needs it: the row, the part size, one presigned URL per part."""

    session: UploadSession
    part_size: int
    urls: list[str]


def start_direct(caller: Caller, item: Item, file: Announced) -> DirectUpload:
    """Open an S3 multipart upload for the client to send the parts of ``file`` to the bucket itself."""
    if storage.is_local():
        raise Invalid("uploads/s3: this registry keeps its files on local disk (STORAGE=local); use /uploads (tus)")
    if not settings.S3_DIRECT_UPLOADS:
        raise Invalid("uploads/s3: direct uploads are off on this registry (S3_DIRECT_UPLOADS); use /uploads (tus)")
    if file.length == 0:
        raise Invalid("size: an empty file has no parts; send it as a plain upload")
    session = _new_session(caller, item, file)
    size = part_size(file.length)
    parts = -(-file.length // size)
    key = storage.direct_key(require_tenant().id, session.pk)
    with storage.object_store():
        session.direct_id = storage.start_multipart(key)
        try:
            urls = storage.part_urls(key, session.direct_id, parts, settings.UPLOAD_SESSION_EXPIRY)
            session.save(force_insert=True)
        except BaseException:
            _abort_quietly(key, session.direct_id)
            raise
    return DirectUpload(session, size, urls)


def complete_direct(caller: Caller, item: Item, session: UploadSession, parts: list[tuple[int, str]]) -> Version:
    """Join the parts the client sent, check the whole object's size and SHA-256 (reading it once), and only
    then record the version (the object becomes its blob). A mismatch keeps nothing."""
    ensure_editable(caller, item, "create")
    expected_parts = -(-session.length // part_size(session.length))
    numbers = [number for number, _ in parts]
    if numbers != list(range(1, len(numbers) + 1)) or len(numbers) != expected_parts:
        raise Invalid(f"parts: send parts 1 to {expected_parts} in order, each with its ETag")
    tenant_id = require_tenant().id
    key = storage.direct_key(tenant_id, session.pk)
    with storage.object_store():
        storage.complete_multipart(key, session.direct_id, parts)
        sha256, size = storage.digest_of(key)
        if size != session.length or (session.expected_sha256 and sha256 != session.expected_sha256):
            storage.delete(key)
            UploadSession.objects.filter(pk=session.pk).delete()
            if size != session.length:
                raise Invalid(f"size: {size} bytes arrived, {session.length} were announced; nothing was kept")
            raise DigestMismatch(f"file: its SHA-256 is {sha256}, the client expected {session.expected_sha256}")
        storage.move(key, storage.blob_key(tenant_id, sha256))
    UploadSession.objects.filter(pk=session.pk).delete()
    stored = StoredObject(sha256=sha256, size=size, content_type=session.content_type)
    return versions.add_version(
        caller,
        item,
        stored,  # type: ignore[arg-type]  # already in the store: add_version only records it
        original=session.original,
        description=session.description,
        metadata=versions.version_metadata(session.metadata),
        label=session.label,
    )


def abort_direct(session: UploadSession) -> None:
    """Give a direct upload up: its parts in the bucket and its row go."""
    with storage.object_store():
        _abort_quietly(storage.direct_key(require_tenant().id, session.pk), session.direct_id)
    UploadSession.objects.filter(pk=session.pk).delete()


def part_size(length: int) -> int:
    """The part size of a direct upload of ``length`` bytes: ``DIRECT_UPLOAD_PART_SIZE``, or larger when
    10,000 parts would not hold the file. Derived, not chosen by the client, so the completion knows how
    many parts to expect."""
    return max(settings.DIRECT_UPLOAD_PART_SIZE, MIN_PART_SIZE, -(-length // MAX_PARTS))


@dataclass
class StoredObject:
    """A file already at its blob key, shaped as ``versions.add_version`` reads an upload."""

    sha256: str
    size: int
    content_type: str

    def close(self) -> None:
        pass


def _abort_quietly(key: str, direct_id: str) -> None:
    with contextlib.suppress(Unavailable), storage.object_store():  # the clean-up tries again next time
        storage.abort_multipart(key, direct_id)
