"""What the store records: runs, actions and log chunks as frozen dataclasses, and the checks
and clean-up applied to values before they are written."""

from __future__ import annotations

import sqlite3
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Dict, Optional, Sequence, Tuple

from flyte._redact import redact
from flyte.errors import ValidationError

__all__ = [
    "ACTION_FINAL_STATUSES",
    "CACHE_STATUSES",
    "LOG_STREAMS",
    "RUN_FINAL_STATUSES",
    "ActionRecord",
    "ErrorInfo",
    "LocalStoreError",
    "LogRecord",
    "RunNotFoundError",
    "RunRecord",
]

RUN_FINAL_STATUSES = ("succeeded", "failed", "aborted")
ACTION_FINAL_STATUSES = ("succeeded", "failed", "aborted")
CACHE_STATUSES = ("hit", "miss", "disabled")
LOG_STREAMS = ("stdout", "stderr")

# Summaries are for people reading `flyte get run`; the values themselves live elsewhere.
SUMMARY_LIMIT = 4096


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
    attempt_starts: Tuple[float, ...] = ()
    """When each attempt started (epoch seconds, first attempt first); the gaps between retries
    are the backoff and the failed attempts."""

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
            "attempt_starts": [_iso(t) for t in self.attempt_starts],
        }


def attempt_starts_from(column: Optional[str]) -> Tuple[float, ...]:
    """The ``attempt_starts`` column (JSON ``{"<attempt>": epoch}``) as start times in attempt order."""
    if not column:
        return ()
    import json

    try:
        starts = json.loads(column)
        return tuple(float(starts[k]) for k in sorted(starts, key=int))
    except (ValueError, TypeError, AttributeError):  # a damaged value hides the gaps, not the action
        return ()


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


class LocalStoreError(ValidationError):
    """The local store cannot be used: the file is damaged, not a database, or cannot be written.

    The message names the file and says what to do (move it aside, point ``FLYTE_HOME`` or
    ``FLYTE_LOCAL_STORE`` elsewhere).
    """

    def __init__(self, path: Path, message: str):
        super().__init__("local store", str(path), message)
        self.path = path
        self.args = (message,)

    def __str__(self) -> str:
        return str(self.args[0])


# ------------------------------------------------------------------------------------------
# Values on their way in and out
# ------------------------------------------------------------------------------------------
def clean(text: str) -> str:
    """``text`` as SQLite can store it, with every resolved secret value masked (a secret never
    reaches the store: logs, errors, tracebacks and summaries all pass here). A lone surrogate
    (an undecodable file name printed by a task) would fail the whole write, so such characters
    become backslash escapes."""
    text = redact(text)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return text.encode("utf-8", "backslashreplace").decode("utf-8")
    return text


def summary(text: Optional[str]) -> Optional[str]:
    """``text`` (a short JSON text of values) as stored: cleaned and cut to a few KB."""
    if text is None:
        return None
    if not isinstance(text, str):
        raise ValidationError("summary", text, "a str (a short JSON repr of the values)")
    text = clean(text)
    return text if len(text) <= SUMMARY_LIMIT else text[: SUMMARY_LIMIT - 3] + "..."


def error_columns(error: Optional[Dict[str, Any]], field: str) -> Tuple[Optional[str], Optional[str], Optional[str]]:
    """The (type, message, traceback) columns of an error dict; ValidationError names ``field``."""
    if error is None:
        return None, None, None
    if not isinstance(error, dict) or "type" not in error or "message" not in error:
        raise ValidationError(field, error, 'None or a dict {"type": ..., "message": ..., "traceback": ...}')
    tb = error.get("traceback")
    return clean(str(error["type"])), clean(str(error["message"])), None if tb is None else clean(str(tb))


def error_from(row: sqlite3.Row, prefix: str = "error_") -> Optional[ErrorInfo]:
    """The error recorded in a row's error columns, or None."""
    if row[prefix + "type"] is None:
        return None
    return ErrorInfo(row[prefix + "type"], row[prefix + "message"] or "", row[prefix + "traceback"])


def check_choice(field: str, value: Any, allowed: Sequence[Optional[str]]) -> None:
    """Raise ValidationError naming ``field`` unless ``value`` is one of ``allowed``."""
    if value not in allowed:
        shown = ", ".join(repr(a) for a in allowed)
        raise ValidationError(field, value, f"one of {shown}")

