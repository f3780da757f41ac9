"""SQLite plumbing of the store: connections, short write transactions, retry on SQLITE_BUSY.

Several processes share one database, so every write is a short ``BEGIN IMMEDIATE`` transaction
(a write never has to upgrade a read lock, the case SQLite cannot wait on), SQLite waits up to
``busy_timeout`` for the lock, and on top of that :func:`retry_busy` retries with jittered
backoff for up to a minute.
"""

from __future__ import annotations

import random
import sqlite3
import time
from pathlib import Path
from typing import Any, Callable, TypeVar

__all__ = ["BUSY_TIMEOUT_MS", "Tx", "connect", "is_busy", "retry_busy", "write"]

BUSY_TIMEOUT_MS = 5000
# Total time a write keeps retrying on SQLITE_BUSY beyond SQLite's own busy_timeout.
RETRY_DEADLINE_S = 60.0

T = TypeVar("T")


def is_busy(e: sqlite3.OperationalError) -> bool:
    """True when ``e`` says another connection holds the database (retrying may succeed)."""
    msg = str(e).lower()
    return "locked" in msg or "busy" in msg


def retry_busy(fn: Callable[[], T]) -> T:
    """Run ``fn`` again (with jittered backoff) while SQLite reports the database busy."""
    deadline = time.monotonic() + RETRY_DEADLINE_S
    delay = 0.005
    while True:
        try:
            return fn()
        except sqlite3.OperationalError as e:
            if not is_busy(e) or time.monotonic() > deadline:
                raise
        time.sleep(delay * (0.5 + random.random()))
        delay = min(delay * 2, 0.5)


class _Connection(sqlite3.Connection):
    """A connection that can be weakly referenced: a thread's connection then closes when the
    thread ends, while the store can still close every live one."""


def connect(path: Path) -> sqlite3.Connection:
    """A new connection to the database at ``path`` (explicit transactions, busy timeout set)."""
    # isolation_level=None: transactions are explicit (BEGIN IMMEDIATE ... COMMIT), so that no
    # statement silently opens a deferred transaction that later fails to upgrade.
    conn = sqlite3.connect(
        str(path), timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None, check_same_thread=False, factory=_Connection
    )
    conn.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
    conn.execute("PRAGMA synchronous=NORMAL")
    return conn


class Tx:
    """``with Tx(conn):`` is one BEGIN IMMEDIATE ... COMMIT (ROLLBACK on error)."""

    def __init__(self, conn: sqlite3.Connection):
        self.conn = conn

    def __enter__(self) -> sqlite3.Connection:
        self.conn.execute("BEGIN IMMEDIATE")
        return self.conn

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        if exc_type is None:
            self.conn.execute("COMMIT")
        else:
            try:
                self.conn.execute("ROLLBACK")
            except sqlite3.Error:
                pass


def write(conn: sqlite3.Connection, body: Callable[[sqlite3.Connection], T]) -> T:
    """One short write transaction, retried as a whole on SQLITE_BUSY."""

    def attempt() -> T:
        with Tx(conn) as c:
            return body(c)

    return retry_busy(attempt)
