"""ONNX: a protobuf ``ModelProto``, read field by field with the fields' documented numbers (onnx.proto).

Not with the ``onnx`` package: ``onnx.load`` parses the whole message, initializers (the weights) included,
into memory. Here the wire format (varints, length-delimited fields) is walked over ``Source``, entering
only the messages we report on and seeking past everything else: the weights' bytes are never read.
The initializers' shapes are read (their ``dims`` come first in a ``TensorProto``) to count parameters.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any

from items_app.inspection import NOT_APPLICABLE, Inspection
from items_app.inspection.source import Malformed, Source

MAX_FIELDS = 20_000_000  # fields walked over the whole file
MAX_VALUES = 1_000  # inputs, outputs, opset entries, metadata entries kept
MAX_DIMS = 64
MAX_NAME = 4_096  # bytes of a name or string kept; longer ones are cut
MAX_DEPTH = 2  # a graph inside a graph (functions and subgraphs are not entered)

VARINT, I64, LEN, I32 = 0, 1, 2, 5

# TensorProto.DataType
ELEMENT_TYPES = {
    0: "UNDEFINED",
    1: "FLOAT",
    2: "UINT8",
    3: "INT8",
    4: "UINT16",
    5: "INT16",
    6: "INT32",
    7: "INT64",
    8: "STRING",
    9: "BOOL",
    10: "FLOAT16",
    11: "DOUBLE",
    12: "UINT32",
    13: "UINT64",
    14: "COMPLEX64",
    15: "COMPLEX128",
    16: "BFLOAT16",
    17: "FLOAT8E4M3FN",
    18: "FLOAT8E4M3FNUZ",
    19: "FLOAT8E5M2",
    20: "FLOAT8E5M2FNUZ",
    21: "UINT4",
    22: "INT4",
    23: "FLOAT4E2M1",
    24: "FLOAT8E8M0",
    25: "UINT2",
    26: "INT2",
}


class _Wire:
    """Protobuf fields of the message between the current position and ``end``."""

    def __init__(self, source: Source) -> None:
        self.source = source
        self.fields = 0

    def fields_until(self, end: int) -> Iterator[tuple[int, int, int]]:
        """(number, wire type, value) for each field; for a length-delimited field the value is its length
        and the caller reads or skips its bytes (anything not consumed is skipped)."""
        source = self.source
        while source.position < end:
            self.fields += 1
            if self.fields > MAX_FIELDS:
                raise Malformed(f"more than {MAX_FIELDS} protobuf fields")
            tag = source.varint()
            number, wire = tag >> 3, tag & 7
            if number == 0:
                raise Malformed("a protobuf field number 0")
            if wire == VARINT:
                yield number, wire, source.varint()
            elif wire == I64:
                yield number, wire, int.from_bytes(source.read(8), "little")
            elif wire == I32:
                yield number, wire, int.from_bytes(source.read(4), "little")
            elif wire == LEN:
                length = source.varint()
                start = source.position
                if length > end - start:
                    raise Malformed("a protobuf field runs past its message")
                yield number, wire, length
                if source.position > start + length:
                    raise Malformed("a protobuf message runs past its field")
                source.seek(start + length)
            else:
                raise Malformed(f"protobuf wire type {wire} is not read (groups are not used by ONNX)")
        if source.position != end:
            raise Malformed("a protobuf field runs past its message")

    def text(self, length: int) -> str:
        data = self.source.read(min(length, MAX_NAME))
        return data.decode("utf-8", "replace")

    def varints(self, wire: int, value: int) -> list[int]:
        """A repeated int64 field: one value, or a packed run of them."""
        if wire == VARINT:
            return [value]
        if wire != LEN:
            raise Malformed("a repeated integer field of the wrong wire type")
        end = self.source.position + value
        values = []
        while self.source.position < end:
            values.append(self.source.varint())
            if len(values) > MAX_DIMS:
                raise Malformed(f"more than {MAX_DIMS} dimensions")
        return values


def _signed(value: int) -> int:
    """An int64 sent as a varint (two's complement on 64 bits)."""
    return value - (1 << 64) if value >= 1 << 63 else value


def read(source: Source, filename: str) -> Inspection:
    wire = _Wire(source)
    model: dict[str, Any] = {"ir_version": None, "opset": {}, "producer": {"name": None, "version": None}}
    graph: dict[str, Any] = {"inputs": [], "outputs": [], "nodes": 0, "initializers": 0, "parameters": 0}
    metadata: dict[str, str] = {}
    seen_graph = False
    for number, kind, value in wire.fields_until(source.size):
        if number == 1 and kind == VARINT:
            model["ir_version"] = _signed(value)
        elif number == 2 and kind == LEN:
            model["producer"]["name"] = wire.text(value)
        elif number == 3 and kind == LEN:
            model["producer"]["version"] = wire.text(value)
        elif number == 8 and kind == LEN:
            domain, version = _opset(wire, source.position + value)
            if len(model["opset"]) < MAX_VALUES:
                model["opset"][domain or "ai.onnx"] = version
        elif number == 7 and kind == LEN:
            seen_graph = True
            _graph(wire, source.position + value, graph)
        elif number == 14 and kind == LEN:
            key, text = _entry(wire, source.position + value)
            if len(metadata) < MAX_VALUES:
                metadata[key] = text
    if model["ir_version"] is None or not seen_graph:
        raise Malformed("no ir_version or no graph: not an ONNX model")
    facts = {**model, **graph, "metadata": metadata}
    return Inspection("onnx", facts, NOT_APPLICABLE, [])


def _opset(wire: _Wire, end: int) -> tuple[str, int | None]:
    domain, version = "", None
    for number, kind, value in wire.fields_until(end):
        if number == 1 and kind == LEN:
            domain = wire.text(value)
        elif number == 2 and kind == VARINT:
            version = _signed(value)
    return domain, version


def _entry(wire: _Wire, end: int) -> tuple[str, str]:
    key, text = "", ""
    for number, kind, value in wire.fields_until(end):
        if number == 1 and kind == LEN:
            key = wire.text(value)
        elif number == 2 and kind == LEN:
            text = wire.text(value)
    return key, text


def _graph(wire: _Wire, end: int, graph: dict[str, Any]) -> None:
    """GraphProto: 1 node, 5 initializer, 11 input, 12 output; the rest is skipped."""
    for number, kind, value in wire.fields_until(end):
        if kind != LEN:
            continue
        if number == 1:
            graph["nodes"] += 1
        elif number == 5:
            graph["initializers"] += 1
            graph["parameters"] += _tensor_size(wire, wire.source.position + value)
        elif number in (11, 12):
            values = graph["inputs" if number == 11 else "outputs"]
            if len(values) < MAX_VALUES:
                values.append(_value_info(wire, wire.source.position + value))


def _tensor_size(wire: _Wire, end: int) -> int:
    """A TensorProto's element count from its dims (field 1); its data is skipped."""
    dims: list[int] = []
    for number, kind, value in wire.fields_until(end):
        if number == 1:
            dims.extend(_signed(d) for d in wire.varints(kind, value))
            if len(dims) > MAX_DIMS:
                raise Malformed(f"an initializer has more than {MAX_DIMS} dimensions")
    return math.prod(d for d in dims if d >= 0)


def _value_info(wire: _Wire, end: int) -> dict[str, Any]:
    """ValueInfoProto: 1 name, 2 type (TypeProto: 1 tensor_type, 8 sparse_tensor_type; others named)."""
    info: dict[str, Any] = {"name": "", "type": None, "shape": None}
    for number, kind, value in wire.fields_until(end):
        if number == 1 and kind == LEN:
            info["name"] = wire.text(value)
        elif number == 2 and kind == LEN:
            for type_number, type_kind, type_value in wire.fields_until(wire.source.position + value):
                if type_number in (1, 8) and type_kind == LEN:
                    _tensor_type(wire, wire.source.position + type_value, info)
                    if type_number == 8:
                        info["sparse"] = True
                elif type_kind == LEN:
                    info["type"] = {4: "sequence", 5: "map", 6: "opaque", 9: "optional"}.get(type_number, "other")
    return info


def _tensor_type(wire: _Wire, end: int, info: dict[str, Any]) -> None:
    """TypeProto.Tensor: 1 elem_type, 2 shape (TensorShapeProto: 1 dim, each 1 dim_value or 2 dim_param)."""
    for number, kind, value in wire.fields_until(end):
        if number == 1 and kind == VARINT:
            info["type"] = ELEMENT_TYPES.get(value, f"type {value}")
        elif number == 2 and kind == LEN:
            shape: list[int | str | None] = []
            for dim_number, dim_kind, dim_value in wire.fields_until(wire.source.position + value):
                if dim_number == 1 and dim_kind == LEN:
                    if len(shape) >= MAX_DIMS:
                        raise Malformed(f"a shape has more than {MAX_DIMS} dimensions")
                    shape.append(_dimension(wire, wire.source.position + dim_value))
            info["shape"] = shape


def _dimension(wire: _Wire, end: int) -> int | str | None:
    dimension: int | str | None = None
    for number, kind, value in wire.fields_until(end):
        if number == 1 and kind == VARINT:
            dimension = _signed(value)
        elif number == 2 and kind == LEN:
            dimension = wire.text(value)
    return dimension
