"""The local store: one SQLite database holding runs, actions, captured logs and the task cache.

Several processes may run tasks against the same database at once (two terminals, a test
suite next to a notebook), so the store is built for that:

* WAL journal (readers never block the writer), ``busy_timeout`` and ``BEGIN IMMEDIATE`` write
  transactions (a write never has to upgrade a read lock, the case SQLite cannot wait on), short
  transactions, and a retry loop on ``SQLITE_BUSY`` on top of SQLite's own waiting.
* Run/action/log records are buffered in memory and written in batches by a daemon thread
  (every ~50 ms, and on :meth:`LocalStore.flush` / :meth:`LocalStore.close`): the engine may
  record thousands of actions per second and must never pay a transaction per action.
* Every run records its owner (pid, host, and a process start marker so that a reused pid is not
  taken for the owner). A reader that finds a "running" run whose owner is gone reports it, and
  writes it back, as "aborted" - a killed process cannot say so itself.
* The schema is versioned (table ``schema_version``) and migrated forward on first open.
"""

from __future__ import annotations

import atexit
import logging
import os
import random
import socket
import sqlite3
import threading
import time
import weakref
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, Dict, Iterable, List, Optional, Sequence, Tuple, TypeVar

from flyte.errors import ValidationError

__all__ = [
    "SCHEMA_VERSION",
    "ActionRecord",
    "ErrorInfo",
    "LocalStore",
    "LogRecord",
    "RunNotFoundError",
    "RunRecord",
]

logger = logging.getLogger("flyte.store")

RUN_FINAL_STATUSES = ("succeeded", "failed", "aborted")
ACTION_FINAL_STATUSES = ("succeeded", "failed", "aborted")
CACHE_STATUSES = ("hit", "miss", "disabled")
LOG_STREAMS = ("stdout", "stderr")

# Summaries are for people reading `flyte get run`; the values themselves live elsewhere.
_SUMMARY_LIMIT = 4096
_FLUSH_INTERVAL_S = 0.05
_BUSY_TIMEOUT_MS = 5000
# Total time a write keeps retrying on SQLITE_BUSY beyond SQLite's own busy_timeout.
_RETRY_DEADLINE_S = 60.0

# ------------------------------------------------------------------------------------------
# Schema. Append a new (version, statements) entry to change it; never edit a shipped entry.
# ------------------------------------------------------------------------------------------
_MIGRATIONS: Tuple[Tuple[int, Tuple[str, ...]], ...] = (
    (
        1,
        (
            """CREATE TABLE runs (
                name TEXT PRIMARY KEY,
                task_name TEXT NOT NULL,
                status TEXT NOT NULL,
                mode TEXT NOT NULL,
                inputs TEXT,
                outputs TEXT,
                error_type TEXT,
                error_message TEXT,
                error_traceback TEXT,
                start_time REAL NOT NULL,
                end_time REAL,
                pid INTEGER,
                hostname TEXT,
                process_marker TEXT
            )""",
            "CREATE INDEX runs_by_start ON runs (start_time)",
            "CREATE INDEX runs_by_status ON runs (status)",
            """CREATE TABLE actions (
                run_name TEXT NOT NULL,
                action_name TEXT NOT NULL,
                parent TEXT,
                task_name TEXT,
                grp TEXT,
                status TEXT NOT NULL,
                attempts INTEGER NOT NULL DEFAULT 0,
                start_time REAL,
                end_time REAL,
                error_type TEXT,
                error_message TEXT,
                error_traceback TEXT,
                cache_status TEXT,
                seq INTEGER,
                PRIMARY KEY (run_name, action_name)
            ) WITHOUT ROWID""",
            """CREATE TABLE logs (
                id INTEGER PRIMARY KEY,
                run_name TEXT NOT NULL,
                action_name TEXT NOT NULL,
                seq INTEGER NOT NULL,
                stream TEXT NOT NULL,
                text TEXT NOT NULL,
                time REAL NOT NULL
            )""",
            "CREATE INDEX logs_by_run ON logs (run_name, action_name, id)",
            """CREATE TABLE cache (
                key TEXT PRIMARY KEY,
                task_name TEXT NOT NULL,
                value BLOB NOT NULL,
                created REAL NOT NULL
            )""",
            "CREATE INDEX cache_by_task ON cache (task_name)",
        ),
    ),
)

SCHEMA_VERSION = _MIGRATIONS[-1][0]


# ------------------------------------------------------------------------------------------
# Records
# ------------------------------------------------------------------------------------------
def _iso(ts: Optional[float]) -> Optional[str]:
    if ts is None:
        return None
    return datetime.fromtimestamp(ts, tz=timezone.utc).isoformat(timespec="milliseconds")


@dataclass(frozen=True)
class ErrorInfo:
    """The error a run or action failed with: exception type name, message, user traceback."""

    type: str
    message: str
    traceback: Optional[str] = None

    def to_dict(self) -> Dict[str, Any]:
        """Plain-JSON form."""
        return asdict(self)


@dataclass(frozen=True)
class RunRecord:
    """One run as recorded in the store. Times are seconds since the epoch."""

    name: str
    task_name: str
    status: str
    mode: str
    inputs: Optional[str]
    outputs: Optional[str]
    error: Optional[ErrorInfo]
    start_time: float
    end_time: Optional[float]
    pid: Optional[int]
    hostname: Optional[str]

    @property
    def duration(self) -> Optional[float]:
        """Seconds from start to end; None while the run has not ended."""
        return None if self.end_time is None else max(0.0, self.end_time - self.start_time)

    def to_dict(self) -> Dict[str, Any]:
        """Plain-JSON form, times as ISO 8601 (UTC) plus ``duration_s``."""
        return {
            "name": self.name,
            "task_name": self.task_name,
            "status": self.status,
            "mode": self.mode,
            "inputs": self.inputs,
            "outputs": self.outputs,
            "error": self.error.to_dict() if self.error else None,
            "start_time": _iso(self.start_time),
            "end_time": _iso(self.end_time),
            "duration_s": self.duration,
            "pid": self.pid,
            "hostname": self.hostname,
        }


@dataclass(frozen=True)
class ActionRecord:
    """One action (one task call) of a run."""

    run_name: str
    name: str
    parent: Optional[str]
    task_name: Optional[str]
    group: Optional[str]
    status: str
    attempts: int
    start_time: Optional[float]
    end_time: Optional[float]
    error: Optional[ErrorInfo]
    cache_status: Optional[str]

    @property
    def duration(self) -> Optional[float]:
        """Seconds from first start to end; None while running or never started."""
        if self.start_time is None or self.end_time is None:
            return None
        return max(0.0, self.end_time - self.start_time)

    def to_dict(self) -> Dict[str, Any]:
        """Plain-JSON form, times as ISO 8601 (UTC) plus ``duration_s``."""
        return {
            "run_name": self.run_name,
            "name": self.name,
            "parent": self.parent,
            "task_name": self.task_name,
            "group": self.group,
            "status": self.status,
            "attempts": self.attempts,
            "start_time": _iso(self.start_time),
            "end_time": _iso(self.end_time),
            "duration_s": self.duration,
            "error": self.error.to_dict() if self.error else None,
            "cache_status": self.cache_status,
        }


@dataclass(frozen=True)
class LogRecord:
    """A chunk of text an action wrote to stdout or stderr."""

    run_name: str
    action_name: str
    seq: int
    stream: str
    text: str
    time: float

    def to_dict(self) -> Dict[str, Any]:
        """Plain-JSON form."""
        d = asdict(self)
        d["time"] = _iso(self.time)
        return d


class RunNotFoundError(ValidationError):
    """No run of that name is in the store."""

    def __init__(self, name: str, path: Path):
        super().__init__(
            "run name",
            name,
            f"the name of a run recorded in {path} (list them with `flyte get runs`)",
        )
        self.path = path
        self.args = (f"no run named {name!r} in {path}: list the recorded runs with `flyte get runs`",)


# ------------------------------------------------------------------------------------------
# Owner processes
# ------------------------------------------------------------------------------------------
_HOSTNAME = socket.gethostname()


def _boot_id() -> str:
    try:
        return Path("/proc/sys/kernel/random/boot_id").read_text().strip()
    except OSError:
        return ""


_BOOT_ID = _boot_id()


def _process_marker(pid: int) -> Optional[str]:
    """A string that differs between two processes that had the same pid (None if unknowable).

    On Linux: boot id + start time in clock ticks since boot. Elsewhere: ``ps``'s start time.
    """
    stat = Path(f"/proc/{pid}/stat")
    try:
        raw = stat.read_text()
    except FileNotFoundError:
        return None
    except OSError:
        raw = ""
    if raw:
        # The command name (field 2) may contain spaces and parentheses: split after its last ')'.
        fields = raw[raw.rindex(")") + 2 :].split()
        return f"{_BOOT_ID}:{fields[19]}"
    import subprocess

    try:
        out = subprocess.run(["ps", "-o", "lstart=", "-p", str(pid)], capture_output=True, text=True, timeout=5)
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None


def _is_zombie(pid: int) -> bool:
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return raw[raw.rindex(")") + 2 :].split()[0] in ("Z", "X")


_own_marker_cache: Dict[int, Optional[str]] = {}


def _own_marker() -> Optional[str]:
    pid = os.getpid()
    if pid not in _own_marker_cache:
        _own_marker_cache[pid] = _process_marker(pid)
    return _own_marker_cache[pid]


def _owner_alive(pid: Optional[int], hostname: Optional[str], marker: Optional[str]) -> bool:
    """Whether the process that owns a record still runs. Owners on other hosts count as alive:
    from here nothing can be known about them."""
    if pid is None or hostname != _HOSTNAME:
        return True
    if pid == os.getpid():
        return marker is None or marker == _own_marker()
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # exists, owned by another user
    except OSError:
        return True
    if _is_zombie(pid):
        return False
    if marker is None:
        return True
    current = _process_marker(pid)
    return current is None or current == marker


# ------------------------------------------------------------------------------------------
# SQLite helpers
# ------------------------------------------------------------------------------------------
T = TypeVar("T")


def _is_busy(e: sqlite3.OperationalError) -> bool:
    msg = str(e).lower()
    return "locked" in msg or "busy" in msg


def _retry_busy(fn: Callable[[], T]) -> T:
    """Run ``fn`` again (with jittered backoff) while SQLite reports the database busy."""
    deadline = time.monotonic() + _RETRY_DEADLINE_S
    delay = 0.005
    while True:
        try:
            return fn()
        except sqlite3.OperationalError as e:
            if not _is_busy(e) or time.monotonic() > deadline:
                raise
        time.sleep(delay * (0.5 + random.random()))
        delay = min(delay * 2, 0.5)


class _Connection(sqlite3.Connection):
    """A connection that can be weakly referenced: a thread's connection then closes when the
    thread ends, while the store can still close every live one."""


def _connect(path: Path) -> sqlite3.Connection:
    # isolation_level=None: transactions are explicit (BEGIN IMMEDIATE ... COMMIT), so that no
    # statement silently opens a deferred transaction that later fails to upgrade.
    conn = sqlite3.connect(
        str(path), timeout=_BUSY_TIMEOUT_MS / 1000, isolation_level=None, check_same_thread=False, factory=_Connection
    )
    conn.execute(f"PRAGMA busy_timeout={_BUSY_TIMEOUT_MS}")
    conn.execute("PRAGMA synchronous=NORMAL")
    return conn


class _Tx:
    """``with _Tx(conn):`` is one BEGIN IMMEDIATE ... COMMIT (ROLLBACK on error)."""

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


def _write(conn: sqlite3.Connection, body: Callable[[sqlite3.Connection], T]) -> T:
    """One short write transaction, retried as a whole on SQLITE_BUSY."""

    def attempt() -> T:
        with _Tx(conn) as c:
            return body(c)

    return _retry_busy(attempt)


def _clean(text: str) -> str:
    """``text`` as SQLite can store it: a lone surrogate (an undecodable file name printed by a
    task) would fail the whole write, so such characters become backslash escapes."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return text.encode("utf-8", "backslashreplace").decode("utf-8")
    return text


def _summary(text: Optional[str]) -> Optional[str]:
    if text is None:
        return None
    if not isinstance(text, str):
        raise ValidationError("summary", text, "a str (a short JSON repr of the values)")
    text = _clean(text)
    return text if len(text) <= _SUMMARY_LIMIT else text[: _SUMMARY_LIMIT - 3] + "..."


def _error_columns(error: Optional[Dict[str, Any]], field: str) -> Tuple[Optional[str], Optional[str], Optional[str]]:
    if error is None:
        return None, None, None
    if not isinstance(error, dict) or "type" not in error or "message" not in error:
        raise ValidationError(field, error, 'None or a dict {"type": ..., "message": ..., "traceback": ...}')
    tb = error.get("traceback")
    return _clean(str(error["type"])), _clean(str(error["message"])), None if tb is None else _clean(str(tb))


def _error_from(row: sqlite3.Row, prefix: str = "error_") -> Optional[ErrorInfo]:
    if row[prefix + "type"] is None:
        return None
    return ErrorInfo(row[prefix + "type"], row[prefix + "message"] or "", row[prefix + "traceback"])


def _check_choice(field: str, value: Any, allowed: Sequence[Optional[str]]) -> None:
    if value not in allowed:
        shown = ", ".join(repr(a) for a in allowed)
        raise ValidationError(field, value, f"one of {shown}")


# Columns whose NULL in a pending action record means "not known yet, keep the stored value".
_ACTION_UPSERT = """
INSERT INTO actions (run_name, action_name, parent, task_name, grp, status, attempts, start_time,
                     end_time, error_type, error_message, error_traceback, cache_status, seq)
VALUES (:run_name, :action_name, :parent, :task_name, :grp, :status, :attempts, :start_time,
        :end_time, :error_type, :error_message, :error_traceback, :cache_status, :seq)
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
    seq = COALESCE(seq, excluded.seq)
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
}


class _Pending:
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


_open_stores: "weakref.WeakSet[LocalStore]" = weakref.WeakSet()


@atexit.register
def _flush_open_stores() -> None:
    # Buffered records must reach the database even if the program never closed its store.
    for store in list(_open_stores):
        try:
            store.close()
        except Exception as e:  # exit must go on
            logger.warning("could not flush the local store %s at exit: %s", store.path, e)


def _after_fork_in_child() -> None:
    for store in list(_open_stores):
        store._reset_after_fork()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)


class LocalStore:
    """The local SQLite store of runs, actions, logs and cached task outputs.

    ``LocalStore()`` opens the configured database (``FLYTE_LOCAL_STORE``, the config file's
    ``local.store``, else ``~/.flyte/local.db``), creating and migrating it on first open.
    Writes of run/action/log records are buffered and committed in batches by a background
    thread; readers in this process see them after :meth:`flush` (the read methods flush
    first). Safe to use from several threads and several processes. Use it as a context
    manager, or call :meth:`close`, to flush and release the database.
    """

    def __init__(self, path: Optional[Path] = None):
        if path is None:
            from flyte._config import get_config

            path = get_config().default_store_path()
        self.path = Path(path).expanduser()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._closed = False
        self._log_seq: Dict[Tuple[str, str], int] = {}
        self._action_seq = 0
        self._init_process_state()
        try:
            self._writer = self._open_writer()
        except sqlite3.DatabaseError as e:
            raise ValidationError(
                "local store",
                str(self.path),
                f"a readable SQLite database ({e}): move the file away or set FLYTE_LOCAL_STORE to another path",
            ) from e
        _open_stores.add(self)

    def _init_process_state(self) -> None:
        """Locks, buffers, threads and connections: what belongs to one process."""
        self._pid = os.getpid()
        self._state_lock = threading.Lock()  # guards _pending, _closed, _flusher, _conns
        self._write_lock = threading.Lock()  # batches are written one at a time, in order
        self._pending = _Pending()
        self._failed: List[_Pending] = []  # batches refused by the database, retried first
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._flusher: Optional[threading.Thread] = None
        self._local = threading.local()
        # Weak: a thread's connection closes when its thread ends; close() closes the rest.
        self._conns: "weakref.WeakSet[sqlite3.Connection]" = weakref.WeakSet()
        self._writer: Optional[sqlite3.Connection] = None

    # -- connections ------------------------------------------------------------------------
    def _open_writer(self) -> sqlite3.Connection:
        conn = _retry_busy(lambda: _connect(self.path))
        mode = _retry_busy(lambda: conn.execute("PRAGMA journal_mode=WAL").fetchone()[0])
        if str(mode).lower() != "wal":
            logger.warning("the local store %s could not switch to WAL (journal_mode=%s)", self.path, mode)
        self._migrate(conn)
        self._conns.add(conn)
        return conn

    def _migrate(self, conn: sqlite3.Connection) -> None:
        if self._schema_version(conn) == SCHEMA_VERSION:
            return

        def body(c: sqlite3.Connection) -> None:
            c.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER PRIMARY KEY, applied_at REAL NOT NULL)")
            current = self._schema_version(c)  # another process may have migrated meanwhile
            if current > SCHEMA_VERSION:
                raise ValidationError(
                    "local store",
                    str(self.path),
                    f"a store of schema version <= {SCHEMA_VERSION}; this one is version {current}, "
                    "written by a newer flyte: upgrade flyte or point FLYTE_LOCAL_STORE elsewhere",
                )
            for version, statements in _MIGRATIONS:
                if version > current:
                    for stmt in statements:
                        c.execute(stmt)
                    c.execute("INSERT INTO schema_version (version, applied_at) VALUES (?, ?)", (version, time.time()))

        _write(conn, body)

    @staticmethod
    def _schema_version(conn: sqlite3.Connection) -> int:
        try:
            row = conn.execute("SELECT MAX(version) FROM schema_version").fetchone()
        except sqlite3.OperationalError as e:
            if "no such table" in str(e):
                return 0
            raise
        return int(row[0] or 0)

    def _conn(self) -> sqlite3.Connection:
        """This thread's connection (reads and immediate writes): SQLite connections are cheap to
        keep and a per-thread one keeps cache lookups free of locking in Python."""
        self._check_open()
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = _retry_busy(lambda: _connect(self.path))
            conn.row_factory = sqlite3.Row
            self._local.conn = conn
            with self._state_lock:
                self._conns.add(conn)
        return conn

    def _check_open(self) -> None:
        if self._pid != os.getpid():
            self._reset_after_fork()
        if self._closed:
            raise RuntimeError(f"the local store {self.path} is closed")

    def _reset_after_fork(self) -> None:
        # A forked child must not use its parent's SQLite connections, locks or threads, nor
        # write the records its parent had buffered (the parent writes those).
        if self._pid != os.getpid():
            self._init_process_state()

    @property
    def schema_version(self) -> int:
        """The schema version of the database."""
        return self._schema_version(self._conn())

    # -- buffered writes ----------------------------------------------------------------------
    def _enqueue(self, add: Callable[[_Pending], None]) -> None:
        self._check_open()
        with self._state_lock:
            add(self._pending)
            size = len(self._pending)
            if self._flusher is None:
                self._flusher = threading.Thread(target=self._flush_loop, name="flyte-store-flush", daemon=True)
                self._flusher.start()
        if size >= 5000:
            self._wake.set()

    def _flush_loop(self) -> None:
        stop, wake = self._stop, self._wake
        while not stop.is_set():
            wake.wait(_FLUSH_INTERVAL_S)
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
                batch, self._pending = self._pending, _Pending()
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
                _write(self._writer, body)
            except sqlite3.OperationalError as e:
                if _is_busy(e):
                    raise  # kept and retried: another process holds the database for now
                self._write_one_by_one(batches, e)
            except sqlite3.Error as e:
                self._write_one_by_one(batches, e)
            with self._state_lock:
                del self._failed[: len(batches)]

    def _write_one_by_one(self, batches: List["_Pending"], error: Exception) -> None:
        # A batch the database refuses for its content would be refused forever and hold up
        # every later record: write the others and drop only the bad one, saying so.
        assert self._writer is not None
        for b in batches:
            try:
                _write(self._writer, lambda c, b=b: self._apply_batch(c, b))
            except sqlite3.OperationalError as e:
                if _is_busy(e):
                    raise
                logger.warning("the local store %s dropped records it could not write: %s", self.path, e)
            except sqlite3.Error as e:
                logger.warning("the local store %s dropped records it could not write: %s", self.path, e)

    @staticmethod
    def _apply_batch(conn: sqlite3.Connection, batch: _Pending) -> None:
        if batch.actions:
            conn.executemany(_ACTION_UPSERT, list(batch.actions.values()))
        if batch.logs:
            conn.executemany(_LOG_INSERT, batch.logs)
        if batch.run_finishes:
            conn.executemany(_RUN_FINISH, batch.run_finishes)

    def flush(self) -> None:
        """Write every buffered record now, in this thread; raises if the database refuses them."""
        self._check_open()
        self._write_pending()

    def close(self) -> None:
        """Flush, stop the background writer and close the database connections. Idempotent."""
        self._reset_after_fork()
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
            _open_stores.discard(self)

    def __enter__(self) -> "LocalStore":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"LocalStore({str(self.path)!r})"

    # -- runs --------------------------------------------------------------------------------
    def start_run(self, name: str, task_name: str, inputs_summary: str, mode: str = "local") -> None:
        """Record a new run owned by this process, status "running". Written immediately.

        ``inputs_summary`` is shown by ``flyte get run``: a short JSON text that must hold no
        secret value. It is cut to a few KB.

        Raises ValidationError if a run of that name is already recorded.
        """
        if not isinstance(name, str) or not name:
            raise ValidationError("run name", name, "a non-empty str")
        row = {
            "name": name,
            "task_name": task_name,
            "status": "running",
            "mode": mode,
            "inputs": _summary(inputs_summary),
            "start_time": time.time(),
            "pid": os.getpid(),
            "hostname": _HOSTNAME,
            "process_marker": _own_marker(),
        }
        conn = self._conn()

        def body(c: sqlite3.Connection) -> None:
            c.execute(
                "INSERT INTO runs (name, task_name, status, mode, inputs, start_time, pid, hostname, process_marker) "
                "VALUES (:name, :task_name, :status, :mode, :inputs, :start_time, :pid, :hostname, :process_marker)",
                row,
            )

        try:
            _write(conn, body)
        except sqlite3.IntegrityError:
            raise ValidationError(
                "run name", name, f"a name not used by another run in {self.path} (see `flyte get runs`)"
            ) from None

    def finish_run(
        self,
        name: str,
        status: str,
        outputs_summary: Optional[str] = None,
        error: Optional[Dict[str, Any]] = None,
    ) -> None:
        """Record the end of a run; everything buffered before it is written with it."""
        _check_choice("status", status, RUN_FINAL_STATUSES)
        etype, emsg, etb = _error_columns(error, "error")
        rec = {
            "name": name,
            "status": status,
            "outputs": _summary(outputs_summary),
            "error_type": etype,
            "error_message": emsg,
            "error_traceback": etb,
            "end_time": time.time(),
        }
        self._enqueue(lambda p: p.run_finishes.append(rec))
        self.flush()

    # -- actions and logs (buffered) -------------------------------------------------------------
    def action_started(
        self,
        run_name: str,
        action_name: str,
        parent: Optional[str],
        task_name: str,
        group: Optional[str],
        attempt: int,
    ) -> None:
        """Record that an attempt of an action started.

        ``attempt`` is the 0-based attempt number (``TaskContext.attempt_number``): 0 for the
        first try, 1 for the first retry. The record counts attempts, so it holds ``attempt + 1``.
        """
        now = time.time()

        def add(p: _Pending) -> None:
            rec = p.action_record(run_name, action_name)
            self._action_seq += 1
            rec.update(
                parent=parent,
                task_name=task_name,
                grp=group,
                status="running",
                attempts=max(rec["attempts"], int(attempt) + 1),
                start_time=rec["start_time"] or now,
                end_time=None,
                error_type=None,
                error_message=None,
                error_traceback=None,
            )
            if rec["seq"] is None:
                rec["seq"] = self._action_seq

        self._enqueue(add)

    def action_finished(
        self,
        run_name: str,
        action_name: str,
        status: str,
        error: Optional[Dict[str, Any]] = None,
        cache_status: Optional[str] = None,
    ) -> None:
        """Record how an action ended; ``cache_status`` is "hit", "miss" or "disabled"."""
        _check_choice("status", status, ACTION_FINAL_STATUSES)
        _check_choice("cache_status", cache_status, (*CACHE_STATUSES, None))
        etype, emsg, etb = _error_columns(error, "error")
        now = time.time()

        def add(p: _Pending) -> None:
            rec = p.action_record(run_name, action_name)
            rec.update(status=status, end_time=now, error_type=etype, error_message=emsg, error_traceback=etb)
            if cache_status is not None:
                rec["cache_status"] = cache_status

        self._enqueue(add)

    def append_log(self, run_name: str, action_name: str, stream: str, text: str) -> None:
        """Record text an action wrote to ``stream`` ("stdout" or "stderr")."""
        _check_choice("stream", stream, LOG_STREAMS)
        now = time.time()

        def add(p: _Pending) -> None:
            key = (run_name, action_name)
            seq = self._log_seq.get(key, 0) + 1
            self._log_seq[key] = seq
            p.logs.append(
                {"run_name": run_name, "action_name": action_name, "seq": seq, "stream": stream, "text": _clean(str(text)), "time": now}
            )

        self._enqueue(add)

    # -- cache (synchronous) -----------------------------------------------------------------
    def cache_get(self, key: str) -> Optional[bytes]:
        """The cached outputs stored under ``key``, or None."""
        row = _retry_busy(lambda: self._conn().execute("SELECT value FROM cache WHERE key = ?", (key,)).fetchone())
        return None if row is None else bytes(row[0])

    def cache_put(self, key: str, value: bytes, task_name: str) -> None:
        """Store outputs under ``key`` (replacing an older entry), committed before returning."""
        if not isinstance(value, (bytes, bytearray, memoryview)):
            raise ValidationError("value", value, "bytes (the serialized outputs)")
        params = (key, task_name, sqlite3.Binary(bytes(value)), time.time())
        _write(
            self._conn(),
            lambda c: c.execute(
                "INSERT OR REPLACE INTO cache (key, task_name, value, created) VALUES (?, ?, ?, ?)", params
            ),
        )

    def cache_clear(self, task_name: Optional[str] = None) -> int:
        """Delete the cache entries of one task (all tasks if None); returns how many went."""
        if task_name is None:
            return _write(self._conn(), lambda c: c.execute("DELETE FROM cache").rowcount)
        return _write(self._conn(), lambda c: c.execute("DELETE FROM cache WHERE task_name = ?", (task_name,)).rowcount)

    # -- readers -----------------------------------------------------------------------------
    def _query(self, sql: str, params: Iterable[Any] = ()) -> List[sqlite3.Row]:
        conn = self._conn()
        return _retry_busy(lambda: conn.execute(sql, tuple(params)).fetchall())

    def _run_from_row(self, row: sqlite3.Row) -> RunRecord:
        return RunRecord(
            name=row["name"],
            task_name=row["task_name"],
            status=row["status"],
            mode=row["mode"],
            inputs=row["inputs"],
            outputs=row["outputs"],
            error=_error_from(row),
            start_time=row["start_time"],
            end_time=row["end_time"],
            pid=row["pid"],
            hostname=row["hostname"],
        )

    def _reconcile(self, rows: List[sqlite3.Row]) -> List[sqlite3.Row]:
        """Mark "running" runs whose owner process is gone as aborted, with their running
        actions, in one transaction; return the rows as they now read."""
        alive: Dict[Tuple[Any, Any, Any], bool] = {}
        dead: List[Tuple[str, str]] = []
        for row in rows:
            if row["status"] != "running":
                continue
            owner = (row["pid"], row["hostname"], row["process_marker"])
            if owner not in alive:
                alive[owner] = _owner_alive(*owner)
            if not alive[owner]:
                message = f"the process that ran it (pid {row['pid']} on {row['hostname']}) ended without finishing it"
                dead.append((row["name"], message))
        if not dead:
            return rows

        def body(c: sqlite3.Connection) -> None:
            now = time.time()
            c.executemany(
                "UPDATE runs SET status = 'aborted', end_time = ?, error_type = 'RunAbortedError', "
                "error_message = ? WHERE name = ? AND status = 'running'",
                [(now, message, name) for name, message in dead],
            )
            c.executemany(
                "UPDATE actions SET status = 'aborted', end_time = ?, error_type = 'ActionAbortedError', "
                "error_message = ? WHERE run_name = ? AND status = 'running'",
                [(now, message, name) for name, message in dead],
            )

        _write(self._conn(), body)
        changed = {name for name, _ in dead}
        fresh: Dict[str, sqlite3.Row] = {}
        for name in changed:
            fresh[name] = self._query("SELECT * FROM runs WHERE name = ?", (name,))[0]
        return [fresh.get(r["name"], r) for r in rows]

    def list_runs(self, limit: int = 50) -> List[RunRecord]:
        """The most recent runs, newest first."""
        if not isinstance(limit, int) or isinstance(limit, bool) or limit < 1:
            raise ValidationError("limit", limit, "an int >= 1")
        self.flush()
        rows = self._query("SELECT * FROM runs ORDER BY start_time DESC, name LIMIT ?", (limit,))
        return [self._run_from_row(r) for r in self._reconcile(rows)]

    def _get_run_row(self, name: str) -> sqlite3.Row:
        rows = self._query("SELECT * FROM runs WHERE name = ?", (name,))
        if not rows:
            raise RunNotFoundError(name, self.path)
        return self._reconcile(rows)[0]

    def get_run(self, name: str) -> RunRecord:
        """One run by name; raises :class:`RunNotFoundError` (a ValidationError) if unknown."""
        self.flush()
        return self._run_from_row(self._get_run_row(name))

    def get_actions(self, run_name: str) -> List[ActionRecord]:
        """The actions of a run, in the order they first started."""
        self.flush()
        run = self._get_run_row(run_name)
        rows = self._query("SELECT * FROM actions WHERE run_name = ? ORDER BY seq, start_time, action_name", (run_name,))
        # A run that ended (or was found aborted) has no running action left: show those as aborted.
        stale = run["status"] != "running"
        return [
            ActionRecord(
                run_name=r["run_name"],
                name=r["action_name"],
                parent=r["parent"],
                task_name=r["task_name"],
                group=r["grp"],
                status="aborted" if stale and r["status"] == "running" else r["status"],
                attempts=r["attempts"],
                start_time=r["start_time"],
                end_time=r["end_time"],
                error=_error_from(r),
                cache_status=r["cache_status"],
            )
            for r in rows
        ]

    def get_logs(self, run_name: str, action_name: Optional[str] = None) -> List[LogRecord]:
        """The captured output of a run (or of one of its actions), in the order it was written."""
        self.flush()
        self._get_run_row(run_name)
        if action_name is None:
            rows = self._query("SELECT * FROM logs WHERE run_name = ? ORDER BY id", (run_name,))
        else:
            rows = self._query(
                "SELECT * FROM logs WHERE run_name = ? AND action_name = ? ORDER BY id", (run_name, action_name)
            )
        return [LogRecord(r["run_name"], r["action_name"], r["seq"], r["stream"], r["text"], r["time"]) for r in rows]

