"""Moving files: hashing, streaming an upload from disk, and a download that resumes and verifies.

Nothing here holds a file in memory: files are read and written in ``CHUNK`` pieces. A download goes to a
partial file beside its destination and gets its final name (an atomic rename) only after its SHA-256 has
been checked, so a destination path never holds a half or a wrong file.
"""

from __future__ import annotations

import hashlib
import os
import queue
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Callable

import httpx
from tqdm import tqdm

from registry_client import errors
from registry_client.transport import Transport

CHUNK = 1024 * 1024
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
        with path.open("rb") as source:
            for chunk in iter(lambda: source.read(CHUNK), b""):
                bar.update(len(chunk))
                yield chunk

    return chunks


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
    with transport.stream("GET", path, headers=headers) as response:
        resumed = response.status_code == 206
        if not resumed:
            digest = hashlib.sha256()
            bar.reset()
        hashing = BackgroundHash(digest)
        with partial.open("ab" if resumed else "wb") as output:
            try:
                for chunk in response.iter_bytes():  # as they arrive: a cut loses no byte already received
                    output.write(chunk)
                    hashing.update(chunk)
                    bar.update(len(chunk))
            finally:
                output.flush()
                hashing.finish()  # every chunk written is hashed, also when the connection broke
    return digest


class BackgroundHash:
    """Updates a digest in a second thread: ``hashlib`` releases the GIL on large buffers, so hashing
    overlaps reading the network and writing the file (one thread did both at half curl's speed). At most
    ``QUEUED`` chunks wait, so memory stays bounded."""

    QUEUED = 64

    def __init__(self, digest: Any) -> None:
        self.digest = digest
        self.chunks: queue.Queue[bytes | None] = queue.Queue(maxsize=self.QUEUED)
        self.thread = threading.Thread(target=self._run, name="registry-client-hash", daemon=True)
        self.thread.start()

    def _run(self) -> None:
        while True:
            chunk = self.chunks.get()
            if chunk is None:
                return
            self.digest.update(chunk)

    def update(self, chunk: bytes) -> None:
        self.chunks.put(chunk)

    def finish(self) -> None:
        self.chunks.put(None)
        self.thread.join()


def _verify(partial: Path, sha256: str, actual: str) -> None:
    if actual != sha256:
        partial.unlink()
        raise errors.DigestMismatch(f"the download's SHA-256 is {actual}, the registry announced {sha256}; deleted")
