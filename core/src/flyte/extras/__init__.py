"""Extras: tasks and helpers beyond plain Python tasks.

* :class:`Sleep` - a ``plugin_config`` whose tasks only wait for their ``timedelta`` input
  (clusters run them without a pod; locally the engine waits, cancellably).
* :class:`DynamicBatcher` / :class:`TokenBatcher` - batch records from many concurrent
  producers through one async function (pure asyncio, fully local), with :class:`BatchStats`,
  :class:`Prompt` and the :class:`CostEstimator` / :class:`TokenEstimator` protocols.
* :class:`ContainerTask` - a task that runs a command in a container image of your choice;
  serialized and in manifests like any task, run locally through ``docker`` or ``podman``.

``flyte.extras.webhooks``, ``flyte.extras.shell`` and ``flyte.extras.model_streamer`` of the
published SDK are not available yet: importing them raises an ``ImportError`` saying so.
Names load on first use, so ``import flyte.extras`` stays light.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any, List

_LAZY = {
    "Sleep": "flyte.extras._sleep",
    "SleepTask": "flyte.extras._sleep",
    "BatchStats": "flyte.extras._batcher",
    "CostEstimator": "flyte.extras._batcher",
    "DynamicBatcher": "flyte.extras._batcher",
    "Prompt": "flyte.extras._batcher",
    "TokenBatcher": "flyte.extras._batcher",
    "TokenEstimator": "flyte.extras._batcher",
    "ContainerTask": "flyte.extras._container",
}

__all__ = sorted(_LAZY)


_NOT_YET = ("webhooks", "shell", "model_streamer")


def __getattr__(name: str) -> Any:
    if name in _NOT_YET:  # as an attribute too: the ImportError that says why
        return importlib.import_module(f"flyte.extras.{name}")
    if name in ("serialize", "serialize_env"):
        raise AttributeError(
            f"flyte.extras.{name} of the published SDK is not available in this SDK yet; "
            "`flyte deploy --dry-run` (flyte.deploy(env, dry_run=True)) writes the serialized tasks"
        )
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'flyte.extras' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> List[str]:
    return sorted(set(__all__) | {n for n in globals() if n.startswith("__")})


if TYPE_CHECKING:  # pragma: no cover
    from flyte.extras._batcher import BatchStats, CostEstimator, DynamicBatcher, Prompt, TokenBatcher, TokenEstimator
    from flyte.extras._container import ContainerTask
    from flyte.extras._sleep import Sleep, SleepTask
