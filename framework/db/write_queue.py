"""First come, first served for the writers of one SQLite database, across threads and processes.

SQLite has one write lock per database, and its busy handler is no queue: a writer that finds the lock
taken sleeps and tries again in growing steps (up to 100 ms), so the one that has waited longest looks
least often, and writers that came later take the lock ahead of it. Under steady contention it can be passed
over until its whole timeout is spent ("database is locked"), while the database was busy all along with
writers that arrived after it. Here a writer first takes a numbered place in a queue kept beside the
database (the file ``<database>-writers``) and is woken by the kernel when the writer before it is done, with
no polling; only then does it ask SQLite for the lock, which is free by then.

A place is a lock on one byte of that file, held on the writer's own open file description (Linux's "OFD"
locks: per open file, so the threads of one process queue like processes do, and the kernel frees the
place of a process that dies). Ticket ``n`` holds byte ``FIRST_PLACE + n`` while it waits and while it writes,
and waits by asking for byte ``FIRST_PLACE + n - 1``. The next ticket number is kept in the file's first 8
bytes, read and written under a lock on byte 0. A writer that gives up keeps its place until the one before
it is done and then passes through, so the order of the others never changes.

Without OFD locks (not Linux) there is no queue, and writers wait in SQLite's busy handler as before.
"""

from __future__ import annotations

import fcntl
import os
import struct
import threading
import time
from dataclasses import dataclass, field

SUFFIX = "-writers"
COUNTER = 0
FIRST_PLACE = 1 << 32  # places live far beyond the 8 bytes of the counter
AVAILABLE = hasattr(fcntl, "F_OFD_SETLKW")


class QueueTimeout(Exception):
    """The writers before this one held the database longer than the caller would wait."""


def _flock(kind: int, start: int) -> bytes:
    # struct flock: l_type, l_whence, l_start, l_len, l_pid (0 for OFD locks), padded to 32 bytes.
    return struct.pack("hhxxxxqqi4x", kind, os.SEEK_SET, start, 1, 0)


def _lock(fd: int, byte: int, *, wait: bool) -> bool:
    """Lock one byte of the queue file for this open file description; without ``wait``, False if taken."""
    try:
        fcntl.fcntl(fd, fcntl.F_OFD_SETLKW if wait else fcntl.F_OFD_SETLK, _flock(fcntl.F_WRLCK, byte))
    except BlockingIOError:
        return False
    except PermissionError:  # EACCES: what some systems answer instead of EAGAIN
        return False
    return True


def _unlock(fd: int, byte: int) -> None:
    fcntl.fcntl(fd, fcntl.F_OFD_SETLK, _flock(fcntl.F_UNLCK, byte))


@dataclass
class Turn:
    """A writer's place at the head of the queue; ``release`` lets the next writer in."""

    fd: int
    waited: float = 0.0
    _released: bool = field(default=False, repr=False)

    def release(self) -> None:
        if not self._released:
            self._released = True
            os.close(self.fd)  # frees this description's locks: the next writer's wait ends


class _Waiter(threading.Thread):
    """Waits for the writer before (a blocking lock cannot time out) so that the caller's wait can;
    when the caller gave up, it passes the place on as soon as the writer before is done."""

    def __init__(self, fd: int, byte: int) -> None:
        super().__init__(name="sqlite-write-queue", daemon=True)
        self.fd = fd
        self.byte = byte
        self.done = threading.Event()
        self.state = threading.Lock()
        self.abandoned = False
        self.error: OSError | None = None

    def run(self) -> None:
        try:
            _lock(self.fd, self.byte, wait=True)
            _unlock(self.fd, self.byte)
        except OSError as exc:
            self.error = exc
        with self.state:
            if self.abandoned:
                os.close(self.fd)
            else:
                self.done.set()

    def wait_or_abandon(self, timeout: float) -> bool:
        if self.done.wait(timeout):
            return True
        with self.state:
            if self.done.is_set():
                return True
            self.abandoned = True
            return False


def wait_for_turn(database: str, timeout: float) -> Turn:
    """Queue behind the writers of ``database`` that came earlier and return once they are all done.

    Raises ``QueueTimeout`` after ``timeout`` seconds, and ``OSError`` when the queue file cannot be used.
    """
    started = time.monotonic()
    fd = os.open(database + SUFFIX, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        ticket = _take_ticket(fd)
        if ticket == 0 or _lock(fd, FIRST_PLACE + ticket - 1, wait=False):
            if ticket:
                _unlock(fd, FIRST_PLACE + ticket - 1)
            return Turn(fd)
    except BaseException:
        os.close(fd)
        raise
    waiter = _Waiter(fd, FIRST_PLACE + ticket - 1)
    waiter.start()
    if not waiter.wait_or_abandon(timeout):
        raise QueueTimeout(f"waited {timeout:g} s for the writers queued before this one")
    if waiter.error is not None:
        os.close(fd)
        raise waiter.error
    return Turn(fd, waited=time.monotonic() - started)


def _take_ticket(fd: int) -> int:
    """The next number, and this description's place for it (taken before anyone can queue behind it)."""
    _lock(fd, COUNTER, wait=True)
    try:
        stored = os.pread(fd, 8, 0)
        ticket = int.from_bytes(stored, "little") if len(stored) == 8 else 0
        while not _lock(fd, FIRST_PLACE + ticket, wait=False):  # only if the file was reset under a writer
            ticket += 1
        os.pwrite(fd, (ticket + 1).to_bytes(8, "little"), 0)
        return ticket
    finally:
        _unlock(fd, COUNTER)
