"""An API key revoked through one worker process is refused by the other at its next request: nothing about
keys is cached in a process. gunicorn as `make run` starts it, two workers, each client keeping its
connection (so each stays with its worker: the access log names the worker of every request)."""

from __future__ import annotations

import http.client
import json
import re
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from testing.servers import free_port, made_run, registry_environment, wait_until_serving

ACCESS_LINE = re.compile(r'"GET /v1/info\?client=(\d+) HTTP/1.1" (\d+) .* <(\d+)>$')


@pytest.fixture
def two_workers(tmp_path: Path) -> Iterator[tuple[int, Path, str]]:
    port = free_port()
    log = tmp_path / "gunicorn.log"
    environment = registry_environment(tmp_path / "data", port, WEB_CONCURRENCY="2")
    worker = ("--worker-class", "testing.workers.PatientBalancedThreadWorker")
    with made_run(environment, log, *worker, ports=[port]):
        wait_until_serving(log, workers=2)
        secrets = json.loads((tmp_path / "data" / "secrets.json").read_text())
        password = secrets["DEFAULT_TENANT_ADMIN_TEMPORARY_PASSWORD"]
        yield port, log, password


def call(connection: http.client.HTTPConnection, method: str, path: str, authorization: str, body: object = None):
    headers = {"Authorization": authorization, "Content-Type": "application/json"}
    connection.request(method, path, body=json.dumps(body) if body is not None else None, headers=headers)
    response = connection.getresponse()
    return response.status, json.loads(response.read() or b"null")


def worker_of(log: Path, client: int) -> str:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        for line in log.read_text().splitlines():
            match = ACCESS_LINE.search(line)
            if match and int(match[1]) == client:
                return match[3]
        time.sleep(0.1)
    raise AssertionError(f"no access line for client {client}")


def test_a_revocation_in_one_worker_is_seen_by_the_other_at_once(two_workers):
    port, log, password = two_workers
    admin = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    first_login = {"username": "admin", "password": password, "new_password": f"new {password}"}  # temporary
    status, session = call(admin, "POST", "/v1/login", "", first_login)
    assert status == 200
    token = session["token"]
    status, created = call(admin, "POST", "/v1/keys", token, {"name": "deploy", "scopes": ["read"]})
    assert status == 201
    key = f"Bearer {created['key']}"
    connections = []
    for client in range(4):  # a client per connection, until two of them sit on different workers
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        assert call(connection, "GET", f"/v1/info?client={client}", key)[0] == 200
        connections.append(connection)
    workers = {client: worker_of(log, client) for client in range(4)}
    first, other = 0, next(client for client in range(1, 4) if workers[client] != workers[0])

    revoke = connections[first]
    assert call(revoke, "DELETE", f"/v1/keys/{created['_id']}", token)[0] == 200  # through the first worker

    status, refusal = call(connections[other], "GET", f"/v1/info?client={10 + other}", key)
    assert (status, refusal["details"]) == (401, "The API key is not valid.")
    assert worker_of(log, 10 + other) == workers[other]  # answered by the other worker, at its next request
    for connection in [admin, *connections]:
        connection.close()
