"""What a file says about itself (items_app.inspection): real small files of each format, written with the
formats' own writers, and hostile ones. The readers are pure: no database, no Django."""

from __future__ import annotations

import json
import struct
import tarfile
import zipfile
from io import BytesIO

import pytest

from items_app.inspection import Inspection, inspect_file
from items_app.tests.inspection_files import (
    CountingFile,
    gguf_file,
    gguf_header,
    gguf_string,
    inspect_bytes,
    onnx_file,
    safetensors_file,
    safetensors_with_header,
    zip_file,
)

NONE = "not_applicable"


def unknown(claimed: str, reason: str) -> Inspection:
    return Inspection("unknown", {"claimed": claimed, "reason": reason}, NONE, [])


# ------------------------------------------------------------------------------------------ safetensors


def test_it_reads_tensors_parameters_dtypes_and_metadata_of_a_safetensors_file():
    assert inspect_bytes(safetensors_file(), "model.safetensors") == Inspection(
        "safetensors",
        {
            "tensors": 2,
            "parameters": 9,
            "dtypes": {"F16": 3, "F32": 6},
            "metadata": {"format": "np", "license": "mit"},
        },
        NONE,
        [],
    )


def test_it_knows_a_safetensors_file_by_its_bytes_whatever_its_name():
    assert inspect_bytes(safetensors_file(), "weights.bin").format == "safetensors"


def test_it_refuses_a_safetensors_header_length_of_2_to_the_63():
    data = safetensors_with_header(b"{}", length=2**63)
    assert inspect_bytes(data, "model.safetensors") == unknown(
        "safetensors", "header length 9223372036854775808 is over the format's limit of 100000000 bytes"
    )


def test_it_refuses_a_safetensors_header_longer_than_the_file():
    data = safetensors_with_header(b'{"a": 1}', length=100)
    assert inspect_bytes(data, "model.safetensors") == unknown(
        "safetensors", "header length 100 runs past the end of the file"
    )


def test_it_refuses_a_file_too_short_for_the_header_length():
    assert inspect_bytes(b"\x01\x00", "model.safetensors") == unknown(
        "safetensors", "the file is shorter than the 8-byte header length"
    )


def test_it_refuses_deeply_nested_safetensors_metadata():
    nested = b'{"__metadata__": {"a": ' + b"[" * 100_000 + b"]" * 100_000 + b"}}"
    assert inspect_bytes(safetensors_with_header(nested), "model.safetensors") == unknown(
        "safetensors", "the header is nested too deeply"
    )


def test_it_refuses_metadata_that_is_not_strings():
    header = b'{"__metadata__": {"a": [[["x"]]]}}'
    assert inspect_bytes(safetensors_with_header(header), "model.safetensors") == unknown(
        "safetensors", "__metadata__ is not an object of strings"
    )


def test_it_refuses_a_header_of_millions_of_tiny_entries_before_parsing_it():
    header = b'{"a": [' + b"[]," * 2_000_000 + b"[]]}"
    assert inspect_bytes(safetensors_with_header(header), "model.safetensors") == unknown(
        "safetensors", "the header has too many entries"
    )


def test_it_refuses_a_tensor_whose_bytes_do_not_match_its_shape():
    header = json.dumps({"w": {"dtype": "F32", "shape": [2, 3], "data_offsets": [0, 20]}}).encode()
    assert inspect_bytes(safetensors_with_header(header, bytes(20)), "m.safetensors") == unknown(
        "safetensors", "tensor 'w': 20 bytes do not hold 6 F32 values"
    )


def test_it_refuses_a_tensor_outside_the_data():
    header = json.dumps({"w": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}}).encode()
    assert inspect_bytes(safetensors_with_header(header, bytes(4)), "m.safetensors") == unknown(
        "safetensors", "tensor 'w': data_offsets 0..8 are outside the data"
    )


def test_it_keeps_a_bounded_part_of_long_metadata():
    header = json.dumps({"__metadata__": {f"k{i:03}": "v" * 3000 for i in range(150)}}).encode()
    facts = inspect_bytes(safetensors_with_header(header), "m.safetensors").facts
    assert len(facts["metadata"]) == 100
    assert facts["metadata"]["k000"] == "v" * 2000 + "…"


# ------------------------------------------------------------------------------------------------- ONNX


def test_it_reads_versions_producer_inputs_outputs_and_nodes_of_an_onnx_model():
    assert inspect_bytes(onnx_file(), "model.onnx") == Inspection(
        "onnx",
        {
            "ir_version": 10,
            "opset": {"ai.onnx": 17},
            "producer": {"name": "tests", "version": "1.0"},
            "inputs": [{"name": "x", "type": "FLOAT", "shape": ["batch", 3]}],
            "outputs": [{"name": "y", "type": "FLOAT", "shape": ["batch", 2]}],
            "nodes": 1,
            "initializers": 1,
            "parameters": 6,
            "metadata": {"author": "reggie"},
        },
        NONE,
        [],
    )


def test_its_onnx_facts_agree_with_the_onnx_package():
    import onnx

    data = onnx_file()
    model = onnx.load_from_string(data)
    facts = inspect_bytes(data, "model.onnx").facts
    assert facts["ir_version"] == model.ir_version
    assert facts["opset"] == {(o.domain or "ai.onnx"): o.version for o in model.opset_import}
    assert facts["nodes"] == len(model.graph.node)
    assert [i["name"] for i in facts["inputs"]] == [i.name for i in model.graph.input]


def test_it_reads_an_onnx_model_without_reading_its_weights():
    data = onnx_file(weights=3 * 300_000)  # 3.6 MB of initializer
    file = CountingFile(data)
    inspection = inspect_file(file, len(data), "model.onnx")
    assert inspection.facts["parameters"] == 900_000
    assert file.bytes_read < 200_000


def test_it_calls_a_truncated_onnx_model_unknown():
    data = onnx_file()
    assert inspect_bytes(data[: len(data) - 30], "model.onnx") == unknown(
        "onnx", "a protobuf field runs past its message"
    )


def test_it_calls_a_file_named_onnx_that_is_not_protobuf_unknown():
    assert inspect_bytes(b"hello, world", "model.onnx") == unknown(
        "onnx", "protobuf wire type 4 is not read (groups are not used by ONNX)"
    )


def test_it_calls_a_protobuf_without_a_graph_unknown():
    assert inspect_bytes(b"\x08\x07", "model.onnx") == unknown("onnx", "no ir_version or no graph: not an ONNX model")


# ------------------------------------------------------------------------------------------------- GGUF


def test_it_reads_version_architecture_parameters_quantization_and_context_of_a_gguf_file():
    assert inspect_bytes(gguf_file(), "model.gguf") == Inspection(
        "gguf",
        {
            "version": 3,
            "architecture": "llama",
            "name": "tiny",
            "parameters": 35,
            "tensors": 2,
            "quantization": {"file_type": "Q4_K_M", "tensor_types": ["F16", "F32"]},
            "context_length": 2048,
            "metadata": {
                "general.architecture": "llama",
                "general.name": "tiny",
                "llama.context_length": 2048,
                "general.file_type": 15,
                "llama.rope.dims": [1, 2, 3],
            },
        },
        NONE,
        [],
    )


def test_it_reads_past_a_big_vocabulary_without_keeping_it():
    data = gguf_file({"tokenizer.ggml.merges": [f"a{i} b{i}" for i in range(20_000)]})
    inspection = inspect_bytes(data, "model.gguf")
    assert inspection.format == "gguf"
    assert "tokenizer.ggml.merges" not in inspection.facts["metadata"]


def test_it_refuses_a_gguf_file_claiming_2_to_the_60_tensors_reading_almost_nothing():
    data = gguf_header(tensors=2**60) + bytes(1000)
    file = CountingFile(data)
    assert inspect_file(file, len(data), "model.gguf") == unknown(
        "gguf", f"a tensor count of {2**60} is more than the file can hold or the limit"
    )
    assert file.bytes_read <= len(data)


def test_it_refuses_a_gguf_key_of_2_to_the_62_bytes():
    data = gguf_header(key_values=1, rest=gguf_string(b"general.name", length=2**62) + bytes(64))
    assert inspect_bytes(data, "model.gguf") == unknown("gguf", f"a string of {2**62} bytes is over the limit of 65535")


def test_it_refuses_a_gguf_array_longer_than_the_file():
    array = struct.pack("<IIQ", 9, 4, 2**40)  # an array of 2^40 u32
    data = gguf_header(key_values=1, rest=gguf_string(b"k") + array + bytes(16))
    assert inspect_bytes(data, "model.gguf") == unknown(
        "gguf", f"an array of {2**40} elements is over the limit of 100000000"
    )


def test_it_refuses_gguf_arrays_nested_too_deeply():
    nested = b"".join(struct.pack("<IQ", 9, 1) for _ in range(5)) + struct.pack("<IQ", 4, 0)
    data = gguf_header(key_values=1, rest=gguf_string(b"k") + struct.pack("<I", 9) + nested)
    assert inspect_bytes(data, "model.gguf") == unknown("gguf", "arrays are nested more than 3 deep")


def test_it_refuses_a_truncated_gguf_header():
    data = gguf_file()
    assert inspect_bytes(data[:120], "model.gguf") == unknown(
        "gguf", "a length of 20 bytes runs past the end of the file"
    )
    assert inspect_bytes(data[:400], "model.gguf") == unknown(
        "gguf", "an array of 100 elements runs past the end of the file"
    )


def test_it_refuses_gguf_versions_it_does_not_read():
    assert inspect_bytes(gguf_header(version=1) + bytes(64), "m.gguf") == unknown(
        "gguf", "GGUF version 1 is not read (2 and 3 are)"
    )


# -------------------------------------------------------------------------------------------------- zip


def test_it_lists_the_members_of_a_zip():
    data = zip_file({"a.txt": b"hello", "dir/b.bin": bytes(100)}, zipfile.ZIP_DEFLATED)
    compressed = [info.compress_size for info in zipfile.ZipFile(BytesIO(data)).infolist()]
    inspection = inspect_bytes(data, "bundle.zip")
    assert inspection == Inspection(
        "zip",
        {
            "entries": 2,
            "members": [
                {"name": "a.txt", "size": 5, "compressed_size": compressed[0]},
                {"name": "dir/b.bin", "size": 100, "compressed_size": compressed[1]},
            ],
            "total_size": 105,
            "truncated": False,
        },
        NONE,
        [],
    )


def test_it_lists_the_first_thousand_members_and_says_it_cut_the_list():
    data = zip_file({f"f{i:05}": b"x" for i in range(2500)})
    facts = inspect_bytes(data, "bundle.zip").facts
    assert (facts["entries"], len(facts["members"]), facts["total_size"], facts["truncated"]) == (
        2500,
        1000,
        2500,
        True,
    )


def _central_directory_claiming(entries: int, sizes: int) -> bytes:
    """A ZIP64 archive of one real member whose directory claims ``entries`` members, the member ``sizes``
    bytes big."""
    data = zip_file({"bomb.bin": b"0"})
    eocd = data.rfind(b"PK\x05\x06")
    cd_size, cd_offset = struct.unpack_from("<II", data, eocd + 12)
    central = bytearray(data[cd_offset : cd_offset + cd_size])
    central[20:28] = struct.pack("<II", 0xFFFFFFFF, 0xFFFFFFFF)  # sizes in the ZIP64 extra field
    extra = struct.pack("<HHQQ", 1, 16, sizes, sizes)
    central[30:32] = struct.pack("<H", len(extra))
    central += extra
    body = data[:cd_offset] + bytes(central)
    record_offset = len(body)
    record = b"PK\x06\x06" + struct.pack("<QHHIIQQQQ", 44, 45, 45, 0, 0, entries, entries, len(central), cd_offset)
    locator = b"PK\x06\x07" + struct.pack("<IQI", 0, record_offset, 1)
    end = b"PK\x05\x06" + struct.pack("<HHHHIIH", 0, 0, 0xFFFF, 0xFFFF, 0xFFFFFFFF, 0xFFFFFFFF, 0)
    return body + record + locator + end


def test_it_reports_a_zip_directory_claiming_millions_of_members_and_absurd_sizes():
    data = _central_directory_claiming(entries=5_000_000_000, sizes=2**62)
    file = CountingFile(data)
    assert inspect_file(file, len(data), "bomb.zip") == Inspection(
        "zip",
        {
            "entries": 5_000_000_000,
            "members": [{"name": "bomb.bin", "size": 2**62, "compressed_size": 2**62}],
            "total_size": 2**62,
            "truncated": True,
            "damaged": "the central directory holds 1 of the 5000000000 entries it claims",
        },
        NONE,
        [],
    )
    assert file.bytes_read <= 2 * len(data)


def test_it_refuses_a_zip_whose_directory_is_past_its_end():
    data = bytearray(zip_file({"a": b"x"}))
    eocd = data.rfind(b"PK\x05\x06")
    data[eocd + 16 : eocd + 20] = struct.pack("<I", 10_000_000)
    assert inspect_bytes(bytes(data), "a.zip") == unknown(
        "zip",
        f"the central directory ({struct.unpack_from('<I', data, eocd + 12)[0]} bytes at 10000000) runs "
        "past the end of the file",
    )


def test_it_refuses_a_zip_without_an_end_of_directory():
    assert inspect_bytes(b"PK\x03\x04" + bytes(100), "a.zip") == unknown("zip", "no end of central directory record")


# -------------------------------------------------------------------------------------------------- tar


def test_it_lists_the_members_of_a_tar():
    buffer = BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as archive:
        for name, size in (("model/config.json", 10), ("model/weights.bin", 5000)):
            info = tarfile.TarInfo(name)
            info.size = size
            archive.addfile(info, BytesIO(bytes(size)))
    assert inspect_bytes(buffer.getvalue(), "model.tar") == Inspection(
        "tar",
        {
            "members": [
                {"name": "model/config.json", "size": 10, "type": "file"},
                {"name": "model/weights.bin", "size": 5000, "type": "file"},
            ],
            "total_size": 5010,
            "truncated": False,
        },
        NONE,
        [],
    )


def test_it_refuses_a_file_named_tar_that_is_not_one():
    assert inspect_bytes(b"x" * 1000, "model.tar") == unknown("tar", "not a readable tar: invalid header")


# -------------------------------------------------------------------------------------- detection, bounds


@pytest.mark.parametrize("name", ["notes.txt", "weights.bin", "README"])
def test_a_file_of_no_format_it_reads_is_unknown_without_a_claim(name):
    assert inspect_bytes(b"just some text\n", name) == Inspection("unknown", {}, NONE, [])


def test_an_empty_file_is_unknown():
    assert inspect_bytes(b"", "model.safetensors") == unknown(
        "safetensors", "the file is shorter than the 8-byte header length"
    )


def test_every_inspection_is_json_and_never_holds_nul_characters():
    header = json.dumps({"__metadata__": {"a\u0000b": "c\u0000d"}}).encode()
    inspection = inspect_bytes(safetensors_with_header(header), "m.safetensors")
    text = json.dumps(inspection.facts)
    assert "\\u0000" not in text
    assert inspection.facts["metadata"] == {"a\ufffdb": "c\ufffdd"}


def test_damaged_copies_of_every_format_never_raise_and_always_give_json():
    import random

    samples = {
        "m.safetensors": safetensors_file(),
        "m.onnx": onnx_file(),
        "m.gguf": gguf_file(),
        "m.zip": zip_file({"a.txt": b"x" * 50, "b.pkl": b"\x80\x02]q\x00."}, zipfile.ZIP_DEFLATED),
    }
    rng = random.Random(21)  # noqa: S311 -- reproducible damage, not secrecy
    for _ in range(400):
        name = rng.choice(sorted(samples))
        data = bytearray(samples[name])
        for _ in range(rng.randint(1, 6)):
            if rng.random() < 0.7:
                data[rng.randrange(len(data))] = rng.randrange(256)
            else:
                del data[rng.randrange(len(data)) :]
                data += b"\x00"
        inspection = inspect_bytes(bytes(data), name)
        assert inspection.format in ("unknown", name.rsplit(".", 1)[1])
        json.dumps(inspection.facts, allow_nan=False)


def test_facts_of_a_hostile_size_are_cut_to_their_bound():
    from onnx import TensorProto, helper

    # 100 inputs of 8 dimensions, each named by 500 characters: 400 KB of facts
    inputs = [
        helper.make_tensor_value_info(f"x{i}", TensorProto.FLOAT, [f"{d}{'n' * 499}" for d in range(8)])
        for i in range(100)
    ]
    graph = helper.make_graph([], "g", inputs, [])
    model = helper.make_model(graph, producer_name="tests", opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 10
    facts = inspect_bytes(model.SerializeToString(), "model.onnx").facts
    assert facts == {
        "ir_version": 10,
        "opset": {"ai.onnx": 17},
        "producer": {"name": "tests", "version": None},
        "outputs": [],
        "nodes": 0,
        "initializers": 0,
        "parameters": 0,
        "metadata": {},
        "cut": ["inputs"],
    }


def test_it_reads_a_zip64_archive():
    buffer = BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive, archive.open("big.bin", "w", force_zip64=True) as member:
        member.write(b"x" * 10)
    facts = inspect_bytes(buffer.getvalue(), "big.zip").facts
    assert facts["members"] == [{"name": "big.bin", "size": 10, "compressed_size": 10}]


def test_it_reads_sequences_custom_domains_and_skips_subgraphs_of_an_onnx_model():
    from onnx import TensorProto, helper

    branch = helper.make_graph(
        [helper.make_node("Identity", ["x"], ["z"]), helper.make_node("Identity", ["z"], ["w"])],
        "branch",
        [],
        [helper.make_tensor_value_info("w", TensorProto.FLOAT, [2])],
    )
    graph = helper.make_graph(
        [helper.make_node("If", ["c"], ["y"], then_branch=branch, else_branch=branch)],
        "g",
        [
            helper.make_tensor_value_info("c", TensorProto.BOOL, []),
            helper.make_tensor_value_info("x", TensorProto.FLOAT, [2]),
        ],
        [helper.make_tensor_sequence_value_info("y", TensorProto.INT64, None)],
    )
    model = helper.make_model(
        graph, opset_imports=[helper.make_opsetid("", 17), helper.make_opsetid("com.microsoft", 1)]
    )
    facts = inspect_bytes(model.SerializeToString(), "model.onnx").facts
    assert facts["opset"] == {"ai.onnx": 17, "com.microsoft": 1}
    assert facts["inputs"] == [
        {"name": "c", "type": "BOOL", "shape": []},
        {"name": "x", "type": "FLOAT", "shape": [2]},
    ]
    assert facts["outputs"] == [{"name": "y", "type": "sequence", "shape": None}]
    assert facts["nodes"] == 1
