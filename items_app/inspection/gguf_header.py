"""GGUF (llama.cpp, ggml): a header of key/values and tensor infos, then aligned tensor data.

Layout from the format's specification (ggml's docs/gguf.md), versions 2 and 3, little-endian: "GGUF",
u32 version, u64 tensor count, u64 key/value count; each key/value is a string key, a u32 value type and
the value (an array is a u32 element type, a u64 length and the elements); each tensor info is a string
name, u32 dimension count, u64 dimensions, u32 ggml type and u64 offset. Strings are a u64 length and
UTF-8 bytes. Read here rather than with the ``gguf`` package, whose ``GGUFReader`` memory-maps a local
file (an upload may be on S3) and builds numpy arrays of every array value.

Every count and length the file states is bounded before it is used; big arrays (a tokenizer's tokens and
merges) are read past without being kept.
"""

from __future__ import annotations

import math
import struct
from typing import Any

from items_app.inspection import NOT_APPLICABLE, Inspection
from items_app.inspection.source import Malformed, Source

MAX_TENSORS = 1_000_000
MAX_KEY_VALUES = 100_000
MAX_KEY = 65_535  # the specification's limit on a key's length
MAX_STRING = 64 * 1024 * 1024  # a string value (a chat template is a few KiB; a tokenizer JSON may be MiBs)
MAX_KEPT_STRING = 1_000  # characters kept of a string value
MAX_ARRAY = 100_000_000  # elements of one array value
MAX_ARRAY_DEPTH = 3  # arrays of arrays of arrays
MAX_ELEMENTS = 10_000_000  # array elements walked over the whole header (each string is a read)
MAX_KEPT_ARRAY = 16  # arrays up to this length are kept in the facts; longer ones are skipped
MAX_KEPT_KEYS = 200
MAX_DIMS = 4  # GGML_MAX_DIMS

# GGUFValueType: (struct format, size) of the fixed-size scalars; 8 is a string, 9 an array.
SCALARS = {
    0: ("<B", 1),
    1: ("<b", 1),
    2: ("<H", 2),
    3: ("<h", 2),
    4: ("<I", 4),
    5: ("<i", 4),
    6: ("<f", 4),
    7: ("<?", 1),
    10: ("<Q", 8),
    11: ("<q", 8),
    12: ("<d", 8),
}
STRING, ARRAY = 8, 9

# ggml_type, as in ggml.h (and gguf-py's GGMLQuantizationType)
GGML_TYPES = {
    0: "F32",
    1: "F16",
    2: "Q4_0",
    3: "Q4_1",
    6: "Q5_0",
    7: "Q5_1",
    8: "Q8_0",
    9: "Q8_1",
    10: "Q2_K",
    11: "Q3_K",
    12: "Q4_K",
    13: "Q5_K",
    14: "Q6_K",
    15: "Q8_K",
    16: "IQ2_XXS",
    17: "IQ2_XS",
    18: "IQ3_XXS",
    19: "IQ1_S",
    20: "IQ4_NL",
    21: "IQ3_S",
    22: "IQ2_S",
    23: "IQ4_XS",
    24: "I8",
    25: "I16",
    26: "I32",
    27: "I64",
    28: "F64",
    29: "IQ1_M",
    30: "BF16",
    34: "TQ1_0",
    35: "TQ2_0",
    39: "MXFP4",
    40: "NVFP4",
    41: "Q1_0",
}

# llama_ftype (llama.h), the value of general.file_type, named without its MOSTLY_ prefix
FILE_TYPES = {
    0: "F32",
    1: "F16",
    2: "Q4_0",
    3: "Q4_1",
    7: "Q8_0",
    8: "Q5_0",
    9: "Q5_1",
    10: "Q2_K",
    11: "Q3_K_S",
    12: "Q3_K_M",
    13: "Q3_K_L",
    14: "Q4_K_S",
    15: "Q4_K_M",
    16: "Q5_K_S",
    17: "Q5_K_M",
    18: "Q6_K",
    19: "IQ2_XXS",
    20: "IQ2_XS",
    21: "Q2_K_S",
    22: "IQ3_XS",
    23: "IQ3_XXS",
    24: "IQ1_S",
    25: "IQ4_NL",
    26: "IQ3_S",
    27: "IQ3_M",
    28: "IQ2_S",
    29: "IQ2_M",
    30: "IQ4_XS",
    31: "IQ1_M",
    32: "BF16",
    36: "TQ1_0",
    37: "TQ2_0",
    38: "MXFP4_MOE",
    39: "NVFP4",
    40: "Q1_0",
    1024: "GUESSED",
}


class _Header:
    def __init__(self, source: Source) -> None:
        self.source = source
        self.elements = 0

    def string(self, limit: int = MAX_STRING) -> str | None:
        """A GGUF string, or None when it is longer than ``MAX_KEPT_STRING`` (it is read past)."""
        length = self.source.u64()
        if length > limit:
            raise Malformed(f"a string of {length} bytes is over the limit of {limit}")
        if length > MAX_KEPT_STRING * 4:
            self.source.skip(length)
            return None
        try:
            return self.source.read(length).decode("utf-8")
        except UnicodeDecodeError:
            raise Malformed("a string is not UTF-8") from None

    def value(self, kind: int, depth: int = 0) -> Any:
        """A value of type ``kind``; arrays longer than ``MAX_KEPT_ARRAY`` are read past and answer None."""
        if kind in SCALARS:
            fmt, size = SCALARS[kind]
            return struct.unpack(fmt, self.source.read(size))[0]
        if kind == STRING:
            return self.string()
        if kind != ARRAY:
            raise Malformed(f"unknown value type {kind}")
        if depth >= MAX_ARRAY_DEPTH:
            raise Malformed(f"arrays are nested more than {MAX_ARRAY_DEPTH} deep")
        element = self.source.u32()
        length = self.source.u64()
        if length > MAX_ARRAY:
            raise Malformed(f"an array of {length} elements is over the limit of {MAX_ARRAY}")
        self.elements += length
        if self.elements > MAX_ELEMENTS:
            raise Malformed(f"the header's arrays hold more than {MAX_ELEMENTS} elements")
        smallest = SCALARS[element][1] if element in SCALARS else {STRING: 8, ARRAY: 12}.get(element)
        if smallest is None:
            raise Malformed(f"unknown array element type {element}")
        if length * smallest > self.source.remaining():
            raise Malformed(f"an array of {length} elements runs past the end of the file")
        if length <= MAX_KEPT_ARRAY:
            return [self.value(element, depth + 1) for _ in range(length)]
        if element in SCALARS:
            self.source.skip(length * smallest)
        elif element == STRING:
            self.source.skip_strings(length, MAX_STRING)
        else:
            for _ in range(length):
                self.value(element, depth + 1)
        return None


def read(source: Source, filename: str) -> Inspection:
    if source.read(4) != b"GGUF":
        raise Malformed("no GGUF magic")
    version = source.u32()
    if version not in (2, 3):
        if version in (2 << 24, 3 << 24):
            raise Malformed("a big-endian GGUF file (not read)")
        raise Malformed(f"GGUF version {version} is not read (2 and 3 are)")
    tensor_count = source.u64()
    kv_count = source.u64()
    # a tensor info takes at least 24 bytes, a key/value at least 13
    if tensor_count > MAX_TENSORS or tensor_count * 24 > source.remaining():
        raise Malformed(f"a tensor count of {tensor_count} is more than the file can hold or the limit")
    if kv_count > MAX_KEY_VALUES or kv_count * 13 > source.remaining():
        raise Malformed(f"a key/value count of {kv_count} is more than the file can hold or the limit")
    header = _Header(source)
    kept: dict[str, Any] = {}
    for _ in range(kv_count):
        key = header.string(MAX_KEY)
        if key is None:
            raise Malformed("a key is too long")
        kind = source.u32()
        value = header.value(kind)
        if value is not None and len(kept) < MAX_KEPT_KEYS:
            kept[key] = _kept(value)
    parameters = 0
    types: set[str] = set()
    for _ in range(tensor_count):
        name = header.string(MAX_KEY)
        dims = source.u32()
        if dims > MAX_DIMS:
            raise Malformed(f"tensor {str(name)[:80]!r} has {dims} dimensions (at most {MAX_DIMS})")
        shape = [source.u64() for _ in range(dims)]
        ggml_type = source.u32()
        source.u64()  # offset into the data, not needed
        parameters += math.prod(shape)
        types.add(GGML_TYPES.get(ggml_type, f"type {ggml_type}"))
    architecture = kept.get("general.architecture")
    file_type = kept.get("general.file_type")
    facts: dict[str, Any] = {
        "version": version,
        "architecture": architecture if isinstance(architecture, str) else None,
        "name": kept.get("general.name") if isinstance(kept.get("general.name"), str) else None,
        "parameters": parameters,
        "tensors": tensor_count,
        "quantization": {
            "file_type": FILE_TYPES.get(file_type, f"type {file_type}") if isinstance(file_type, int) else None,
            "tensor_types": sorted(types),
        },
        "context_length": _whole(kept.get(f"{architecture}.context_length")) if architecture else None,
        "metadata": kept,
    }
    return Inspection("gguf", facts, NOT_APPLICABLE, [])


def _whole(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _kept(value: Any) -> Any:
    """A value as the facts keep it: strings cut, floats that JSON cannot carry as text."""
    if isinstance(value, str):
        return value if len(value) <= MAX_KEPT_STRING else value[:MAX_KEPT_STRING] + "…"
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, list):
        return [_kept(v) for v in value]
    return value
