"""Time limits of a task: ``Timeout`` and the ``TimeoutType`` that ``timeout=`` accepts.

Every bound is optional, and zero means the same as unset: no limit. A bare int (seconds) or
``timedelta`` given as ``timeout=`` bounds the running time of each attempt (``max_runtime``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import timedelta
from typing import Optional, Union

from flyte.errors import TypeValidationError, ValidationError

__all__ = ["Timeout", "TimeoutType", "timeout_from_request", "timeout_seconds"]


def _check_bound(field: str, value: object) -> None:
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, (int, float, timedelta)):
        raise TypeValidationError(field, value, "a timedelta, a number of seconds, or None", owner="Timeout")
    seconds = value.total_seconds() if isinstance(value, timedelta) else float(value)
    if not math.isfinite(seconds) or seconds < 0:
        raise ValidationError(field, value, "a duration of zero or more (0 means no limit)", owner="Timeout")


@dataclass
class Timeout:
    """Time limits of a task; each is a ``timedelta`` or seconds, and None or 0 means no limit.

    Args:
        max_runtime: Longest time one attempt may run.
        max_queued_time: Longest time one attempt may wait to start.
        deadline: Longest time from the first queueing to the end, across all attempts.
    """

    max_runtime: Union[timedelta, int, None] = None
    max_queued_time: Union[timedelta, int, None] = None
    deadline: Union[timedelta, int, None] = None

    def __post_init__(self) -> None:
        _check_bound("max_runtime", self.max_runtime)
        _check_bound("max_queued_time", self.max_queued_time)
        _check_bound("deadline", self.deadline)


TimeoutType = Union[Timeout, int, timedelta]
"""What ``timeout=`` accepts: a ``Timeout``, seconds, or a ``timedelta`` (the last two bound the run time)."""


def timeout_from_request(timeout: TimeoutType) -> Timeout:
    """Turn a ``timeout=`` argument into a ``Timeout`` (an int or ``timedelta`` becomes ``max_runtime``)."""
    if isinstance(timeout, Timeout):
        return timeout
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float, timedelta)):
        raise TypeValidationError("timeout", timeout, "a flyte.Timeout, an int of seconds, or a timedelta")
    return Timeout(max_runtime=timeout)  # type: ignore[arg-type]


def _seconds(value: Union[timedelta, int, float, None]) -> Optional[float]:
    if value is None:
        return None
    s = value.total_seconds() if isinstance(value, timedelta) else float(value)
    return s if s > 0 else None


def timeout_seconds(timeout: Optional[TimeoutType]) -> Optional[float]:
    """The run-time limit of an attempt in seconds, or None for no limit (None, 0 or an unset bound)."""
    if timeout is None:
        return None
    return _seconds(timeout_from_request(timeout).max_runtime)
