"""The whole plugin contract of flyte, as pluggy hook specifications.

Every function below is an empty *specification*; its docstring is the contract. A plugin is a
module (or object) with functions of the same names decorated with :data:`hookimpl`::

    from flyte.extend import hookimpl

    @hookimpl
    def flyte_register_task_plugins(registry):
        registry.register(MyConfig, MyTask)

An implementation may accept a subset of a hook's parameters (pluggy passes only those it
names), so adding a parameter to a hook later breaks no plugin. A function whose name starts
with ``flyte_`` but matches no hook below, or that names a parameter its hook does not have, is
an error at registration time naming the plugin, the hook and what is allowed: a typo never goes
silently unused.

What a task type does at serialization time (its container command, its Kubernetes objects) is
not a hook called for every task: it is a *handler* registered with the task class
(``registry.register(config_type, plugin, container_command=..., kubernetes_objects=...)``),
looked up by the task's class, so one plugin never sees another plugin's tasks.

Hooks marked *historic* are replayed: a plugin registered after the hook was called (for
example a task plugin imported on first use) is called at once with the same arguments, so
registration never depends on import order.

The core's own behaviour (plain Python tasks, built-in type transformers) is implemented with
these same hooks in :mod:`flyte._plugins.builtin`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol, Type

import pluggy

if TYPE_CHECKING:
    from flyte._plugins.registry import _Registry
    from flyte.types import TypeEngine

__all__ = [
    "PROJECT_NAME",
    "hookimpl",
    "hookspec",
    "flyte_register_task_plugins",
    "flyte_register_type_transformers",
    "flyte_register_app_types",
    "AppTypeRegistry",
    "REMOVED_HOOKS",
]

PROJECT_NAME = "flyte"

hookspec = pluggy.HookspecMarker(PROJECT_NAME)
"""Marks a function in this module as a hook specification."""

hookimpl = pluggy.HookimplMarker(PROJECT_NAME)
"""Marks a plugin function as the implementation of the hook of the same name.

Accepts pluggy's options: ``tryfirst=True`` / ``trylast=True`` to order it among other
implementations, ``wrapper=True`` for a generator wrapping the other implementations.
"""


REMOVED_HOOKS = {
    "flyte_task_container_args": "container_command",
    "flyte_kubernetes_objects": "kubernetes_objects",
}
"""Hooks of earlier versions, now handlers registered with the task class (hook -> handler)."""


class AppTypeRegistry(Protocol):
    """What ``flyte_register_app_types`` receives: a registry of app environment types."""

    def register(self, config_type: Type[Any], app_type: Type[Any]) -> None:
        """Serve app environments configured by ``config_type`` objects with ``app_type``."""


@hookspec(historic=True)
def flyte_register_task_plugins(registry: "_Registry") -> None:
    """Register task types: map a ``plugin_config`` type to a ``TaskTemplate`` subclass.

    **When:** once per process, the first time a task class is resolved for an environment
    (``TaskEnvironment(plugin_config=...)`` or a plain ``@env.task``). Historic: a plugin
    registered later (a ``flyte.plugins.tasks`` entry point loaded on first use of its config
    type) is called as soon as it is registered.

    **Parameters:**
        registry: the task plugin registry (``flyte.extend.TaskPluginRegistry``). Call
            ``registry.register(config_type=MyConfig, plugin=MyTask)`` for each task type;
            ``MyTask`` must subclass ``flyte.extend.TaskTemplate`` (usually
            ``AsyncFunctionTaskTemplate``). Registering a config type that another plugin
            already registered raises ``flyte.errors.PluginError`` naming both. The task
            type's handlers go with it: ``container_command=fn(task, sctx)`` and
            ``kubernetes_objects=fn(task, sctx, settings)``, called for tasks of ``MyTask``
            (and its subclasses) only.

    **Returns:** nothing (return values are ignored).
    """


@hookspec(historic=True)
def flyte_register_type_transformers(engine: "Type[TypeEngine]") -> None:
    """Register type transformers that convert Python values to and from Flyte literals.

    **When:** once per process, before the type engine converts its first value (the built-in
    transformers register here too), or when ``flyte.init(load_plugin_type_transformers=True)``
    loads the ``flyte.plugins.types`` entry points, whichever comes first. Historic: a plugin
    registered later is called as soon as it is registered.

    **Parameters:**
        engine: the type engine (``flyte.types.TypeEngine``). Call
            ``engine.register(MyTransformer())`` for each ``flyte.types.TypeTransformer``.

    **Returns:** nothing (return values are ignored).
    """


@hookspec(historic=True)
def flyte_register_app_types(registry: AppTypeRegistry) -> None:
    """Register app (serving) environment types for the serve/app path.

    **When:** called through ``FlytePluginManager.register_app_types(registry)`` by the app type
    registry (``flyte.app._registry``), once per registry, the first time an app environment
    type is looked up by name (``flyte.app.extras.FastAPIAppEnvironment``), after the
    ``flyte.plugins.apps`` entry point of that name is loaded. Historic, as above.

    **Parameters:**
        registry: the app type registry of the serving layer (an :class:`AppTypeRegistry`).
            Call ``registry.register(config_type=MyAppConfig, app_type=MyAppEnvironment)``:
            ``config_type`` is the type of what the app type serves (``fastapi.FastAPI``),
            ``app_type`` a ``flyte.app.AppEnvironment`` subclass, looked up by its class name.

    **Returns:** nothing (return values are ignored).
    """
