"""What the file readers themselves cost (items_app.inspection), per format, on big files: time, bytes read,
reads. (bench/inspection.py measures what inspection adds to a whole upload.)

    .venv/bin/python bench/inspection_readers.py --size 1 --rounds 3     # GiB; prints a table

Files are written into a temporary directory, their weights as holes (sparse), so that they are fast to
make and the readers' cost is what they read, not the disk: a safetensors file, an ONNX model of 16
initializers, a GGUF file with a 150,000-token vocabulary and 300 tensors, a PyTorch zip (four 64 MiB
storages, written for real), and a 60 MB pickle of floats (the scan's worst kind: many small opcodes).
Waits while /tmp/quiet exists before each round.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import pickle
import statistics
import struct
import sys
import tempfile
import time
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from items_app.inspection import inspect_file  # noqa: E402 - after the path is set

GiB = 1024**3
MiB = 1024**2


class Counting(io.FileIO):
    bytes_read = 0
    reads = 0

    def read(self, size: int = -1) -> bytes:
        data = super().read(size)
        self.bytes_read += len(data)
        self.reads += 1
        return data


def _varint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def _field(number: int, payload: bytes) -> bytes:
    return _varint(number << 3 | 2) + _varint(len(payload)) + payload


def safetensors_file(path: Path, size: int) -> None:
    elements = (size - 4096) // 4
    header = json.dumps({"weight": {"dtype": "F32", "shape": [elements], "data_offsets": [0, elements * 4]}})
    text = header.encode() + b" " * (-len(header) % 8)
    with open(path, "wb") as handle:
        handle.write(struct.pack("<Q", len(text)) + text)
        handle.truncate(8 + len(text) + elements * 4)


def onnx_file(path: Path, size: int) -> None:
    """ModelProto by hand (field numbers of onnx.proto): 16 FLOAT initializers whose raw_data are holes."""
    count = 16
    elements = size // count // 4
    with open(path, "wb") as handle:
        head = _varint(1 << 3) + _varint(9) + _field(2, b"bench") + _field(8, _varint(2 << 3) + _varint(17))
        tensors = []
        for i in range(count):
            meta = _varint(1 << 3) + _varint(elements) + _varint(2 << 3) + _varint(1) + _field(8, f"w{i}".encode())
            tensors.append((meta, elements * 4))
        node = _field(1, _field(1, b"x") + _field(2, b"y") + _field(4, b"Identity"))
        bodies = [len(meta) + len(_varint(9 << 3 | 2)) + len(_varint(n)) + n for meta, n in tensors]
        graph_length = len(node) + sum(len(_varint(5 << 3 | 2)) + len(_varint(b)) + b for b in bodies)
        handle.write(head + _varint(7 << 3 | 2) + _varint(graph_length) + node)
        for (meta, n), body in zip(tensors, bodies, strict=True):
            handle.write(_varint(5 << 3 | 2) + _varint(body) + meta + _varint(9 << 3 | 2) + _varint(n))
            handle.seek(n, os.SEEK_CUR)
        handle.truncate(handle.tell())


def gguf_file(path: Path, size: int) -> None:
    import gguf

    tensors = 300
    elements = size // tensors // 4
    writer = gguf.GGUFWriter(str(path), "llama")
    writer.add_name("bench")
    writer.add_context_length(4096)
    writer.add_array("tokenizer.ggml.tokens", [f"token{i}" for i in range(150_000)])
    writer.add_array("tokenizer.ggml.scores", [0.0] * 150_000)
    for i in range(tensors):
        writer.add_tensor_info(f"blk.{i}.weight", [elements], np.dtype(np.float32), elements * 4)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_ti_data_to_file()
    writer.close()
    with open(path, "r+b") as handle:
        handle.truncate(os.path.getsize(path) + tensors * elements * 4)


def torch_zip(path: Path, size: int) -> None:
    state = pickle.dumps({f"layer{i}": list(range(10)) for i in range(4)}, protocol=2)
    chunk = bytes(min(64 * MiB, size // 4))
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("archive/data.pkl", state)
        for i in range(4):
            archive.writestr(f"archive/data/{i}", chunk)


def float_pickle(path: Path, size: int) -> None:
    path.write_bytes(pickle.dumps([float(i) for i in range(6_000_000)], protocol=2))


FILES = {
    "model.safetensors": safetensors_file,
    "model.onnx": onnx_file,
    "model.gguf": gguf_file,
    "model.pt": torch_zip,
    "floats.pkl": float_pickle,
}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--size", type=float, default=1.0, help="GiB of the big files")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    size = int(args.size * GiB)
    with tempfile.TemporaryDirectory() as folder:
        rows: list[dict[str, Any]] = []
        for name, make in FILES.items():
            path = Path(folder) / name
            make(path, size)
            times = []
            for _ in range(args.rounds):
                while os.path.exists("/tmp/quiet"):  # noqa: S108 - the shared machine's agreed flag
                    time.sleep(20)
                with Counting(path) as file:
                    start = time.perf_counter()
                    inspection = inspect_file(file, path.stat().st_size, name)
                    times.append(time.perf_counter() - start)
            rows.append(
                {
                    "file": name,
                    "size_mib": path.stat().st_size / MiB,
                    "format": inspection.format,
                    "safety": inspection.safety,
                    "ms": statistics.median(times) * 1000,
                    "read_kib": file.bytes_read / 1024,
                    "reads": file.reads,
                }
            )
            path.unlink()
    print(f"{'file':<18} {'MiB':>8} {'format':<12} {'safety':<15} {'ms':>8} {'KiB read':>10} {'reads':>6}")
    for row in rows:
        print(
            f"{row['file']:<18} {row['size_mib']:>8.0f} {row['format']:<12} {row['safety']:<15} "
            f"{row['ms']:>8.1f} {row['read_kib']:>10.0f} {row['reads']:>6}"
        )
    print("load average:", os.getloadavg())


if __name__ == "__main__":
    main()
