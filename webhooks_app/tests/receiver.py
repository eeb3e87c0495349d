"""A real webhook receiver on loopback for the tests and the bench: a threaded HTTP/1.1 server that checks
every delivery with the Standard Webhooks library (``standardwebhooks``), as a receiver in the field would.

Its behaviour is switched by the test: ``answer`` (the status to give), ``hold`` (an event that a request
waits for before answering), ``redirect_to`` (a Location to answer 302 with).
"""

from __future__ import annotations

import json
import ssl
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from standardwebhooks.webhooks import Webhook as Verifier


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    payload: Any  # the verified, parsed body; None if the signature did not verify
    error: str = ""

    @property
    def message_id(self) -> str:
        return self.headers["webhook-id"]


@dataclass
class Receiver:
    port: int = 0
    secret: str | None = None
    answer: int = 200
    redirect_to: str | None = None
    hold: threading.Event | None = None
    count_only: bool = False  # the bench: verify, count, keep nothing
    received: list[Received] = field(default_factory=list)
    count: int = 0
    message_ids: set[str] = field(default_factory=set)  # distinct webhook-ids received
    server_names: list[str | None] = field(default_factory=list)
    begun: int = 0  # requests that arrived, answered or not
    lock: threading.Lock = field(default_factory=threading.Lock)
    arrived: threading.Condition = field(init=False)

    def __post_init__(self) -> None:
        self.arrived = threading.Condition(self.lock)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hooks/registry"

    def verify(self, body: bytes, headers: dict[str, str]) -> tuple[Any, str]:
        if self.secret is None:
            return None, "no secret set"
        try:
            return Verifier(self.secret).verify(body, headers), ""
        except Exception as exc:
            return None, f"{type(exc).__name__}: {exc}"

    def record(self, item: Received) -> None:
        with self.arrived:
            self.count += 1
            self.message_ids.add(item.headers.get("webhook-id", ""))
            if not self.count_only:
                self.received.append(item)
            self.arrived.notify_all()

    def wait_for(self, condition: Callable[[Receiver], bool], timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        with self.arrived:
            while not condition(self):
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"the receiver waited {timeout} s in vain; it has {self.received!r}")
                self.arrived.wait(left)

    def payloads(self) -> list[Any]:
        with self.lock:
            return [item.payload for item in self.received]

    def event_types(self) -> list[str]:
        return [payload["type"] for payload in self.payloads()]


def _handler(receiver: Receiver) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        # The headers and the body go out in two writes: without TCP_NODELAY the second waits for the
        # worker's delayed ACK (40 ms on Linux), as with any receiver that leaves Nagle's algorithm on.
        disable_nagle_algorithm = True

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length)
            headers = {name.lower(): value for name, value in self.headers.items()}
            with receiver.arrived:
                receiver.begun += 1
                receiver.arrived.notify_all()
            if receiver.hold is not None:
                receiver.hold.wait(30)
            payload, error = receiver.verify(body, headers)
            receiver.record(Received(self.path, headers, body, payload, error))
            status = receiver.answer
            answer = json.dumps({"ok": 200 <= status < 300}).encode()
            self.send_response(status)
            if receiver.redirect_to is not None:
                self.send_header("Location", receiver.redirect_to)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    return Handler


@contextmanager
def running(receiver: Receiver | None = None, port: int = 0, tls: ssl.SSLContext | None = None) -> Iterator[Receiver]:
    """Serve ``receiver`` on 127.0.0.1 (``port``, or any free one) until the block ends; over TLS with ``tls``
    (the names clients asked for, SNI, go to ``receiver.server_names``)."""
    receiver = receiver or Receiver()
    server = ThreadingHTTPServer(("127.0.0.1", port), _handler(receiver))
    if tls is not None:
        tls.sni_callback = lambda connection, name, context: receiver.server_names.append(name)
        server.socket = tls.wrap_socket(server.socket, server_side=True)
    server.daemon_threads = True
    receiver.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield receiver
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)
