"""safetensors: an 8-byte little-endian header length, the header as JSON, then the tensors' bytes.

The header is parsed here with the standard library rather than with the ``safetensors`` package, whose
Python API opens a file to load tensors (it needs numpy or torch for that); the header is all we need.
The length is bounded by the format's own limit (100 MB, ``MAX_HEADER_SIZE`` in safetensors' Rust crate),
and the JSON's containers and items are counted before parsing, so that a hostile header cannot make the
parser build hundreds of megabytes of tiny objects.
"""

from __future__ import annotations

import json
import math
from typing import Any

from items_app.inspection import NOT_APPLICABLE, Inspection
from items_app.inspection.source import Malformed, Source

MAX_HEADER = 100_000_000  # bytes; safetensors' own limit
MAX_CONTAINERS = 1_000_000  # "[" and "{" in the header: three per tensor in a real file
MAX_ITEMS = 4_000_000  # "," and ":" in the header: about ten per tensor
MAX_METADATA_KEYS = 100
MAX_METADATA_VALUE = 2_000  # characters kept of a metadata value (the rest is cut, and said so)
MAX_METADATA_KEY = 200
ITEM_SIZES = {
    "BOOL": 1,
    "U8": 1,
    "I8": 1,
    "F8_E5M2": 1,
    "F8_E4M3": 1,
    "F8_E8M0": 1,
    "I16": 2,
    "U16": 2,
    "F16": 2,
    "BF16": 2,
    "I32": 4,
    "U32": 4,
    "F32": 4,
    "F64": 8,
    "I64": 8,
    "U64": 8,
}


def looks_like(start: bytes) -> bool:
    """An 8-byte length, then a JSON object (safetensors writes no whitespace before it)."""
    return len(start) >= 9 and start[8:9] == b"{"


def read(source: Source, filename: str) -> Inspection:
    if source.size < 8:
        raise Malformed("the file is shorter than the 8-byte header length")
    length = source.u64()
    if length > MAX_HEADER:
        raise Malformed(f"header length {length} is over the format's limit of {MAX_HEADER} bytes")
    if length > source.remaining():
        raise Malformed(f"header length {length} runs past the end of the file")
    raw = source.read(length)
    if raw.count(b"[") + raw.count(b"{") > MAX_CONTAINERS or raw.count(b",") + raw.count(b":") > MAX_ITEMS:
        raise Malformed("the header has too many entries")
    try:
        header = json.loads(raw)
    except RecursionError:
        raise Malformed("the header is nested too deeply") from None
    except ValueError as error:  # UnicodeDecodeError is a ValueError too
        raise Malformed(f"the header is not JSON: {str(error)[:80]}") from None
    if not isinstance(header, dict):
        raise Malformed("the header is not a JSON object")
    data_size = source.size - 8 - length
    metadata = _metadata(header.pop("__metadata__", None))
    parameters = 0
    dtypes: dict[str, int] = {}
    for name, entry in header.items():
        count = _tensor(name, entry, data_size)
        parameters += count
        dtypes[entry["dtype"]] = dtypes.get(entry["dtype"], 0) + count
    facts: dict[str, Any] = {
        "tensors": len(header),
        "parameters": parameters,
        "dtypes": dict(sorted(dtypes.items())),
        "metadata": metadata,
    }
    return Inspection("safetensors", facts, NOT_APPLICABLE, [])


def _tensor(name: str, entry: Any, data_size: int) -> int:
    """The tensor's parameter count, after checking its entry against the format."""
    label = name[:80]
    if not isinstance(entry, dict) or not isinstance(entry.get("dtype"), str):
        raise Malformed(f"tensor {label!r} has no dtype")
    shape = entry.get("shape")
    if not isinstance(shape, list) or not all(_natural(d) for d in shape):
        raise Malformed(f"tensor {label!r} has no shape of whole numbers")
    offsets = entry.get("data_offsets")
    if not (isinstance(offsets, list) and len(offsets) == 2 and all(_natural(o) for o in offsets)):
        raise Malformed(f"tensor {label!r} has no data_offsets [begin, end]")
    begin, end = offsets
    if not begin <= end <= data_size:
        raise Malformed(f"tensor {label!r}: data_offsets {begin}..{end} are outside the data")
    count = math.prod(shape)
    item_size = ITEM_SIZES.get(entry["dtype"])
    if item_size is not None and count * item_size != end - begin:
        raise Malformed(f"tensor {label!r}: {end - begin} bytes do not hold {count} {entry['dtype']} values")
    return count


def _natural(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _metadata(value: Any) -> dict[str, str]:
    """``__metadata__``: string keys to string values (the format says so), bounded."""
    if value is None:
        return {}
    if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
        raise Malformed("__metadata__ is not an object of strings")
    kept: dict[str, str] = {}
    for key in sorted(value)[:MAX_METADATA_KEYS]:
        text = value[key]
        kept[key[:MAX_METADATA_KEY]] = text if len(text) <= MAX_METADATA_VALUE else text[:MAX_METADATA_VALUE] + "…"
    return kept
