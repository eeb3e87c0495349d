"""One delivery attempt: a signed POST to the address the SSRF guard checked, with bounds on everything.

The standard library's ``http.client`` rather than httpx (the client package's library, not a server
dependency) or urllib3: the worker must connect to the very address it checked while naming the host in
``Host`` and in TLS (SNI and certificate check), never follow a redirect, and read at most
``RESPONSE_EXCERPT`` bytes of an answer; ``http.client`` does exactly what it is told, each of these is a
line here, and it adds no dependency. Connections are kept per worker and endpoint address (keep-alive):
a busy endpoint gets its events over one connection.
"""

from __future__ import annotations

import http.client
import socket
import ssl
import time
from collections.abc import Callable
from dataclasses import dataclass

from webhooks_app import addresses

CONNECT_TIMEOUT = 5.0  # seconds to open the connection (and finish TLS)
READ_TIMEOUT = 10.0  # seconds the receiver may stay silent while we send or wait for its answer
RESPONSE_EXCERPT = 1024  # bytes of an answer read and logged; the rest is never read
USER_AGENT = "model-registry-webhooks/1"


@dataclass(frozen=True)
class Outcome:
    """What one attempt came to: 2xx is a delivery; anything else (a redirect too) is retried."""

    status: int | None
    latency_ms: int
    response: str = ""
    error: str = ""

    @property
    def delivered(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


class _PinnedHTTP(http.client.HTTPConnection):
    """Connects to ``address`` whatever ``Host`` says; a connect timeout apart from the read timeout."""

    def __init__(self, address: str, port: int) -> None:
        super().__init__(address, port, timeout=READ_TIMEOUT)

    def connect(self) -> None:
        self.sock = socket.create_connection((self.host, self.port), CONNECT_TIMEOUT)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.sock.settimeout(READ_TIMEOUT)


class _PinnedHTTPS(http.client.HTTPSConnection):
    """As ``_PinnedHTTP``, with TLS for ``server_name`` (SNI and the certificate's name)."""

    def __init__(self, address: str, port: int, server_name: str) -> None:
        super().__init__(address, port, timeout=READ_TIMEOUT, context=ssl.create_default_context())
        self.server_name = server_name

    def connect(self) -> None:
        raw = socket.create_connection((self.host, self.port), CONNECT_TIMEOUT)
        raw.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        raw.settimeout(CONNECT_TIMEOUT)
        self.sock = self._context.wrap_socket(raw, server_hostname=self.server_name)  # type: ignore[attr-defined]
        self.sock.settimeout(READ_TIMEOUT)


class Connections:
    """A worker's open connections, one per (scheme, host, port, address)."""

    def __init__(self) -> None:
        self._open: dict[tuple[str, str, int, str], http.client.HTTPConnection] = {}

    def get(self, target: addresses.Target, address: str) -> http.client.HTTPConnection:
        key = (target.scheme, target.host, target.port, address)
        connection = self._open.get(key)
        if connection is None:
            if target.scheme == "https":
                connection = _PinnedHTTPS(address, target.port, target.host)
            else:
                connection = _PinnedHTTP(address, target.port)
            self._open[key] = connection
        return connection

    def discard(self, target: addresses.Target, address: str) -> None:
        connection = self._open.pop((target.scheme, target.host, target.port, address), None)
        if connection is not None:
            connection.close()

    def close(self) -> None:
        for connection in self._open.values():
            connection.close()
        self._open.clear()


def post(connections: Connections, url: str, body: bytes, headers: dict[str, str]) -> Outcome:
    """POST ``body`` to ``url`` once: resolved and checked by the SSRF guard, to the first of its addresses
    that takes the connection (``localhost`` may give ::1 before 127.0.0.1, say)."""
    started = time.monotonic()

    def elapsed() -> int:
        return int((time.monotonic() - started) * 1000)

    try:
        target = addresses.parse(url)
        found = addresses.resolve(target)
    except Exception as exc:  # Refused, or a URL an older rule let through: the attempt's error
        return Outcome(None, elapsed(), error=f"refused: {_text(exc)}")
    sent = {
        **headers,
        "Host": target.host_header,
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
    }
    error = "no address"
    for address in map(str, found):
        connection = connections.get(target, address)
        if connection.sock is None:
            try:
                connection.connect()
            except OSError as exc:  # refused, timed out, TLS: the next address, if there is one
                connections.discard(target, address)
                error = _error_text(exc)
                continue
        return _send(connections, target, address, body, sent, elapsed)
    return Outcome(None, elapsed(), error=error)


def _send(
    connections: Connections,
    target: addresses.Target,
    address: str,
    body: bytes,
    headers: dict[str, str],
    elapsed: Callable[[], int],
) -> Outcome:
    for fresh in (False, True):  # a kept connection the receiver closed meanwhile: once more on a new one
        connection = connections.get(target, address)
        try:
            return _exchange(connection, target, body, headers, elapsed)
        except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError) as exc:
            connections.discard(target, address)
            if fresh:
                return Outcome(None, elapsed(), error=f"connection closed: {_text(exc)}")
        except Exception as exc:  # OSError, HTTPException, a header http.client refuses: the attempt failed
            connections.discard(target, address)
            return Outcome(None, elapsed(), error=_error_text(exc))
    raise AssertionError("unreachable")


def _exchange(
    connection: http.client.HTTPConnection,
    target: addresses.Target,
    body: bytes,
    headers: dict[str, str],
    elapsed: Callable[[], int],
) -> Outcome:
    connection.request("POST", target.path, body=body, headers=headers, encode_chunked=False)
    response = connection.getresponse()
    excerpt = response.read(RESPONSE_EXCERPT)
    # More than the excerpt: the rest is never read, the connection is dropped instead.
    if not response.isclosed() or response.getheader("connection", "").lower() == "close":
        connection.close()
    error = ""
    if 300 <= response.status < 400:
        error = f"redirect to {(response.getheader('location') or '')[:200]!r} not followed"
    elif not 200 <= response.status < 300:
        error = f"answered {response.status}"
    return Outcome(response.status, elapsed(), excerpt.decode("utf-8", "replace"), error)


def _text(exc: BaseException) -> str:
    return str(exc)[:400] or type(exc).__name__


def _error_text(exc: BaseException) -> str:
    if isinstance(exc, TimeoutError | socket.timeout):
        return "timed out"
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused"
    if isinstance(exc, ssl.SSLError):
        return f"TLS: {_text(exc)}"
    return f"{type(exc).__name__}: {_text(exc)}"
