"""What ``flyte run`` shows: elapsed time while a run takes long, then the run's outputs.

Outputs are printed as text (one value per line, ``name: value`` for several) or, with
``-o json``, as one JSON document; values JSON cannot hold are shown as their repr.
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import enum
import json
import sys
import threading
import time
from typing import Any, Optional

import click

__all__ = ["Progress", "format_value", "jsonable", "show_outputs"]


def jsonable(value: Any) -> Any:
    """``value`` as plain JSON data (dataclasses and models as objects, enums by value, files by path)."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: jsonable(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if hasattr(value, "model_dump"):
        return value.model_dump(mode="json")
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, (_dt.datetime, _dt.date)):
        return value.isoformat()
    if isinstance(value, _dt.timedelta):
        return value.total_seconds()
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    path = getattr(value, "path", None)
    if isinstance(path, str):
        return path
    return repr(value)


class Progress:
    """Shows elapsed time on a terminal while a run takes longer than a moment.

    The line is drawn only when the terminal's cursor is at the start of a line, and it is
    cleared before anything the run prints (through ``sys.stdout`` / ``sys.stderr``), so task
    output never runs into it.
    """

    def __init__(self, label: str, enabled: bool, *, stream: Optional[Any] = None, interval: float = 1.0):
        self.label = label
        self.enabled = enabled
        self.interval = interval
        self._out = stream if stream is not None else sys.__stderr__
        self._stop = threading.Event()
        self._thread: Optional[threading.Thread] = None
        self._lock = threading.RLock()
        self._shown = False
        self._at_line_start = True
        self._saved: Optional[tuple] = None

    def __enter__(self) -> "Progress":
        if self.enabled:
            self._saved = (sys.stdout, sys.stderr)
            sys.stdout = _ClearingStream(sys.stdout, self)  # type: ignore[assignment]
            sys.stderr = _ClearingStream(sys.stderr, self)  # type: ignore[assignment]
            self._thread = threading.Thread(target=self._loop, daemon=True)
            self._thread.start()
        return self

    def _loop(self) -> None:
        start = time.monotonic()
        while not self._stop.wait(self.interval):
            with self._lock:
                if not self._at_line_start:  # a partial line of output: drawing would overwrite it
                    continue
                self._out.write(f"\r\033[K{self.label} running... {time.monotonic() - start:.0f}s")
                self._out.flush()
                self._shown = True

    def _before_output(self) -> None:
        """Called with the lock held before the run writes: take the progress line away."""
        if self._shown:
            self._out.write("\r\033[K")
            self._out.flush()
            self._shown = False

    def __exit__(self, *exc: Any) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        if self._saved is not None:
            sys.stdout, sys.stderr = self._saved
            self._saved = None
        with self._lock:
            self._before_output()


class _ClearingStream:
    """A stream that clears the progress line before each write and tracks the cursor column."""

    def __init__(self, stream: Any, progress: Progress):
        self._stream = stream
        self._progress = progress

    def write(self, text: str) -> int:
        if not text:
            return 0
        with self._progress._lock:
            self._progress._before_output()
            n = self._stream.write(text)
            self._progress._at_line_start = text.endswith("\n")
        return n

    def __getattr__(self, item: str) -> Any:
        return getattr(self._stream, item)


def format_value(value: Any) -> str:
    """One output value as text: strings as they are, the rest as JSON (else its repr)."""
    if isinstance(value, str):
        return value
    try:
        return json.dumps(jsonable(value))
    except (TypeError, ValueError):
        return repr(value)


def show_outputs(result: Any, task: Any, output: str) -> None:
    """Print a finished run's outputs (``output``: ``"table"`` or ``"json"``)."""
    outputs = result.outputs().named_outputs
    if output == "json":
        doc = {"run": result.name, "phase": result.phase.value, "task": task.name, "outputs": jsonable(outputs)}
        if getattr(result, "reports", None):
            doc["reports"] = dict(result.reports)
        click.echo(json.dumps(doc))
        return
    click.echo(f"Run {result.name} succeeded ({result.duration:.2f}s): flyte get run {result.name}", err=True)
    for action, path in sorted(getattr(result, "reports", {}).items()):
        click.echo(f"Report of {action}: {path}", err=True)
    if len(outputs) == 1:
        (value,) = outputs.values()
        click.echo(format_value(value))
    else:
        for k, v in outputs.items():
            click.echo(f"{k}: {format_value(v)}")
