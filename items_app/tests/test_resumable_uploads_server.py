"""Uploads against the real server process (gunicorn, as `make run` serves it): a resumable upload whose
server is killed mid-chunk and started again, two requests appending to one upload at once, a disk that
fills up under a resumable and under a plain upload.

Each test starts its own registry on the embedded defaults in a fresh data directory, so killing it hurts
nothing else.
"""

from __future__ import annotations

import base64
import fcntl
import hashlib
import os
import resource
import signal
import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from testing.servers import free_port, made_run, registry_environment

API_TOKEN = "resumable-tests-api-token-0123456789"
PASSWORD = "plum orbit lantern 42"
MIB = 1024 * 1024
CONTENT = os.urandom(3 * MIB)
TUS = {"Tus-Resumable": "1.0.0"}


@dataclass
class Registry:
    url: str
    port: int
    environment: dict[str, str]
    data: Path


@pytest.fixture
def registry(tmp_path: Path) -> Registry:
    port = free_port()
    environment = registry_environment(tmp_path / "var", port, API_TOKEN=API_TOKEN, WEB_CONCURRENCY="2")
    return Registry(f"http://127.0.0.1:{port}", port, environment, tmp_path)


@contextmanager
def serving(registry: Registry, run: int) -> Iterator[int]:
    """The registry until the block ends; yields the gunicorn master's pid."""
    with made_run(registry.environment, registry.data / f"gunicorn-{run}.log", ports=[registry.port]) as process:
        yield process.pid


def kill_hard(master: int) -> None:
    """SIGKILL the master and its workers at once, as a power cut would: nothing gets to clean up."""
    workers = Path(f"/proc/{master}/task/{master}/children").read_text().split()
    for pid in [master, *map(int, workers)]:
        os.kill(pid, signal.SIGKILL)
    for pid in map(int, workers):
        while Path(f"/proc/{pid}").exists() and "zombie" not in Path(f"/proc/{pid}/status").read_text():
            time.sleep(0.05)


def signed_in(registry: Registry) -> dict[str, str]:
    """The owner's headers in a fresh tenant with one model."""
    tenant = {"_id": "acme", "email": "ops@example.org", "admin_username": "ada", "admin_password": PASSWORD}
    answer = httpx.post(f"{registry.url}/v1/tenants", json=tenant, headers={"Authorization": API_TOKEN})
    assert answer.status_code == 201, answer.text
    login = httpx.post(f"{registry.url}/v1/login", json={"username": "ada", "password": PASSWORD, "tenant": "acme"})
    return {"Authorization": login.json()["token"]}


def start_upload(registry: Registry, auth: dict[str, str]) -> str:
    model = httpx.post(f"{registry.url}/v1/models", json={"name": "llm"}, headers=auth).json()
    metadata = f"filename {base64.b64encode(b'llm.safetensors').decode()}"
    created = httpx.post(
        f"{registry.url}/v1/models/{model['_id']}/uploads",
        headers={**auth, **TUS, "Upload-Length": str(len(CONTENT)), "Upload-Metadata": metadata},
    )
    assert created.status_code == 201, created.text
    return f"{registry.url}{created.headers['Location']}"


def patch(location: str, auth: dict[str, str], offset: int, chunk: bytes) -> httpx.Response:
    headers = {**auth, **TUS, "Upload-Offset": str(offset), "Content-Type": "application/offset+octet-stream"}
    return httpx.patch(location, content=chunk, headers=headers, timeout=30)


def offset_of(location: str, auth: dict[str, str]) -> int:
    answer = httpx.head(location, headers={**auth, **TUS}, timeout=30)
    assert answer.status_code == 200, answer.headers
    return int(answer.headers["Upload-Offset"])


@contextmanager
def chunk_in_flight(registry: Registry, location: str, auth: dict[str, str], offset: int, sent: bytes, declared: int):
    """A PATCH whose head and first ``sent`` bytes are on their way, the rest not (yet)."""
    path = location.removeprefix(registry.url)
    head = (
        f"PATCH {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: {auth['Authorization']}\r\n"
        f"Tus-Resumable: 1.0.0\r\nUpload-Offset: {offset}\r\nContent-Type: application/offset+octet-stream\r\n"
        f"Content-Length: {declared}\r\n\r\n"
    ).encode()
    partial = registry.data / "var" / "uploads" / ".resumable" / "acme" / path.rsplit("/", 1)[-1]
    with socket.create_connection(("127.0.0.1", registry.port)) as connection:
        connection.sendall(head + sent)
        deadline = time.monotonic() + 20
        while not locked_by_the_server(partial):  # until the server is inside the chunk, holding the upload
            assert time.monotonic() < deadline, "the server never started on the chunk"
            time.sleep(0.05)
        yield connection


def locked_by_the_server(partial: Path) -> bool:
    """Whether a server process holds the upload's lock (the flock an append takes)."""
    with partial.open("rb") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        fcntl.flock(handle, fcntl.LOCK_UN)
        return False


def test_a_server_killed_mid_chunk_resumes_the_upload_from_the_last_chunk_it_recorded(registry):
    with serving(registry, 1) as master:
        auth = signed_in(registry)
        location = start_upload(registry, auth)
        assert patch(location, auth, 0, CONTENT[:MIB]).status_code == 204
        with chunk_in_flight(registry, location, auth, MIB, CONTENT[MIB : MIB + 300_000], declared=MIB):
            kill_hard(master)

    with serving(registry, 2):
        login = {"username": "ada", "password": PASSWORD, "tenant": "acme"}
        auth = {"Authorization": httpx.post(f"{registry.url}/v1/login", json=login).json()["token"]}
        resume_at = offset_of(location, auth)
        assert resume_at == MIB  # the half chunk the killed worker was writing does not count
        last = patch(location, auth, resume_at, CONTENT[resume_at:])
        assert last.status_code == 204, last.text
        version = httpx.get(f"{registry.url}{last.headers['Content-Location']}", headers=auth).json()

    assert version["sha256"] == hashlib.sha256(CONTENT).hexdigest()
    assert version["size"] == len(CONTENT)


def test_a_second_request_appending_to_the_same_upload_gets_a_409(registry):
    with serving(registry, 1):
        auth = signed_in(registry)
        location = start_upload(registry, auth)
        with chunk_in_flight(registry, location, auth, 0, CONTENT[:200_000], declared=MIB):
            second = patch(location, auth, 0, CONTENT[:MIB])
        # the first request's client hung up after 200,000 bytes: those bytes count (no chunk checksum)
        resume_at = offset_of(location, auth)

    assert second.status_code == 409
    assert second.json()["value"] == 19
    assert "another request" in second.json()["details"]
    assert 0 < resume_at <= 200_000


def limit_file_size(master: int, limit: int) -> None:
    """What the workers may write per file (the soft ``RLIMIT_FSIZE``): a full disk, as far as their writes
    see (Python ignores SIGXFSZ, so a write past it fails with EFBIG)."""
    for pid in map(int, Path(f"/proc/{master}/task/{master}/children").read_text().split()):
        _soft, hard = resource.prlimit(pid, resource.RLIMIT_FSIZE)
        resource.prlimit(pid, resource.RLIMIT_FSIZE, (limit, hard))


def test_a_full_disk_refuses_the_chunk_with_507_and_keeps_what_was_stored(registry):
    with serving(registry, 1) as master:
        auth = signed_in(registry)
        location = start_upload(registry, auth)
        assert patch(location, auth, 0, CONTENT[:MIB]).status_code == 204
        limit_file_size(master, MIB + 200_000)  # the next chunk does not fit

        refused = patch(location, auth, MIB, CONTENT[MIB : 2 * MIB])
        kept = offset_of(location, auth)
        limit_file_size(master, resource.RLIM_INFINITY)  # room again
        last = patch(location, auth, kept, CONTENT[kept:])

    assert refused.status_code == 507
    assert refused.json()["value"] == 31
    assert f"keeps its first {MIB} bytes" in refused.json()["details"]
    assert kept == MIB
    assert last.status_code == 204


def test_a_plain_upload_on_a_full_disk_is_a_507_and_leaves_nothing(registry):
    with serving(registry, 1) as master:
        auth = signed_in(registry)
        model = httpx.post(f"{registry.url}/v1/models", json={"name": "llm"}, headers=auth).json()
        limit_file_size(master, MIB)
        headers = {
            **auth,
            "Content-Type": "application/octet-stream",
            "Content-Disposition": 'attachment; filename="x"',
        }
        refused = httpx.post(f"{registry.url}/v1/models/{model['_id']}/versions", content=CONTENT, headers=headers)
        limit_file_size(master, resource.RLIM_INFINITY)
        versions = httpx.get(f"{registry.url}/v1/models/{model['_id']}/versions", headers=auth).json()
        accepted = httpx.post(f"{registry.url}/v1/models/{model['_id']}/versions", content=CONTENT, headers=headers)

    assert refused.status_code == 507
    assert refused.json()["details"] == "disk: the server has no room left for this upload; nothing was kept"
    assert versions == []
    assert list((registry.data / "var" / "uploads" / ".incoming").iterdir()) == []
    assert accepted.status_code == 201
