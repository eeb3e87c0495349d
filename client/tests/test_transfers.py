"""Transfers over a bad network and a busy server: the real registry behind a proxy that misbehaves."""

from __future__ import annotations

import pytest
from client.tests.conftest import random_file

from registry_client import DigestMismatch, Registry
from registry_client.errors import NetworkError, ServerError, TooManyRequests
from registry_client.transfers import sha256_of

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


def test_an_upload_cut_mid_chunk_continues_from_what_the_server_kept(proxy, grace_key, tmp_path, upload_memory):
    model = random_file(tmp_path / "weights.bin", 4 * MIB)
    proxy.faults.cut_upload_after = MIB // 2  # the first chunk's connection drops half way
    proxy.faults.upload_cuts = 1

    with through(proxy, grace_key, **RESUMABLE) as reg:
        version = reg.push("flaky-link", model)

    assert version.sha256 == sha256_of(model)
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
