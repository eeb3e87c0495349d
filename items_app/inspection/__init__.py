"""What a file says about itself (contract §9.6): its format, facts per format, and a safety verdict.

Pure readers: the standard library only, no Django, no database (an import-linter contract keeps it so).
``inspect_file`` reads headers through bounded, seekable reads, never loads tensors and never unpickles;
it never raises for a bad file: a file that claims a format and breaks its rules is ``format="unknown"``
with ``{"claimed": ..., "reason": ...}``. Detection is by magic bytes first, the file name's extension
second. See docs/inspection.md.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, BinaryIO

from items_app.inspection.source import Malformed, Source

FORMATS = ("onnx", "safetensors", "gguf", "pytorch", "pickle", "zip", "tar", "unknown")
SAFETY = ("safe", "suspicious", "dangerous", "not_applicable")
NOT_APPLICABLE = "not_applicable"
MAX_FACTS = 256 * 1024  # bytes of JSON a file's facts may take


@dataclass(frozen=True)
class Inspection:
    """A file's format, its facts (JSON-serialisable), and whether loading it can run code."""

    format: str  # one of FORMATS
    facts: dict[str, Any]  # per format; for "unknown": {"reason": ...} (and "claimed" when it claimed one)
    safety: str  # one of SAFETY
    safety_globals: list[str] = field(default_factory=list)  # "module.name", sorted, at most 100


def unknown(reason: str, claimed: str | None = None) -> Inspection:
    facts: dict[str, Any] = {"reason": reason}
    if claimed is not None:
        facts = {"claimed": claimed, "reason": reason}
    return Inspection("unknown", facts, NOT_APPLICABLE, [])


def inspect_file(file: BinaryIO, size: int, filename: str) -> Inspection:
    """Read what ``file`` (``size`` bytes, uploaded as ``filename``) says about itself. Never raises for a
    bad file; an error reading the file itself (I/O, network) is the caller's to handle."""
    from items_app.inspection import detect

    source = Source(file, size)
    claimed = detect.claimed_format(source, filename)
    if claimed is None:
        return Inspection("unknown", {}, NOT_APPLICABLE, [])
    try:
        found = detect.READERS[claimed](source, filename)
    except Malformed as malformed:
        return unknown(str(malformed)[:200], claimed)
    except RecursionError:
        return unknown("nested too deeply", claimed)
    return Inspection(found.format, bounded(storable(found.facts)), found.safety, storable(found.safety_globals))


def bounded(facts: dict[str, Any]) -> dict[str, Any]:
    """``facts`` within ``MAX_FACTS`` bytes of JSON: the largest entries are dropped (named under "cut")
    until they fit. Each reader bounds its own lists and strings; this bounds their sum, which a hostile
    file (an ONNX model with a thousand inputs of long symbolic dimensions) could make megabytes."""
    sizes = {key: len(json.dumps(value)) for key, value in facts.items()}
    total = sum(sizes.values())
    if total <= MAX_FACTS:
        return facts
    kept = dict(facts)
    cut = []
    for key in sorted(sizes, key=sizes.__getitem__, reverse=True):
        if total <= MAX_FACTS:
            break
        del kept[key]
        cut.append(key)
        total -= sizes[key]
    return {**kept, "cut": sorted(cut)}


def storable(value: Any) -> Any:
    """``value`` with every string one that a JSON column (PostgreSQL's jsonb above all) accepts: no NUL
    characters and no lone surrogates (a pickle's strings may hold both)."""
    if isinstance(value, str):
        return value.encode("utf-8", "replace").decode("utf-8").replace("\x00", "\ufffd")
    if isinstance(value, dict):
        return {storable(str(k)): storable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [storable(v) for v in value]
    return value
