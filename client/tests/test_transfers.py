"""Transfers over a bad network and a busy server: the real registry behind a proxy that misbehaves."""

from __future__ import annotations

import pytest
from client.tests.conftest import random_file

from registry_client import DigestMismatch, Registry
from registry_client.errors import ServerError, TooManyRequests

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
