"""Bounded reads of a file that a hostile uploader wrote: every reader goes through ``Source``.

A ``Source`` reads exactly the bytes asked for (a short read is a malformed file, never a silent zero) and
refuses to go past the file's size, so a length field claiming 2^63 bytes fails before any read. The file
may be a ranged reader over S3 (``framework.files.blobreader``), where each read is a round trip: readers ask
for few, bounded ranges and seek over the bytes they do not need.
"""

from __future__ import annotations

import struct
from typing import BinaryIO


class Malformed(Exception):
    """The file claims a format but breaks its rules; the message is the short reason recorded in facts."""


class Source:
    """``size`` bytes of ``file``, read forward or at an offset, never past the end."""

    def __init__(self, file: BinaryIO, size: int) -> None:
        self.file = file
        self.size = size
        self.position = 0
        self.bytes_read = 0
        file.seek(0)

    def remaining(self) -> int:
        return self.size - self.position

    def seek(self, offset: int) -> None:
        if not 0 <= offset <= self.size:
            raise Malformed(f"offset {offset} is past the end of the file ({self.size} bytes)")
        if offset != self.position:
            self.file.seek(offset)
            self.position = offset

    def skip(self, length: int) -> None:
        if length < 0 or length > self.remaining():
            raise Malformed(f"a length of {length} bytes runs past the end of the file")
        self.seek(self.position + length)

    def read(self, length: int) -> bytes:
        """Exactly ``length`` bytes from here, or ``Malformed``."""
        if length < 0 or length > self.remaining():
            raise Malformed(f"a length of {length} bytes runs past the end of the file")
        chunks = []
        wanted = length
        while wanted:
            chunk = self.file.read(wanted)
            if not chunk:
                raise Malformed("the file ends early")
            chunks.append(chunk)
            wanted -= len(chunk)
        data = b"".join(chunks)
        self.position += length
        self.bytes_read += length
        return data

    def read_at(self, offset: int, length: int) -> bytes:
        self.seek(offset)
        return self.read(length)

    def peek_start(self, length: int) -> bytes:
        """Up to ``length`` bytes from the start (fewer for a shorter file), for magic numbers."""
        data = self.read_at(0, min(length, self.size))
        self.seek(0)
        return data

    def u8(self) -> int:
        return self.read(1)[0]

    def u32(self) -> int:
        value: int = struct.unpack("<I", self.read(4))[0]
        return value

    def u64(self) -> int:
        value: int = struct.unpack("<Q", self.read(8))[0]
        return value
