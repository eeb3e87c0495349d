"""A stored blob opened for reading anywhere in it: what a reader of file headers needs (seek, small reads).

Local disk is the file itself. S3 is ``RangedReader``, a raw reader whose every ``readinto`` is one ranged
GET, under a ``BufferedReader`` that reads ahead ``READ_AHEAD`` bytes: the many small reads of a header
parser (a length, a tag, a name) become a few round trips, and a seek past a tensor's bytes costs nothing.
"""

from __future__ import annotations

import contextlib
import io
from collections.abc import Iterator
from typing import Any, BinaryIO, cast

from django.core.files.storage import FileSystemStorage

from framework.files import storage

READ_AHEAD = 256 * 1024


class RangedReader(io.RawIOBase):
    """``size`` bytes of the blob at ``key``, read by ranged GETs (``storage.open_range``); ``requests`` counts
    them."""

    def __init__(self, key: str, size: int) -> None:
        self.key = key
        self.size = size
        self.position = 0
        self.requests = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self.position

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        if self.closed:
            raise ValueError("seek of a closed reader")
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self.position, io.SEEK_END: self.size}[whence]
        target = base + offset
        if target < 0:
            raise ValueError(f"negative seek position {target}")
        self.position = target
        return target

    def readinto(self, buffer: Any) -> int:
        if self.closed:
            raise ValueError("read of a closed reader")
        view = memoryview(buffer).cast("B")
        length = min(len(view), self.size - self.position)
        if length <= 0:
            return 0
        self.requests += 1
        chunks = storage.open_range(self.key, self.position, length).chunks or iter(())
        got = 0
        try:
            for chunk in chunks:
                view[got : got + len(chunk)] = chunk
                got += len(chunk)
        finally:
            close = getattr(chunks, "close", None)  # the stream's generator closes the S3 body
            if close is not None:
                close()
        self.position += got
        return got


@contextlib.contextmanager
def open_blob(key: str, size: int) -> Iterator[BinaryIO]:
    """The blob at ``key`` (``size`` bytes) as a seekable binary file, closed on leaving."""
    blobs = storage.blobs()
    if isinstance(blobs, FileSystemStorage):
        with open(blobs.path(key), "rb") as handle:
            yield handle
        return
    raw = RangedReader(key, size)
    with io.BufferedReader(raw, buffer_size=READ_AHEAD) as buffered:
        yield cast(BinaryIO, buffered)
