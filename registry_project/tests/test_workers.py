"""gunicorn as `make run` starts it spreads clients that keep their connections over its workers
(``registry_project.server.workers``), and its access log names the worker of each request but never a
request header (the Authorization header carries tokens)."""

from __future__ import annotations

import http.client
import json
import os
import re
import socket
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from registry_project.server.workers import Board
from testing.servers import free_port, gunicorn, registry_environment, wait_until_serving

ACCESS_LINE = re.compile(r'"GET /v1/version\?client=(\d+) HTTP/1.1" 200 .* <(\d+)>$')
TOKEN = "JWT never-in-the-access-log-0123456789"  # made up: it must not reach the log


@pytest.fixture
def two_workers(tmp_path: Path) -> Iterator[tuple[int, Path]]:
    port = free_port()
    log = tmp_path / "gunicorn.log"
    environment = registry_environment(tmp_path / "data", port, WEB_CONCURRENCY="2")
    # as `make run` starts it, with a worker that waits longer for a starved neighbour (testing/workers.py)
    with gunicorn(environment, log, "--worker-class", "testing.workers.PatientBalancedThreadWorker", ports=[port]):
        _wait_until_serving(log, workers=2)
        yield port, log


def _wait_until_serving(log: Path, workers: int) -> None:
    wait_until_serving(log, workers)
    time.sleep(0.5)  # each worker is then waiting on the socket, as on a server that has been up a while


def _workers_by_client(log: Path, clients: range) -> dict[int, set[str]]:
    deadline = time.monotonic() + 10
    while True:
        found: dict[int, set[str]] = {}
        for line in log.read_text().splitlines():
            match = ACCESS_LINE.search(line)
            if match and int(match[1]) in clients:
                found.setdefault(int(match[1]), set()).add(match[2])
        if len(found) == len(clients) or time.monotonic() > deadline:
            return found
        time.sleep(0.1)


def _four_scripts_keeping_their_connections(port: int, clients: range) -> None:
    connections = []
    for client in clients:  # one after another, as scripts start
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        for _ in range(2):  # the second request comes on the kept connection
            connection.request("GET", f"/v1/version?client={client}")
            response = connection.getresponse()
            response.read()
            assert response.status == 200
        connections.append(connection)
        time.sleep(0.05)
    for connection in connections:
        connection.close()


def test_four_clients_keeping_their_connections_get_two_workers_each_two_every_time(two_workers):
    port, log = two_workers
    for clients in (range(4), range(4, 8)):  # plain gthread splits 2 : 2 now and then by chance, rarely twice
        _four_scripts_keeping_their_connections(port, clients)

        workers = _workers_by_client(log, clients)

        assert all(len(pids) == 1 for pids in workers.values()), workers  # each client kept one connection
        assert sorted(Counter(next(iter(pids)) for pids in workers.values()).values()) == [2, 2], workers
        time.sleep(1.5)  # the workers count the closed connections out before the next scripts start


def test_the_access_log_names_the_worker_of_each_request_but_never_the_token(two_workers):
    port, log = two_workers
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    connection.request("GET", "/v1/version?client=0", headers={"Authorization": TOKEN})
    connection.getresponse().read()
    connection.close()

    (pids,) = _workers_by_client(log, range(1)).values()
    text = log.read_text()

    assert pids <= set(re.findall(r"Booting worker with pid: (\d+)", text))
    assert TOKEN.split()[1] not in text


def test_a_worker_knows_whether_another_holds_fewer_connections():
    board = Board(slots=4)
    first, second = board.claim(os.getpid()), board.claim(os.getppid())
    board.publish(first, 2)
    board.publish(second, 1)

    assert board.someone_holds_fewer(first)
    assert not board.someone_holds_fewer(second)


def test_the_slot_of_a_worker_that_is_gone_is_nobodys_better_choice_and_is_reused():
    board = Board(slots=2)
    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, check=True)
    mine = board.claim(os.getpid())
    stale = board.claim(int(gone.stdout))
    board.publish(mine, 3)

    assert not board.someone_holds_fewer(mine)
    assert board.claim(os.getppid()) == stale


def raw_answer(port: int, request: bytes) -> tuple[str, dict[str, str], bytes]:
    """Send ``request`` as bytes (what http.client would refuse to send) and read the whole answer."""

    with socket.create_connection(("127.0.0.1", port), timeout=10) as connection:
        connection.sendall(request)
        data = b""
        while chunk := connection.recv(65536):
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    status, *lines = head.decode("latin-1").split("\r\n")
    headers = {name.lower(): value.strip() for name, _, value in (line.partition(":") for line in lines)}
    if headers.get("transfer-encoding") == "chunked":
        body = _unchunked(body)
    json.loads(body)  # always the envelope
    return status, headers, body


def _unchunked(body: bytes) -> bytes:
    whole = b""
    while body:
        size, _, body = body.partition(b"\r\n")
        length = int(size, 16)
        whole, body = whole + body[:length], body[length + 2 :]
        if not length:
            break
    return whole


@pytest.mark.parametrize(
    ("request_bytes", "status", "value"),
    [
        (b"GET /v1/models?filter=" + b"x" * 9000 + b" HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n", "414", 32),
        (b"GET /v1/info HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: " + b"y" * 9000 + b"\r\n\r\n", "431", 33),
        (b"GET /v1/info HTTP/1.1\r\nHost: 127.0.0.1\r\nBad Header: x\r\n\r\n", "400", 4),
        (b"GET /v1/info HTTP/1.1\r\nHost: evil.example.org\r\nConnection: close\r\n\r\n", "400", 4),
    ],
    ids=["request-line-too-long", "header-too-large", "malformed-header", "unknown-host"],
)
def test_requests_the_server_refuses_before_django_get_the_json_envelope(two_workers, request_bytes, status, value):
    port, _log = two_workers

    line, headers, body = raw_answer(port, request_bytes)

    assert line.split(" ")[1] == status
    assert headers["content-type"] == "application/json"
    assert f'"value": {value}'.encode() in body or f'"value":{value}'.encode() in body


@pytest.fixture
def one_small_worker(tmp_path: Path) -> Iterator[int]:
    """One worker with two request threads: idle connections would take both at once."""
    port = free_port()
    log = tmp_path / "gunicorn.log"
    environment = registry_environment(tmp_path / "data", port, WEB_CONCURRENCY="1", GUNICORN_THREADS="2")
    with gunicorn(environment, log, ports=[port]):
        wait_until_serving(log, workers=1)
        yield port


def test_connections_that_send_nothing_cost_no_thread_and_others_are_answered_at_once(one_small_worker):

    port = one_small_worker
    idle = [socket.create_connection(("127.0.0.1", port)) for _ in range(100)]
    try:
        time.sleep(0.3)  # every idle connection has been accepted
        # gthread gave each new connection a thread for up to 5 s: behind 100 idle ones, on two threads, this
        # request waited minutes and timed out here
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        connection.request("GET", "/v1/version")
        answer = connection.getresponse()
        answer.read()
    finally:
        for sock in idle:
            sock.close()

    assert answer.status == 200


@pytest.fixture
def impatient_worker(tmp_path: Path) -> Iterator[int]:
    """One worker with two request threads that waits 2 s for a request head and for each read of a body."""
    port = free_port()
    log = tmp_path / "gunicorn.log"
    environment = registry_environment(
        tmp_path / "data",
        port,
        WEB_CONCURRENCY="1",
        GUNICORN_THREADS="2",
        REQUEST_HEAD_TIMEOUT="2s",
        CLIENT_TIMEOUT="2s",
    )
    with gunicorn(environment, log, ports=[port]):
        wait_until_serving(log, workers=1)
        yield port


def _answer_of(connection: socket.socket) -> tuple[str, dict[str, str], dict[str, object]]:
    """Everything the server sends until it closes the connection: status, headers, the JSON body."""
    data = b""
    while chunk := connection.recv(65536):
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    status, *lines = head.decode("latin-1").split("\r\n")
    headers = {name.lower(): value.strip() for name, _, value in (line.partition(":") for line in lines)}
    return status.split(" ")[1], headers, json.loads(body)


HALF_A_HEAD = b"GET /v1/version HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: slow"


def test_connections_sending_their_heads_slowly_cost_no_thread_and_others_are_answered(impatient_worker):
    port = impatient_worker
    slow = [socket.create_connection(("127.0.0.1", port)) for _ in range(6)]
    try:
        for sock in slow:
            sock.sendall(HALF_A_HEAD)  # and nothing more for now, as a slowloris client does
        time.sleep(0.3)  # every slow head has reached the server
        # gthread gave each of them a thread that waited for the rest of the head without a limit: the two
        # threads were taken, and this request waited until the client below gave up
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        connection.request("GET", "/v1/version")
        answer = connection.getresponse()
        answer.read()
    finally:
        for sock in slow:
            sock.close()

    assert answer.status == 200


def test_a_head_not_complete_in_time_is_answered_408_and_the_connection_closes(impatient_worker):
    with socket.create_connection(("127.0.0.1", impatient_worker), timeout=30) as connection:
        connection.sendall(HALF_A_HEAD)

        status, headers, body = _answer_of(connection)

    assert status == "408"
    assert headers["connection"] == "close"
    assert body["value"] == 36
    assert "head" in str(body["details"])


def test_a_body_that_stops_arriving_is_answered_408(impatient_worker):
    with socket.create_connection(("127.0.0.1", impatient_worker), timeout=30) as connection:
        connection.sendall(
            b"POST /v1/login HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            b'Content-Length: 100\r\n\r\n{"username": "ad'
        )

        status, headers, body = _answer_of(connection)

    assert status == "408", body
    assert headers["connection"] == "close"
    assert "body" in str(body["details"])


def test_a_client_that_sends_its_whole_body_before_reading_reads_the_413(impatient_worker):
    # Python's http.client (and requests) send the whole body, then read: a server that closed the connection
    # early with the body unread made the kernel answer the rest with a reset, and the 413 was lost.
    connection = http.client.HTTPConnection("127.0.0.1", impatient_worker, timeout=30)
    connection.request(
        "POST", "/v1/login", body=b"{" + b" " * (64 * 1024 * 1024) + b"}", headers={"Content-Type": "application/json"}
    )
    answer = connection.getresponse()
    body = json.loads(answer.read())

    assert answer.status == 413
    assert answer.getheader("Connection") == "close"
    assert body["value"] == 22


def test_a_head_larger_than_the_server_takes_is_refused_with_431(impatient_worker):
    with socket.create_connection(("127.0.0.1", impatient_worker), timeout=30) as connection:
        connection.sendall(b"GET /v1/version HTTP/1.1\r\nHost: 127.0.0.1\r\n" + b"X-Filler: yyyyyyy\r\n" * 5000)

        status, _headers, body = _answer_of(connection)

    assert status == "431"
    assert body["value"] == 33


def test_a_kept_connection_that_sends_half_its_next_head_is_answered_408(impatient_worker):
    with socket.create_connection(("127.0.0.1", impatient_worker), timeout=30) as connection:
        connection.sendall(b"GET /v1/version HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        first = connection.recv(65536)
        connection.sendall(HALF_A_HEAD)  # the next request on the kept connection, never finished

        status, _headers, body = _answer_of(connection)

    assert first.startswith(b"HTTP/1.1 200")
    assert status == "408"
    assert body["value"] == 36


def test_a_stopping_server_does_not_wait_for_connections_still_sending_their_heads(tmp_path):
    port = free_port()
    log = tmp_path / "gunicorn.log"
    environment = registry_environment(tmp_path / "data", port, REQUEST_HEAD_TIMEOUT="60s")
    with gunicorn(environment, log, ports=[port]) as server:
        wait_until_serving(log, workers=1)
        idle = [socket.create_connection(("127.0.0.1", port)) for _ in range(5)]
        slow = [socket.create_connection(("127.0.0.1", port)) for _ in range(5)]
        for sock in slow:
            sock.sendall(HALF_A_HEAD)
        time.sleep(0.3)  # all of them are with the worker

        server.terminate()
        # gthread's threads waited on the slow heads until the graceful timeout (30 s) ran out
        stopped = server.wait(timeout=20)

    for sock in idle + slow:
        sock.close()
    assert stopped == 0
