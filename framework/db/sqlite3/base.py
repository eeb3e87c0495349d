"""Django's SQLite backend, with the database's writers served first come, first served.

Every transaction (``BEGIN IMMEDIATE``: settings.py) and every write outside one first waits for its turn in
the database's write queue (``framework.db.write_queue``), up to the connection's ``timeout`` option
(``DATABASE_LOCK_TIMEOUT``); past it the write fails as SQLite's own "database is locked" does, which the
API answers with a 503 and ``Retry-After``. SQLite's busy timeout stays as the wait for a program outside
the registry that holds the lock.

The write-ahead log is kept bounded too (``_bound_the_journal``): SQLite's own checkpoints are PASSIVE and
never wait for readers, so under steady readers and writers the log is never restarted and grows without
end (5.5 GB beside a 415 MB database in issue 23). The writer whose commit leaves it past
``DATABASE_WAL_LIMIT`` checkpoints it in full and truncates it before handing the write turn on.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Callable
from sqlite3 import dbapi2 as Database
from typing import Any

from django.conf import settings
from django.db.backends.sqlite3 import base

from framework.db import write_queue

# Statements that take SQLite's write lock on their own in autocommit mode (outside a transaction).
_WRITES = re.compile(r"\s*(INSERT|UPDATE|DELETE|REPLACE|ANALYZE|CREATE|DROP|ALTER|VACUUM|REINDEX)\b", re.IGNORECASE)
# How long the checkpoint of ``_bound_the_journal`` waits for the readers of older snapshots: requests read
# for milliseconds, so this is ample; a reader that takes longer only defers the checkpoint to a later commit.
CHECKPOINT_WAIT = 1.0
logger = logging.getLogger(__name__)
# django-stubs leave out the backend's private transaction methods, which this class extends.
_Django: Any = base.DatabaseWrapper


class DatabaseWrapper(base.DatabaseWrapper):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._turn: write_queue.Turn | None = None
        self.execute_wrappers.append(self._queued_write)

    @property
    def lock_timeout(self) -> float:
        return float(self.settings_dict.get("OPTIONS", {}).get("timeout", 5))

    def _queues(self) -> bool:
        return write_queue.AVAILABLE and not self.is_in_memory_db()

    def _wait_for_turn(self) -> write_queue.Turn:
        with self.wrap_database_errors:  # what SQLite would answer: an OperationalError, a 503 in the API
            try:
                return write_queue.wait_for_turn(str(self.settings_dict["NAME"]), self.lock_timeout)
            except write_queue.QueueTimeout as exc:
                raise Database.OperationalError(f"database is locked: {exc}") from None
            except OSError as exc:
                raise Database.OperationalError(f"the database's write queue cannot be used: {exc}") from None

    def _start_transaction_under_autocommit(self) -> None:
        if not self._queues():
            _Django._start_transaction_under_autocommit(self)
            return
        self._turn = self._wait_for_turn()
        try:
            if self._turn.waited:
                self._begin_within(self.lock_timeout - self._turn.waited)
            else:
                _Django._start_transaction_under_autocommit(self)
        except BaseException:
            self._end_turn()
            raise

    def _begin_within(self, seconds: float) -> None:
        """BEGIN with what is left of the wait, so that queue and lock together wait ``lock_timeout`` at most."""
        assert self.connection is not None
        self.connection.execute(f"PRAGMA busy_timeout = {max(1, int(seconds * 1000))}")
        try:
            _Django._start_transaction_under_autocommit(self)
        finally:
            self.connection.execute(f"PRAGMA busy_timeout = {int(self.lock_timeout * 1000)}")

    def _queued_write(
        self, execute: Callable[..., Any], sql: str, params: Any, many: bool, context: dict[str, Any]
    ) -> Any:
        """A write outside a transaction takes its turn too: it would otherwise poll for the lock while the
        queue hands it from writer to writer."""
        if self._turn is not None or not self.get_autocommit() or not self._queues() or not _WRITES.match(sql):
            return execute(sql, params, many, context)
        turn = self._wait_for_turn()
        try:
            return execute(sql, params, many, context)
        finally:
            turn.release()

    def _end_turn(self) -> None:
        if self._turn is not None:
            self._turn.release()
            self._turn = None

    def _commit(self) -> None:
        try:
            _Django._commit(self)
            self._bound_the_journal()
        finally:
            self._end_turn()

    def _bound_the_journal(self) -> None:
        """Checkpoint the whole write-ahead log and truncate it once it outgrows ``DATABASE_WAL_LIMIT``.

        Called by the writer that just committed and still holds its turn in the writers queue, so no
        registry writer can slip in (a TRUNCATE checkpoint must be the only writer). It waits, up to
        ``CHECKPOINT_WAIT``, only for the readers that still read an older snapshot; readers starting
        meanwhile read the newest one and do not hold it up. That is what SQLite's automatic checkpoint
        cannot do: it is PASSIVE, copies what no reader needs, and the log restarts from its beginning only
        when no reader uses it at all, which steady readers and writers never allow.
        """
        if self.connection is None or self.is_in_memory_db():
            return
        try:
            size = os.path.getsize(f"{self.settings_dict['NAME']}-wal")
        except OSError:
            return  # no log (yet)
        if size <= settings.DATABASE_WAL_LIMIT:
            return
        self.connection.execute(f"PRAGMA busy_timeout = {int(min(CHECKPOINT_WAIT, self.lock_timeout) * 1000)}")
        try:
            busy, _frames, _done = self.connection.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
            if busy:
                logger.info("write-ahead log of %s at %d bytes: readers held its checkpoint off", self.alias, size)
        except Database.Error as exc:  # the commit stands; the next one past the limit tries again
            logger.warning("checkpoint of %s failed: %s", self.alias, exc)
        finally:
            self.connection.execute(f"PRAGMA busy_timeout = {int(self.lock_timeout * 1000)}")

    def _rollback(self) -> None:
        try:
            _Django._rollback(self)
        finally:
            self._end_turn()

    def _close(self) -> None:
        try:
            _Django._close(self)
        finally:
            self._end_turn()
