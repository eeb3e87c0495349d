"""The bytes of resumable uploads (tus 1.0): one partial file per upload, appended chunk by chunk.

A partial file lives at ``RESUMABLE_UPLOAD_DIR/<tenant>/<upload id>``; what the database says about the
upload (``items_app.resumable``) decides how many of its bytes count: bytes past the recorded offset are
the rest of a chunk that a crash cut off, and the next append truncates them away.

One request appends at a time: ``PartialFile.appending`` holds an exclusive ``flock`` on the file, which
the kernel releases when the process dies, so a killed worker never leaves an upload locked.

The whole file's SHA-256 is computed while chunks arrive, not in a second pass at the end. A hash object
cannot be stored, so each process keeps the hash state of the uploads it appended to (``_HASH_STATES``, a
bounded LRU); a chunk that lands on another process, or after a restart, first brings that process's
state up to the offset by reading only the bytes it has not hashed yet.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import shutil
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.files import File
from django.http import HttpRequest

from framework.errors import NO_ROOM, ChecksumMismatch, Conflict, NotFound, StorageFull, UploadFailed
from framework.files.uploads import CHUNK, Chunk, HashWriter, stream_body

LOCK_WAIT = 3.0  # seconds a request waits for another one appending to the same upload to end
MAX_HASH_STATES = 1024  # uploads whose hash state a process keeps (a few hundred bytes each)


def tenant_folder(tenant_id: str) -> Path:
    return Path(settings.RESUMABLE_UPLOAD_DIR) / tenant_id


class _HashStates:
    """Per process: upload key → (offset, SHA-256 object of the first ``offset`` bytes)."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.lock = threading.Lock()
        self.states: OrderedDict[str, tuple[int, Any]] = OrderedDict()

    def take(self, key: str) -> tuple[int, Any] | None:
        with self.lock:
            return self.states.pop(key, None)

    def put(self, key: str, offset: int, hasher: Any) -> None:
        with self.lock:
            self.states[key] = (offset, hasher)
            while len(self.states) > self.limit:
                self.states.popitem(last=False)

    def forget(self, key: str) -> None:
        with self.lock:
            self.states.pop(key, None)


_HASH_STATES = _HashStates(MAX_HASH_STATES)


@dataclass(frozen=True)
class Appended:
    """What an append left: the offset that now counts, and whether the body stopped before its end."""

    offset: int
    cut_off: bool


class _Tee:
    """Feeds each chunk to the whole file's hash and, when the client sent a chunk checksum, the chunk's."""

    def __init__(self, *hashers: Any) -> None:
        self.hashers = hashers

    def update(self, chunk: Chunk) -> None:
        for hasher in self.hashers:
            hasher.update(chunk)


class _ChunkWriter:
    """A ``ChunkSink`` writing at the descriptor's position through a hashing writer thread."""

    def __init__(self, fd: int, hasher: Any) -> None:
        self.size = 0
        self.writer = HashWriter(fd, hasher)

    def write(self, chunk: Chunk, release: Callable[[], None] | None = None) -> None:
        self.size += len(chunk)
        self.writer.put(chunk, release)

    def close(self) -> None:
        self.writer.close()


class PartialFile:
    """The partial file of one upload of one tenant."""

    def __init__(self, tenant_id: str, upload_id: str) -> None:
        self.key = f"{tenant_id}/{upload_id}"
        self.path = tenant_folder(tenant_id) / upload_id

    def create(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            self.path.touch(mode=0o600, exist_ok=False)
        except OSError as exc:
            if exc.errno in NO_ROOM:
                raise StorageFull("disk: no room to start an upload") from None
            raise

    def remove(self) -> None:
        _HASH_STATES.forget(self.key)
        self.path.unlink(missing_ok=True)

    @contextlib.contextmanager
    def appending(self) -> Iterator[Appender]:
        """The file, locked for this request alone; 409 while another request still appends to it after
        ``LOCK_WAIT`` seconds."""
        with self._locked(fcntl.LOCK_EX) as fd:
            yield Appender(self, fd)

    def settle(self) -> None:
        """Wait (up to ``LOCK_WAIT``) for an append in progress to end, so that the offset read next is the
        one it left: a client asking where its upload stands right after its link dropped often asks before
        the server has noticed the drop."""
        with self._locked(fcntl.LOCK_SH):
            pass

    @contextlib.contextmanager
    def _locked(self, mode: int) -> Iterator[int]:
        try:
            fd = os.open(self.path, os.O_RDWR)
        except FileNotFoundError:
            raise NotFound("upload: its bytes are gone (expired and cleaned up); start a new upload") from None
        try:
            deadline = time.monotonic() + LOCK_WAIT
            while True:
                try:
                    fcntl.flock(fd, mode | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if time.monotonic() >= deadline:
                        raise Conflict("upload: another request is appending to this upload; wait for it") from None
                    time.sleep(0.05)
            yield fd
        finally:
            os.close(fd)  # releases the lock


class Appender:
    """Appends to a locked partial file and knows the SHA-256 of what it holds."""

    def __init__(self, partial: PartialFile, fd: int) -> None:
        self.partial, self.fd = partial, fd

    def append(self, request: HttpRequest, offset: int, declared: int, checksum: bytes | None) -> Appended:
        """Append the request body, ``declared`` bytes, at ``offset`` (what the database says the file holds).

        With a chunk ``checksum`` (SHA-256 digest) a chunk counts whole or not at all: a mismatch (460) or a
        cut-off body leaves the file at ``offset``. Without one, the bytes that arrived before a cut-off
        count (tus: the client resumes from there). A full disk keeps the file at ``offset`` (507).
        """
        if os.fstat(self.fd).st_size != offset:
            os.ftruncate(self.fd, offset)  # past ``offset``: a chunk a crash cut off, never counted
        os.lseek(self.fd, offset, os.SEEK_SET)
        hasher = self._hasher_at(offset)
        before = hasher.copy()
        chunk_hasher = hashlib.sha256() if checksum is not None else None
        sink = _ChunkWriter(self.fd, _Tee(hasher, chunk_hasher) if chunk_hasher is not None else hasher)
        cut_off = False
        try:
            try:
                stream_body(request, sink)
            except OSError:
                cut_off = True  # a reset: what was received is still written below
            finally:
                sink.close()
        except OSError as exc:
            self._roll_back(offset, before)
            if exc.errno in NO_ROOM:
                raise StorageFull(f"disk: no room for this chunk; the upload keeps its first {offset} bytes") from None
            raise UploadFailed(
                f"body: the chunk could not be written; the upload keeps its first {offset} bytes"
            ) from None
        cut_off = cut_off or sink.size < declared
        if chunk_hasher is not None and (cut_off or chunk_hasher.digest() != checksum):
            self._roll_back(offset, before)
            if cut_off:
                raise UploadFailed(f"body: {sink.size} of {declared} bytes arrived; send the chunk again")
            raise ChecksumMismatch(f"Upload-Checksum: the chunk's SHA-256 differs; the upload stays at {offset}")
        _HASH_STATES.put(self.partial.key, offset + sink.size, hasher)
        return Appended(offset + sink.size, cut_off)

    def sha256(self, offset: int) -> str:
        """The hex SHA-256 of the file's first ``offset`` bytes (its whole content once complete)."""
        hasher = self._hasher_at(offset)
        _HASH_STATES.put(self.partial.key, offset, hasher)
        return str(hasher.hexdigest())

    def finished(self, size: int, sha256: str, original: str, content_type: str) -> FinishedUpload:
        return FinishedUpload(self.partial.path, size=size, sha256=sha256, original=original, content_type=content_type)

    def _roll_back(self, offset: int, before: Any) -> None:
        os.ftruncate(self.fd, offset)
        _HASH_STATES.put(self.partial.key, offset, before)

    def _hasher_at(self, offset: int) -> Any:
        """This process's hash of the first ``offset`` bytes, reading from the file only what it lacks."""
        state = _HASH_STATES.take(self.partial.key)
        start, hasher = state if state is not None and state[0] <= offset else (0, hashlib.sha256())
        while start < offset:
            data = os.pread(self.fd, min(CHUNK * 4, offset - start), start)
            if not data:
                raise UploadFailed(f"upload: its file holds {start} bytes, fewer than the {offset} recorded")
            hasher.update(data)
            start += len(data)
        return hasher


class FinishedUpload(File):  # type: ignore[type-arg]
    """A complete partial file, shaped as ``items_app.versions.add_version`` takes an upload."""

    def __init__(self, path: Path, *, size: int, sha256: str, original: str, content_type: str) -> None:
        super().__init__(open(path, "rb"), name=original)  # noqa: SIM115 - closed by add_version
        self.path = path
        self.size = size
        self.sha256 = sha256
        self.original = original
        self.content_type = content_type

    def temporary_file_path(self) -> str:
        return str(self.path)


def remove_tenant(tenant_id: str) -> None:
    """Every partial file of a tenant (tenant deletion)."""
    shutil.rmtree(tenant_folder(tenant_id), ignore_errors=True)


def partial_ids(tenant_id: str) -> list[tuple[str, float]]:
    """(upload id, modification time) of every partial file of a tenant: the clean-up removes orphans."""
    folder = tenant_folder(tenant_id)
    if not folder.is_dir():
        return []
    return [(entry.name, entry.stat().st_mtime) for entry in folder.iterdir() if entry.is_file()]


def partial_tenants() -> list[str]:
    """Every tenant id with a folder of partial files."""
    root = Path(settings.RESUMABLE_UPLOAD_DIR)
    return sorted(entry.name for entry in root.iterdir() if entry.is_dir()) if root.is_dir() else []
