"""The demo's version files, made by code when the demo tenant is filled: small, real, downloadable files.

Each function returns the bytes of one file: CSV and JSON Lines datasets, a zip of sensor logs, Python
scripts, and ONNX models (a ``Gemm`` followed by a ``Softmax``: a linear classifier any ONNX runtime can load,
written with the few protobuf rules it needs rather than with the ``onnx`` package, which the registry does not
otherwise depend on). Random values come from seeded generators, so every fill makes the same files.
"""

from __future__ import annotations

import io
import json
import random
import struct
import zipfile
from collections.abc import Sequence

# ---------------------------------------------------------------- datasets

IRIS_SPECIES = ("setosa", "versicolor", "virginica")
# Mean and spread of sepal length, sepal width, petal length, petal width (cm) per species, as in Fisher's data.
_IRIS_SHAPE = {
    "setosa": ((5.0, 0.35), (3.4, 0.38), (1.46, 0.17), (0.25, 0.1)),
    "versicolor": ((5.9, 0.52), (2.8, 0.31), (4.26, 0.47), (1.33, 0.2)),
    "virginica": ((6.6, 0.64), (3.0, 0.32), (5.55, 0.55), (2.03, 0.27)),
}


def iris_csv(per_species: int, seed: int) -> bytes:
    """Iris-like measurements, ``per_species`` rows of each species."""
    rng = random.Random(seed)  # noqa: S311 - sample data that must repeat, not a secret
    lines = ["sepal_length,sepal_width,petal_length,petal_width,species"]
    for species in IRIS_SPECIES:
        for _ in range(per_species):
            values = [max(0.1, rng.gauss(mean, spread)) for mean, spread in _IRIS_SHAPE[species]]
            lines.append(",".join(f"{value:.1f}" for value in values) + f",{species}")
    return ("\n".join(lines) + "\n").encode()


SENSORS = ("pump-01", "pump-02", "fan-07")
_ZIP_TIME = (2026, 1, 5, 8, 0, 0)  # fixed member times: the same readings make the same archive


def sensor_readings_zip(rows_per_sensor: int, seed: int) -> bytes:
    """A zip of one CSV per sensor (50 Hz vibration and temperature), with a few spikes an anomaly detector
    should flag."""
    rng = random.Random(seed)  # noqa: S311 - sample data that must repeat, not a secret
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for sensor in SENSORS:
            lines = ["t_ms,temperature_c,vibration_mm_s"]
            for row in range(rows_per_sensor):
                spike = rng.random() < 0.02
                vibration = rng.gauss(9.0 if spike else 2.0, 0.4)
                lines.append(f"{row * 20},{rng.gauss(41.0, 0.8):.2f},{vibration:.3f}")
            member = zipfile.ZipInfo(f"readings/{sensor}.csv", date_time=_ZIP_TIME)
            member.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(member, "\n".join(lines) + "\n")
        readme = zipfile.ZipInfo("README.txt", date_time=_ZIP_TIME)
        archive.writestr(readme, "One CSV per sensor, sampled every 20 ms. Columns: time, temperature, vibration.\n")
    return buffer.getvalue()


TICKET_QUEUES = ("billing", "login", "shipping")
_TICKET_TEXTS = {
    "billing": ("I was charged twice for order {n}", "Please send an invoice for order {n}", "Refund for {n}?"),
    "login": ("Cannot sign in since yesterday", "Password reset mail never arrives", "Account {n} locked"),
    "shipping": ("Parcel {n} has not arrived", "Wrong address on order {n}", "Tracking for {n} is stuck"),
}


def support_tickets_jsonl(count: int, seed: int) -> bytes:
    """Labelled support tickets, one JSON object per line."""
    rng = random.Random(seed)  # noqa: S311 - sample data that must repeat, not a secret
    lines = []
    for number in range(1, count + 1):
        queue = rng.choice(TICKET_QUEUES)
        text = rng.choice(_TICKET_TEXTS[queue]).format(n=10_000 + number)
        lines.append(json.dumps({"id": number, "text": text, "queue": queue}))
    return ("\n".join(lines) + "\n").encode()


# ---------------------------------------------------------------- algorithms

KMEANS_SCRIPT = '''"""k-means clustering of a CSV of numeric columns: python kmeans.py data.csv 3"""

import csv
import random
import sys


def kmeans(points, k, rounds=50, seed=1):
    centres = random.Random(seed).sample(points, k)
    for _ in range(rounds):
        groups = [[] for _ in centres]
        for point in points:
            nearest = min(range(k), key=lambda i: sum((a - b) ** 2 for a, b in zip(point, centres[i])))
            groups[nearest].append(point)
        centres = [[sum(column) / len(group) for column in zip(*group)] if group else centres[i]
                   for i, group in enumerate(groups)]
    return centres


if __name__ == "__main__":
    with open(sys.argv[1], newline="") as handle:
        rows = [[float(value) for value in row[:-1]] for row in list(csv.reader(handle))[1:]]
    for centre in kmeans(rows, int(sys.argv[2])):
        print(", ".join(f"{value:.2f}" for value in centre))
'''

ZSCORE_SCRIPT = '''"""Flag readings more than THRESHOLD standard deviations from the mean.

Usage: python zscore.py readings.csv
"""

import csv
import statistics
import sys

THRESHOLD = {threshold}

with open(sys.argv[1], newline="") as handle:
    rows = list(csv.DictReader(handle))
values = [float(row["vibration_mm_s"]) for row in rows]
mean, spread = statistics.fmean(values), statistics.pstdev(values)
for row, value in zip(rows, values):
    if spread and abs(value - mean) / spread > THRESHOLD:
        print(row["t_ms"], value)
'''


def zscore_script(threshold: float) -> bytes:
    return ZSCORE_SCRIPT.format(threshold=threshold).encode()


def routing_table_json() -> bytes:
    """The keyword rules of a first, rule-based ticket router."""
    rules = {
        "billing": ["charged", "invoice", "refund"],
        "login": ["sign in", "password", "locked"],
        "shipping": ["parcel", "address", "tracking"],
    }
    return (json.dumps({"version": 1, "default_queue": "billing", "rules": rules}, indent=2) + "\n").encode()


# ---------------------------------------------------------------- ONNX models
# Protocol buffers' wire format, as far as an ONNX ModelProto needs it: varints (wire type 0) and
# length-delimited fields (wire type 2). Field numbers are those of onnx/onnx.proto.

_VARINT, _BYTES = 0, 2
_FLOAT = 1  # TensorProto.DataType.FLOAT
ONNX_IR_VERSION = 8
ONNX_OPSET = 13


def _varint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte, value = value & 0x7F, value >> 7
        out.append(byte | (0x80 if value else 0))
        if not value:
            return bytes(out)


def _field(number: int, value: int | bytes | str) -> bytes:
    if isinstance(value, int):
        return _varint(number << 3 | _VARINT) + _varint(value)
    data = value.encode() if isinstance(value, str) else value
    return _varint(number << 3 | _BYTES) + _varint(len(data)) + data


def _tensor_type(dims: Sequence[int | str]) -> bytes:
    """TypeProto { tensor_type { elem_type: FLOAT, shape { dim… } } }; a str dimension is symbolic (batch)."""
    shape = b"".join(_field(1, _field(2 if isinstance(dim, str) else 1, dim)) for dim in dims)
    return _field(1, _field(1, _FLOAT) + _field(2, shape))


def _value_info(name: str, dims: Sequence[int | str]) -> bytes:
    return _field(1, name) + _field(2, _tensor_type(dims))


def _initializer(name: str, dims: Sequence[int], values: Sequence[float]) -> bytes:
    """TensorProto with its floats as little-endian ``raw_data``."""
    raw = struct.pack(f"<{len(values)}f", *values)
    return b"".join(_field(1, dim) for dim in dims) + _field(2, _FLOAT) + _field(8, name) + _field(9, raw)


def _node(op_type: str, inputs: Sequence[str], outputs: Sequence[str], name: str) -> bytes:
    return (
        b"".join(_field(1, value) for value in inputs)
        + b"".join(_field(2, value) for value in outputs)
        + _field(3, name)
        + _field(4, op_type)
    )


def linear_classifier_onnx(name: str, weights: Sequence[Sequence[float]], bias: Sequence[float]) -> bytes:
    """An ONNX model computing ``softmax(features @ weights + bias)``: input ``features`` [batch, n], output
    ``probabilities`` [batch, classes], with ``weights`` given as n rows of ``classes`` values."""
    features, classes = len(weights), len(bias)
    if any(len(row) != classes for row in weights):
        raise ValueError("every row of weights needs one value per class")
    graph = (
        _field(1, _node("Gemm", ["features", "weights", "bias"], ["logits"], "linear"))
        + _field(1, _node("Softmax", ["logits"], ["probabilities"], "softmax"))
        + _field(2, name)
        + _field(5, _initializer("weights", [features, classes], [value for row in weights for value in row]))
        + _field(5, _initializer("bias", [classes], bias))
        + _field(11, _value_info("features", ["batch", features]))
        + _field(12, _value_info("probabilities", ["batch", classes]))
    )
    return (
        _field(1, ONNX_IR_VERSION)
        + _field(2, "model-registry-demo")
        + _field(3, "1")
        + _field(7, graph)
        + _field(8, _field(1, "") + _field(2, ONNX_OPSET))
    )
