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
"""

from __future__ import annotations

import errno
import json
import multiprocessing
import os
import select
import selectors
import time
from functools import partial
from typing import Any

from gunicorn import util
from gunicorn.workers.gthread import TConn, ThreadWorker

SLOTS = 256  # workers one server can run at once (WEB_CONCURRENCY, raised by TTIN signals)
MAX_DEFER = 0.05  # seconds a worker leaves a new connection to a less busy one
POLL = 0.0002  # seconds between looks at whether it has been taken
NOT_ACCEPTING = 2**30  # what a worker that stopped accepting publishes


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


def write_json_error(sock: Any, status: int, reason: str, message: str) -> None:
    """gunicorn's own refusals (a request line or headers too long or malformed) in the error envelope, as
    every other answer of the registry, instead of gunicorn's HTML page; the connection then closes."""
    from framework.api.errors import by_status, envelope  # Django is loaded: this worker is serving

    body = json.dumps(envelope(by_status(status), message)).encode()
    head = (
        f"HTTP/1.1 {status} {reason}\r\nConnection: close\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    )
    sock.sendall(head.encode("latin-1") + body)


class BalancedThreadWorker(ThreadWorker):  # type: ignore[misc]  # gunicorn ships no type hints
    board = BOARD
    max_defer = MAX_DEFER
    slot: int | None = None  # claimed when the worker starts serving

    def run(self) -> None:
        util.write_error = write_json_error  # what Worker.handle_error sends a malformed request
        pid = os.getpid()
        self.slot = slot = self.board.claim(pid)
        # gunicorn logs "Booting worker" before the worker loads Django; this line says it now takes its share
        self.log.info("Worker %s serving (balanced, slot %s)", pid, slot)
        try:
            super().run()
        finally:
            self.board.release(slot)

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
        """Accept a connection and wait for its first bytes on the poller, not in a thread.

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
        conn = TConn(self.cfg, client_sock, client_addr, listener.getsockname())  # non-blocking now
        conn.timeout = time.monotonic() + self.cfg.keepalive
        self.pending_conns.append(conn)
        self.poller.register(conn.sock, selectors.EVENT_READ, partial(self.on_pending_socket_readable, conn))

    def _publish(self) -> None:
        if self.slot is not None:  # set_accept_enabled also runs before run() has claimed a slot
            self.board.publish(self.slot, self.nr_conns if self._accepting else NOT_ACCEPTING)
