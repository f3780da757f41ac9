"""What ``pre`` hands to ``execute`` and ``post``: a Ray target opened for one task attempt.

Each target (Ray on this machine, a Ray Client connection, a Jobs API submission, the driver
of a Ray job) is a :class:`RaySession`, an :class:`flyte.extend.EngineSession`:
``RayFunctionTask.pre`` opens one, ``execute`` runs the body through it, and ``post`` stops it,
also after a failure, timeout or cancellation.
"""

from __future__ import annotations

from typing import Any

from flyte.extend import EngineSession, MissingModuleError, require_module

__all__ = ["RayNotInstalledError", "RaySession", "require_ray"]


class RayNotInstalledError(MissingModuleError):
    """Ray is not importable in this environment."""


def require_ray() -> Any:
    """The ``ray`` module, or :class:`RayNotInstalledError` telling how to install it."""
    return require_module(
        "ray", install="flyte-plugin-ray", purpose="Ray tasks need the 'ray' package", error=RayNotInstalledError
    )


class RaySession(EngineSession):
    """A Ray target opened for one task attempt (``kind``: local, client, driver, job-driver, jobs)."""

    kind: str = "?"
