"""The store's table of per-action records: durable values and report files.

The table is created on first use (``CREATE TABLE IF NOT EXISTS``) rather than by a schema
migration: it is additive, nothing else reads it, and a database without it is simply one
whose runs recorded no such values. Rows are written through (durable calls are rare and a
retry in another process must find them).
"""

from __future__ import annotations

import sqlite3
import time
from typing import Any, Dict, List, Tuple

from flyte._engine.store._sqlite import retry_busy, write

__all__ = ["durable_records", "record_durable", "record_report", "report_paths"]

_TABLE = """CREATE TABLE IF NOT EXISTS action_journal (
    run_name TEXT NOT NULL,
    action_name TEXT NOT NULL,
    kind TEXT NOT NULL,
    seq INTEGER NOT NULL,
    value TEXT NOT NULL,
    time REAL NOT NULL,
    PRIMARY KEY (run_name, action_name, kind, seq)
) WITHOUT ROWID"""

_ready: Dict[str, bool] = {}


def _conn(store: Any) -> sqlite3.Connection:
    conn = store._conn()
    key = str(store.path)
    if not _ready.get(key):
        write(conn, lambda c: c.execute(_TABLE))
        _ready[key] = True
    return conn


def _put(store: Any, run: str, action: str, kind: str, seq: int, value: str) -> None:
    params = (run, action, kind, seq, value, time.time())
    write(
        _conn(store),
        lambda c: c.execute(
            "INSERT OR REPLACE INTO action_journal (run_name, action_name, kind, seq, value, time) VALUES (?, ?, ?, ?, ?, ?)",
            params,
        ),
    )


def record_durable(store: Any, run: str, action: str, seq: int, kind: str, value: float) -> None:
    """Record the ``seq``-th durable value of an action (``kind``: time, now or sleep)."""
    _put(store, run, action, f"durable:{kind}", seq, repr(float(value)))


def record_report(store: Any, run: str, action: str, path: str) -> None:
    """Record where an action's report file is."""
    _put(store, run, action, "report", 0, path)


def _rows(store: Any, sql: str, params: Tuple[Any, ...]) -> List[sqlite3.Row]:
    conn = _conn(store)
    return retry_busy(lambda: conn.execute(sql, params).fetchall())


def report_paths(store: Any, run: str) -> Dict[str, str]:
    """Action name -> report file, for the actions of run ``run`` that wrote a report."""
    rows = _rows(store, "SELECT action_name, value FROM action_journal WHERE run_name = ? AND kind = 'report'", (run,))
    return {r[0]: r[1] for r in rows}


def durable_records(store: Any, run: str) -> List[Tuple[str, int, str, float]]:
    """(action, seq, kind, value) of every durable value recorded in run ``run``, in order."""
    rows = _rows(
        store,
        "SELECT action_name, seq, kind, value FROM action_journal WHERE run_name = ? AND kind LIKE 'durable:%' "
        "ORDER BY action_name, seq",
        (run,),
    )
    return [(r[0], int(r[1]), r[2].split(":", 1)[1], float(r[3])) for r in rows]
