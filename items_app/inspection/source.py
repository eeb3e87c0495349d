"""Bounded reads of a file that a hostile uploader wrote: every reader goes through ``Source``.

A ``Source`` reads exactly the bytes asked for (a short read is a malformed file, never a silent zero) and
refuses to go past the file's size, so a length field claiming 2^63 bytes fails before any read. The file
may be a ranged reader over S3 (``framework.files.blobreader``), where each read is a round trip: small
reads are served from a window of ``WINDOW`` bytes read at once, and a seek only moves the position, so
skipping a tensor's bytes reads nothing.
"""

from __future__ import annotations

import struct
from typing import BinaryIO

WINDOW = 64 * 1024
_U64 = struct.Struct("<Q")


class Malformed(Exception):
    """The file claims a format but breaks its rules; the message is the short reason recorded in facts."""


class Source:
    """``size`` bytes of ``file``, read forward or at an offset, never past the end."""

    def __init__(self, file: BinaryIO, size: int) -> None:
        self.file = file
        self.size = size
        self.position = 0
        self.bytes_read = 0  # bytes asked of the file: what a hostile file can make us read
        self.reads = 0
        self._window = b""
        self._window_start = 0

    def remaining(self) -> int:
        return self.size - self.position

    def seek(self, offset: int) -> None:
        if not 0 <= offset <= self.size:
            raise Malformed(f"offset {offset} is past the end of the file ({self.size} bytes)")
        self.position = offset

    def skip(self, length: int) -> None:
        if length < 0 or length > self.remaining():
            raise Malformed(f"a length of {length} bytes runs past the end of the file")
        self.position += length

    def read(self, length: int) -> bytes:
        """Exactly ``length`` bytes from here, or ``Malformed``."""
        if length < 0 or length > self.remaining():
            raise Malformed(f"a length of {length} bytes runs past the end of the file")
        start = self.position - self._window_start
        if start >= 0 and start + length <= len(self._window):
            data = self._window[start : start + length]
        elif length < WINDOW:
            self._window = self._fetch(self.position, min(WINDOW, self.remaining()))
            self._window_start = self.position
            data = self._window[:length]
        else:
            data = self._fetch(self.position, length)
        self.position += length
        return data

    def read_some(self, length: int) -> bytes:
        """Up to ``length`` bytes from here (fewer at the end of the file)."""
        return self.read(min(length, self.remaining()))

    def _fetch(self, offset: int, length: int) -> bytes:
        self.file.seek(offset)
        chunks = []
        wanted = length
        while wanted:
            chunk = self.file.read(wanted)
            self.reads += 1
            if not chunk:
                raise Malformed("the file ends early")
            chunks.append(chunk)
            wanted -= len(chunk)
        self.bytes_read += length
        return b"".join(chunks)

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

    def u16(self) -> int:
        value: int = struct.unpack("<H", self.read(2))[0]
        return value

    def u32(self) -> int:
        value: int = struct.unpack("<I", self.read(4))[0]
        return value

    def u64(self) -> int:
        value: int = struct.unpack("<Q", self.read(8))[0]
        return value

    def skip_strings(self, count: int, limit: int) -> None:
        """Read past ``count`` strings of a u64 length and their bytes (a GGUF vocabulary: hundreds of
        thousands of them), in one loop over the window rather than a call per string."""
        position = self.position
        for _ in range(count):
            start = position - self._window_start
            if start < 0 or start + 8 > len(self._window):
                self.position = position
                if self.remaining() < 8:
                    raise Malformed("a length of 8 bytes runs past the end of the file")
                self._window = self._fetch(position, min(WINDOW, self.remaining()))
                self._window_start = position
                start = 0
            (length,) = _U64.unpack_from(self._window, start)
            if length > limit:
                raise Malformed(f"a string of {length} bytes is over the limit of {limit}")
            position += 8 + length
            if position > self.size:
                raise Malformed(f"a length of {length} bytes runs past the end of the file")
        self.position = position

    def varint(self) -> int:
        """A protobuf base-128 varint (at most 10 bytes)."""
        result = 0
        for shift in range(0, 70, 7):
            byte = self.u8()
            result |= (byte & 0x7F) << shift
            if not byte & 0x80:
                return result
        raise Malformed("a varint is longer than 10 bytes")
