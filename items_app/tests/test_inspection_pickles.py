"""The safety scan of pickles (items_app.inspection.pickles): PyTorch checkpoints, zip and legacy, plain
pickles, and the tricks that hide an import from a scanner."""

from __future__ import annotations

import io
import json
import pickle
import struct
import tarfile
import zipfile
from collections import OrderedDict

import pytest

from items_app.inspection import Inspection, inspect_file, pickles
from items_app.inspection.pickles import classify
from items_app.tests.inspection_files import (
    CountingFile,
    Shell,
    inspect_bytes,
    legacy_torch,
    state_dict_pickle,
    torch_zip,
    zip_file,
)

TORCH_GLOBALS = ["collections.OrderedDict", "torch.FloatStorage", "torch._utils._rebuild_tensor_v2"]
TORCH_MEMBERS = [
    {"name": "archive/data.pkl", "size": len(state_dict_pickle()), "compressed_size": len(state_dict_pickle())},
    {"name": "archive/byteorder", "size": 6, "compressed_size": 6},
    {"name": "archive/data/0", "size": 24, "compressed_size": 24},
    {"name": "archive/data/1", "size": 8, "compressed_size": 8},
    {"name": "archive/version", "size": 2, "compressed_size": 2},
]


def test_a_torch_zip_of_tensors_is_a_safe_pytorch_file():
    assert inspect_bytes(torch_zip(), "model.pt") == Inspection(
        "pytorch",
        {
            "entries": 5,
            "members": TORCH_MEMBERS,
            "total_size": sum(m["size"] for m in TORCH_MEMBERS),
            "truncated": False,
            "pickle_members": ["archive/data.pkl"],
            "container": "zip",
            "pickles": 1,
            "globals": TORCH_GLOBALS,
        },
        "safe",
        [],
    )


def test_a_torch_zip_is_pytorch_whatever_its_name():
    assert inspect_bytes(torch_zip(), "checkpoint.zip").format == "pytorch"


def test_a_torch_zip_with_an_os_system_reduce_is_dangerous():
    inspection = inspect_bytes(torch_zip({"payload": Shell()}), "model.pt")
    assert (inspection.format, inspection.safety, inspection.safety_globals) == (
        "pytorch",
        "dangerous",
        ["posix.system"],
    )
    assert inspection.facts["globals"] == ["collections.OrderedDict", "posix.system", *TORCH_GLOBALS[1:]]


def test_a_deflated_torch_zip_is_scanned_too():
    inspection = inspect_bytes(torch_zip({"payload": Shell()}, zipfile.ZIP_DEFLATED), "model.pt")
    assert (inspection.safety, inspection.safety_globals) == ("dangerous", ["posix.system"])


def test_a_legacy_torch_save_is_five_pickles_then_data():
    assert inspect_bytes(legacy_torch(), "model.pth") == Inspection(
        "pytorch",
        {"protocol": 2, "container": "legacy", "pickles": 5, "globals": TORCH_GLOBALS},
        "safe",
        [],
    )


def test_a_legacy_torch_save_with_a_reduce_is_dangerous():
    inspection = inspect_bytes(legacy_torch({"payload": Shell()}), "model.bin")
    assert (inspection.format, inspection.safety, inspection.safety_globals) == (
        "pytorch",
        "dangerous",
        ["posix.system"],
    )


def test_a_plain_pickle_of_builtins_is_safe():
    data = pickle.dumps({"weights": [1.0, 2.0], "names": {"a", "b"}, "order": OrderedDict(a=1)}, protocol=4)
    assert inspect_bytes(data, "model.pkl") == Inspection(
        "pickle", {"protocol": 4, "pickles": 1, "globals": ["collections.OrderedDict"]}, "safe", []
    )


def test_a_pickle_importing_an_unknown_class_is_suspicious():
    data = b"\x80\x02cmylib.models\nNet\nq\x00)\x81q\x01."
    assert inspect_bytes(data, "model.pkl") == Inspection(
        "pickle", {"protocol": 2, "pickles": 1, "globals": ["mylib.models.Net"]}, "suspicious", ["mylib.models.Net"]
    )


def test_a_protocol_0_pickle_is_scanned_when_its_name_says_pickle():
    data = pickle.dumps(Shell(), protocol=0)
    assert inspect_bytes(data, "model.pkl") == Inspection(
        "pickle", {"protocol": None, "pickles": 1, "globals": ["posix.system"]}, "dangerous", ["posix.system"]
    )


def _short_unicode(text: str) -> bytes:
    encoded = text.encode()
    return b"\x8c" + bytes([len(encoded)]) + encoded


def test_a_stack_global_built_from_the_memo_is_resolved():
    # "os" and "system" are pushed, memoised and popped; later fetched from the memo for STACK_GLOBAL
    data = (
        b"\x80\x04"
        + _short_unicode("os")
        + b"\x94"  # MEMOIZE 0
        + _short_unicode("system")
        + b"\x94"  # MEMOIZE 1
        + b"00"  # POP POP
        + b"h\x00h\x01"  # BINGET 0, BINGET 1
        + b"\x93"  # STACK_GLOBAL
        + _short_unicode("echo pwned")
        + b"\x85R."  # TUPLE1 REDUCE STOP
    )
    assert inspect_bytes(data, "model.pkl") == Inspection(
        "pickle", {"protocol": 4, "pickles": 1, "globals": ["os.system"]}, "dangerous", ["os.system"]
    )


def test_a_decoy_string_between_the_names_does_not_hide_the_import():
    # a scanner that looks only at the two opcodes before STACK_GLOBAL would see "system" and "decoy"
    data = (
        b"\x80\x04"
        + _short_unicode("subprocess")
        + _short_unicode("getoutput")
        + _short_unicode("decoy")
        + b"0"  # POP
        + b"\x93"
        + _short_unicode("id")
        + b"\x85R."
    )
    inspection = inspect_bytes(data, "model.pkl")
    assert (inspection.safety, inspection.safety_globals) == ("dangerous", ["subprocess.getoutput"])


def test_a_stack_global_whose_names_cannot_be_known_is_suspicious():
    # the module name is the result of a call: the scan cannot say what it is
    data = (
        b"\x80\x04"
        + _short_unicode("builtins")
        + _short_unicode("str")
        + b"\x93"
        + _short_unicode("os")
        + b"\x85R"  # str("os"): a value the scan does not compute
        + _short_unicode("system")
        + b"\x93"
        + _short_unicode("id")
        + b"\x85R."
    )
    inspection = inspect_bytes(data, "model.pkl")
    assert (inspection.safety, inspection.safety_globals) == ("suspicious", ["unknown.system"])
    assert inspection.facts["globals"] == ["builtins.str", "unknown.system"]


def test_a_pickle_of_an_extension_code_is_suspicious():
    data = b"\x80\x02\x82\x07)R."  # EXT1 7, EMPTY_TUPLE, REDUCE
    inspection = inspect_bytes(data, "model.pkl")
    assert (inspection.safety, inspection.safety_globals) == ("suspicious", ["unknown.unknown"])


def test_a_broken_pickle_after_a_dangerous_import_stays_dangerous():
    data = pickle.dumps(Shell(), protocol=2)[:-1] + b"\xff\xff"  # STOP replaced by opcodes that do not exist
    inspection = inspect_bytes(data, "model.pkl")
    assert (inspection.format, inspection.safety, inspection.safety_globals) == (
        "pickle",
        "dangerous",
        ["posix.system"],
    )


def test_a_file_named_pt_that_is_not_a_pickle_is_unknown():
    assert inspect_bytes(b"hello, world", "model.pt") == Inspection(
        "unknown",
        {"claimed": "pytorch", "reason": "not a pickle: at position 5, opcode b',' unknown"},
        "not_applicable",
        [],
    )


def test_a_pickle_longer_than_the_scan_limit_is_cut_off_and_suspicious(monkeypatch):
    monkeypatch.setattr(pickles, "MAX_SCAN", 1000)
    data = pickle.dumps([float(i) for i in range(1000)], protocol=2)
    file = CountingFile(data)
    inspection = inspect_file(file, len(data), "model.pkl")
    assert inspection == Inspection(
        "pickle",
        {"protocol": 2, "pickles": 0, "globals": [], "cut_off": "only the first 1000 bytes of pickle were scanned"},
        "suspicious",
        [],
    )
    assert file.bytes_read <= 64 * 1024


def test_pickles_in_a_tar_are_scanned():
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as archive:
        data = pickle.dumps(Shell(), protocol=2)
        info = tarfile.TarInfo("model/weights.pkl")
        info.size = len(data)
        archive.addfile(info, io.BytesIO(data))
    inspection = inspect_bytes(buffer.getvalue(), "model.tar")
    assert (inspection.format, inspection.safety, inspection.safety_globals) == ("tar", "dangerous", ["posix.system"])
    assert inspection.facts["pickle_members"] == ["model/weights.pkl"]


def test_a_plain_zip_with_a_pickle_member_is_scanned():
    data = zip_file({"readme.txt": b"hi", "extra/state.pkl": pickle.dumps(Shell(), protocol=2)})
    inspection = inspect_bytes(data, "bundle.zip")
    assert (inspection.format, inspection.safety, inspection.safety_globals) == ("zip", "dangerous", ["posix.system"])


def test_names_that_a_pickle_makes_up_are_stored_as_valid_json_text():
    module = b"evil\x00mod"
    name = "\ud800x".encode("utf-8", "surrogatepass")
    data = (
        b"\x80\x04"
        + b"X"
        + struct.pack("<I", len(module))
        + module
        + b"X"
        + struct.pack("<I", len(name))
        + name
        + b"\x93)R."
    )
    inspection = inspect_bytes(data, "model.pkl")
    assert inspection.safety_globals == ["evil\ufffdmod.?x"]
    json.dumps(inspection.facts).encode("utf-8")


@pytest.mark.parametrize(
    ("module", "name", "level"),
    [
        ("torch._utils", "_rebuild_tensor_v2", "safe"),
        ("torch", "BFloat16Storage", "safe"),
        ("numpy.core.multiarray", "_reconstruct", "safe"),
        ("builtins", "set", "safe"),
        ("builtins", "eval", "dangerous"),
        ("__builtin__", "getattr", "dangerous"),
        ("os", "system", "dangerous"),
        ("os.path", "join", "dangerous"),
        ("subprocess", "Popen", "dangerous"),
        ("runpy", "_run_code", "dangerous"),
        ("importlib", "import_module", "dangerous"),
        ("pickle", "loads", "dangerous"),
        ("code", "InteractiveInterpreter.runcode", "dangerous"),
        ("torch", "load", "dangerous"),
        ("sklearn.linear_model", "LogisticRegression", "suspicious"),
        ("unknown", "system", "suspicious"),
    ],
)
def test_it_sorts_imports_into_safe_dangerous_and_suspicious(module, name, level):
    assert classify(module, name) == level


def test_a_checkpoint_file_named_bin_that_is_no_pickle_is_not_scanned():
    data = zip_file({"archive/data.pkl": state_dict_pickle(), "archive/extra/tokenizer.bin": b"\x00\x01tokens"})
    inspection = inspect_bytes(data, "model.pt")
    assert (inspection.safety, inspection.facts["pickle_members"]) == ("safe", ["archive/data.pkl"])


def test_a_member_named_bin_that_is_a_pickle_is_scanned():
    data = zip_file({"archive/data.pkl": state_dict_pickle(), "optimizer.bin": pickle.dumps(Shell(), protocol=2)})
    inspection = inspect_bytes(data, "model.pt")
    assert (inspection.safety, inspection.safety_globals) == ("dangerous", ["posix.system"])
    assert inspection.facts["pickle_members"] == ["archive/data.pkl", "optimizer.bin"]


def test_a_pickle_longer_than_the_first_read_is_scanned_to_its_end():
    data = pickle.dumps([float(i) for i in range(300_000)] + [Shell()], protocol=2)  # 2.7 MB, the import last
    assert len(data) > pickles.FIRST_READ
    inspection = inspect_bytes(data, "model.pkl")
    assert (inspection.safety, inspection.safety_globals, inspection.facts["pickles"]) == (
        "dangerous",
        ["posix.system"],
        1,
    )


def test_a_deflated_pickle_longer_than_the_first_read_is_scanned_to_its_end():
    data = torch_zip({"numbers": [float(i) for i in range(300_000)], "payload": Shell()}, zipfile.ZIP_DEFLATED)
    inspection = inspect_bytes(data, "model.pt")
    assert (inspection.safety, inspection.safety_globals) == ("dangerous", ["posix.system"])
    assert "cut_off" not in inspection.facts


def test_a_legacy_checkpoint_is_scanned_without_reading_its_weights():
    data = legacy_torch() + bytes(16 * 1024 * 1024)
    file = CountingFile(data)
    inspection = inspect_file(file, len(data), "model.bin")
    assert (inspection.format, inspection.safety, inspection.facts["pickles"]) == ("pytorch", "safe", 5)
    assert file.bytes_read <= pickles.FIRST_READ + 64 * 1024


def test_a_pickle_cannot_hide_a_dangerous_import_behind_thousands_of_harmless_ones():
    harmless = [f"mylib.layer{i}" for i in range(3000)]
    body = b"".join(f"c{module}\nLayer\n0".encode() for module in harmless)  # GLOBAL then POP, 3000 times
    data = b"\x80\x02" + body + pickle.dumps(Shell(), protocol=2)[2:]
    inspection = inspect_bytes(data, "model.pkl")
    assert inspection.safety == "dangerous"
    assert "posix.system" in inspection.safety_globals
    assert len(inspection.safety_globals) == 100
