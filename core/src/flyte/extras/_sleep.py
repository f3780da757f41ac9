"""``Sleep``: a ``plugin_config`` whose tasks only wait.

A cluster runs such a task without a pod (the backend's ``core-sleep`` plugin), so the task's
body never runs there; here the engine does the same: it waits for the task's one
``timedelta`` input, cancellably, and returns None. The task declares no outputs.
"""

from __future__ import annotations

import asyncio
import datetime as _dt
from dataclasses import dataclass
from typing import Any

from flyte._task import AsyncFunctionTaskTemplate
from flyte.errors import ValidationError

__all__ = ["Sleep", "SleepTask"]


@dataclass
class Sleep:
    """Run the environment's tasks as waits: each task takes one ``timedelta`` input (the
    duration) and returns nothing; its body is not run."""


@dataclass(kw_only=True)
class SleepTask(AsyncFunctionTaskTemplate):
    """The task class of :class:`Sleep` environments (task type ``core-sleep``)."""

    plugin_config: Sleep
    task_type: str = "core-sleep"

    def __post_init__(self) -> None:
        super().__post_init__()
        owner = f"task {self.name} (plugin_config=Sleep())"
        if self.interface.outputs:
            raise ValidationError(
                "outputs", ", ".join(self.interface.outputs), "none: a Sleep task returns nothing (-> None)", owner=owner
            )
        inputs = self.interface.inputs
        durations = [k for k, (t, _) in inputs.items() if t is _dt.timedelta]
        if len(inputs) != 1 or len(durations) != 1:
            described = ", ".join(f"{k}: {getattr(t, '__name__', t)}" for k, (t, _) in inputs.items()) or "(none)"
            raise ValidationError(
                "inputs", described, "exactly one input, typed datetime.timedelta (the duration)", owner=owner
            )
        self._duration_input = durations[0]

    async def execute(self, *args: Any, **kwargs: Any) -> None:
        """Wait for the duration input; a cancelled run stops the wait at once."""
        duration = kwargs[self._duration_input] if kwargs else args[0]
        seconds = duration.total_seconds()
        if seconds < 0:
            raise ValidationError(
                f"input {self._duration_input!r}", str(duration), "a duration of zero or more", owner=f"task {self.name}"
            )
        await asyncio.sleep(seconds)
        return None
