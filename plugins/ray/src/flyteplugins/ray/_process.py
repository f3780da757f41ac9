"""The Ray this process is connected to, shared by every Ray task of the process.

Ray allows one driver connection per process, so local Ray and connections to existing
clusters go through one :class:`flyte.extend.RuntimeOwner` (``runtime_owner("ray")``). A
:class:`RayShape` says what a connection is for (Ray started here and its node layout, or an
address) and its runtime environment; a task whose shape the running Ray does not accept
restarts it between tasks, and is an error naming both while another task uses it. Ray that
the user initialized themselves is adopted and left running.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, Optional, Tuple

import flyte
from flyte.extend import Lease, runtime_owner

from flyteplugins.ray._session import require_ray

__all__ = ["OWNER", "RayRuntime", "RayShape", "acquire", "task_user"]

OWNER = runtime_owner("ray")
"""The process-wide owner of the Ray connection (idle timeout: ``FLYTE_RAY_IDLE_TIMEOUT``)."""

# A node size as a comparable tuple: (num_cpus, num_gpus, memory, ((resource, amount), ...)).
SizeKey = Tuple[Optional[int], Optional[int], Optional[int], Tuple[Tuple[str, float], ...]]


def _covers(have: SizeKey, want: SizeKey) -> bool:
    """Whether a running node of size ``have`` can host a task asking for ``want`` (None: the
    whole machine, which only a whole-machine node covers)."""
    for h, w in zip(have[:3], want[:3]):
        if h is None:
            continue
        if w is None or w > h:
            return False
    have_res = dict(have[3])
    return all(have_res.get(k, 0.0) >= v for k, v in want[3])


def env_key(runtime_env: Optional[dict]) -> str:
    """A runtime environment as a canonical string (two equal envs give equal keys)."""
    return json.dumps(runtime_env or {}, sort_keys=True, default=str)


@dataclass(frozen=True)
class RayShape:
    """What a Ray connection was made for.

    Attributes:
        kind: ``local`` (started here), ``client``, ``driver`` or ``job-driver``.
        address: The cluster address (None for local Ray).
        nodes: ``single`` or ``per-replica`` (local Ray only).
        layout: Node sizes: one for ``single``, head then workers for ``per-replica``.
        runtime_env: The job's runtime environment (see :func:`env_key`).
    """

    kind: str
    address: Optional[str] = None
    nodes: str = "single"
    layout: Tuple[SizeKey, ...] = ()
    runtime_env: str = "{}"
    label: str = field(default="", compare=False)

    def accepts(self, wanted: "RayShape") -> bool:
        """Whether a task that wants ``wanted`` can use the Ray running as this shape."""
        if (self.kind, self.address, self.nodes, self.runtime_env) != (
            wanted.kind, wanted.address, wanted.nodes, wanted.runtime_env,
        ):
            return False
        if self.kind == "local" and self.nodes == "single":
            return _covers(self.layout[0], wanted.layout[0])
        return self.layout == wanted.layout

    def describe(self) -> str:
        """The shape in words, for errors and logs."""
        if self.kind == "local":
            what = f"local Ray ({self.label or self.nodes})"
        else:
            what = f"Ray at {self.address or 'auto'} ({self.kind})"
        return what if self.runtime_env == "{}" else f"{what} with runtime_env {self.runtime_env}"


class RayRuntime:
    """Ray as this process holds it: ``data`` for task bodies, ``stop`` to let it go."""

    def __init__(self, data: Dict[str, Any], stop: Optional[Callable[[], None]] = None):
        self.data = data
        self._stop = stop

    def alive(self) -> bool:
        """False when Ray was shut down behind our back (a task body calling ``ray.shutdown()``)."""
        return require_ray().is_initialized()

    def stop(self) -> None:
        """Disconnect (and stop what was started here)."""
        ray = require_ray()
        try:
            ray.shutdown()
        finally:
            if self._stop is not None:
                self._stop()


def task_user() -> str:
    """The running task attempt, in words, for conflict errors."""
    tctx = flyte.ctx()
    if tctx is None:
        return "a Ray task"
    return f"task {tctx.task_name} (action {tctx.action.name} of run {tctx.action.run_name})"


def _adopt_user_ray() -> Optional[RayRuntime]:
    ray = require_ray()
    if not ray.is_initialized():
        return None
    return RayRuntime({})


def acquire(shape: RayShape, start: Callable[[], RayRuntime], start_here: bool = False) -> "Lease[RayRuntime]":
    """A lease on Ray of ``shape`` for the running task (the user's own Ray is adopted)."""
    return OWNER.acquire(shape, start, user=task_user(), adopt=_adopt_user_ray, start_here=start_here)
