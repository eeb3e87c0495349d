"""Zip and tar archives (member lists), PyTorch checkpoints and plain pickles (the safety scan).

Zip: the central directory is walked entry by entry from the end-of-central-directory record (ZIP64 too),
not with ``zipfile``, which builds an object per entry for a directory that a hostile file may say holds
millions; counts and sizes are reported as the file states them, never trusted to allocate. A zip with a
``data.pkl`` member (``archive/data.pkl``, what ``torch.save`` writes) is a PyTorch checkpoint: its
pickles are scanned (stored members in place, deflated ones inflated up to the scan's limit).
Tar: ``tarfile`` over bounded reads, which seeks past members' data; pickle-looking members are scanned.
"""

from __future__ import annotations

import io
import struct
import tarfile
from typing import Any

from items_app.inspection import NOT_APPLICABLE, Inspection
from items_app.inspection import pickles as scanner
from items_app.inspection.pickles import MAX_GLOBALS, DeflatedStream, Scan, StoredStream, Stream, scan
from items_app.inspection.source import Malformed, Source

MAX_LISTED = 1_000  # members listed in the facts
MAX_WALKED = 100_000  # central directory entries (or tar headers) walked to total the sizes
MAX_PICKLE_MEMBERS = 32
MAX_NAME = 1_024
PICKLE_SUFFIXES = (".pkl", ".pickle", ".pt", ".pth", ".bin", ".ckpt", ".joblib")

EOCD = b"PK\x05\x06"
EOCD64 = b"PK\x06\x06"
EOCD64_LOCATOR = b"PK\x06\x07"
CENTRAL = b"PK\x01\x02"
LOCAL = b"PK\x03\x04"
STORED, DEFLATED = 0, 8


def _is_pickle_start(start: bytes) -> bool:
    return len(start) >= 2 and start[0] == 0x80 and 2 <= start[1] <= 5


# ------------------------------------------------------------------------------------------------- pickles


def scan_facts(found: Scan) -> dict[str, Any]:
    facts: dict[str, Any] = {"pickles": found.pickles, "globals": found.names()[:MAX_GLOBALS]}
    if found.cut_off:
        facts["cut_off"] = f"only the first {scanner.MAX_SCAN} bytes of pickle were scanned"
    if found.error:
        facts["scan_error"] = found.error
    return facts


def scanned(format_: str, facts: dict[str, Any], found: Scan) -> Inspection:
    return Inspection(format_, {**facts, **scan_facts(found)}, found.verdict(), found.flagged()[:MAX_GLOBALS])


def read_pickle(source: Source, filename: str, format_: str) -> Inspection:
    """A pickle file: plain, or a legacy (pre-zip) ``torch.save``, which is pickles one after another."""
    start = source.peek_start(2)
    found = scan(StoredStream(source, 0, source.size))
    if found.pickles == 0 and not found.globals and not found.cut_off:
        raise Malformed(found.error or "not a pickle")
    facts: dict[str, Any] = {"protocol": start[1] if _is_pickle_start(start) else None}
    if format_ == "pytorch":
        facts["container"] = "legacy"
    return scanned(format_, facts, found)


def pytorch_reader(source: Source, filename: str) -> Inspection:
    return read_pickle(source, filename, "pytorch")


def pickle_reader(source: Source, filename: str) -> Inspection:
    return read_pickle(source, filename, "pickle")


# ---------------------------------------------------------------------------------------------------- zip


def _end_of_directory(source: Source) -> tuple[int, int, int]:
    """(entries, directory size, directory offset) from the end-of-central-directory records."""
    tail_length = min(source.size, 22 + 65_535)
    tail = source.read_at(source.size - tail_length, tail_length)
    at = tail.rfind(EOCD)
    if at < 0 or len(tail) - at < 22:
        raise Malformed("no end of central directory record")
    entries, cd_size, cd_offset = struct.unpack_from("<HII", tail, at + 10)
    eocd_offset = source.size - tail_length + at
    if entries == 0xFFFF or cd_size == 0xFFFFFFFF or cd_offset == 0xFFFFFFFF:
        if eocd_offset < 20:
            raise Malformed("a ZIP64 archive without its locator")
        locator = source.read_at(eocd_offset - 20, 20)
        if locator[:4] != EOCD64_LOCATOR:
            raise Malformed("a ZIP64 archive without its locator")
        record_offset = struct.unpack("<Q", locator[8:16])[0]
        record = source.read_at(record_offset, 56)
        if record[:4] != EOCD64:
            raise Malformed("no ZIP64 end of central directory record")
        entries, cd_size, cd_offset = struct.unpack("<QQQ", record[32:56])
    if cd_offset + cd_size > source.size:
        raise Malformed(f"the central directory ({cd_size} bytes at {cd_offset}) runs past the end of the file")
    return entries, cd_size, cd_offset


def _zip64_sizes(extra: bytes, size: int, compressed: int, offset: int) -> tuple[int, int, int]:
    """The ZIP64 extra field (0x0001) holds the 8-byte values of the fields that are 0xFFFFFFFF."""
    at = 0
    while at + 4 <= len(extra):
        tag, length = struct.unpack("<HH", extra[at : at + 4])
        body = extra[at + 4 : at + 4 + length]
        if tag == 1:
            values = [v[0] for v in struct.iter_unpack("<Q", body[: len(body) // 8 * 8])]
            if size == 0xFFFFFFFF and values:
                size = values.pop(0)
            if compressed == 0xFFFFFFFF and values:
                compressed = values.pop(0)
            if offset == 0xFFFFFFFF and values:
                offset = values.pop(0)
        at += 4 + length
    return size, compressed, offset


def read_zip(source: Source, filename: str) -> Inspection:
    entries, cd_size, cd_offset = _end_of_directory(source)
    source.seek(cd_offset)
    end = cd_offset + cd_size
    members: list[dict[str, Any]] = []
    pickles: list[tuple[str, int, int, int]] = []  # name, method, compressed size, local header offset
    walked = total = 0
    while walked < min(entries, MAX_WALKED) and source.position + 46 <= end:
        header = source.read(46)
        if header[:4] != CENTRAL:
            raise Malformed(f"central directory entry {walked} has no signature")
        (method,) = struct.unpack_from("<H", header, 10)
        compressed, size, name_length, extra_length, comment_length = struct.unpack_from("<IIHHH", header, 20)
        (offset,) = struct.unpack_from("<I", header, 42)
        if source.position + name_length + extra_length + comment_length > end:
            raise Malformed(f"central directory entry {walked} runs past the directory")
        name = source.read(name_length).decode("utf-8", "replace")
        extra = source.read(extra_length)
        source.skip(comment_length)
        size, compressed, offset = _zip64_sizes(extra, size, compressed, offset)
        walked += 1
        total += size
        if len(members) < MAX_LISTED:
            members.append({"name": name[:MAX_NAME], "size": size, "compressed_size": compressed})
        if name.lower().endswith(PICKLE_SUFFIXES) and len(pickles) < MAX_PICKLE_MEMBERS:
            pickles.append((name, method, compressed, offset))
    facts: dict[str, Any] = {
        "entries": entries,
        "members": members,
        "total_size": total,
        "truncated": walked < entries or len(members) < walked,
    }
    if walked < min(entries, MAX_WALKED):
        facts["damaged"] = f"the central directory holds {walked} of the {entries} entries it claims"
    torch = any(n == "data.pkl" or n.endswith("/data.pkl") for n, *_ in pickles)
    if not torch:
        pickles = [p for p in pickles if p[0].lower().endswith((".pkl", ".pickle"))]
    if not pickles:
        return Inspection("zip", facts, NOT_APPLICABLE, [])
    found = Scan()
    scanned_members = []
    budget = scanner.MAX_SCAN  # shared by the members
    for name, method, compressed, offset in pickles:
        stream = _member_stream(source, name, method, compressed, offset, budget)
        if stream is None:
            found.error = f"{name[:80]}: compression method {method} is not read"
            continue
        if not name.lower().endswith((".pkl", ".pickle")) and not _is_pickle_start(stream.data(2)):
            continue  # a checkpoint's other file (weights, a tokenizer) named .bin or .pt that is no pickle
        member = scan(stream)
        budget = max(0, budget - len(stream.read))
        if member.error:
            member.error = f"{name[:80]}: {member.error}"
        found.merge(member)
        scanned_members.append(name[:MAX_NAME])
    facts["pickle_members"] = scanned_members
    if torch:
        facts["container"] = "zip"
    return scanned("pytorch" if torch else "zip", facts, found)


def _member_stream(source: Source, name: str, method: int, compressed: int, offset: int, limit: int) -> Stream | None:
    local = source.read_at(offset, 30)
    if local[:4] != LOCAL:
        raise Malformed(f"member {name[:80]!r} has no local header at {offset}")
    name_length, extra_length = struct.unpack("<HH", local[26:30])
    start = offset + 30 + name_length + extra_length
    if start + compressed > source.size:
        raise Malformed(f"member {name[:80]!r} runs past the end of the file")
    if method == STORED:
        return StoredStream(source, start, compressed, limit)
    if method == DEFLATED:
        return DeflatedStream(source, start, compressed, limit)
    return None


# ---------------------------------------------------------------------------------------------------- tar


class _TarFile(io.RawIOBase):
    """``Source`` as the file ``tarfile`` reads: its headers only (a long read is a hostile header)."""

    MAX_READ = 16 * 1024 * 1024

    def __init__(self, source: Source) -> None:
        self.source = source

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self.source.position

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self.source.position, io.SEEK_END: self.source.size}[whence]
        self.source.seek(min(base + offset, self.source.size))
        return self.source.position

    def read(self, size: int | None = -1) -> bytes:
        if size is None or size < 0 or size > self.MAX_READ:
            raise Malformed("a tar header asks for too long a read")
        return self.source.read_some(size)


def read_tar(source: Source, filename: str) -> Inspection:
    members: list[dict[str, Any]] = []
    pickles: list[tuple[str, int, int]] = []  # name, data offset, size
    try:
        with tarfile.open(fileobj=_TarFile(source), mode="r:") as archive:
            walked, total = _walk_tar(archive, members, pickles)
    except tarfile.TarError as error:
        raise Malformed(f"not a readable tar: {str(error)[:80]}") from None
    facts: dict[str, Any] = {"members": members, "total_size": total, "truncated": walked > len(members)}
    if walked >= MAX_WALKED:
        facts["truncated"] = True
    pickles = [
        p for p in pickles if p[2] >= 2 and p[1] + p[2] <= source.size and _is_pickle_start(source.read_at(p[1], 2))
    ]
    if not pickles:
        return Inspection("tar", facts, NOT_APPLICABLE, [])
    found = Scan()
    budget = scanner.MAX_SCAN  # shared by the members
    for _name, start, size in pickles:
        stream = StoredStream(source, start, size, budget)
        found.merge(scan(stream))
        budget = max(0, budget - len(stream.read))
    facts["pickle_members"] = [name[:MAX_NAME] for name, *_ in pickles]
    return scanned("tar", facts, found)


def _walk_tar(
    archive: tarfile.TarFile, members: list[dict[str, Any]], pickles: list[tuple[str, int, int]]
) -> tuple[int, int]:
    """Walk at most ``MAX_WALKED`` headers, listing members and noting pickle-named files; (walked, total)."""
    walked = total = 0
    while walked < MAX_WALKED:
        info = archive.next()
        if info is None:
            break
        walked += 1
        total += info.size
        if len(members) < MAX_LISTED:
            members.append({"name": info.name[:MAX_NAME], "size": info.size, "type": _tar_type(info)})
        if info.isfile() and info.name.lower().endswith(PICKLE_SUFFIXES) and len(pickles) < MAX_PICKLE_MEMBERS:
            pickles.append((info.name, info.offset_data, info.size))
    return walked, total


def _tar_type(info: tarfile.TarInfo) -> str:
    if info.isdir():
        return "directory"
    if info.issym() or info.islnk():
        return "link"
    return "file" if info.isfile() else "other"
