"""From a ``plugin_config`` (or a task) to what serves it: the task class and its handlers.

This is where the plugin manager and the task registry meet: the manager calls the
``flyte_register_task_plugins`` hook with the registry, loads the entry point of a config type
nobody serves yet, and the registry answers the lookup. Neither of the two imports the other.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable, List, Optional, Type

from flyte._plugins.entry_points import entry_point_name
from flyte._plugins.manager import get_plugin_manager
from flyte._plugins.registry import TaskPluginRegistry, _qualname
from flyte.errors import PluginNotFoundError, _short_repr

if TYPE_CHECKING:
    from flyte._task import TaskTemplate

__all__ = ["ensure_task_plugins", "installed_description", "resolve_task_class", "task_handler"]


def ensure_task_plugins() -> None:
    """Call the ``flyte_register_task_plugins`` hook with the process-wide registry (once; later
    plugins are replayed as they register)."""
    get_plugin_manager().register_task_plugins(TaskPluginRegistry)


def installed_description() -> str:
    """The task plugins registered, installed but not matching, and failed to load (for errors)."""
    pm = get_plugin_manager()
    names: List[str] = sorted(
        _qualname(k) for k in TaskPluginRegistry.registered() if k is not type(None)
    )
    available = sorted(set(pm.task_entry_points()) - set(names))
    parts = [f"registered: {', '.join(names) if names else '(none)'}"]
    if available:
        parts.append(f"installed but not matching: {', '.join(available)}")
    failed = [str(f) for f in pm.failed_plugins() if f.group == "flyte.plugins.tasks"]
    if failed:
        parts.append(f"failed to load: {'; '.join(failed)}")
    return "; ".join(parts)


def resolve_task_class(plugin_config: Any) -> Type["TaskTemplate"]:
    """The ``TaskTemplate`` class to build tasks with for an environment's ``plugin_config``.

    ``None`` gives the plain Python task class (registered by the core's own hook). An instance
    of a registered config type (or of a subclass of one) gives its plugin class. On a miss the
    ``flyte.plugins.tasks`` entry point named by the config class's full name is loaded and
    the lookup retried. Still a miss: :class:`flyte.errors.PluginNotFoundError` naming the type
    and the installed task plugins.
    """
    ensure_task_plugins()
    config_type = type(plugin_config)
    found = TaskPluginRegistry.lookup(config_type)
    if found is not None:
        return found
    if get_plugin_manager().load_task_plugin(config_type):
        found = TaskPluginRegistry.lookup(config_type)
        if found is not None:
            return found
    raise PluginNotFoundError(
        f"no task plugin serves plugin_config={_short_repr(plugin_config)} of type {_qualname(config_type)}; "
        f"install the plugin package that defines it (it registers through the "
        f"'flyte.plugins.tasks' entry point named {entry_point_name(config_type)!r}, or by importing its "
        f"module). Task plugins {installed_description()}"
    )


def task_handler(task: Any, name: str) -> Optional[Callable[..., Any]]:
    """The handler ``name`` (``container_command`` / ``kubernetes_objects``) that applies to
    ``task``: looked up by the task's class along its MRO, so a plugin's handler only ever sees
    tasks of the classes it registered (and their subclasses).

    A task built directly from its class (not through a ``TaskEnvironment``) may come before its
    plugin's registration ran in this process; its ``plugin_config`` is then resolved first,
    which loads the plugin's entry point.
    """
    ensure_task_plugins()
    task_class = type(task)
    if not TaskPluginRegistry.serves(task_class):
        config = getattr(task, "plugin_config", None)
        if config is not None:
            try:
                resolve_task_class(config)
            except PluginNotFoundError:
                pass  # a task class nobody registered has no handlers: its own methods serve it
    return TaskPluginRegistry.handler(task_class, name)
