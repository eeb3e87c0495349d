"""The versions of the original registry's items: their numbers and labels, file names, and files."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from framework.errors import ServiceError
from framework.files.uploads import safe_original
from items_app.versions import checked_label
from seed_app.plan.fields import Where, date_of, field_names
from seed_app.plan.records import NewVersion
from seed_app.report import Report

# A file of the uploads folder: the original registry named each by 32 random hex characters. Anything with a
# path in it is refused: the original registry followed such keys out of its folder (a known hole).
UPLOAD_KEY = re.compile(r"^[A-Za-z0-9_-][A-Za-z0-9._-]{0,254}\Z")
MAX_ORDINAL = 2**31 - 1  # the largest version number every database keeps
VERSION_FIELDS = {"ordinal", "key", "original", "encoding", "mimetype", "size", "timestamp", "description", "_id"}


@dataclass
class SeedVersion:
    """One entry of an item's ``versions`` list, read."""

    position: int
    ordinal: str
    key: str
    document: dict[str, Any]
    where: Where


def plan_versions(
    collection: str, record: str, where: Where, raw: list[Any], created: datetime, uploads: Path | None, report: Report
) -> tuple[list[NewVersion], int]:
    """The versions whose files are there, numbered as the original registry numbered them, and the highest
    number it gave (a version left out keeps its number taken, so a new upload never reuses it)."""
    seed = [_seed_version(where, position, entry) for position, entry in enumerate(raw)]
    numbers = _numbers(collection, record, seed, report)
    versions: list[NewVersion] = []
    labels: set[str] = set()
    originals: set[str] = set()
    for entry in seed:
        ordinal = numbers[entry.position]
        version_record = f"{record} version {entry.ordinal!r}"
        unknown = sorted(set(entry.document) - VERSION_FIELDS)
        if unknown:
            report.note(
                collection, version_record, f"{field_names(unknown)} not in the original registry's schema: ignored"
            )
        source, missing = _source(uploads, entry.key)
        if source is None:
            why = f"{missing}: version left out (number {ordinal} stays taken)"
            report.note(collection, version_record, why)
            continue
        version = NewVersion(
            ordinal=ordinal,
            label=_label(collection, version_record, entry, ordinal, labels, report),
            original=_original(collection, version_record, entry, ordinal, originals, report),
            content_type=_text(entry.document.get("mimetype"))[:255] or "application/octet-stream",
            description=_text(entry.document.get("description")),
            timestamp=date_of(entry.document, "timestamp", where) or created,
            source=source,
            size=source.stat().st_size,
        )
        recorded = entry.document.get("size")
        if isinstance(recorded, int) and recorded != version.size:
            report.note(
                collection,
                version_record,
                f"its file has {version.size} bytes, the record said {recorded}: the file's bytes are imported",
            )
        versions.append(version)
    _drop_labels_named_like_files(collection, record, versions, report)
    return versions, max(numbers.values(), default=0)


def _seed_version(where: Where, position: int, entry: Any) -> SeedVersion:
    name = f"versions[{position}]"
    if not isinstance(entry, dict):
        raise where.error(name, f"expected a version object, got {type(entry).__name__}")
    ordinal = entry.get("ordinal")
    if isinstance(ordinal, bool) or not isinstance(ordinal, str | int):
        raise where.error(f"{name}.ordinal", "required, a string")
    key = entry.get("key")
    if not isinstance(key, str):
        raise where.error(f"{name}.key", "required, a string (the file's name in the uploads folder)")
    return SeedVersion(position, str(ordinal).strip(), key, entry, where)


def _numbers(collection: str, record: str, seed: list[SeedVersion], report: Report) -> dict[int, int]:
    """Each version's number: its ordinal when that is a number not taken yet; else the next number after
    every numeric ordinal (what the original registry's next upload would have been given)."""
    numbers: dict[int, int] = {}
    for entry in seed:
        if _is_number(entry.ordinal) and int(entry.ordinal) not in numbers.values():
            numbers[entry.position] = int(entry.ordinal)
    highest = max(numbers.values(), default=0)
    for entry in seed:
        if entry.position in numbers:
            continue
        highest += 1
        numbers[entry.position] = highest
        if not _is_label_like(entry.ordinal):
            report.note(
                collection,
                f"{record} version {entry.ordinal!r}",
                f"its ordinal is empty, too large or another version's number too: it is number {highest}",
            )
    return numbers


def _is_number(ordinal: str) -> bool:
    return ordinal.isascii() and ordinal.isdigit() and int(ordinal) <= MAX_ORDINAL


def _is_label_like(ordinal: str) -> bool:
    """Not empty and not all digits: a custom ordinal, which becomes a label if the registry takes it."""
    return ordinal != "" and not ordinal.isdigit()


def _label(collection: str, record: str, entry: SeedVersion, ordinal: int, taken: set[str], report: Report) -> str:
    """A custom ordinal (``v2.0.0``) stays the version's label, so its URL still finds it."""
    if not _is_label_like(entry.ordinal):
        return ""
    try:
        label = checked_label(entry.ordinal)
    except ServiceError as exc:
        report.note(collection, record, f"{exc.details}: the version is number {ordinal}, without a label")
        return ""
    if label.lower() in taken:
        report.note(
            collection,
            record,
            f"label {label!r} is another version's too (in another case): the version "
            f"is number {ordinal}, without a label",
        )
        return ""
    taken.add(label.lower())
    return label


def _original(collection: str, record: str, entry: SeedVersion, ordinal: int, taken: set[str], report: Report) -> str:
    """The uploaded file's name, unique per item (it addresses the version): a younger version with the same
    name as an older one becomes ``name-<number>.ext``."""
    raw = entry.document.get("original")
    try:
        original = safe_original(raw if isinstance(raw, str) else None)
    except ServiceError as exc:
        original = f"version-{ordinal}"
        report.note(collection, record, f"file name {raw!r} cannot be kept ({exc.details}): named {original!r}")
    else:
        if original != raw:
            report.note(collection, record, f"file name {raw!r} is {original!r} here (no folders, no control codes)")
    candidate = original
    if candidate in taken:
        stem, dot, suffix = original.rpartition(".")
        candidate = f"{stem}-{ordinal}.{suffix}" if dot and stem else f"{original}-{ordinal}"
        report.note(
            collection,
            record,
            f"file name {original!r} is an older version's too (a file name finds "
            f"one version here): named {candidate!r}",
        )
    taken.add(candidate)
    return candidate


def _drop_labels_named_like_files(collection: str, record: str, versions: Iterable[NewVersion], report: Report) -> None:
    """A label that is also a file name of the item would make a reference mean two versions."""
    versions = list(versions)
    originals = {version.original.lower() for version in versions}
    for version in versions:
        if version.label and version.label.lower() in originals:
            report.note(
                collection,
                f"{record} version {version.label!r}",
                f"its label is a file name of this item too: the version is number {version.ordinal}, without a label",
            )
            version.label = ""


def _source(uploads: Path | None, key: str) -> tuple[Path | None, str]:
    """The version's file in the uploads folder, or why there is none."""
    if uploads is None:
        return None, "no --uploads folder was given"
    if not UPLOAD_KEY.match(key) or key in (".", ".."):
        return None, f"its key {key[:80]!r} is not a file name of the uploads folder (no paths are followed)"
    path = uploads / key
    if not path.is_file() or path.resolve().parent != uploads.resolve():
        return None, f"its file {key!r} is missing from the uploads folder"
    return path, ""


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""
