"""``ReusePolicy``: keep a pool of warm containers and run many task calls in each."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Literal, Optional, Tuple, Union

from flyte.errors import TypeValidationError, ValidationError

__all__ = ["ReusePolicy"]

_MIN_TTL = timedelta(seconds=30)


def _ttl(field: str, value: object) -> timedelta:
    if isinstance(value, bool) or not isinstance(value, (int, timedelta)):
        raise TypeValidationError(field, value, "an int of seconds or a timedelta", owner="ReusePolicy")
    td = value if isinstance(value, timedelta) else timedelta(seconds=value)
    if td < _MIN_TTL:
        raise ValidationError(field, value, "at least 30 seconds", owner="ReusePolicy")
    return td


@dataclass
class ReusePolicy:
    """Run the tasks of an environment in reusable containers.

    Capacity is ``max_replicas * concurrency`` concurrent task calls. With one replica and a
    concurrency of 1, a parent task that waits for children in the same environment can starve them.

    Args:
        replicas: A fixed number of replicas, or ``(min, max)`` to scale between them. Default 2.
        idle_ttl: Shut the whole pool down after it has been idle this long (seconds or ``timedelta``,
            at least 30 s). Default 30 s.
        concurrency: Task calls one replica runs at once (more than 1 only helps async tasks). Default 1.
        scaledown_ttl: Remove one idle replica only after it has been idle this long (at least 30 s).
        scope: ``"global"`` shares the pool across runs; ``"run"`` gives every run its own.
    """

    replicas: Union[int, Tuple[int, int]] = 2
    idle_ttl: Union[int, timedelta] = 30
    concurrency: int = 1
    scaledown_ttl: Union[int, timedelta] = 30
    scope: Literal["global", "run"] = "global"

    def __post_init__(self) -> None:
        owner = "ReusePolicy"
        r = self.replicas
        if isinstance(r, int) and not isinstance(r, bool):
            r = (r, r)
        if (
            not isinstance(r, tuple)
            or len(r) != 2
            or any(isinstance(x, bool) or not isinstance(x, int) for x in r)
        ):
            raise ValidationError("replicas", self.replicas, "an int or a (min, max) tuple of ints", owner=owner)
        if r[0] < 0 or r[1] < 1 or r[0] > r[1]:
            raise ValidationError("replicas", self.replicas, "counts with 0 <= min <= max and max >= 1", owner=owner)
        self.replicas = r
        if isinstance(self.concurrency, bool) or not isinstance(self.concurrency, int) or self.concurrency < 1:
            raise ValidationError("concurrency", self.concurrency, "an int of at least 1", owner=owner)
        self.idle_ttl = _ttl("idle_ttl", self.idle_ttl)
        self.scaledown_ttl = _ttl("scaledown_ttl", self.scaledown_ttl)
        if self.scope not in ("global", "run"):
            raise ValidationError("scope", self.scope, "'global' or 'run'", owner=owner)

    @property
    def min_replicas(self) -> int:
        """The smallest number of replicas."""
        return self.replicas[0]  # type: ignore[index]

    @property
    def max_replicas(self) -> int:
        """The largest number of replicas."""
        return self.replicas[1]  # type: ignore[index]

    def get_scaledown_ttl(self) -> Optional[timedelta]:
        """The per-replica scale-down delay as a ``timedelta``."""
        return self.scaledown_ttl  # type: ignore[return-value]

    @property
    def capacity(self) -> int:
        """How many task calls the pool can run at once at full size."""
        return self.max_replicas * self.concurrency
