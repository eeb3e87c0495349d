"""Which format a file claims: magic bytes first, the file name's extension second."""

from __future__ import annotations

from collections.abc import Callable

from items_app.inspection import Inspection, archives, gguf_header, onnx_model, safetensors_header
from items_app.inspection.source import Source

Reader = Callable[[Source, str], Inspection]

EXTENSIONS = {
    ".safetensors": "safetensors",
    ".gguf": "gguf",
    ".onnx": "onnx",
    ".zip": "zip",
    ".tar": "tar",
    ".pt": "pytorch",
    ".pth": "pytorch",
    ".ckpt": "pytorch",
    ".pkl": "pickle",
    ".pickle": "pickle",
}
PYTORCH_EXTENSIONS = (".pt", ".pth", ".bin", ".ckpt")


def extension(filename: str) -> str:
    name = filename.rsplit("/", 1)[-1].lower()
    return "." + name.rsplit(".", 1)[-1] if "." in name else ""


def claimed_format(source: Source, filename: str) -> str | None:
    start = source.peek_start(512)
    if start[:4] == b"GGUF":
        return "gguf"
    if start[:4] in (b"PK\x03\x04", b"PK\x05\x06"):
        return "zip"
    if len(start) >= 2 and start[0] == 0x80 and 2 <= start[1] <= 5:
        return "pytorch" if extension(filename) in PYTORCH_EXTENSIONS else "pickle"
    if start[257:262] == b"ustar":
        return "tar"
    if safetensors_header.looks_like(start):
        return "safetensors"
    return EXTENSIONS.get(extension(filename))


READERS: dict[str, Reader] = {
    "safetensors": safetensors_header.read,
    "gguf": gguf_header.read,
    "onnx": onnx_model.read,
    "zip": archives.read_zip,
    "tar": archives.read_tar,
    "pytorch": archives.pytorch_reader,
    "pickle": archives.pickle_reader,
}
