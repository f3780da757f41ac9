"""The store's write-behind: run, action and log records are buffered in memory and written in
batches by a daemon thread (every ~50 ms, when the buffer grows large, and on
:meth:`BatchWriter.flush` / :meth:`BatchWriter.close`). The engine may record thousands of
actions per second and must never pay a transaction per action.

A :class:`BatchWriter` also owns everything else that belongs to one process: its SQLite
connections (one per thread for reads and immediate writes, plus the batch writer's), locks and
the flush thread. A forked child starts afresh with none of them, and leaves the records its
parent had buffered to the parent. Writers still open at interpreter exit are flushed then.
"""

from __future__ import annotations

import atexit
import logging
import os
import sqlite3
import threading
import weakref
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Tuple

from flyte._engine.store._sqlite import connect, is_busy, retry_busy, write
from flyte._engine.store.schema import migrate

__all__ = ["BatchWriter", "Pending"]

logger = logging.getLogger("flyte.store")

FLUSH_INTERVAL_S = 0.05
# A buffer this large is written at once instead of at the next tick.
_WAKE_AT = 5000

# Columns whose NULL in a pending action record means "not known yet, keep the stored value".
_ACTION_UPSERT = """
INSERT INTO actions (run_name, action_name, parent, task_name, grp, status, attempts, start_time,
                     end_time, error_type, error_message, error_traceback, cache_status, seq, attempt_starts)
VALUES (:run_name, :action_name, :parent, :task_name, :grp, :status, :attempts, :start_time,
        :end_time, :error_type, :error_message, :error_traceback, :cache_status, :seq, :attempt_starts)
ON CONFLICT (run_name, action_name) DO UPDATE SET
    parent = COALESCE(excluded.parent, parent),
    task_name = COALESCE(excluded.task_name, task_name),
    grp = COALESCE(excluded.grp, grp),
    status = excluded.status,
    attempts = MAX(attempts, excluded.attempts),
    start_time = COALESCE(start_time, excluded.start_time),
    end_time = excluded.end_time,
    error_type = excluded.error_type,
    error_message = excluded.error_message,
    error_traceback = excluded.error_traceback,
    cache_status = COALESCE(excluded.cache_status, cache_status),
    seq = COALESCE(seq, excluded.seq),
    attempt_starts = CASE WHEN excluded.attempt_starts IS NULL THEN attempt_starts
                          ELSE json_patch(COALESCE(attempt_starts, '{}'), excluded.attempt_starts) END
"""

_LOG_INSERT = (
    "INSERT INTO logs (run_name, action_name, seq, stream, text, time) "
    "VALUES (:run_name, :action_name, :seq, :stream, :text, :time)"
)

_RUN_FINISH = """
UPDATE runs SET status = :status, outputs = :outputs, error_type = :error_type,
    error_message = :error_message, error_traceback = :error_traceback, end_time = :end_time
WHERE name = :name
"""

_ACTION_BLANK = {
    "parent": None,
    "task_name": None,
    "grp": None,
    "status": "running",
    "attempts": 0,
    "start_time": None,
    "end_time": None,
    "error_type": None,
    "error_message": None,
    "error_traceback": None,
    "cache_status": None,
    "seq": None,
    "attempt_starts": None,
}


class Pending:
    """Records waiting for the next batch. Action records for the same (run, action) are merged
    in memory, so a start and its finish in one batch cost one row write."""

    def __init__(self) -> None:
        self.actions: Dict[Tuple[str, str], Dict[str, Any]] = {}
        self.logs: List[Dict[str, Any]] = []
        self.run_finishes: List[Dict[str, Any]] = []

    def __bool__(self) -> bool:
        return bool(self.actions or self.logs or self.run_finishes)

    def __len__(self) -> int:
        return len(self.actions) + len(self.logs) + len(self.run_finishes)

    def action_record(self, run_name: str, action_name: str) -> Dict[str, Any]:
        """The pending record of an action, created blank (all "keep the stored value") if new."""
        key = (run_name, action_name)
        rec = self.actions.get(key)
        if rec is None:
            rec = self.actions[key] = dict(_ACTION_BLANK, run_name=run_name, action_name=action_name)
        return rec


_open_writers: "weakref.WeakSet[BatchWriter]" = weakref.WeakSet()


@atexit.register
def _flush_open_writers() -> None:
    # Buffered records must reach the database even if the program never closed its store.
    for writer in list(_open_writers):
        try:
            writer.close()
        except Exception as e:  # exit must go on
            logger.warning("could not flush the local store %s at exit: %s", writer.path, e)


def _after_fork_in_child() -> None:
    for writer in list(_open_writers):
        writer.reset_after_fork()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)


class BatchWriter:
    """Connections and buffered writes of one store database, in this process.

    Opening it opens (creating and migrating if needed) the database at ``path``; it raises
    ``sqlite3.DatabaseError`` when the file is not a database.
    """

    def __init__(self, path: Path):
        self.path = path
        self._closed = False
        self._init_process_state()
        self._writer = self._open_writer()
        _open_writers.add(self)

    def _init_process_state(self) -> None:
        """Locks, buffers, threads and connections: what belongs to one process."""
        self._pid = os.getpid()
        self._state_lock = threading.Lock()  # guards _pending, _closed, _flusher, _conns
        self._write_lock = threading.Lock()  # batches are written one at a time, in order
        self._pending = Pending()
        self._failed: List[Pending] = []  # batches refused by the database, retried first
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._flusher: Optional[threading.Thread] = None
        self._local = threading.local()
        # Weak: a thread's connection closes when its thread ends; close() closes the rest.
        self._conns: "weakref.WeakSet[sqlite3.Connection]" = weakref.WeakSet()
        self._writer: Optional[sqlite3.Connection] = None

    # -- connections ------------------------------------------------------------------------
    def _open_writer(self) -> sqlite3.Connection:
        conn = retry_busy(lambda: connect(self.path))
        mode = retry_busy(lambda: conn.execute("PRAGMA journal_mode=WAL").fetchone()[0])
        if str(mode).lower() != "wal":
            logger.warning("the local store %s could not switch to WAL (journal_mode=%s)", self.path, mode)
        migrate(conn, self.path)
        self._conns.add(conn)
        return conn

    def connection(self) -> sqlite3.Connection:
        """This thread's connection (reads and immediate writes): SQLite connections are cheap to
        keep and a per-thread one keeps cache lookups free of locking in Python."""
        self.check_open()
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = retry_busy(lambda: connect(self.path))
            conn.row_factory = sqlite3.Row
            self._local.conn = conn
            with self._state_lock:
                self._conns.add(conn)
        return conn

    def check_open(self) -> None:
        """Raise RuntimeError once closed (after a fork, start afresh first)."""
        if self._pid != os.getpid():
            self.reset_after_fork()
        if self._closed:
            raise RuntimeError(f"the local store {self.path} is closed")

    def reset_after_fork(self) -> None:
        """In a forked child: drop the parent's connections, locks, thread and buffer."""
        # A forked child must not use its parent's SQLite connections, locks or threads, nor
        # write the records its parent had buffered (the parent writes those).
        if self._pid != os.getpid():
            self._init_process_state()

    # -- buffered writes ----------------------------------------------------------------------
    def enqueue(self, add: Callable[[Pending], None]) -> None:
        """Call ``add`` with the pending batch (under the lock), starting the flush thread."""
        self.check_open()
        with self._state_lock:
            add(self._pending)
            size = len(self._pending)
            if self._flusher is None:
                self._flusher = threading.Thread(target=self._flush_loop, name="flyte-store-flush", daemon=True)
                self._flusher.start()
        if size >= _WAKE_AT:
            self._wake.set()

    def _flush_loop(self) -> None:
        stop, wake = self._stop, self._wake
        while not stop.is_set():
            wake.wait(FLUSH_INTERVAL_S)
            wake.clear()
            try:
                self._write_pending()
            except Exception as e:
                # The batch is kept and retried; back off so that a broken disk is not hammered.
                logger.warning("the local store %s could not write records: %s", self.path, e)
                stop.wait(1.0)

    def _write_pending(self) -> None:
        with self._write_lock:
            with self._state_lock:
                batch, self._pending = self._pending, Pending()
                if batch:
                    self._failed.append(batch)
                batches = list(self._failed)
            if not batches:
                return
            if self._writer is None:
                self._writer = self._open_writer()

            def body(c: sqlite3.Connection) -> None:
                # Earlier refused batches first: the action upsert relies on arrival order.
                for b in batches:
                    self._apply_batch(c, b)

            try:
                write(self._writer, body)
            except sqlite3.OperationalError as e:
                if is_busy(e):
                    raise  # kept and retried: another process holds the database for now
                self._write_one_by_one(batches, e)
            except sqlite3.Error as e:
                self._write_one_by_one(batches, e)
            with self._state_lock:
                del self._failed[: len(batches)]

    def _write_one_by_one(self, batches: List[Pending], error: Exception) -> None:
        # A batch the database refuses for its content would be refused forever and hold up
        # every later record: write the others and drop only the bad one, saying so.
        assert self._writer is not None
        for b in batches:
            try:
                write(self._writer, lambda c, b=b: self._apply_batch(c, b))
            except sqlite3.OperationalError as e:
                if is_busy(e):
                    raise
                logger.warning("the local store %s dropped records it could not write: %s", self.path, e)
            except sqlite3.Error as e:
                logger.warning("the local store %s dropped records it could not write: %s", self.path, e)

    @staticmethod
    def _apply_batch(conn: sqlite3.Connection, batch: Pending) -> None:
        if batch.actions:
            conn.executemany(_ACTION_UPSERT, list(batch.actions.values()))
        if batch.logs:
            conn.executemany(_LOG_INSERT, batch.logs)
        if batch.run_finishes:
            conn.executemany(_RUN_FINISH, batch.run_finishes)

    def flush(self) -> None:
        """Write every buffered record now, in this thread; raises if the database refuses them."""
        self.check_open()
        self._write_pending()

    def close(self) -> None:
        """Flush, stop the background writer and close the database connections. Idempotent."""
        self.reset_after_fork()
        if self._closed:
            return
        self._stop.set()
        self._wake.set()
        flusher = self._flusher
        if flusher is not None and flusher is not threading.current_thread():
            flusher.join(timeout=10)
        try:
            self._write_pending()
        finally:
            with self._state_lock:
                self._closed = True
                conns = list(self._conns)
                self._conns = weakref.WeakSet()
                self._writer = None
            for c in conns:
                try:
                    c.close()
                except sqlite3.Error:
                    pass
            _open_writers.discard(self)

