"""Small real model files for the inspection tests, written with the formats' own writers, and a file that
counts what is read of it."""

from __future__ import annotations

import io
import pickle
import struct
import sys
import tempfile
import types
import zipfile
from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import gguf
import numpy as np
import onnx
import safetensors.numpy
from onnx import TensorProto, helper, numpy_helper

from items_app.inspection import Inspection, inspect_file


class CountingFile(io.BytesIO):
    """A file that counts the bytes read of it and its seeks: what a hostile file made the readers do."""

    def __init__(self, data: bytes) -> None:
        super().__init__(data)
        self.bytes_read = 0
        self.seeks = 0

    def read(self, size: int | None = -1) -> bytes:
        data = super().read(size)
        self.bytes_read += len(data)
        return data

    def seek(self, offset: int, whence: int = 0) -> int:
        self.seeks += 1
        return super().seek(offset, whence)


def inspect_bytes(data: bytes, filename: str) -> Inspection:
    return inspect_file(io.BytesIO(data), len(data), filename)


# ------------------------------------------------------------------------------------------------ formats


def safetensors_file() -> bytes:
    """Two tensors (6 F32 and 3 F16 values), written by the safetensors package."""
    return safetensors.numpy.save(
        {"w": np.zeros((2, 3), dtype=np.float32), "b": np.zeros(3, dtype=np.float16)},
        metadata={"format": "np", "license": "mit"},
    )


def safetensors_with_header(header: bytes, data: bytes = b"", length: int | None = None) -> bytes:
    return struct.pack("<Q", len(header) if length is None else length) + header + data


def onnx_file(weights: int = 3 * 2) -> bytes:
    """x[batch, 3] @ w[3, weights/3] -> y, with w an initializer; opset 17, producer "tests" 1.0."""
    columns = weights // 3
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", 3])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", columns])
    w = numpy_helper.from_array(np.ones((3, columns), dtype=np.float32), "w")
    graph = helper.make_graph([helper.make_node("MatMul", ["x", "w"], ["y"])], "g", [x], [y], [w])
    model = helper.make_model(
        graph,
        producer_name="tests",
        producer_version="1.0",
        opset_imports=[helper.make_opsetid("", 17)],
        ir_version=10,
    )
    helper.set_model_props(model, {"author": "reggie"})
    onnx.checker.check_model(model)
    data: bytes = model.SerializeToString()
    return data


def gguf_file(arrays: dict[str, list[Any]] | None = None) -> bytes:
    """A tiny llama: two tensors (32 F32 and 3 F16 values), a Q4_K_M file type, a 100-token vocabulary."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "m.gguf"
        writer = gguf.GGUFWriter(str(path), "llama")
        writer.add_name("tiny")
        writer.add_context_length(2048)
        writer.add_file_type(15)
        writer.add_array("tokenizer.ggml.tokens", [f"t{i}" for i in range(100)])
        writer.add_array("tokenizer.ggml.scores", [0.5] * 100)
        writer.add_array("llama.rope.dims", [1, 2, 3])
        for key, value in (arrays or {}).items():
            writer.add_array(key, value)
        writer.add_tensor("a", np.zeros((4, 8), dtype=np.float32))
        writer.add_tensor("b", np.zeros((3,), dtype=np.float16))
        writer.write_header_to_file()
        writer.write_kv_data_to_file()
        writer.write_tensors_to_file()
        writer.close()
        return path.read_bytes()


def gguf_header(version: int = 3, tensors: int = 0, key_values: int = 0, rest: bytes = b"") -> bytes:
    return b"GGUF" + struct.pack("<IQQ", version, tensors, key_values) + rest


def gguf_string(text: bytes, length: int | None = None) -> bytes:
    return struct.pack("<Q", len(text) if length is None else length) + text


def zip_file(members: dict[str, bytes], compression: int = zipfile.ZIP_STORED) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=compression) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


# -------------------------------------------------------------------------------------------- pickles


class Shell:
    """What an attacker pickles: loading it runs ``echo pwned``."""

    def __reduce__(self) -> tuple[Any, ...]:
        import os

        return (os.system, ("echo pwned",))


@contextmanager
def fake_torch() -> Iterator[types.SimpleNamespace]:
    """Modules named as torch's, with the two globals ``torch.save`` writes into a state dict's pickle
    (torch itself is too big to install for tests): pickling through them writes the same imports."""

    def _rebuild_tensor_v2(*args: Any) -> None:
        return None

    class FloatStorage:
        pass

    torch = types.ModuleType("torch")
    utils = types.ModuleType("torch._utils")
    _rebuild_tensor_v2.__module__ = "torch._utils"
    _rebuild_tensor_v2.__qualname__ = "_rebuild_tensor_v2"
    FloatStorage.__module__ = "torch"
    FloatStorage.__qualname__ = "FloatStorage"
    utils._rebuild_tensor_v2 = _rebuild_tensor_v2  # type: ignore[attr-defined]
    torch.FloatStorage = FloatStorage  # type: ignore[attr-defined]
    torch._utils = utils  # type: ignore[attr-defined]
    saved = {name: sys.modules.get(name) for name in ("torch", "torch._utils")}
    sys.modules["torch"], sys.modules["torch._utils"] = torch, utils
    try:
        yield types.SimpleNamespace(rebuild=_rebuild_tensor_v2, storage=FloatStorage)
    finally:
        for name, module in saved.items():
            if module is None:
                del sys.modules[name]
            else:
                sys.modules[name] = module


class _Tensor:
    def __init__(self, torch: types.SimpleNamespace, key: str, shape: tuple[int, ...]) -> None:
        self.torch = torch
        self.key = key
        self.shape = shape

    def __reduce__(self) -> tuple[Any, ...]:
        stride = (self.shape[1], 1) if len(self.shape) == 2 else (1,)
        return (self.torch.rebuild, (_Storage(self.key), 0, self.shape, stride, False, OrderedDict()))


class _Storage:
    def __init__(self, key: str) -> None:
        self.key = key


class _TorchPickler(pickle.Pickler):
    """Writes storages as persistent ids, as ``torch.save`` does."""

    def __init__(self, file: io.BytesIO, torch: types.SimpleNamespace) -> None:
        super().__init__(file, protocol=2)
        self.torch = torch

    def persistent_id(self, obj: Any) -> Any:
        if isinstance(obj, _Storage):
            return ("storage", self.torch.storage, obj.key, "cpu", 6)
        return None


def state_dict_pickle(extra: dict[str, Any] | None = None) -> bytes:
    """The pickle of a two-tensor state dict as torch.save writes it (plus ``extra`` entries)."""
    with fake_torch() as torch:
        state: dict[str, Any] = OrderedDict(
            [("layer.weight", _Tensor(torch, "0", (2, 3))), ("layer.bias", _Tensor(torch, "1", (2,)))]
        )
        state.update(extra or {})
        buffer = io.BytesIO()
        _TorchPickler(buffer, torch).dump(state)
        return buffer.getvalue()


def torch_zip(extra: dict[str, Any] | None = None, compression: int = zipfile.ZIP_STORED) -> bytes:
    """A torch.save zip: archive/data.pkl, the storages' bytes, version and byteorder."""
    return zip_file(
        {
            "archive/data.pkl": state_dict_pickle(extra),
            "archive/byteorder": b"little",
            "archive/data/0": bytes(24),
            "archive/data/1": bytes(8),
            "archive/version": b"3\n",
        },
        compression,
    )


def legacy_torch(extra: dict[str, Any] | None = None) -> bytes:
    """A pre-1.6 torch.save file: five pickles one after another, then the storages' raw bytes."""
    parts = [
        pickle.dumps(0x1950A86A20F9469CFC6C, protocol=2),
        pickle.dumps(1001, protocol=2),
        pickle.dumps({"protocol_version": 1001, "little_endian": True}, protocol=2),
        state_dict_pickle(extra),
        pickle.dumps(["0", "1"], protocol=2),
        struct.pack("<q", 6) + bytes(24) + struct.pack("<q", 2) + bytes(8),
    ]
    return b"".join(parts)
