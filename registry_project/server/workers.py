"""The gunicorn worker class of `make run` and production: gthread, with new connections spread evenly.

Why: plain gthread workers all wait on one listening socket and whichever wakes first accepts, so clients
that keep their connections (scripts, keep-alive) often all land on one worker, which runs Python on one
core at a time while the other cores idle. Figures: bench/README.md, "Server plumbing, re-measured
(December 2026)"; ``registry_project/tests/test_workers.py`` checks the spread on a real server.

``BalancedThreadWorker``: each worker publishes how many connections it holds in memory shared by all the
workers of the server (``Board``). A worker woken by a new connection while another worker holds fewer
connections leaves it to that worker: it waits until the connection is taken, and takes it itself only if
nobody has after ``MAX_DEFER`` (a worker that is stuck or starved of CPU). When the workers are even, the
first awake accepts at once, as plain gthread does.

It also holds under abuse (issue "Hold under abuse", docs/operations.md "Slow and idle clients"):

- a request head is gathered on the poller, without a thread, and must be complete ``REQUEST_HEAD_TIMEOUT``
  after its first byte, or the connection gets a 408 and is closed (``Conn``, ``on_head_bytes``);
- in a request thread every read and write waits at most ``CLIENT_TIMEOUT`` for the client (a body that
  stops arriving is a 408 from the application: ``framework.api.errors``);
- a response that leaves a body unread closes the connection (``Connection: close``) and the socket then
  lingers on the poller, reading and discarding what the client still sends, so that a client which sends
  its whole body before reading (Python ``requests``) reads the 413 instead of a reset (``lingering``).
"""

from __future__ import annotations

import contextlib
import errno
import json
import logging
import multiprocessing
import os
import select
import selectors
import socket
import ssl
import time
from collections.abc import Callable
from functools import partial
from typing import Any

from gunicorn import util
from gunicorn.http.body import LengthReader
from gunicorn.workers.gthread import TConn, ThreadWorker

from registry_project.config import env_duration

SLOTS = 256  # workers one server can run at once (WEB_CONCURRENCY, raised by TTIN signals)
MAX_DEFER = 0.05  # seconds a worker leaves a new connection to a less busy one
POLL = 0.0002  # seconds between looks at whether it has been taken
NOT_ACCEPTING = 2**30  # what a worker that stopped accepting publishes

HEAD_TIMEOUT = env_duration("REQUEST_HEAD_TIMEOUT", "20s")  # from a request's first byte to its blank line
CLIENT_TIMEOUT = env_duration("CLIENT_TIMEOUT", "60s")  # the longest wait for one read or write of a client
HEAD_END = b"\r\n\r\n"
# The longest request head taken (what one connection can make a worker hold before a thread takes it);
# nginx's default is 32 KiB (large_client_header_buffers 4 8k). gunicorn's own limits apply within it.
HEAD_LIMIT = 64 * 1024
# nginx's lingering_time and lingering_timeout: how long a closing connection's unread body is discarded, at
# most in all and at most without a byte.
LINGER_TIME = 30.0
LINGER_IDLE = 5.0
UNREAD_BODY_KEPT_ALIVE = 64 * 1024  # what gunicorn drains before reusing a connection (its _DRAIN_MAX_BYTES)


class Board:
    """Connections held per worker, in shared memory made before gunicorn forks its workers."""

    def __init__(self, slots: int = SLOTS) -> None:
        self._pids = multiprocessing.RawArray("i", slots)
        self._held = multiprocessing.RawArray("i", slots)
        self._claiming = multiprocessing.Lock()

    def claim(self, pid: int) -> int:
        """A slot for worker ``pid``: a free one, or one whose worker is gone."""
        with self._claiming:
            for slot, owner in enumerate(self._pids):
                if owner == 0 or not _alive(owner):
                    self._pids[slot], self._held[slot] = pid, 0
                    return slot
        raise RuntimeError(f"more than {len(self._pids)} workers")

    def release(self, slot: int) -> None:
        self._pids[slot] = 0

    def publish(self, slot: int, held: int) -> None:
        self._held[slot] = held

    def someone_holds_fewer(self, slot: int) -> bool:
        mine = self._held[slot]
        return any(
            owner and other != slot and self._held[other] < mine and _alive(owner)
            for other, owner in enumerate(self._pids)
        )


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, someone else's (a reused pid): not ours, but not free either
        pass
    return True


def _pending(listener: Any) -> bool:
    """Whether a connection still waits on the listening socket."""
    readable, _, _ = select.select([listener], [], [], 0)  # Python retries it itself when a signal comes
    return bool(readable)


BOARD = Board()  # imported by gunicorn's arbiter (it loads the worker class) before it forks


def json_error_bytes(status: int, reason: str, message: str) -> bytes:
    """A whole HTTP answer in the error envelope, for refusals made before Django sees the request."""
    from framework.api.errors import by_status, envelope  # Django is loaded: this worker is serving

    body = json.dumps(envelope(by_status(status), message)).encode()
    head = (
        f"HTTP/1.1 {status} {reason}\r\nConnection: close\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    )
    return head.encode("latin-1") + body


def write_json_error(sock: Any, status: int, reason: str, message: str) -> None:
    """gunicorn's own refusals (a request line or headers too long or malformed) in the error envelope, as
    every other answer of the registry, instead of gunicorn's HTML page; the connection then closes."""
    sock.sendall(json_error_bytes(status, reason, message))


class Conn(TConn):  # type: ignore[misc]  # gunicorn ships no type hints
    """A client connection whose request heads are gathered on the poller before a thread takes them."""

    def __init__(self, cfg: Any, sock: socket.socket, client: Any, server: Any, linger: Callable[[Conn], None]):
        super().__init__(cfg, sock, client, server)
        self.head = bytearray()  # the bytes of the next request head received so far
        self._linger = linger

    @property
    def gathers_heads(self) -> bool:
        # TLS bytes cannot be read before the handshake, which a thread does: there the thread reads the head,
        # each read bounded by REQUEST_HEAD_TIMEOUT.
        return not self.cfg.is_ssl

    def init(self) -> None:
        super().init()  # the parser, on a connection's first request (TLS: after the handshake)
        if self.head:
            self.parser.unreader.unread(bytes(self.head))
            self.head.clear()
        # gthread's threads would wait on a silent client for ever; what the parser may still read is a TLS
        # head. The application's reads and writes get CLIENT_TIMEOUT (closing_after_unread_bodies).
        self.sock.settimeout(HEAD_TIMEOUT)

    def close(self, graceful: bool = False) -> None:
        if graceful:
            self._linger(self)  # on the poller, not in gunicorn's drain that blocks the main loop up to 2 s
        else:
            super().close()


def _body_left_unread(environ: dict[str, Any], status: str) -> bool:
    """Whether the request body is left unread, more of it than gunicorn drains before reusing a connection,
    or where it ends unknown (a read of it failed; a refused chunked body)."""
    body = environ.get("wsgi.input")
    if getattr(body, "failed", False):
        return True
    reader = getattr(body, "reader", None)
    if isinstance(reader, LengthReader):
        return bool(reader.length > UNREAD_BODY_KEPT_ALIVE)
    chunked = environ.get("HTTP_TRANSFER_ENCODING", "").lower() == "chunked"
    return chunked and status[:1] in ("4", "5")


def closing_after_unread_bodies(app: Callable[..., Any]) -> Callable[..., Any]:
    """The application, answering with ``Connection: close`` when its response leaves a body unread.

    A refusal before the body is read (413, 401 to an upload) used to announce keep-alive; gunicorn then
    drained 64 KiB and closed, and the client still sending got a reset instead of the answer.
    """

    def application(environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        def start(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            if _body_left_unread(environ, status):
                response = start_response.__self__  # type: ignore[attr-defined]  # gunicorn's Response
                response.force_close()  # "Connection: close", then a lingering close
            return start_response(status, headers, exc_info)

        if "gunicorn.socket" in environ:  # every read and write of this request waits at most CLIENT_TIMEOUT
            environ["gunicorn.socket"].settimeout(CLIENT_TIMEOUT)
        return app(environ, start)

    return application


class BoundedHandshakes:
    """gunicorn's TLS context for ``PROTOCOL=https``, whose handshakes wait at most ``REQUEST_HEAD_TIMEOUT``
    for each read: gunicorn sets the socket blocking without a limit first, so a client that opens a TLS
    connection and stalls the handshake held a request thread for ever. Made once per worker (gunicorn made
    one per connection, reading the certificate and key files every time); a new certificate takes a restart,
    as docs/operations.md says."""

    def __init__(self, context: ssl.SSLContext) -> None:
        self.context = context

    def wrap_socket(self, sock: socket.socket, **options: Any) -> ssl.SSLSocket:
        sock.settimeout(HEAD_TIMEOUT)
        return self.context.wrap_socket(sock, **options)


_tls: BoundedHandshakes | None = None


def ssl_context(config: Any, default_ssl_context_factory: Callable[[], ssl.SSLContext]) -> BoundedHandshakes:
    """gunicorn's ``ssl_context`` hook (gunicorn.conf.py)."""
    global _tls
    if _tls is None:
        _tls = BoundedHandshakes(default_ssl_context_factory())
    return _tls


class _OneLineTimeouts(logging.Filter):
    """A client that stopped reading or sending is expected under abuse: one line, not a traceback."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.exc_info and isinstance(record.exc_info[1], TimeoutError):
            record.msg, record.args, record.exc_info = "client timed out (CLIENT_TIMEOUT): closed", (), None
        return True


class BalancedThreadWorker(ThreadWorker):  # type: ignore[misc]  # gunicorn ships no type hints
    board = BOARD
    max_defer = MAX_DEFER
    slot: int | None = None  # claimed when the worker starts serving

    def run(self) -> None:
        util.write_error = write_json_error  # what Worker.handle_error sends a malformed request
        self.log.error_log.addFilter(_OneLineTimeouts())
        self.lingering: dict[Conn, tuple[float, float]] = {}  # closing connections: (deadline, idle deadline)
        pid = os.getpid()
        self.slot = slot = self.board.claim(pid)
        # gunicorn logs "Booting worker" before the worker loads Django; this line says it now takes its share
        self.log.info("Worker %s serving (balanced, slot %s)", pid, slot)
        try:
            super().run()
        finally:
            self.board.release(slot)

    def load_wsgi(self) -> None:
        super().load_wsgi()
        self.wsgi: Callable[..., Any] = closing_after_unread_bodies(self.wsgi)

    def set_accept_enabled(self, enabled: bool) -> None:
        super().set_accept_enabled(enabled)
        self._publish()  # a worker that stops accepting (shutting down) is nobody's better choice

    def wait_for_and_dispatch_events(self, timeout: float) -> None:
        self._publish()
        super().wait_for_and_dispatch_events(timeout)

    def accept(self, listener: Any) -> None:
        assert self.slot is not None  # the listener is polled only inside run()
        self._publish()
        deadline = time.monotonic() + self.max_defer
        while self.board.someone_holds_fewer(self.slot) and time.monotonic() < deadline:
            time.sleep(POLL)
            if not _pending(listener):
                return  # a less busy worker took it
        self._accept_waiting_for_bytes(listener)
        self._publish()

    def _accept_waiting_for_bytes(self, listener: Any) -> None:
        """Accept a connection and wait for its request head on the poller, not in a thread.

        gthread hands a new connection to a request thread at once, which then waits up to 5 s for the
        first bytes: 16 connections that send nothing held every thread of two workers, and everyone's
        request waited (issue "Hold under abuse", item 1). Here a new connection waits where kept-alive
        ones do, costs no thread, and is closed if nothing arrives within ``keepalive`` seconds.
        """
        try:
            client_sock, client_addr = listener.accept()
        except OSError as exc:  # taken meanwhile by a worker as busy
            if exc.errno not in (errno.EAGAIN, errno.ECONNABORTED, errno.EWOULDBLOCK):
                raise
            return
        self.nr_conns += 1
        conn = Conn(self.cfg, client_sock, client_addr, listener.getsockname(), self._linger)  # non-blocking
        self._wait_for_head(conn, time.monotonic() + self.cfg.keepalive)

    def on_client_socket_readable(self, conn: Conn, client: Any) -> None:
        """A kept-alive connection's next request begins: its head is gathered on the poller too."""
        self.poller.unregister(client)
        self.keepalived_conns.remove(conn)
        self._wait_for_head(conn, time.monotonic() + HEAD_TIMEOUT)

    def _wait_for_head(self, conn: Conn, deadline: float) -> None:
        conn.timeout = deadline
        self.pending_conns.append(conn)
        self.poller.register(conn.sock, selectors.EVENT_READ, partial(self.on_pending_socket_readable, conn))

    def on_pending_socket_readable(self, conn: Conn, client: Any) -> None:
        if not conn.gathers_heads:
            super().on_pending_socket_readable(conn, client)
            return
        try:
            received = conn.sock.recv(HEAD_LIMIT - len(conn.head))
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            received = b""
        if not received:  # the client went away
            self._drop_pending(conn)
            return
        if not conn.head:  # the first byte: the whole head has REQUEST_HEAD_TIMEOUT from now
            conn.timeout = time.monotonic() + HEAD_TIMEOUT
        conn.head += received
        if HEAD_END in conn.head:
            self.poller.unregister(client)
            self.pending_conns.remove(conn)
            conn.data_ready = True
            self.enqueue_req(conn)
        elif len(conn.head) >= HEAD_LIMIT:
            _send_quietly(conn.sock, 431, "Request Header Fields Too Large", f"head: over {HEAD_LIMIT} bytes")
            self._drop_pending(conn, linger=True)

    def murder_pending(self) -> None:
        """Close connections whose head did not come in time (a 408 when part of it came) and end lingering
        ones; the deadlines differ (first byte, whole head), so every connection is looked at."""
        now = time.monotonic()
        for conn in [conn for conn in self.pending_conns if conn.timeout <= now]:
            if conn.head:
                self.log.info("request head from %s incomplete after %s s: 408", conn.client[0], HEAD_TIMEOUT)
                _send_quietly(conn.sock, 408, "Request Timeout", f"head: not complete within {HEAD_TIMEOUT} s")
            self._drop_pending(conn, linger=bool(conn.head))
        for conn, (deadline, idle) in list(self.lingering.items()):
            if min(deadline, idle) <= now:
                self._end_linger(conn)

    def _cap_keepalive(self, deadline: float) -> None:
        """A stopping worker keeps kept-alive connections until ``deadline`` (2 s) at most: connections still
        sending their head get the same, instead of holding the stop up to ``REQUEST_HEAD_TIMEOUT``."""
        super()._cap_keepalive(deadline)
        for conn in self.pending_conns:
            conn.timeout = min(conn.timeout, deadline)

    def _drop_pending(self, conn: Conn, linger: bool = False) -> None:
        """Close a connection waiting for its head; ``linger`` after an answer, which a reset could destroy."""
        self.pending_conns.remove(conn)
        with contextlib.suppress(KeyError, ValueError):
            self.poller.unregister(conn.sock)
        self.nr_conns -= 1
        conn.close(graceful=linger)

    def _linger(self, conn: Conn) -> None:
        """Close ``conn`` as nginx's lingering close does: stop sending, then read and discard what the
        client still sends until it closes, ``LINGER_IDLE`` passes without a byte or ``LINGER_TIME`` in all;
        a close with unread bytes would send a reset, which can destroy the answer before the client reads
        it. It waits on the poller: no thread, no blocking of the main loop."""
        try:
            conn.sock.shutdown(socket.SHUT_WR)
            conn.sock.setblocking(False)
            self.poller.register(conn.sock, selectors.EVENT_READ, partial(self._discard, conn))
        except (OSError, ValueError, KeyError):
            util.close(conn.sock)
            return
        now = time.monotonic()
        self.lingering[conn] = (now + LINGER_TIME, now + LINGER_IDLE)

    def _discard(self, conn: Conn, client: Any) -> None:
        try:
            received = conn.sock.recv(1024 * 1024)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            received = b""
        if not received:
            self._end_linger(conn)
            return
        deadline, _ = self.lingering[conn]
        self.lingering[conn] = (deadline, time.monotonic() + LINGER_IDLE)

    def _end_linger(self, conn: Conn) -> None:
        del self.lingering[conn]
        with contextlib.suppress(KeyError, ValueError):
            self.poller.unregister(conn.sock)
        util.close(conn.sock)

    def _publish(self) -> None:
        if self.slot is not None:  # set_accept_enabled also runs before run() has claimed a slot
            self.board.publish(self.slot, self.nr_conns if self._accepting else NOT_ACCEPTING)


def _send_quietly(sock: socket.socket, status: int, reason: str, message: str) -> None:
    """An error answer on a non-blocking socket, if its buffer takes it; the connection closes anyway."""
    with contextlib.suppress(OSError):
        sock.send(json_error_bytes(status, reason, message))
