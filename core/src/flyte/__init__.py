"""flyte: typed compute tasks in Python.

Write typed functions as tasks of a ``TaskEnvironment``, run them on this machine with
``flyte.run``, and describe them to clusters without changing code.

Public names are loaded on first use, so ``import flyte`` stays fast.
"""

from __future__ import annotations

import importlib
import logging
import types as _types  # not "types": flyte.types is a subpackage
from typing import TYPE_CHECKING, Any, List

from flyte._version import __version__

logger = logging.getLogger("flyte")
system_logger = logging.getLogger("flyte.system")

_LAZY = {
    # value types
    "Resources": "flyte._resources",
    "Device": "flyte._resources",
    "DeviceClass": "flyte._resources",
    "GPU": "flyte._resources",
    "TPU": "flyte._resources",
    "Neuron": "flyte._resources",
    "AMD_GPU": "flyte._resources",
    "HABANA_GAUDI": "flyte._resources",
    "Cache": "flyte._cache",
    "CachePolicy": "flyte._cache",
    "CacheRequest": "flyte._cache",
    "RetryStrategy": "flyte._retry",
    "Backoff": "flyte._retry",
    "Timeout": "flyte._timeout",
    "TimeoutType": "flyte._timeout",
    "Secret": "flyte._secret",
    "SecretRequest": "flyte._secret",
    "PodTemplate": "flyte._pod",
    "Image": "flyte._image",
    "ReusePolicy": "flyte._reusable",
    "Trigger": "flyte._trigger",
    "Cron": "flyte._trigger",
    "FixedRate": "flyte._trigger",
    "TriggerTime": "flyte._trigger",
    "Link": "flyte._link",
    "Documentation": "flyte._docs",
    # environments and tasks
    "Environment": "flyte._environment",
    "TaskEnvironment": "flyte._environment",
    "TaskTemplate": "flyte._task",
    "AsyncFunctionTaskTemplate": "flyte._task",
    # running
    "init": "flyte._initialize",
    "init_from_config": "flyte._initialize",
    "init_in_cluster": "flyte._initialize",
    "init_from_api_key": "flyte._initialize",
    "init_passthrough": "flyte._initialize",
    "current_project": "flyte._initialize",
    "current_domain": "flyte._initialize",
    "ctx": "flyte._context",
    "custom_context": "flyte._custom_context",
    "get_custom_context": "flyte._custom_context",
    "run": "flyte._engine.run",
    "with_runcontext": "flyte._engine.run",
    "group": "flyte._engine.run",
    "map": "flyte._map",
    "deploy": "flyte._deploy",
    "trace": "flyte._trace",
    # apps
    "serve": "flyte._serve",
    "with_servecontext": "flyte._serve",
    "AppHandle": "flyte._serve",
    # images
    "build": "flyte._build",
    "ImageBuild": "flyte._build",
    "build_images": "flyte._build",
}

__all__ = sorted([*_LAZY, "__version__", "logger", "system_logger", "version"])


def _install_type_loader() -> None:
    """Hand the type engine its transformer loaders: the plugin framework's type hook.

    This package is the composition root: the engine (a lower layer) is given the functions
    that fill it instead of importing the plugin manager. Every ``flyte.*`` import runs this
    module first, so the loaders are in place before any lookup; they are left where the
    engine reads them (``flyte._transformer_loader``), so the engine itself is not imported here.
    """
    from flyte import _transformer_loader

    def load_builtins(engine: Any) -> None:
        from flyte._plugins.manager import get_plugin_manager

        get_plugin_manager().register_type_transformers(engine)

    def load_plugins() -> None:
        from flyte._plugins.manager import load_type_plugins

        load_type_plugins()

    _transformer_loader.install(load_builtins, load_plugins=load_plugins)


_install_type_loader()


def version() -> str:
    """The version of the flyte SDK."""
    return __version__


# Subpackages reachable as attributes after a bare ``import flyte`` (``flyte.report.log``), as
# with the published SDK, whose engine imports them: imported on first access only.
_LAZY_SUBMODULES = ("report", "durable", "extras")


def __getattr__(name: str) -> Any:  # Any: the real types are in the TYPE_CHECKING block below
    if name in _LAZY_SUBMODULES:
        return importlib.import_module(f"flyte.{name}")
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'flyte' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> List[str]:
    # The public names, dunders and loaded submodules; not this module's own helper imports.
    g = globals()
    submodules = {n for n, v in g.items() if isinstance(v, _types.ModuleType) and v.__name__ == f"{__name__}.{n}"}
    return sorted(set(__all__) | {n for n in g if n.startswith("__")} | submodules)


if TYPE_CHECKING:  # pragma: no cover
    from flyte._build import ImageBuild, build, build_images
    from flyte._cache import Cache, CachePolicy, CacheRequest
    from flyte._context import ctx
    from flyte._deploy import deploy
    from flyte._custom_context import custom_context, get_custom_context
    from flyte._docs import Documentation
    from flyte._engine.run import group, run, with_runcontext
    from flyte._environment import Environment, TaskEnvironment
    from flyte._image import Image
    from flyte._initialize import (
        current_domain,
        current_project,
        init,
        init_from_api_key,
        init_from_config,
        init_in_cluster,
        init_passthrough,
    )
    from flyte._link import Link
    from flyte._map import map
    from flyte._pod import PodTemplate
    from flyte._resources import AMD_GPU, GPU, HABANA_GAUDI, TPU, Device, DeviceClass, Neuron, Resources
    from flyte._retry import Backoff, RetryStrategy
    from flyte._reusable import ReusePolicy
    from flyte._secret import Secret, SecretRequest
    from flyte._serve import AppHandle, serve, with_servecontext
    from flyte._task import AsyncFunctionTaskTemplate, TaskTemplate
    from flyte._timeout import Timeout, TimeoutType
    from flyte._trace import trace
    from flyte._trigger import Cron, FixedRate, Trigger, TriggerTime
