"""Transfers over a bad network and a busy server: the real registry behind a proxy that misbehaves."""

from __future__ import annotations

import json
import os

import httpx
import pytest
from client.tests.conftest import random_file

from registry_client import DigestMismatch, Registry
from registry_client.errors import InvalidRequest, NetworkError, ServerError, TooManyRequests
from registry_client.transfers import LAST_PATCH, repr_digest, sha256_of

MIB = 1024 * 1024


@pytest.fixture
def pushed(registry_server, grace_key, tmp_path, profile_file):
    """grace's model with a 3 MiB version 1, pushed directly (not through the proxy)."""
    model = random_file(tmp_path / "model.bin", 3 * MIB)
    with Registry(registry_server.url, key=grace_key, progress=False) as reg:
        reg.push("big", model)
    return model


def through(proxy, key, **options):
    return Registry(proxy.url, key=key, progress=False, **options)


def test_a_download_cut_half_way_resumes_from_where_it_stopped(proxy, grace_key, pushed, tmp_path):
    proxy.faults.cut_after = 1 * MIB + 4321  # the first answer breaks off a little past 1 MiB
    proxy.faults.cuts = 1

    with through(proxy, grace_key) as reg:
        pulled = reg.pull("grace/big@1", tmp_path / "copy.bin")

    assert pulled.read_bytes() == pushed.read_bytes()
    assert len(proxy.faults.ranges) == 1
    assert proxy.faults.ranges[0].startswith("bytes=1")
    assert proxy.faults.downstream_bytes < 3 * MIB + 1 * MIB + 64 * 1024  # not the whole file twice


def test_a_partial_file_left_by_an_earlier_run_is_continued(proxy, grace_key, pushed, tmp_path):
    proxy.faults.cut_after = 2 * MIB
    proxy.faults.cuts = 1
    proxy.faults.busy_after_cut = 1  # and then the server is down: the client gives up, a partial file kept
    with through(proxy, grace_key, retries=0) as reg, pytest.raises(ServerError):
        reg.pull("grace/big@1", tmp_path / "copy.bin")
    assert not (tmp_path / "copy.bin").exists()  # never a half file under the final name
    assert list(tmp_path.glob(".copy.bin.*.partial"))
    proxy.faults.ranges.clear()
    proxy.faults.downstream_bytes = 0

    with through(proxy, grace_key) as reg:
        pulled = reg.pull("grace/big@1", tmp_path / "copy.bin")

    assert pulled.read_bytes() == pushed.read_bytes()
    assert len(proxy.faults.ranges) == 1  # one request for the rest
    assert proxy.faults.downstream_bytes < 1 * MIB + 64 * 1024  # about the missing third, not the whole file


def test_bytes_changed_on_the_way_are_detected_and_nothing_is_kept(proxy, grace_key, pushed, tmp_path):
    proxy.faults.corrupt_at = 777_777

    with through(proxy, grace_key) as reg, pytest.raises(DigestMismatch):
        reg.pull("grace/big@1", tmp_path / "copy.bin")

    assert list(tmp_path.glob("*copy.bin*")) == []


@pytest.mark.parametrize("status", [503, 429])
def test_a_busy_server_is_asked_again_after_its_retry_after(proxy, grace_key, pushed, status):
    proxy.faults.busy = 2
    proxy.faults.busy_status = status
    proxy.faults.retry_after = "1"

    with through(proxy, grace_key) as reg:
        item = reg.get("grace/big")

    assert item.name == "big"
    assert proxy.faults.requests == 3


def test_when_retries_run_out_the_servers_refusal_is_raised(proxy, grace_key, pushed):
    proxy.faults.busy = 5
    proxy.faults.retry_after = "0"
    with through(proxy, grace_key, retries=1) as reg, pytest.raises(ServerError):
        reg.get("grace/big")
    proxy.faults.busy, proxy.faults.busy_status = 5, 429
    with through(proxy, grace_key, retries=0) as reg, pytest.raises(TooManyRequests):
        reg.get("grace/big")


def test_an_upload_streams_the_file_and_the_server_checks_its_digest(registry_server, grace_key, tmp_path):
    model = random_file(tmp_path / "weights.bin", 2 * MIB)
    with Registry(registry_server.url, key=grace_key, progress=False) as reg:
        version = reg.push("streamed", model)
        item = reg.get("streamed")
    assert item.versions[0].sha256 == version.sha256
    assert version.size == 2 * MIB


# ------------------------------------------------------------ resumable uploads (tus 1.0)

RESUMABLE = {"resumable_threshold": 1 * MIB, "resumable_chunk": 1 * MIB}


def test_a_large_file_goes_up_in_resumable_chunks_and_becomes_one_version(registry_server, grace_key, tmp_path):
    model = random_file(tmp_path / "weights.bin", 3 * MIB + 12345)
    with Registry(registry_server.url, key=grace_key, progress=False, **RESUMABLE) as reg:
        version = reg.push("chunked", model, metadata={"accuracy": 0.91}, description="in pieces")

    assert version.sha256 == sha256_of(model)
    assert version.size == 3 * MIB + 12345
    assert version.metadata == {"accuracy": 0.91}
    assert version.description == "in pieces"


def test_a_resumable_push_carries_its_label(registry_server, grace_key, tmp_path):
    model = random_file(tmp_path / "weights.bin", 2 * MIB)
    with Registry(registry_server.url, key=grace_key, progress=False, **RESUMABLE) as reg:
        version = reg.push("labelled", model, label="2024-06-01")
        found = reg.version("labelled@2024-06-01")

    assert (version.label, found.ordinal) == ("2024-06-01", version.ordinal)


def test_an_upload_cut_mid_chunk_continues_from_what_the_server_kept(proxy, grace_key, tmp_path, upload_memory):
    model = random_file(tmp_path / "weights.bin", 4 * MIB)
    proxy.faults.cut_upload_after = MIB // 2  # the first chunk's connection drops half way
    proxy.faults.upload_cuts = 1

    with through(proxy, grace_key, **RESUMABLE) as reg:
        version = reg.push("flaky-link", model)

    assert version.sha256 == sha256_of(model)
    assert proxy.faults.patches[-1]["repr-digest"] == repr_digest(sha256_of(model))
    assert any(offset % MIB for offset in proxy.faults.offsets)  # it went on from inside the cut chunk
    assert proxy.faults.upstream_bytes < 6 * MIB  # at most the cut chunk and one more, not the file again
    assert not upload_memory.exists() or "flaky-link" not in upload_memory.read_text()


def test_a_push_run_again_after_a_failure_continues_the_same_upload(proxy, grace_key, tmp_path, upload_memory):
    model = random_file(tmp_path / "weights.bin", 4 * MIB)
    proxy.faults.cut_upload_after = 64 * 1024  # every chunk's link drops early, until the client gives up
    proxy.faults.upload_cuts = 1000
    with through(proxy, grace_key, retries=0, **RESUMABLE) as reg, pytest.raises(NetworkError):
        reg.push("second-run", model)
    assert upload_memory.exists()  # the unfinished upload is remembered
    proxy.faults.upload_cuts = 0
    proxy.faults.upstream_bytes = 0

    with through(proxy, grace_key, **RESUMABLE) as reg:
        version = reg.push("second-run", model)

    assert version.sha256 == sha256_of(model)
    assert proxy.faults.upstream_bytes < 4 * MIB  # the second run sent only what the first did not


@pytest.mark.parametrize(
    ("size", "chunk"),
    [(3 * MIB + 12345, 1 * MIB), (2 * MIB, 2 * MIB)],
    ids=["several chunks", "a file of one chunk"],
)
def test_a_large_push_sends_the_whole_files_digest_on_its_last_patch_only(proxy, grace_key, tmp_path, size, chunk):
    model = random_file(tmp_path / "weights.bin", size)

    with through(proxy, grace_key, resumable_threshold=1 * MIB, resumable_chunk=chunk) as reg:
        version = reg.push("hashed-on-the-way", model)

    *earlier, last = proxy.faults.patches
    assert earlier  # even a file of one chunk: its last PATCH is a small one after it
    assert [headers.get("repr-digest") for headers in earlier] == [None] * len(earlier)
    assert last["repr-digest"] == repr_digest(sha256_of(model))
    assert int(last["upload-offset"]) + int(last["content-length"]) == size
    assert 0 < int(last["content-length"]) <= LAST_PATCH
    assert version.sha256 == sha256_of(model)


def test_a_push_resumed_by_a_second_run_sends_the_digest_of_the_whole_file(proxy, grace_key, tmp_path):
    model = random_file(tmp_path / "weights.bin", 4 * MIB)
    proxy.faults.cut_upload_after = 64 * 1024
    proxy.faults.upload_cuts = 1000
    with through(proxy, grace_key, retries=0, **RESUMABLE) as reg, pytest.raises(NetworkError):
        reg.push("resumed", model)
    proxy.faults.upload_cuts = 0
    proxy.faults.patches.clear()

    with through(proxy, grace_key, **RESUMABLE) as reg:
        version = reg.push("resumed", model)

    assert int(proxy.faults.patches[0]["upload-offset"]) > 0  # it continued what the first run sent
    assert proxy.faults.patches[-1]["repr-digest"] == repr_digest(sha256_of(model))  # not the rest's digest
    assert version.sha256 == sha256_of(model)


def test_a_file_changed_between_a_failed_push_and_the_retry_starts_a_new_upload(
    registry_server, proxy, grace_key, tmp_path, upload_memory
):
    model = random_file(tmp_path / "weights.bin", 4 * MIB)
    proxy.faults.cut_upload_after = 64 * 1024
    proxy.faults.upload_cuts = 1000
    with through(proxy, grace_key, retries=0, **RESUMABLE) as reg, pytest.raises(NetworkError):
        reg.push("retrained", model)
    [abandoned] = json.loads(upload_memory.read_text()).values()
    before = model.stat().st_mtime_ns
    random_file(model, 4 * MIB)  # the same size, other bytes: retrained meanwhile
    os.utime(model, ns=(before + 10**9, before + 10**9))  # a second later, whatever the clock's resolution
    proxy.faults.upload_cuts = 0
    proxy.faults.patches.clear()

    with through(proxy, grace_key, **RESUMABLE) as reg:
        version = reg.push("retrained", model)

    assert int(proxy.faults.patches[0]["upload-offset"]) == 0  # a new upload, from the first byte
    assert version.sha256 == sha256_of(model)
    headers = {"Authorization": f"Bearer {grace_key}", "Tus-Resumable": "1.0.0"}
    assert httpx.head(registry_server.url + abandoned, headers=headers).status_code == 404  # given up
    assert json.loads(upload_memory.read_text()) == {}


def test_a_server_that_refuses_the_digest_keeps_no_version(proxy, grace_key, tmp_path, upload_memory):
    model = random_file(tmp_path / "weights.bin", 3 * MIB)
    proxy.faults.corrupt_upload_at = 500_000  # one byte flipped on the way: the file the server gets differs
    proxy.faults.upload_corruptions = 1

    with through(proxy, grace_key, **RESUMABLE) as reg:
        with pytest.raises(InvalidRequest) as refused:
            reg.push("corrupted", model)
        item = reg.get("corrupted")

    assert refused.value.envelope["value"] == 26  # digest_mismatch
    assert "repr-digest" in proxy.faults.patches[-1]
    assert item.versions == ()
    assert json.loads(upload_memory.read_text()) == {}  # nothing left to resume: the server kept nothing


def test_a_large_file_the_item_already_has_is_not_sent_again(proxy, grace_key, tmp_path):
    model = random_file(tmp_path / "weights.bin", 2 * MIB)
    with through(proxy, grace_key, **RESUMABLE) as reg:
        first = reg.push("kept", model)
        proxy.faults.patches.clear()

        again = reg.push("kept", model, alias="production")  # a version of this size: hashed first, found

        assert proxy.faults.patches == []
        assert again.ordinal == first.ordinal
        assert reg.get("kept").aliases == {"production": 1}


def test_a_large_file_under_a_taken_name_is_named_by_its_digest(proxy, grace_key, tmp_path):
    model = random_file(tmp_path / "weights.bin", 2 * MIB)
    with through(proxy, grace_key, **RESUMABLE) as reg:
        reg.push("renamed", model)
        random_file(model, 3 * MIB)  # other bytes, another size, the same name

        second = reg.push("renamed", model)

    assert second.original == f"weights-{sha256_of(model)[:8]}.bin"
    assert proxy.faults.patches[-1]["repr-digest"] == repr_digest(sha256_of(model))
