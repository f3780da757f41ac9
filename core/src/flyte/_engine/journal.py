"""Per-action journals of durable values (``flyte.durable``) and the report files of a run.

An action's journal is the list of values its durable calls returned, in call order. Each
attempt reads it from the start: the n-th call of an attempt replays the n-th entry when it is
of the same kind, and a call past the end (or of another kind: the code took another path)
records a new value there and drops what followed. Journals live as long as the run; when
runs are recorded, every new entry is also written to the local store
(:mod:`flyte._engine.store.journal`), where ``flyte get run`` and later tools can read it.
"""

from __future__ import annotations

import threading
from typing import Any, Callable, Dict, List, Optional, Tuple

__all__ = ["DurableJournal", "Journals"]


class DurableJournal:
    """The durable values of one action, and a read position per attempt."""

    def __init__(self, on_record: Optional[Callable[[int, str, float], None]] = None):
        self._entries: List[Tuple[str, float]] = []
        self._cursor: Dict[int, int] = {}
        self._lock = threading.Lock()  # sync bodies call from worker threads
        self._on_record = on_record

    def cursor(self, attempt: int) -> "_Cursor":
        return _Cursor(self, attempt)

    def next(self, attempt: int, kind: str, produce: Callable[[], float]) -> float:
        with self._lock:
            i = self._cursor.get(attempt, 0)
            self._cursor[attempt] = i + 1
            if i < len(self._entries) and self._entries[i][0] == kind:
                return self._entries[i][1]
            value = float(produce())
            del self._entries[i:]
            self._entries.append((kind, value))
        if self._on_record is not None:
            self._on_record(i, kind, value)
        return value

    def entries(self) -> List[Tuple[str, float]]:
        with self._lock:
            return list(self._entries)


class _Cursor:
    """What ``flyte.durable`` sees: the journal at one attempt's read position."""

    __slots__ = ("_journal", "_attempt")

    def __init__(self, journal: DurableJournal, attempt: int):
        self._journal = journal
        self._attempt = attempt

    def next(self, kind: str, produce: Callable[[], float]) -> float:
        return self._journal.next(self._attempt, kind, produce)


class Journals:
    """The journals and report files of one run."""

    def __init__(self, run_name: str, store: Any):
        self.run_name = run_name
        self.store = store
        self._journals: Dict[str, DurableJournal] = {}
        self.reports: Dict[str, str] = {}  # action name -> report file
        self._lock = threading.Lock()

    def journal(self, action_name: str) -> DurableJournal:
        j = self._journals.get(action_name)  # a dict read needs no lock; creating one does
        if j is not None:
            return j
        with self._lock:
            j = self._journals.get(action_name)
            if j is None:
                on_record = None
                if self.store is not None:
                    from flyte._engine.store.journal import record_durable

                    store, run = self.store, self.run_name

                    def on_record(seq: int, kind: str, value: float) -> None:
                        record_durable(store, run, action_name, seq, kind, value)

                j = self._journals[action_name] = DurableJournal(on_record)
            return j

    def report_written(self, action_name: str, path: str) -> None:
        with self._lock:
            if self.reports.get(action_name) == path:
                return
            self.reports[action_name] = path
        if self.store is not None:
            from flyte._engine.store.journal import record_report

            record_report(self.store, self.run_name, action_name, path)
