"""A TCP proxy in front of the real registry that misbehaves on purpose, as bad networks and busy servers do.

Only the network is simulated: every request that gets through is answered by the real server. Each
connection is one request (the proxy tells the client ``Connection: close`` by closing), which keeps the
faults countable:

- ``busy``: the first N requests get ``503`` (or another status) with ``Retry-After`` instead of the server;
- ``cut_after``: the first N answers longer than that many bytes are cut there (``cuts``), and the
  ``busy_after_cut`` requests that follow a cut are refused as ``busy`` ones are;
- ``corrupt_at``: one byte of every answer body at that offset is flipped;
- ``cut_upload_after``: the first ``upload_cuts`` requests whose body goes past that many bytes lose their
  connection there, both ways (a link dropping mid-upload); ``upstream_bytes`` counts every body byte sent on;
- ``corrupt_upload_at``: the first ``upload_corruptions`` request bodies that go past that many bytes get the
  byte there flipped on their way to the server;
- ``patches``: the headers (names in lower case) of every ``PATCH`` (tus) clients sent, in order.
"""

from __future__ import annotations

import socket
import threading
from dataclasses import dataclass, field

HEAD_END = b"\r\n\r\n"


@dataclass
class Faults:
    busy: int = 0
    busy_status: int = 503
    retry_after: str = "1"
    cut_after: int | None = None
    cuts: int = 0
    busy_after_cut: int = 0
    corrupt_at: int | None = None
    requests: int = 0  # every request the proxy saw
    downstream_bytes: int = 0  # every byte of answers it passed on
    ranges: list[str] = field(default_factory=list)  # the Range headers clients sent
    cut_upload_after: int | None = None
    upload_cuts: int = 0
    upstream_bytes: int = 0  # every request body byte passed on to the server
    offsets: list[int] = field(default_factory=list)  # the Upload-Offset headers (tus) clients sent
    corrupt_upload_at: int | None = None
    upload_corruptions: int = 0
    patches: list[dict[str, str]] = field(default_factory=list)


class FaultyProxy:
    def __init__(self, upstream_port: int) -> None:
        self.upstream_port = upstream_port
        self.faults = Faults()
        self.lock = threading.Lock()
        self.listener = socket.socket()
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(64)
        self.port = self.listener.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.listener.close()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(client,), daemon=True).start()

    def _serve(self, client: socket.socket) -> None:
        with client:
            head = _read_head(client)
            if head is None:
                return
            with self.lock:
                self.faults.requests += 1
                refuse = self.faults.busy > 0
                if refuse:
                    self.faults.busy -= 1
                cut = self.faults.cut_after if self.faults.cuts > 0 else None
                for line in head.split(b"\r\n"):
                    if line.lower().startswith(b"range:"):
                        self.faults.ranges.append(line.split(b":", 1)[1].strip().decode())
                    if line.lower().startswith(b"upload-offset:"):
                        self.faults.offsets.append(int(line.split(b":", 1)[1]))
                if head.startswith(b"PATCH "):
                    self.faults.patches.append(_headers(head))
            if refuse:
                client.sendall(self._refusal())
                return
            try:
                self._forward(client, _one_request(head), cut)
            except OSError:  # either end hung up (a cut upload drops both): this link is over, as a real one
                return

    def _take_cut(self) -> bool:
        with self.lock:
            if self.faults.cuts <= 0:
                return False
            self.faults.cuts -= 1
            self.faults.busy += self.faults.busy_after_cut
            return True

    def _refusal(self) -> bytes:
        status = self.faults.busy_status
        body = b'{"status": %d, "value": 0, "message": "busy", "details": "the proxy said so"}' % status
        return (
            b"HTTP/1.1 %d Busy\r\nRetry-After: %s\r\nContent-Type: application/json\r\n"
            b"Content-Length: %d\r\nConnection: close\r\n\r\n" % (status, self.faults.retry_after.encode(), len(body))
        ) + body

    def _forward(self, client: socket.socket, head: bytes, cut: int | None) -> None:
        with socket.create_connection(("127.0.0.1", self.upstream_port)) as upstream:
            upstream.sendall(head)
            pump = threading.Thread(target=self._pump, args=(client, upstream), daemon=True)
            pump.start()  # the request body, if any, flows on while the answer comes back
            sent = 0
            body_offset: int | None = None
            buffered = b""
            while True:
                chunk = upstream.recv(65536)
                if not chunk:
                    return
                if body_offset is None:
                    buffered += chunk
                    end = buffered.find(HEAD_END)
                    if end < 0:
                        continue
                    body_offset = end + len(HEAD_END)
                    chunk, buffered = buffered, b""
                chunk = self._corrupted(chunk, sent, body_offset)
                if cut is not None and sent + len(chunk) > cut and self._take_cut():
                    client.sendall(chunk[: max(0, cut - sent)])
                    with self.lock:
                        self.faults.downstream_bytes += max(0, cut - sent)
                    client.shutdown(socket.SHUT_RDWR)  # the link drops mid-answer
                    return
                client.sendall(chunk)
                sent += len(chunk)
                with self.lock:
                    self.faults.downstream_bytes += len(chunk)

    def _pump(self, source: socket.socket, destination: socket.socket) -> None:
        """The request body, client to server; cut when ``cut_upload_after`` says so."""
        passed = 0
        try:
            while True:
                chunk = source.recv(65536)
                if not chunk:
                    return
                with self.lock:
                    chunk = self._corrupted_upload(chunk, passed)
                    limit = self.faults.cut_upload_after if self.faults.upload_cuts > 0 else None
                    if limit is not None and passed + len(chunk) > limit:
                        self.faults.upload_cuts -= 1
                        chunk = chunk[: max(0, limit - passed)]
                    else:
                        limit = None
                    self.faults.upstream_bytes += len(chunk)
                destination.sendall(chunk)
                passed += len(chunk)
                if limit is not None:
                    for end in (source, destination):  # the link drops mid-upload
                        end.shutdown(socket.SHUT_RDWR)
                    return
        except OSError:
            return

    def _corrupted_upload(self, chunk: bytes, passed: int) -> bytes:
        """``chunk`` of a request body, ``passed`` bytes in, with the byte at ``corrupt_upload_at`` flipped."""
        at = self.faults.corrupt_upload_at
        if at is None or self.faults.upload_corruptions <= 0 or not passed <= at < passed + len(chunk):
            return chunk
        self.faults.upload_corruptions -= 1
        position = at - passed
        return chunk[:position] + bytes([chunk[position] ^ 0xFF]) + chunk[position + 1 :]

    def _corrupted(self, chunk: bytes, sent: int, body_offset: int) -> bytes:
        at = self.faults.corrupt_at
        if at is None:
            return chunk
        position = body_offset + at - sent
        if 0 <= position < len(chunk):
            chunk = chunk[:position] + bytes([chunk[position] ^ 0xFF]) + chunk[position + 1 :]
        return chunk


def _read_head(client: socket.socket) -> bytes | None:
    data = b""
    while HEAD_END not in data:
        chunk = client.recv(65536)
        if not chunk:
            return None
        data += chunk
    return data


def _headers(head: bytes) -> dict[str, str]:
    """The request's header fields, names in lower case."""
    lines = head[: head.index(HEAD_END)].decode("latin-1").split("\r\n")[1:]
    return {name.strip().lower(): value.strip() for name, _, value in (line.partition(":") for line in lines)}


def _one_request(head: bytes) -> bytes:
    """The request with ``Connection: close``: one request per connection, so faults count requests."""
    end = head.index(HEAD_END)
    lines = [line for line in head[:end].split(b"\r\n") if not line.lower().startswith(b"connection:")]
    return b"\r\n".join([*lines, b"Connection: close"]) + HEAD_END + head[end + len(HEAD_END) :]
