"""The whole plugin contract of flyte, as pluggy hook specifications.

Every function below is an empty *specification*; its docstring is the contract. A plugin is a
module (or object) with functions of the same names decorated with :data:`hookimpl`::

    from flyte.extend import hookimpl

    @hookimpl
    def flyte_register_task_plugins(registry):
        registry.register(MyConfig, MyTask)

An implementation may accept a subset of a hook's parameters (pluggy passes only those it
names), so adding a parameter to a hook later breaks no plugin. A function whose name starts
with ``flyte_`` but matches no hook below is an error at registration time, naming it: a typo
never goes silently unused.

Hooks marked *historic* are replayed: a plugin registered after the hook was called (for
example a task plugin imported on first use) is called at once with the same arguments, so
registration never depends on import order.

The core's own behaviour (plain Python tasks, built-in type transformers) is implemented with
these same hooks in :mod:`flyte._plugins.builtin`.
"""

from __future__ import annotations

from typing import Any, Dict, List, Optional

import pluggy

__all__ = [
    "PROJECT_NAME",
    "hookimpl",
    "hookspec",
    "flyte_register_task_plugins",
    "flyte_register_type_transformers",
    "flyte_register_app_types",
    "flyte_task_container_args",
    "flyte_kubernetes_objects",
]

PROJECT_NAME = "flyte"

hookspec = pluggy.HookspecMarker(PROJECT_NAME)
"""Marks a function in this module as a hook specification."""

hookimpl = pluggy.HookimplMarker(PROJECT_NAME)
"""Marks a plugin function as the implementation of the hook of the same name.

Accepts pluggy's options: ``tryfirst=True`` / ``trylast=True`` to order it among other
implementations, ``wrapper=True`` for a generator wrapping the other implementations.
"""


@hookspec(historic=True)
def flyte_register_task_plugins(registry: Any) -> None:
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
            already registered raises ``flyte.errors.PluginError`` naming both.

    **Returns:** nothing (return values are ignored).
    """


@hookspec(historic=True)
def flyte_register_type_transformers(engine: Any) -> None:
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
def flyte_register_app_types(registry: Any) -> None:
    """Register app (serving) environment types for the serve/app path.

    **When:** once per process, the first time an app environment type is looked up (when an
    ``AppEnvironment`` is created, deployed or served). Historic, as above.

    **Parameters:**
        registry: the app type registry of the serving layer. Call
            ``registry.register(config_type=MyAppConfig, app_type=MyAppEnvironment)`` (the
            registry's own documentation names what it accepts).

    **Returns:** nothing (return values are ignored).
    """


@hookspec(firstresult=True)
def flyte_task_container_args(task: Any, sctx: Any) -> Optional[List[str]]:
    """Override the container command of a task.

    **When:** each time a task is serialized for a container (deploy, dry run, or the local
    container entrypoint), before falling back to the task's own ``container_args(sctx)``.

    **Parameters:**
        task: the ``TaskTemplate`` being serialized.
        sctx: the ``flyte.models.SerializationContext`` of this serialization.

    **Returns:** the full argument list (``["python", "-m", ...]``) to use instead of the
    task's own, or ``None`` to leave the task alone. ``firstresult``: the first
    implementation returning a list wins and the others are not called.
    """


@hookspec
def flyte_kubernetes_objects(task: Any, sctx: Any, settings: Any) -> Optional[List[Dict[str, Any]]]:
    """Contribute Kubernetes objects to emit for a task at deploy or dry-run time.

    **When:** each time a task is turned into Kubernetes manifests (``flyte deploy``, dry
    runs, the Kubernetes controller). Plugins use it to add their custom resources
    (``RayJob``, ``SparkApplication``, ``PyTorchJob``) or supporting objects (a
    ``ConfigMap``, a ``Service``). Implementations should answer only for tasks they own
    (check ``isinstance(task, MyTask)``) and return ``None`` otherwise.

    **Parameters:**
        task: the ``TaskTemplate`` being deployed.
        sctx: the ``flyte.models.SerializationContext`` (image, version, code bundle).
        settings: the project's Kubernetes mapping settings, a
            ``flyte._serialize.k8s_settings.K8sSettings`` (device labels, resource names,
            default requests; ``settings.resource_name("GPU")``, ``settings.device_value(...)``).

    **Returns:** a list of plain ``dict`` Kubernetes objects (``apiVersion``, ``kind``,
    ``metadata``, ``spec``) with no ``None`` values, or ``None``. The results of all
    implementations are concatenated in call order. When any implementation returns objects
    for a task, they replace the task's plain ``Pod``.
    """
