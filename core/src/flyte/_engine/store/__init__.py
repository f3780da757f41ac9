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

The package holds one concern per module: :mod:`.schema` (schema and migrations),
:mod:`.records` (record dataclasses and value checks), :mod:`._sqlite` (connections,
transactions, busy retry), :mod:`._writer` (the write-behind batcher, its flush thread and fork
handling), and this facade with the queries. Owner liveness is :mod:`flyte._owner`.
"""

from __future__ import annotations

import json
import sqlite3
import time
from pathlib import Path
from typing import Any, Callable, Dict, Iterable, List, Optional, Tuple

from flyte._engine.store._guard import CacheSigner, StoreWarning, check_integrity, open_error, prepare
from flyte._engine.store._sqlite import retry_busy, write
from flyte._engine.store._writer import BatchWriter, Pending
from flyte._engine.store.records import (
    ACTION_FINAL_STATUSES,
    CACHE_STATUSES,
    LOG_STREAMS,
    RUN_FINAL_STATUSES,
    ActionRecord,
    ErrorInfo,
    LocalStoreError,
    LogRecord,
    RunNotFoundError,
    RunRecord,
    attempt_starts_from,
    check_choice,
    clean,
    error_columns,
    error_from,
    summary,
)
from flyte._engine.store.schema import SCHEMA_VERSION, schema_version
from flyte._owner import ProcessMarker, is_alive
from flyte.errors import ValidationError

__all__ = [
    "SCHEMA_VERSION",
    "ActionRecord",
    "ErrorInfo",
    "LocalStore",
    "LocalStoreError",
    "LogRecord",
    "RunNotFoundError",
    "RunRecord",
    "StoreWarning",
]


def _owner_alive(pid: Optional[int], hostname: Optional[str], marker: Optional[str]) -> bool:
    """Whether the process that owns a run still runs (unknown owners count as alive)."""
    if pid is None or hostname is None:
        return True
    return is_alive(ProcessMarker(pid, hostname, marker))


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
        prepare(self.path)  # owner-only folder and file; a warning for a store others can read
        self._log_seq: Dict[Tuple[str, str], int] = {}
        self._action_seq = 0
        self._signer = CacheSigner(self.path)
        try:
            self._batches = BatchWriter(self.path)
        except sqlite3.DatabaseError as e:
            raise open_error(self.path, e) from None
        try:
            check_integrity(self._batches.connection(), self.path)
        except BaseException:
            self._batches.close()
            raise

    def _conn(self) -> sqlite3.Connection:
        return self._batches.connection()

    @property
    def schema_version(self) -> int:
        """The schema version of the database."""
        return schema_version(self._conn())

    def _enqueue(self, add: Callable[[Pending], None]) -> None:
        self._batches.enqueue(add)

    def flush(self) -> None:
        """Write every buffered record now, in this thread; raises if the database refuses them."""
        self._batches.flush()

    def close(self) -> None:
        """Flush, stop the background writer and close the database connections. Idempotent."""
        self._batches.close()

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
        owner = ProcessMarker.current()
        row = {
            "name": name,
            "task_name": task_name,
            "status": "running",
            "mode": mode,
            "inputs": summary(inputs_summary),
            "start_time": time.time(),
            "pid": owner.pid,
            "hostname": owner.hostname,
            "process_marker": owner.start,
        }
        conn = self._conn()

        def body(c: sqlite3.Connection) -> None:
            c.execute(
                "INSERT INTO runs (name, task_name, status, mode, inputs, start_time, pid, hostname, process_marker) "
                "VALUES (:name, :task_name, :status, :mode, :inputs, :start_time, :pid, :hostname, :process_marker)",
                row,
            )

        try:
            write(conn, body)
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
        check_choice("status", status, RUN_FINAL_STATUSES)
        etype, emsg, etb = error_columns(error, "error")
        rec = {
            "name": name,
            "status": status,
            "outputs": summary(outputs_summary),
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

        def add(p: Pending) -> None:
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
            starts = json.loads(rec["attempt_starts"] or "{}")
            starts.setdefault(str(int(attempt)), now)
            rec["attempt_starts"] = json.dumps(starts)

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
        check_choice("status", status, ACTION_FINAL_STATUSES)
        check_choice("cache_status", cache_status, (*CACHE_STATUSES, None))
        etype, emsg, etb = error_columns(error, "error")
        now = time.time()

        def add(p: Pending) -> None:
            rec = p.action_record(run_name, action_name)
            rec.update(status=status, end_time=now, error_type=etype, error_message=emsg, error_traceback=etb)
            if cache_status is not None:
                rec["cache_status"] = cache_status

        self._enqueue(add)

    def append_log(self, run_name: str, action_name: str, stream: str, text: str) -> None:
        """Record text an action wrote to ``stream`` ("stdout" or "stderr")."""
        check_choice("stream", stream, LOG_STREAMS)
        now = time.time()

        def add(p: Pending) -> None:
            key = (run_name, action_name)
            seq = self._log_seq.get(key, 0) + 1
            self._log_seq[key] = seq
            p.logs.append(
                {"run_name": run_name, "action_name": action_name, "seq": seq, "stream": stream, "text": clean(str(text)), "time": now}
            )

        self._enqueue(add)

    # -- cache (synchronous) -----------------------------------------------------------------
    def cache_get(self, key: str) -> Optional[bytes]:
        """The cached outputs stored under ``key``, or None (also for an entry whose signature does
        not verify: it was changed outside flyte; a StoreWarning says so)."""
        row = retry_busy(lambda: self._conn().execute("SELECT value FROM cache WHERE key = ?", (key,)).fetchone())
        if row is None:
            return None
        # An entry that does not verify is never handed on to be decoded (it could hold a pickle).
        return self._signer.verify(key, bytes(row[0]))

    def cache_put(self, key: str, value: bytes, task_name: str) -> None:
        """Store outputs under ``key`` (replacing an older entry), committed before returning."""
        if not isinstance(value, (bytes, bytearray, memoryview)):
            raise ValidationError("value", value, "bytes (the serialized outputs)")
        params = (key, task_name, sqlite3.Binary(self._signer.sign(key, bytes(value))), time.time())
        write(
            self._conn(),
            lambda c: c.execute(
                "INSERT OR REPLACE INTO cache (key, task_name, value, created) VALUES (?, ?, ?, ?)", params
            ),
        )

    def cache_clear(self, task_name: Optional[str] = None) -> int:
        """Delete the cache entries of one task (all tasks if None); returns how many went."""
        if task_name is None:
            return write(self._conn(), lambda c: c.execute("DELETE FROM cache").rowcount)
        return write(self._conn(), lambda c: c.execute("DELETE FROM cache WHERE task_name = ?", (task_name,)).rowcount)

    # -- readers -----------------------------------------------------------------------------
    def _query(self, sql: str, params: Iterable[Any] = ()) -> List[sqlite3.Row]:
        conn = self._conn()
        return retry_busy(lambda: conn.execute(sql, tuple(params)).fetchall())

    def _run_from_row(self, row: sqlite3.Row) -> RunRecord:
        return RunRecord(
            name=row["name"],
            task_name=row["task_name"],
            status=row["status"],
            mode=row["mode"],
            inputs=row["inputs"],
            outputs=row["outputs"],
            error=error_from(row),
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

        write(self._conn(), body)
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
                error=error_from(r),
                cache_status=r["cache_status"],
                attempt_starts=attempt_starts_from(r["attempt_starts"]),
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

