"""Capture what each action prints into the local store, while still printing it."""

from __future__ import annotations

import contextlib
import sys
import threading
from typing import Any, Iterator, TextIO

from flyte._context import current_run_state, current_task_context
from flyte._redact import redact

_lock = threading.Lock()
_installed = 0
_originals: dict = {}


class _Tee:
    """A stream that writes through to the real one and records the text for the current action."""

    def __init__(self, stream: TextIO, name: str):
        self._stream = stream
        self._name = name

    def write(self, text: str) -> int:
        text = redact(text)  # a secret value the task resolved is never shown or stored
        n = self._stream.write(text)
        if text:
            state = current_run_state.get()
            store = getattr(state, "store", None)
            if store is not None:
                tctx = current_task_context.get()
                try:
                    store.append_log(state.run_name, tctx.action.name if tctx else "", self._name, text)
                except Exception:  # e.g. an abandoned sync body printing after its run closed the store
                    pass
        return n

    def __getattr__(self, item: str) -> Any:
        return getattr(self._stream, item)


@contextlib.contextmanager
def capture_logs(store: Any, run_name: str) -> Iterator[None]:
    """While a recorded run is active, tee stdout/stderr into its actions' logs."""
    global _installed
    if store is None:
        yield
        return
    with _lock:
        if _installed == 0:
            _originals["stdout"], _originals["stderr"] = sys.stdout, sys.stderr
            sys.stdout = _Tee(sys.stdout, "stdout")  # type: ignore[assignment]
            sys.stderr = _Tee(sys.stderr, "stderr")  # type: ignore[assignment]
        _installed += 1
    try:
        yield
    finally:
        with _lock:
            _installed -= 1
            if _installed == 0:
                sys.stdout, sys.stderr = _originals["stdout"], _originals["stderr"]
