"""What ``pre`` hands to ``execute`` and ``post``: a running Ray target and how to stop it.

Each target (Ray started on this machine, a Ray Client connection, a Jobs API submission, the
driver of a Ray job) is a :class:`RaySession`. ``RayFunctionTask.pre`` opens one,
``execute`` runs the body through it, and ``post`` closes it, also after a failure, timeout or
cancellation.
"""

from __future__ import annotations

from typing import Any, Dict

from flyte.errors import PluginError

__all__ = ["RayNotInstalledError", "RaySession", "require_ray"]


class RayNotInstalledError(PluginError, ImportError):
    """Ray is not importable in this environment."""


def require_ray() -> Any:
    """The ``ray`` module, or :class:`RayNotInstalledError` telling how to install it."""
    try:
        import ray
    except ImportError as e:
        raise RayNotInstalledError(
            f"Ray tasks need the 'ray' package, which cannot be imported here ({e}); "
            f"install it with: pip install flyte-plugin-ray"
        ) from e
    return ray


class RaySession:
    """A Ray target opened for one task attempt.

    Attributes:
        data: What the task body reads as ``flyte.ctx().data`` (``ray_address``, ...).
        runs_body_here: False when the body runs elsewhere (a submitted Ray job), in which case
            :meth:`execute` runs it there and returns its outputs.
    """

    kind: str = "?"
    runs_body_here: bool = True

    def __init__(self, data: Dict[str, Any]):
        self.data = data

    async def execute(self, task: Any, kwargs: Dict[str, Any]) -> Any:
        """Run the task body on the target (only for sessions with ``runs_body_here = False``)."""
        raise NotImplementedError(f"{type(self).__name__} runs the task body in this process")

    def stop(self) -> None:
        """Release what this session started; idempotent."""
