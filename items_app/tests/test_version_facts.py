"""What a version's file says about itself (issue 21, contract §9.6), end to end: read at upload on every path,
shown in the version documents, filterable, warned about on downloads and on the item page, refused when
the tenant says so, and filled in for older versions by ``manage.py inspect_versions``.

The files are real and small, written here to their formats' specs: safetensors (an 8-byte length, a JSON
header, the tensors' bytes), a PyTorch-style zip whose ``data.pkl`` is a benign pickle or one that calls
``os.system`` (written opcode by opcode, never loaded), a plain zip, and malformed ones.
"""

from __future__ import annotations

import base64
import io
import json
import math
import struct
import zipfile
from io import StringIO
from typing import Any

import httpx
import pytest
from django.core.management import call_command
from django.test import override_settings

from framework.files import storage
from framework.files.blobreader import RangedReader, open_blob
from items_app import generation
from items_app.models import Blob, TenantSettings, UploadSession, Version
from tenants_app import tenancy
from testing.helpers import (
    assert_nothing_kept,
    create_model,
    details_of,
    error_of,
    html,
    sha256_of,
    signed_in,
    stored_keys,
    upload,
    upload_raw,
    uploaded,
)

DTYPE_BYTES = {"F32": 4, "F16": 2, "BF16": 2, "I64": 8, "U8": 1}


def safetensors_file(tensors: dict[str, tuple[str, list[int]]], metadata: dict[str, str] | None = None) -> bytes:
    """A safetensors file as the format's spec lays it out: little-endian u64 header length, JSON, zeros."""
    header: dict[str, Any] = {}
    offset = 0
    for name, (dtype, shape) in tensors.items():
        length = math.prod(shape) * DTYPE_BYTES[dtype]
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [offset, offset + length]}
        offset += length
    if metadata is not None:
        header["__metadata__"] = metadata
    text = json.dumps(header).encode()
    text += b" " * (-len(text) % 8)
    return struct.pack("<Q", len(text)) + text + b"\0" * offset


SMALL_LM = {
    "embed.weight": ("F16", [64, 32]),  # 2,048
    "layer.0.weight": ("F32", [32, 32]),  # 1,024
    "layer.0.bias": ("F32", [32]),  # 32
}
SMALL_LM_PARAMETERS = 2048 + 1024 + 32

# A pickle that calls os.system('echo owned') when loaded: GLOBAL 'os system', MARK, a string, TUPLE, REDUCE.
EVIL_PICKLE = b"cos\nsystem\n(S'echo owned'\ntR."
# A benign one: an OrderedDict, as a state dict's pickle starts (GLOBAL 'collections OrderedDict', REDUCE).
BENIGN_PICKLE = b"\x80\x02ccollections\nOrderedDict\nq\x00)Rq\x01."


def torch_zip(pickle_bytes: bytes) -> bytes:
    """A ``torch.save`` zip: ``archive/data.pkl`` beside the tensors' storage files."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("archive/data.pkl", pickle_bytes)
        archive.writestr("archive/version", "3\n")
        archive.writestr("archive/data/0", b"\0" * 64)
    return buffer.getvalue()


def plain_zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("README.md", "# a model\n")
        archive.writestr("weights/part-1.bin", b"\1" * 100)
    return buffer.getvalue()


def versions_url(item: dict[str, Any]) -> str:
    return f"/v1/models/{item['_id']}/versions"


def list_models(client: Any, condition: dict[str, Any]) -> list[dict[str, Any]]:
    response = client.get("/v1/models", {"filter": json.dumps(condition), "limit": 100})
    assert response.status_code == 200, response.content
    return response.json()["docs"]


# ------------------------------------------------------------------ at upload, in the version document


def test_a_safetensors_upload_shows_its_tensors_parameters_and_dtypes(acme, owner, model, storage_backend):
    content = safetensors_file(SMALL_LM, metadata={"format": "pt"})

    version = uploaded(upload(owner, versions_url(model), "model.safetensors", content))

    assert version["format"] == "safetensors"
    assert version["safety"] == "not_applicable"
    assert version["safety_globals"] == []
    assert version["facts"]["tensors"] == 3
    assert version["facts"]["parameters"] == SMALL_LM_PARAMETERS
    assert version["facts"]["dtypes"] == {"F16": 2048, "F32": 1056}
    with tenancy.using_tenant(acme.tenant):
        assert Version.objects.get().parameters == SMALL_LM_PARAMETERS
    listed = owner.get(versions_url(model)).json()
    assert listed[0]["facts"] == version["facts"]
    assert owner.get(f"/v1/models/{model['_id']}").json()["versions"][0]["format"] == "safetensors"


def test_a_raw_upload_is_inspected_the_same_way(acme, owner, model):
    version = uploaded(upload_raw(owner, versions_url(model), "model.safetensors", safetensors_file(SMALL_LM)))

    assert (version["format"], version["facts"]["parameters"]) == ("safetensors", SMALL_LM_PARAMETERS)


def test_a_file_that_claims_a_format_but_is_malformed_is_stored_as_unknown_with_the_reason(acme, owner, model):
    huge_header = struct.pack("<Q", 2**63) + b"{}"

    version = uploaded(upload(owner, versions_url(model), "broken.safetensors", huge_header))

    assert version["format"] == "unknown"
    assert version["facts"]["reason"]
    assert version["safety"] == "not_applicable"
    assert acme.count(Version) == 1
    assert owner.get(f"{versions_url(model)}/1").status_code == 200


def test_a_plain_zip_lists_its_members(acme, owner, model):
    version = uploaded(upload(owner, versions_url(model), "bundle.zip", plain_zip()))

    assert version["format"] == "zip"
    names = [member["name"] for member in version["facts"]["members"]]
    assert names == ["README.md", "weights/part-1.bin"]


def test_a_benign_pytorch_checkpoint_is_safe(acme, owner, model):
    version = uploaded(upload(owner, versions_url(model), "model.pt", torch_zip(BENIGN_PICKLE)))

    assert (version["format"], version["safety"], version["safety_globals"]) == ("pytorch", "safe", [])


# ------------------------------------------------------------------ dangerous files


def test_a_dangerous_checkpoint_is_stored_with_its_globals_and_downloads_carry_a_warning(
    acme, owner, reader, model, storage_backend
):
    version = uploaded(upload(owner, versions_url(model), "model.pt", torch_zip(EVIL_PICKLE)))

    assert (version["format"], version["safety"]) == ("pytorch", "dangerous")
    assert "os.system" in version["safety_globals"]
    download = reader.get(f"{versions_url(model)}/1")
    assert download.status_code == 200
    assert download["X-Registry-Safety"] == "dangerous"
    assert "os.system" in download["X-Registry-Safety-Globals"]
    head = reader.head(f"{versions_url(model)}/model.pt")
    assert head["X-Registry-Safety"] == "dangerous"
    info = reader.get(f"{versions_url(model)}/1/info").json()
    assert (info["safety"], info["safety_globals"]) == ("dangerous", version["safety_globals"])


def test_a_safe_file_downloads_without_a_safety_header(acme, owner, model):
    uploaded(upload(owner, versions_url(model), "model.safetensors", safetensors_file(SMALL_LM)))

    download = owner.get(f"{versions_url(model)}/1")

    assert "X-Registry-Safety" not in download
    assert "X-Registry-Safety-Globals" not in download


def test_a_tenant_that_refuses_dangerous_uploads_answers_422_naming_the_globals_and_keeps_nothing(
    acme, admin, owner, model, storage_backend
):
    assert admin.put("/v1/settings", {"refuse_dangerous_uploads": True}, format="json").status_code == 200

    response = upload(owner, versions_url(model), "model.pt", torch_zip(EVIL_PICKLE))

    assert error_of(response) == (422, "unprocessable_content")
    assert "os.system" in details_of(response)
    assert_nothing_kept(acme)


def test_with_the_setting_on_a_safe_file_is_still_taken(acme, admin, owner, model):
    admin.put("/v1/settings", {"refuse_dangerous_uploads": True}, format="json")

    version = uploaded(upload(owner, versions_url(model), "model.pt", torch_zip(BENIGN_PICKLE)))

    assert version["safety"] == "safe"


def test_a_refused_copy_of_bytes_another_version_holds_leaves_that_version_and_its_blob(acme, admin, owner, model):
    content = torch_zip(EVIL_PICKLE)
    uploaded(upload(owner, versions_url(model), "model.pt", content))
    admin.put("/v1/settings", {"refuse_dangerous_uploads": True}, format="json")

    response = upload(owner, versions_url(model), "again.pt", content)

    assert error_of(response)[0] == 422
    assert acme.count(Version) == 1
    assert stored_keys(acme.id) == [f"{acme.id}/{sha256_of(content)}"]


# ------------------------------------------------------------------ the tenant's settings


def test_everyone_reads_the_settings_and_they_start_off(acme, reader):
    response = reader.get("/v1/settings")

    assert response.status_code == 200
    assert response.json() == {"refuse_dangerous_uploads": False, "lastmod": None, "by": None}


def test_an_admin_changes_the_settings_and_the_audit_log_says_so(acme, admin, reader):
    response = admin.put("/v1/settings", {"refuse_dangerous_uploads": True}, format="json")

    assert response.status_code == 200
    assert response.json()["refuse_dangerous_uploads"] is True
    assert response.json()["by"] == "ada"
    assert reader.get("/v1/settings").json()["refuse_dangerous_uploads"] is True
    log = admin.get("/v1/log", {"filter": json.dumps({"action": "settings"})}).json()["docs"]
    assert [entry["details"] for entry in log] == [{"refuse_dangerous_uploads": True}]


def test_only_admins_change_the_settings(acme, owner):
    response = owner.put("/v1/settings", {"refuse_dangerous_uploads": True}, format="json")

    assert error_of(response) == (403, "restricted_access_modify")
    assert acme.count(TenantSettings) == 0


@pytest.mark.parametrize(
    ("body", "named"),
    [({}, "body"), ({"refuse_dangerous_uploads": "perhaps"}, "refuse_dangerous_uploads"), ({"other": 1}, "other")],
)
def test_a_bad_settings_body_is_refused_naming_the_field(acme, admin, body, named):
    response = admin.put("/v1/settings", body, format="json")

    assert error_of(response)[0] == 400
    assert named in details_of(response)


def test_an_admin_changes_the_setting_on_the_manage_page(acme):
    page = signed_in(acme, "ada")
    assert "Refuse dangerous uploads" in html(page.get("/manage/settings/"))

    response = page.post("/manage/settings/", {"refuse_dangerous_uploads": "on"})

    assert response.status_code == 302
    assert acme.client("ada").get("/v1/settings").json()["refuse_dangerous_uploads"] is True


def test_the_manage_settings_page_is_for_admins_only(acme):
    assert signed_in(acme, "reggie").get("/manage/settings/").status_code == 403


# ------------------------------------------------------------------ filters


def test_filters_on_format_safety_and_parameters_match_the_documents(acme, owner):
    files = {
        "tiny": ("tiny.safetensors", safetensors_file({"w": ("F32", [4, 4])})),
        "small": ("small.safetensors", safetensors_file(SMALL_LM)),
        "evil": ("evil.pt", torch_zip(EVIL_PICKLE)),
        "benign": ("benign.pt", torch_zip(BENIGN_PICKLE)),
        "bundle": ("bundle.zip", plain_zip()),
        "empty": None,
    }
    for name, file in files.items():
        item = create_model(owner, name)
        if file is not None:
            uploaded(upload(owner, versions_url(item), *file))
    documents = list_models(owner, {})

    def expected(test: Any) -> list[str]:
        return sorted(doc["name"] for doc in documents if any(test(version) for version in doc["versions"]))

    conditions = [
        ({"versions.format": "safetensors"}, lambda v: v["format"] == "safetensors"),
        ({"versions.format": {"$in": ["zip", "pytorch"]}}, lambda v: v["format"] in ("zip", "pytorch")),
        ({"versions.safety": "dangerous"}, lambda v: v["safety"] == "dangerous"),
        ({"versions.safety": {"$ne": "not_applicable"}}, None),
        ({"versions.parameters": {"$gte": 1000}}, lambda v: (v["facts"].get("parameters") or 0) >= 1000),
        ({"versions.parameters": {"$lt": 1000}}, lambda v: v["facts"].get("parameters") is not None
         and v["facts"]["parameters"] < 1000),
    ]  # fmt: skip
    for condition, test in conditions:
        found = sorted(doc["name"] for doc in list_models(owner, condition))
        if test is None:  # $ne on a list field: no version has that value
            want = sorted(
                doc["name"] for doc in documents if all(v["safety"] != "not_applicable" for v in doc["versions"])
            )
        else:
            want = expected(test)
        assert found == want, condition
    assert sorted(doc["name"] for doc in list_models(owner, {"versions.safety": "dangerous"})) == ["evil"]


def test_a_filter_on_one_fact_compares_its_values(acme, owner):
    for name, tensors in (("one", {"w": ("F32", [2])}), ("three", SMALL_LM)):
        uploaded(
            upload(owner, versions_url(create_model(owner, name)), f"{name}.safetensors", safetensors_file(tensors))
        )
    create_model(owner, "none")

    def names(condition: dict[str, Any]) -> list[str]:
        return sorted(doc["name"] for doc in list_models(owner, condition))

    assert names({"versions.facts.tensors": 3}) == ["three"]
    assert names({"versions.facts.tensors": {"$gte": 1}}) == ["one", "three"]
    assert names({"versions.facts.tensors": {"$lt": 3}}) == ["one"]
    assert names({"versions.facts.architecture": "llama"}) == []


def test_a_fact_that_is_not_filterable_is_refused_naming_the_filterable_ones(acme, owner):
    response = owner.get("/v1/models", {"filter": json.dumps({"versions.facts.secret": 1})})

    assert error_of(response) == (400, "invalid_filter")
    assert "architecture" in details_of(response)


# ------------------------------------------------------------------ the item page


def test_the_item_page_shows_the_format_the_facts_and_a_warning_for_a_dangerous_file(acme, owner, model):
    uploaded(upload(owner, versions_url(model), "model.safetensors", safetensors_file(SMALL_LM)))
    uploaded(upload(owner, versions_url(model), "model.pt", torch_zip(EVIL_PICKLE)))

    page = html(signed_in(acme, "olive").get(f"/models/{model['_id']}/"))

    assert 'data-format="safetensors"' in page
    assert "3.10 K" in page  # 3,104 parameters, humanised
    assert 'data-safety="dangerous"' in page
    assert "Dangerous: loading this file runs code." in page
    assert "<code data-global>os.system</code>" in page


# ------------------------------------------------------------------ older versions, and inspection off


def forget_inspections(acme: Any) -> None:
    """As versions stored before uploads were inspected are (what migration 0019 leaves them as)."""
    with tenancy.using_tenant(acme.tenant), generation.changing("versions"):
        Version.objects.update(
            format="unknown", facts={}, safety="not_applicable", safety_globals=[], parameters=None, inspected=None
        )


def test_the_command_inspects_versions_stored_before_inspection(acme, owner, model, storage_backend):
    uploaded(upload(owner, versions_url(model), "model.safetensors", safetensors_file(SMALL_LM)))
    uploaded(upload(owner, versions_url(model), "model.pt", torch_zip(EVIL_PICKLE)))
    forget_inspections(acme)
    before = owner.get(versions_url(model)).json()
    assert [v["format"] for v in before] == ["unknown", "unknown"]
    assert before[0]["facts"]["reason"].startswith("not inspected yet")

    out = StringIO()
    call_command("inspect_versions", "--tenant", "acme", stdout=out)

    after = owner.get(versions_url(model)).json()
    assert [(v["format"], v["safety"]) for v in after] == [("safetensors", "not_applicable"), ("pytorch", "dangerous")]
    assert "acme: 2 version(s) of 2 file(s) inspected" in out.getvalue()
    assert "1 suspicious or dangerous" in out.getvalue()
    assert list_models(owner, {"versions.safety": "dangerous"})[0]["_id"] == model["_id"]
    again = StringIO()
    call_command("inspect_versions", "--tenant", "acme", "--missing", stdout=again)
    assert "acme: 0 version(s)" in again.getvalue()
    everything = StringIO()
    call_command("inspect_versions", "--all", stdout=everything)
    assert "acme: 2 version(s) of 2 file(s)" in everything.getvalue()


def test_the_command_refuses_an_unknown_tenant(acme):
    with pytest.raises(Exception, match="no tenant 'nope'"):
        call_command("inspect_versions", "--tenant", "nope", stdout=StringIO())


def test_with_inspection_off_versions_are_stored_as_unknown(acme, owner, model):
    with override_settings(INSPECT_UPLOADS=False):
        version = uploaded(upload(owner, versions_url(model), "model.pt", torch_zip(EVIL_PICKLE)))

    assert version["format"] == "unknown"
    assert "INSPECT_UPLOADS" in version["facts"]["reason"]


def test_the_same_bytes_uploaded_again_carry_the_same_facts(acme, owner, model):
    content = safetensors_file(SMALL_LM)
    first = uploaded(upload(owner, versions_url(model), "a.safetensors", content))
    other = create_model(owner, "other")

    second = uploaded(upload(owner, versions_url(other), "b.safetensors", content))

    assert second["facts"] == first["facts"]
    assert acme.count(Blob) == 1


# ------------------------------------------------------------------ reading a stored blob


def test_a_stored_blob_reads_the_same_from_any_position_on_both_stores(acme, owner, model, storage_backend):
    content = bytes(range(256)) * 4096  # 1 MiB
    uploaded(upload(owner, versions_url(model), "data.bin", content))
    key = storage.blob_key(acme.id, sha256_of(content))

    with open_blob(key, len(content)) as file:
        assert file.read(8) == content[:8]
        file.seek(700_000)
        assert file.read(100) == content[700_000:700_100]
        file.seek(-10, io.SEEK_END)
        assert file.read() == content[-10:]
        assert file.read(5) == b""


def test_small_reads_from_s3_take_few_round_trips(acme, owner, model, storage_backend):
    if storage_backend != "s3":
        pytest.skip("the ranged reader is the S3 path")
    content = b"x" * (2 * 1024 * 1024)
    uploaded(upload(owner, versions_url(model), "data.bin", content))
    raw = RangedReader(storage.blob_key(acme.id, sha256_of(content)), len(content))

    with io.BufferedReader(raw, buffer_size=256 * 1024) as file:
        for _ in range(1000):  # 1,000 reads of 100 bytes: 100,000 bytes, inside the first 256 KiB
            assert file.read(100) == b"x" * 100

    assert raw.requests == 1


# ------------------------------------------------------------------ resumable (tus) and direct (S3) uploads

TUS = {"HTTP_TUS_RESUMABLE": "1.0.0"}


def tus_upload(client: Any, item: dict[str, Any], filename: str, content: bytes) -> Any:
    """A tus upload in two chunks: the answer of the last PATCH."""
    name = base64.b64encode(filename.encode()).decode()
    created = client.post(
        f"/v1/models/{item['_id']}/uploads",
        HTTP_UPLOAD_LENGTH=str(len(content)),
        HTTP_UPLOAD_METADATA=f"filename {name}",
        **TUS,
    )
    assert created.status_code == 201, created.content
    half = len(content) // 2
    answer = None
    for start, chunk in ((0, content[:half]), (half, content[half:])):
        answer = client.generic(
            "PATCH", created["Location"], chunk, content_type="application/offset+octet-stream",
            HTTP_UPLOAD_OFFSET=str(start), **TUS,
        )  # fmt: skip
    return answer


def test_a_resumable_upload_is_inspected_when_its_last_byte_arrives(acme, owner, model, storage_backend):
    answer = tus_upload(owner, model, "model.safetensors", safetensors_file(SMALL_LM))

    assert answer.status_code == 204, answer.content
    version = owner.get(answer["Content-Location"]).json()
    assert (version["format"], version["facts"]["parameters"]) == ("safetensors", SMALL_LM_PARAMETERS)


def test_a_refused_resumable_upload_keeps_nothing(acme, admin, owner, model):
    admin.put("/v1/settings", {"refuse_dangerous_uploads": True}, format="json")

    answer = tus_upload(owner, model, "model.pt", torch_zip(EVIL_PICKLE))

    assert error_of(answer) == (422, "unprocessable_content")
    assert acme.count(UploadSession) == 0
    assert_nothing_kept(acme)


MIB = 1024 * 1024
BIG = safetensors_file({"weight": ("F32", [1536, 1024])})  # 6 MiB and a header: two parts of a direct upload


def direct_upload(client: Any, item: dict[str, Any], filename: str, content: bytes) -> Any:
    started = client.post(
        f"/v1/models/{item['_id']}/uploads/s3", {"filename": filename, "size": len(content)}, format="json"
    )
    assert started.status_code == 201, started.content
    upload = started.json()
    parts = []
    for part in upload["parts"]:
        start = (part["number"] - 1) * upload["part_size"]
        sent = httpx.put(part["url"], content=content[start : start + upload["part_size"]], timeout=30)
        assert sent.status_code == 200, sent.text
        parts.append({"number": part["number"], "etag": sent.headers["ETag"]})
    return client.post(f"/v1/models/{item['_id']}/uploads/s3/{upload['_id']}/complete", {"parts": parts}, format="json")


def test_a_direct_upload_to_s3_is_inspected_from_the_bucket(acme, owner, model, storage_backend):
    if storage_backend != "s3":
        pytest.skip("direct uploads are an S3 feature")
    with override_settings(DIRECT_UPLOAD_PART_SIZE=5 * MIB, S3_DIRECT_UPLOADS=True):
        answer = direct_upload(owner, model, "big.safetensors", BIG)

    version = uploaded(answer)
    assert (version["format"], version["facts"]["parameters"]) == ("safetensors", 1536 * 1024)


def test_a_refused_direct_upload_keeps_nothing_in_the_bucket(acme, admin, owner, model, storage_backend):
    if storage_backend != "s3":
        pytest.skip("direct uploads are an S3 feature")
    admin.put("/v1/settings", {"refuse_dangerous_uploads": True}, format="json")
    evil = padded_torch_zip(EVIL_PICKLE, 6 * MIB)

    with override_settings(DIRECT_UPLOAD_PART_SIZE=5 * MIB, S3_DIRECT_UPLOADS=True):
        answer = direct_upload(owner, model, "model.pt", evil)

    assert error_of(answer) == (422, "unprocessable_content")
    assert_nothing_kept(acme)


def padded_torch_zip(pickle_bytes: bytes, padding: int) -> bytes:
    """A ``torch.save`` zip with one large storage file (a direct upload needs more than 5 MiB)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("archive/data.pkl", pickle_bytes)
        archive.writestr("archive/data/0", b"\0" * padding)
    return buffer.getvalue()


# ------------------------------------------------------------------ GGUF and ONNX, written by their own writers


def test_gguf_and_onnx_uploads_show_their_facts_filter_on_them_and_show_on_the_page(acme, owner):
    from items_app.tests.inspection_files import gguf_file, onnx_file  # the formats' own writers (gguf, onnx)

    llama, graph = create_model(owner, "llama"), create_model(owner, "graph")
    gguf_version = uploaded(upload(owner, versions_url(llama), "tiny.gguf", gguf_file()))
    onnx_version = uploaded(upload(owner, versions_url(graph), "graph.onnx", onnx_file()))

    assert gguf_version["format"] == "gguf"
    assert (gguf_version["facts"]["architecture"], gguf_version["facts"]["context_length"]) == ("llama", 2048)
    assert gguf_version["facts"]["quantization"]["file_type"] == "Q4_K_M"
    assert onnx_version["format"] == "onnx"
    assert onnx_version["facts"]["opset"] == {"ai.onnx": 17}
    assert [entry["name"] for entry in onnx_version["facts"]["inputs"]] == ["x"]

    def names(condition: dict[str, Any]) -> list[str]:
        return sorted(doc["name"] for doc in list_models(owner, condition))

    assert names({"versions.format": "gguf", "versions.facts.architecture": "llama"}) == ["llama"]
    assert names({"versions.facts.quantization": "Q4_K_M"}) == ["llama"]
    assert names({"versions.facts.quantization": {"$regex": "^Q4"}}) == ["llama"]
    assert names({"versions.facts.context_length": {"$gte": 2048}}) == ["llama"]
    assert names({"versions.facts.producer": "tests", "versions.facts.ir_version": 10}) == ["graph"]
    assert names({"versions.facts.nodes": 1}) == ["graph"]
    assert names({"versions.parameters": 35}) == ["llama"]

    browser = signed_in(acme, "reggie")
    page = html(browser.get(f"/models/{llama['_id']}/"))
    assert 'data-format="gguf"' in page
    assert "Q4_K_M" in page
    graph_page = html(browser.get(f"/models/{graph['_id']}/"))
    assert "x: FLOAT [batch, 3]" in graph_page
