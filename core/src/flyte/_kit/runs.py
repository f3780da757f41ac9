"""Run boundaries, for what must happen when a ``flyte.run`` ends.

The engine calls :func:`run_started` and :func:`run_ended` around every run. A runtime whose
idle timeout is 0 is stopped when the last run in progress ends (see
:mod:`flyte._kit.runtime`), so the sequential Ray tasks of one run share one Ray and nothing
stays up after it.
"""

from __future__ import annotations

import logging
import threading
from typing import Callable, List

__all__ = ["on_run_end", "run_ended", "run_started", "runs_in_progress"]

logger = logging.getLogger("flyte")

_lock = threading.Lock()
_in_progress = 0
_callbacks: List[Callable[[], None]] = []


def on_run_end(callback: Callable[[], None]) -> None:
    """Call ``callback()`` each time a run ends and no other run of this process is in progress."""
    with _lock:
        if callback not in _callbacks:
            _callbacks.append(callback)


def runs_in_progress() -> int:
    """How many runs of this process are in progress now."""
    return _in_progress


def run_started() -> None:
    """Called by the engine when a run starts."""
    global _in_progress
    with _lock:
        _in_progress += 1


def run_ended() -> None:
    """Called by the engine when a run ends (whatever its outcome)."""
    global _in_progress
    with _lock:
        _in_progress = max(0, _in_progress - 1)
        if _in_progress:
            return
        callbacks = list(_callbacks)
    for cb in callbacks:
        try:
            cb()
        except Exception as e:  # one failing callback must not hide the run's own outcome
            logger.warning("a run-end callback failed: %s", e, exc_info=True)
