"""Moving files: hashing, streaming an upload from disk, and a download that resumes and verifies.

Nothing here holds a file in memory: files are read and written in ``CHUNK`` pieces. A download goes to a
partial file beside its destination and gets its final name (an atomic rename) only after its SHA-256 has
been checked, so a destination path never holds a half or a wrong file.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import http.client
import json
import os
import queue
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import httpx
from tqdm import tqdm

from registry_client import errors
from registry_client.transport import Transport

CHUNK = 1024 * 1024
BUFFER_SIZE = 4 * 1024 * 1024  # a download is read in pieces this large, into BUFFERS reused buffers
BUFFERS = 4
WRITE_SIZE = 64 * 1024
MAX_RESUMES = 10  # broken connections survived by one download before it gives up


def sha256_of(path: Path, progress: Callable[[int], object] | None = None) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as source:
        for chunk in iter(lambda: source.read(CHUNK), b""):
            digest.update(chunk)
            if progress is not None:
                progress(len(chunk))
    return digest.hexdigest()


def progress_bar(total: int, description: str, enabled: bool) -> Any:
    """A tqdm bar in bytes; silent when disabled or when stderr is not a terminal (logs stay clean)."""
    return tqdm(
        total=total, desc=description, unit="B", unit_scale=True, unit_divisor=1024, disable=not enabled or None
    )


def file_body(path: Path, bar: Any) -> Callable[[], Iterator[bytes]]:
    """A body factory for ``Transport``: every call reads the file again from its first byte (a retry)."""

    def chunks() -> Iterator[bytes]:
        bar.reset()
        yield from file_range(path, 0, path.stat().st_size, bar.update)

    return chunks


def file_range(path: Path, offset: int, length: int, progress: Callable[[int], object]) -> Iterator[bytes]:
    """``length`` bytes of ``path`` from ``offset``, in ``CHUNK`` pieces, each counted by ``progress``."""
    with path.open("rb") as source:
        source.seek(offset)
        left = length
        while left:
            data = source.read(min(CHUNK, left))
            if not data:
                raise errors.ConfigurationError(f"{path}: the file shrank while it was uploaded")
            left -= len(data)
            progress(len(data))
            yield data


def partial_path(destination: Path, sha256: str) -> Path:
    """Where a download of these bytes collects: named by digest, so a resume never mixes two files."""
    return destination.with_name(f".{destination.name}.{sha256[:16]}.partial")


def download(
    transport: Transport, path: str, destination: Path, *, sha256: str, size: int, show_progress: bool
) -> Path:
    """Fetch ``path`` into ``destination``, resuming a partial file left by an earlier attempt.

    The bytes are hashed as they arrive (a resumed file's first part once, when the download resumes), so
    the check costs no second read of the file.
    """
    partial = partial_path(destination, sha256)
    digest = None
    with progress_bar(size, destination.name, show_progress) as bar:
        for _attempt in range(MAX_RESUMES + 1):
            have = partial.stat().st_size if partial.exists() else 0
            if have > size:  # not a prefix of these bytes: start again
                partial.unlink()
                have = 0
            if digest is None or have == 0:
                digest = _hash_of(partial, have)
            bar.reset()
            bar.update(have)
            if have == size:
                break
            try:
                digest = _fetch_from(transport, path, partial, have, sha256, bar, digest)
            except (httpx.TransportError, errors.NetworkError):
                digest = None  # hashed again from the file: it holds exactly what arrived before the break
                continue  # the connection broke: ask for the rest
            if partial.stat().st_size == size:
                break
        else:
            raise errors.NetworkError(f"{path}: the connection kept breaking; the partial file is {partial}")
    _verify(partial, sha256, digest.hexdigest())
    os.replace(partial, destination)
    return destination


def _hash_of(partial: Path, have: int) -> Any:
    digest = hashlib.sha256()
    if have:
        with partial.open("rb") as source:
            for chunk in iter(lambda: source.read(CHUNK), b""):
                digest.update(chunk)
    return digest


def _fetch_from(transport: Transport, path: str, partial: Path, have: int, sha256: str, bar: Any, digest: Any) -> Any:
    """Append the rest (or, when the server sends the whole file, write it anew); the digest of the file."""
    headers = {}
    if have:
        # If-Range: the rest of exactly these bytes, or else the whole file from the start (200)
        headers = {"Range": f"bytes={have}-", "If-Range": f'"{sha256}"'}
    with transport.bulk_get(path, headers) as response:
        resumed = response.status == 206
        if not resumed:
            digest = hashlib.sha256()
            bar.reset()
        with partial.open("ab" if resumed else "wb") as output:
            receive(response, output, digest, bar)
    return digest


def receive(response: Any, output: Any, digest: Any, bar: Any) -> None:
    """Read the body into a few reused buffers (``readinto``), write each to ``output`` and hash it in a
    second thread (``hashlib`` releases the GIL, so hashing overlaps the network). Every byte written is
    hashed, also when the connection breaks, which raises ``NetworkError`` afterwards."""
    free: queue.SimpleQueue[bytearray] = queue.SimpleQueue()
    for _ in range(BUFFERS):
        free.put(bytearray(BUFFER_SIZE))
    hashing: queue.Queue[tuple[bytearray, int] | None] = queue.Queue()

    def hash_in_order() -> None:
        while (job := hashing.get()) is not None:
            buffer, filled = job
            digest.update(memoryview(buffer)[:filled])
            free.put(buffer)

    hasher = threading.Thread(target=hash_in_order, name="registry-client-hash", daemon=True)
    hasher.start()
    broken: Exception | None = None
    try:
        while True:
            buffer = free.get()  # waits while every buffer is still being hashed
            try:
                filled = response.readinto(buffer)
            except (OSError, http.client.HTTPException) as exc:  # the connection broke: keep what arrived
                free.put(buffer)
                broken = exc
                break
            if not filled:
                free.put(buffer)
                break
            _write_all(output, memoryview(buffer)[:filled])
            hashing.put((buffer, filled))
            bar.update(filled)
    finally:
        hashing.put(None)
        hasher.join()
        output.flush()
    if broken is not None:
        raise errors.NetworkError(f"the download broke off: {broken or type(broken).__name__}")


def _write_all(output: Any, data: memoryview) -> None:
    """Write in ``WRITE_SIZE`` pieces, past Python's buffer: the kernel copies 64 KiB writes into the page
    cache for less CPU per byte than megabyte ones (the server's uploads measured it, bench/README.md)."""
    output.flush()
    descriptor = output.fileno()
    while data:
        data = data[os.write(descriptor, data[:WRITE_SIZE]) :]


def _verify(partial: Path, sha256: str, actual: str) -> None:
    if actual != sha256:
        partial.unlink()
        raise errors.DigestMismatch(f"the download's SHA-256 is {actual}, the registry announced {sha256}; deleted")


# ------------------------------------------------------------ resumable uploads (tus 1.0)

TUS_VERSION = "1.0.0"
RESUMABLE_THRESHOLD = 64 * 1024 * 1024  # files at least this large go up in resumable chunks
RESUMABLE_CHUNK = 64 * 1024 * 1024
# The last PATCH carries the whole file's digest, so it waits for the hashing thread; all before it is sent
# while the file is hashed. Kept small so that even a file of one chunk overlaps (its first PATCH holds all
# but this much); hashing outruns the sending, and last PATCHes of 4 or 16 MiB measured no faster
# (bench/README.md, client_transfer.py).
LAST_PATCH = 1024 * 1024


def offers_resumable(transport: Transport, uploads_path: str) -> bool:
    """Whether the registry speaks tus 1.0 at ``uploads_path`` (an older registry answers 404 or 405)."""
    try:
        response = transport.request("OPTIONS", uploads_path)
    except errors.RegistryError:
        return False
    return TUS_VERSION in response.headers.get("Tus-Version", "").split(",")


def upload_state_path() -> Path:
    """Where unfinished uploads are remembered, so a later run continues them instead of starting over."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "model-registry" / "uploads.json"


class UploadMemory:
    """Upload URLs of unfinished resumable uploads, by registry, item and file (a JSON file)."""

    def __init__(self, path: Path) -> None:
        self.path = path

    @staticmethod
    def key(base_url: str, uploads_path: str, file: Path, original: str) -> str:
        """The file by its absolute path, size and modification time: a file changed since an upload began
        (another size or mtime) never resumes into it, without hashing the file to find out."""
        status = file.stat()
        return f"{UploadMemory.prefix(base_url, uploads_path, file)}{status.st_size}|{status.st_mtime_ns}|{original}"

    @staticmethod
    def prefix(base_url: str, uploads_path: str, file: Path) -> str:
        """What the keys of every upload of this path to this item start with, whatever the file held."""
        return f"{base_url}|{uploads_path}|{file.resolve()}|"

    def others(self, key: str, prefix: str) -> dict[str, str]:
        """Uploads of the same path to the same item under another key: of the file as it was before."""
        return {
            other: location for other, location in self._read().items() if other.startswith(prefix) and other != key
        }

    def _read(self) -> dict[str, str]:
        try:
            loaded = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        return {str(key): str(value) for key, value in loaded.items()} if isinstance(loaded, dict) else {}

    def get(self, key: str) -> str | None:
        return self._read().get(key)

    def put(self, key: str, location: str | None) -> None:
        entries = self._read()
        if location is None:
            entries.pop(key, None)
        else:
            entries[key] = location
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            partial = self.path.with_name(f".{self.path.name}.{os.getpid()}.partial")
            partial.write_text(json.dumps(entries, indent=1), encoding="utf-8")
            os.replace(partial, self.path)
        except OSError:
            pass  # remembering is a convenience: the upload itself goes on


class FileDigest:
    """The SHA-256 of a file's first ``size`` bytes, computed in a second thread while the file is sent:
    ``hashlib`` and unbuffered reads release the GIL, so on two cores the hashing costs the sending nothing.
    Always from byte 0, also when a push resumes an upload: the digest covers every byte, sent now or by an
    earlier run."""

    def __init__(self, path: Path, size: int) -> None:
        self.path, self.size = path, size
        self._stop = threading.Event()
        self._hexdigest: str | None = None
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="registry-client-push-hash", daemon=True)

    def start(self) -> None:
        if self._thread.ident is None:  # not started yet
            self._thread.start()

    def stop(self) -> None:
        """Give up (the push failed): the thread stops at its next piece."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join()

    def hexdigest(self) -> str:
        """Wait for the digest; an error of the hashing thread (the file shrank, a read failed) raises here."""
        self.start()
        self._thread.join()
        if self._error is not None:
            raise self._error
        if self._hexdigest is None:
            raise errors.NetworkError(f"{self.path}: hashing was stopped")
        return self._hexdigest

    def _run(self) -> None:
        digest = hashlib.sha256()
        buffer = memoryview(bytearray(BUFFER_SIZE))
        try:
            with self.path.open("rb", buffering=0) as source:
                left = self.size
                while left and not self._stop.is_set():
                    filled = source.readinto(buffer[: min(BUFFER_SIZE, left)])
                    if not filled:
                        raise errors.ConfigurationError(f"{self.path}: the file shrank while it was uploaded")
                    digest.update(buffer[:filled])
                    left -= filled
            if not left:
                self._hexdigest = digest.hexdigest()
        except BaseException as exc:  # handed to the thread that waits for the digest
            self._error = exc


class KnownDigest:
    """A digest computed before the push (to find the same bytes already there): nothing to hash again."""

    def __init__(self, sha256: str) -> None:
        self.sha256 = sha256

    def start(self) -> None:
        pass

    def stop(self) -> None:
        pass

    def hexdigest(self) -> str:
        return self.sha256


@dataclass(frozen=True)
class Sent:
    """A finished resumable upload: the new version's document path (None when the last answer was lost and
    the caller must look the version up), and the SHA-256 of the file as this client read it."""

    location: str | None
    sha256: str


def resumable_upload(
    transport: Transport,
    uploads_path: str,
    file: Path,
    *,
    sha256: str | None,
    original: str,
    fields: dict[str, str],
    chunk_size: int,
    bar: Any,
    memory: UploadMemory,
) -> Sent:
    """Send ``file`` through tus 1.0 (``uploads_path`` is the item's creation URL): continue an upload of
    the same file a previous run left, else create one; send chunks from the offset the server reports,
    asking it again after a broken connection. The file is hashed in a second thread as the first chunk goes
    out (unless ``sha256`` is known already) and the digest goes with the last PATCH as ``Repr-Digest``:
    the registry keeps nothing unless the file it received has that digest."""
    key = UploadMemory.key(transport.base_url, uploads_path, file, original)
    location, offset = _resume_or_create(transport, uploads_path, file, {**fields, "filename": original}, memory, key)
    digest = KnownDigest(sha256) if sha256 else FileDigest(file, file.stat().st_size)
    digest.start()
    try:
        document = _send_rest(transport, location, file, offset, chunk_size, bar, digest, memory, key)
        return Sent(document, digest.hexdigest())
    finally:
        digest.stop()


def _resume_or_create(
    transport: Transport, uploads_path: str, file: Path, fields: dict[str, str], memory: UploadMemory, key: str
) -> tuple[str, int]:
    """The upload a previous run left of this very file, and where it stands; else a new one. An upload of
    the same path begun with other bytes is given up: it can never finish now."""
    location = memory.get(key)
    offset = _offset_of(transport, location) if location else None
    if location is not None and offset is not None:
        return location, offset
    for stale, stale_location in memory.others(
        key, UploadMemory.prefix(transport.base_url, uploads_path, file)
    ).items():
        _terminate(transport, stale_location)
        memory.put(stale, None)
    location = _create(transport, uploads_path, file.stat().st_size, fields)
    memory.put(key, location)
    return location, 0


def _send_rest(
    transport: Transport,
    location: str,
    file: Path,
    start: int,
    chunk_size: int,
    bar: Any,
    digest: FileDigest | KnownDigest,
    memory: UploadMemory,
    key: str,
) -> str | None:
    """The chunks from ``offset`` on; the new version's document path, or None when the last answer was lost."""
    size = file.stat().st_size
    failures = 0
    offset: int | None = start
    while offset is not None:
        bar.reset()
        bar.update(offset)
        length = _next_length(size, offset, chunk_size)
        last = {"Repr-Digest": repr_digest(digest.hexdigest())} if offset + length == size else {}
        try:
            response = _send_chunk(transport, location, file, offset, length, bar, last)
        except (httpx.TransportError, errors.NetworkError):
            failures += 1
            if failures > MAX_RESUMES:
                message = f"{file}: the connection kept breaking; run the push again to continue"
                raise errors.NetworkError(message) from None
            time.sleep(0.25)  # let the server notice the break before asking where it stands
            offset = _offset_of(transport, location)  # None: the last chunk arrived and its answer was lost
            continue
        except errors.Conflict:  # our last chunk is still arriving, or arrived after all: ask again
            failures += 1
            if failures > MAX_RESUMES:
                raise
            time.sleep(0.2 * failures)
            offset = _offset_of(transport, location) or 0
            continue
        except errors.RegistryError:
            memory.put(key, None)
            raise
        offset = int(response.headers["Upload-Offset"])
        if "Content-Location" in response.headers:
            memory.put(key, None)
            return str(response.headers["Content-Location"])
        failures = 0
    memory.put(key, None)  # the upload ended on the server (or is gone): the caller looks for the version
    return None


def _next_length(size: int, offset: int, chunk_size: int) -> int:
    """How many bytes the PATCH at ``offset`` sends: ``chunk_size`` ones, then a last one of at most
    ``LAST_PATCH`` bytes (the one that waits for the digest)."""
    left = size - offset
    if left <= LAST_PATCH:
        return left
    return min(chunk_size, left - LAST_PATCH)


def repr_digest(sha256: str) -> str:
    """``Repr-Digest`` (RFC 9530) of a hex SHA-256: ``sha-256=:<base64 of the digest>:``."""
    return f"sha-256=:{base64.b64encode(bytes.fromhex(sha256)).decode()}:"


def _tus(**headers: str) -> dict[str, str]:
    return {"Tus-Resumable": TUS_VERSION, **headers}


def _create(transport: Transport, uploads_path: str, size: int, fields: dict[str, str]) -> str:
    metadata = ",".join(f"{name} {base64.b64encode(value.encode()).decode()}" for name, value in fields.items())
    response = transport.request(
        "POST", uploads_path, headers=_tus(**{"Upload-Length": str(size), "Upload-Metadata": metadata})
    )
    return str(response.headers["Location"])


def _terminate(transport: Transport, location: str) -> None:
    """Give an upload up (tus termination), so it does not count against the user's unfinished uploads."""
    with contextlib.suppress(errors.RegistryError):
        transport.request("DELETE", location, headers=_tus())


def _offset_of(transport: Transport, location: str) -> int | None:
    """Where the upload stands, or None when the registry no longer has it (finished, expired, removed)."""
    try:
        response = transport.request("HEAD", location, headers=_tus())
    except (errors.NotFound, errors.Gone):
        return None
    return int(response.headers["Upload-Offset"])


def _send_chunk(
    transport: Transport, location: str, file: Path, offset: int, length: int, bar: Any, extra: dict[str, str]
) -> httpx.Response:
    headers = _tus(
        **{
            "Upload-Offset": str(offset),
            "Content-Type": "application/offset+octet-stream",
            "Content-Length": str(length),
            **extra,
        }
    )
    return transport.request(
        "PATCH", location, headers=headers, body=lambda: file_range(file, offset, length, bar.update)
    )


# ------------------------------------------------------------ direct uploads (S3, presigned parts)


def direct_upload(transport: Transport, path: str, file: Path, body: dict[str, Any], bar: Any) -> dict[str, Any]:
    """Ask the registry for presigned part URLs (``path``), PUT each part straight to the bucket (each
    retried after a broken connection or a 5xx), then ask the registry to complete: it checks the whole
    file and answers the version's document. Any refusal gives the upload up, so no parts stay behind."""
    upload: dict[str, Any] = transport.request("POST", path, json=body).json()
    location = f"{path}/{upload['_id']}"
    try:
        parts = [
            {"number": part["number"], "etag": _put_part(transport, part["url"], file, upload["part_size"], part, bar)}
            for part in upload["parts"]
        ]
        document: dict[str, Any] = transport.request("POST", f"{location}/complete", json={"parts": parts}).json()
    except BaseException:
        with contextlib.suppress(errors.RegistryError):
            transport.request("DELETE", location)
        raise
    return document


def _put_part(transport: Transport, url: str, file: Path, part_size: int, part: dict[str, Any], bar: Any) -> str:
    offset = (int(part["number"]) - 1) * part_size
    length = min(part_size, file.stat().st_size - offset)
    for attempt in range(MAX_RESUMES + 1):
        sent = 0

        def counted(size: int) -> None:
            nonlocal sent
            sent += size
            bar.update(size)

        try:
            # No Authorization header: the URL carries its own signature, and the bucket is not the registry.
            content = file_range(file, offset, length, counted)
            request = transport.client.build_request(
                "PUT", url, content=content, headers={"Content-Length": str(length)}
            )
            response = transport.client.send(request)
        except httpx.TransportError:
            response = None
        bar.update(-sent)  # counted again when the part is sent again (or below, once it is in)
        if response is not None and response.status_code < 300:
            bar.update(length)
            return str(response.headers["ETag"])
        if response is not None and response.status_code < 500:
            raise errors.from_response(response.status_code, None, response.text)
        time.sleep(min(30.0, 0.5 * 2**attempt))
    raise errors.NetworkError(f"{file}: part {part['number']} could not be sent to the object store")
