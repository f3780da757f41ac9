"""Retries of a task: ``RetryStrategy`` and the ``Backoff`` that paces them.

``count`` is the number of retries after the first attempt fails, so a task runs at most
``count + 1`` times. Without a backoff the retries follow each other immediately; with one, the
n-th retry (counting from 0) waits ``min(base * factor**n, cap)``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import timedelta
from typing import Optional, Union

from flyte.errors import TypeValidationError, ValidationError

__all__ = ["Backoff", "RetryStrategy", "retries_from_request"]

_Duration = Union[timedelta, int, float]


def _as_timedelta(field: str, value: _Duration, owner: str) -> timedelta:
    if isinstance(value, bool) or not isinstance(value, (timedelta, int, float)):
        raise TypeValidationError(field, value, "a timedelta or a number of seconds", owner=owner)
    if isinstance(value, float) and not math.isfinite(value):
        raise ValidationError(field, value, "a finite number of seconds", owner=owner)
    try:
        td = value if isinstance(value, timedelta) else timedelta(seconds=value)
    except OverflowError:  # beyond timedelta's ~2.7 million years
        raise ValidationError(field, value, "a number of seconds timedelta can hold (< 8.6e13)", owner=owner) from None
    if td < timedelta(0):
        raise ValidationError(field, value, "a duration of zero or more", owner=owner)
    return td


@dataclass(frozen=True)
class Backoff:
    """Exponential pacing between retries: retry ``n`` (from 0) waits ``min(base * factor**n, cap)``.

    Args:
        base: Delay before the first retry (a ``timedelta`` or seconds, zero or more).
        factor: Multiplier per retry, at least 1.0 (1.0 means a constant delay).
        cap: Upper bound of the delay; required when ``factor > 1`` so the delay cannot grow unbounded.
    """

    base: timedelta
    factor: float = 1.0
    cap: Optional[timedelta] = None

    def __post_init__(self) -> None:
        owner = "Backoff"
        object.__setattr__(self, "base", _as_timedelta("base", self.base, owner))
        if self.cap is not None:
            object.__setattr__(self, "cap", _as_timedelta("cap", self.cap, owner))
        f = self.factor
        if isinstance(f, bool) or not isinstance(f, (int, float)) or not math.isfinite(f) or f < 1.0:
            raise ValidationError("factor", f, "a finite number of at least 1.0", owner=owner)
        if f > 1.0 and self.cap is None:
            raise ValidationError("cap", None, "a maximum delay: it is required when factor > 1.0", owner=owner)

    def compute_delay(self, n: int) -> timedelta:
        """The delay before retry ``n`` (0 for the first retry)."""
        if isinstance(n, bool) or not isinstance(n, int) or n < 0:
            raise ValidationError("n", n, "a retry index of zero or more", owner="Backoff.compute_delay")
        try:
            delay = self.base * (self.factor**n)
        except OverflowError:
            # Only reachable with factor > 1, where a cap is mandatory.
            return self.cap  # type: ignore[return-value]
        if self.cap is not None and delay > self.cap:
            return self.cap
        return delay


@dataclass
class RetryStrategy:
    """How often a failed task is retried, and how fast.

    ``retries=3`` on a task means ``RetryStrategy(count=3)``.

    Args:
        count: Retries after the first failed attempt (0 disables retries).
        backoff: A ``Backoff`` pacing the retries, or a constant delay as a ``timedelta`` or seconds;
            None retries immediately.
    """

    count: int
    backoff: Optional[Union[Backoff, timedelta, int, float]] = None

    def __post_init__(self) -> None:
        owner = "RetryStrategy"
        if isinstance(self.count, bool) or not isinstance(self.count, int):
            raise TypeValidationError("count", self.count, "an int number of retries", owner=owner)
        if self.count < 0:
            raise ValidationError("count", self.count, "a number of retries of zero or more", owner=owner)
        if self.backoff is not None and not isinstance(self.backoff, Backoff):
            self.backoff = Backoff(base=_as_timedelta("backoff", self.backoff, owner))

    def delay(self, n: int) -> timedelta:
        """How long to wait before retry ``n`` (0 for the first retry)."""
        if self.backoff is None:
            return timedelta(0)
        return self.backoff.compute_delay(n)  # type: ignore[union-attr]


def retries_from_request(retries: Union[int, RetryStrategy, None]) -> RetryStrategy:
    """Turn a ``retries=`` argument (an int, a ``RetryStrategy`` or None for none) into a ``RetryStrategy``."""
    if retries is None:
        return RetryStrategy(count=0)
    if isinstance(retries, RetryStrategy):
        return retries
    if isinstance(retries, bool) or not isinstance(retries, int):
        raise TypeValidationError("retries", retries, "an int or a flyte.RetryStrategy")
    return RetryStrategy(count=retries)
