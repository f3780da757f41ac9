"""``flyte.durable.now`` / ``sleep`` / ``time``: recorded per action, replayed on a retry.

The engine hands every action a journal (``RunState.durable_journal``); the n-th durable call
of an attempt replays the n-th record of an earlier attempt when it is of the same kind, and
records a new value otherwise. Outside a task there is nothing to replay: the functions are
their plain counterparts.
"""

from __future__ import annotations

import asyncio
import logging
import time as _time
from datetime import datetime
from typing import Any, Callable, Optional

from flyte.syncify import SyncAndAio

__all__ = ["now", "sleep", "time"]

logger = logging.getLogger("flyte")


def _journal() -> Optional[Any]:
    from flyte._context import current_run_state, current_task_context

    tctx = current_task_context.get()
    state = current_run_state.get()
    if tctx is None or state is None:
        return None
    get = getattr(state, "durable_journal", None)  # a controller's state without journals: no replay
    return get(tctx.action.name, tctx.attempt_number) if get is not None else None


def _recorded(kind: str, produce: Callable[[], float]) -> float:
    journal = _journal()
    return produce() if journal is None else journal.next(kind, produce)


def _time_fn() -> float:
    return _recorded("time", _time.time)


def _now_fn() -> datetime:
    # Recorded as a POSIX timestamp; replayed as the same naive local datetime.now() gave.
    return datetime.fromtimestamp(_recorded("now", _time.time))


def _remaining(seconds: float) -> float:
    if isinstance(seconds, bool) or not isinstance(seconds, (int, float)):
        from flyte.errors import TypeValidationError

        raise TypeValidationError("seconds", seconds, "a number of seconds (int or float)", owner="flyte.durable.sleep")
    if seconds < 0:
        logger.warning("flyte.durable.sleep(%r): a negative duration returns at once", seconds)
        return 0.0
    started = _recorded("sleep", _time.time)
    return max(0.0, started + seconds - _time.time())


class _DurableSleep:
    """Sleep ``seconds``, counted from the first time this call ran in the action.

    On a retry, the time already slept in an earlier attempt counts, so a sleep that elapsed
    returns at once. A negative duration returns at once with a warning. Cancellable when
    awaited (``await flyte.durable.sleep.aio(s)``); called, it blocks the calling thread.
    """

    __name__ = "sleep"

    def __call__(self, seconds: float) -> None:
        wait = _remaining(seconds)
        if wait > 0:
            _time.sleep(wait)

    async def aio(self, seconds: float) -> None:
        wait = _remaining(seconds)
        if wait > 0:
            await asyncio.sleep(wait)

    def __repr__(self) -> str:
        return "<flyte.durable.sleep>"


sleep = _DurableSleep()
time = SyncAndAio(_time_fn, name="flyte.durable.time")
time.__doc__ = """The current time (``time.time()``), the same value again when the action is retried."""
now = SyncAndAio(_now_fn, name="flyte.durable.now")
now.__doc__ = """The current local time (``datetime.now()``), the same value again when the action is retried."""
