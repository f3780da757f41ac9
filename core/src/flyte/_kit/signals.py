"""SIGINT/SIGTERM handlers that stop the kit's runtimes, chained to whatever was installed.

Handlers can only be installed from the main thread, so :func:`install` is called from places
that run there (a task's ``pre``, the end of a run) and does nothing elsewhere. It installs
once per signal and keeps the handler it replaces: ours stops the runtimes, then calls that one
(the user's handler) or, for the default action, re-delivers the signal after the stop. A
signal the user ignores stays ignored, and a handler the user installs later wins.

SIGINT is special: while Python's own ``KeyboardInterrupt`` handler is in place, asyncio's
runner (and so ``flyte.run``) turns Ctrl-C into a clean cancellation, but only if it finds that
very handler installed. So the kit leaves it alone; an interrupted run asks the runtimes to stop
(:func:`flyte._kit.runtime.stop_all`, called by the engine) and interpreter exit stops them.
"""

from __future__ import annotations

import os
import signal
import threading
from typing import Any, Callable, Dict

__all__ = ["install", "is_kit_handler"]

_lock = threading.Lock()
_previous: Dict[int, Any] = {}
_stop_all: Callable[[bool], None] = lambda blocking: None


def set_stopper(fn: Callable[[bool], None]) -> None:
    """What the handlers call: ``fn(blocking)`` stops (or asks to stop) every runtime."""
    global _stop_all
    _stop_all = fn


def _handler(signum: int, frame: Any) -> None:
    previous = _previous.get(signum, signal.SIG_DFL)
    if previous in (signal.SIG_DFL, None):
        # The default action ends the process at once: stop the runtimes first, then let it.
        _stop_all(True)
        signal.signal(signum, signal.SIG_DFL)
        os.kill(os.getpid(), signum)
        return
    # The previous handler decides what happens to the process (KeyboardInterrupt, a user
    # handler that exits...): ask the runtimes to stop as soon as nobody uses them.
    _stop_all(False)
    if callable(previous):
        previous(signum, frame)


def is_kit_handler(handler: Any) -> bool:
    """True when ``handler`` is the kit's own (the engine treats it like the default)."""
    return handler is _handler


def install() -> bool:
    """Install the handlers if on the main thread and not done yet; True when they are in place."""
    if threading.current_thread() is not threading.main_thread():
        return bool(_previous)
    from flyte._kit import runs

    if runs.runs_in_progress():
        # A run owns SIGTERM while it lasts (it aborts the run) and restores the handler it
        # found afterwards; the end of the run calls this again.
        return bool(_previous)
    with _lock:
        for signum in (signal.SIGINT, signal.SIGTERM):
            if signum in _previous:
                continue  # once: a handler installed after ours is the user's choice
            current = signal.getsignal(signum)
            if current is _handler or current == signal.SIG_IGN:
                continue
            if signum == signal.SIGINT and current is signal.default_int_handler:
                continue  # see the module docs
            try:
                signal.signal(signum, _handler)
            except (ValueError, OSError):  # not the main interpreter, or a restricted platform
                continue
            _previous[signum] = current
    return bool(_previous)
