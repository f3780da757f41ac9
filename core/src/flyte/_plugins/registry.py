"""The task plugin registry: which ``TaskTemplate`` subclass serves which ``plugin_config`` type.

Plugins fill it from the ``flyte_register_task_plugins(registry)`` hook, or (the form plugins
written for the published SDK use) by calling ``TaskPluginRegistry.register(config_type=...,
plugin=...)`` when their module is imported. :func:`resolve_task_class` is what a
``TaskEnvironment`` calls to pick the class of its tasks.
"""

from __future__ import annotations

import threading
from typing import Any, Dict, List, Optional, Tuple, Type

from flyte.errors import PluginError, PluginNotFoundError, TypeValidationError, _short_repr

__all__ = ["REQUIRED_METHODS", "TaskPluginRegistry", "entry_point_name", "resolve_task_class"]

# What the engine and the serializers call on a task class; a plugin must not remove them.
REQUIRED_METHODS = ("pre", "execute", "post", "custom_config", "container_args")


def entry_point_name(config_type: type) -> str:
    """The ``flyte.plugins.tasks`` entry-point name that serves ``config_type``: ``module.QualName``."""
    return f"{config_type.__module__}.{config_type.__qualname__}"


def _qualname(obj: Any) -> str:
    module = getattr(obj, "__module__", None)
    name = getattr(obj, "__qualname__", None) or getattr(obj, "__name__", None) or repr(obj)
    return name if module in (None, "builtins") else f"{module}.{name}"


class _Registry:
    """Maps config types to task template classes.

    ``register(config_type, plugin)`` adds a mapping; ``find(config_type)`` returns the class
    registered for exactly that type, or None. The registry is process-wide; it is filled from
    the plugin hooks the first time it is queried.
    """

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._plugins: Dict[type, type] = {}
        self._sources: Dict[type, str] = {}

    # -- the published API -------------------------------------------------------------------

    def register(self, config_type: Type, plugin: Type, *, source: Optional[str] = None) -> None:
        """Serve tasks whose ``plugin_config`` is a ``config_type`` with the class ``plugin``.

        ``plugin`` must be a subclass of ``flyte.extend.TaskTemplate`` (usually of
        ``AsyncFunctionTaskTemplate``) keeping its ``pre``/``execute``/``post``,
        ``custom_config`` and ``container_args`` methods. Registering the same pair again is a
        no-op; registering a config type that another plugin class already serves raises
        :class:`flyte.errors.PluginError` naming both plugins and the type.
        """
        from flyte._task import TaskTemplate

        if not isinstance(config_type, type):
            raise TypeValidationError(
                "config_type", config_type, "a class (the type of the plugin_config objects it serves)",
                owner="TaskPluginRegistry.register",
            )
        if not isinstance(plugin, type) or not issubclass(plugin, TaskTemplate):
            raise TypeValidationError(
                "plugin", plugin, "a subclass of flyte.extend.TaskTemplate",
                owner=f"TaskPluginRegistry.register({_qualname(config_type)})",
                detail=f"{_qualname(plugin) if isinstance(plugin, type) else type(plugin).__qualname__ + ' instance'} is not one",
            )
        missing = [m for m in REQUIRED_METHODS if not callable(getattr(plugin, m, None))]
        if missing:
            raise PluginError(
                f"plugin {_qualname(plugin)} for config type {_qualname(config_type)} lacks required "
                f"method(s) {', '.join(missing)}; a task plugin must provide {', '.join(REQUIRED_METHODS)}"
            )
        task_type = getattr(plugin, "task_type", "python")
        if not isinstance(task_type, str) or not task_type:
            raise PluginError(
                f"plugin {_qualname(plugin)}: invalid task_type={task_type!r}; a non-empty string "
                f"naming the task type (e.g. 'ray') is required"
            )
        with self._lock:
            existing = self._plugins.get(config_type)
            if existing is not None and existing is not plugin:
                if _qualname(existing) == _qualname(plugin):
                    # The defining module was imported again (a reload); keep the newer class.
                    self._plugins[config_type] = plugin
                    return
                raise PluginError(
                    f"config type {_qualname(config_type)} is already served by plugin "
                    f"{_qualname(existing)} (from {self._sources.get(config_type, '?')}); "
                    f"plugin {_qualname(plugin)} (from {source or plugin.__module__}) cannot register it too"
                )
            self._plugins[config_type] = plugin
            self._sources[config_type] = source or plugin.__module__

    def find(self, config_type: Type) -> Optional[Type]:
        """The class registered for exactly ``config_type``, or None (no discovery, no MRO walk)."""
        self._ensure_hooks()
        with self._lock:
            return self._plugins.get(config_type)

    # -- helpers -----------------------------------------------------------------------------

    def lookup(self, config_type: Type) -> Optional[Type]:
        """The class registered for ``config_type`` or its nearest registered base class."""
        self._ensure_hooks()
        with self._lock:
            for klass in getattr(config_type, "__mro__", (config_type,)):
                found = self._plugins.get(klass)
                if found is not None:
                    return found
        return None

    def registered(self) -> Dict[type, type]:
        """A copy of the mapping config type -> task class."""
        self._ensure_hooks()
        with self._lock:
            return dict(self._plugins)

    def _ensure_hooks(self) -> None:
        from flyte._plugins.manager import get_plugin_manager

        get_plugin_manager().register_task_plugins(self)

    def _snapshot(self) -> Tuple[Dict[type, type], Dict[type, str]]:
        with self._lock:
            return dict(self._plugins), dict(self._sources)

    def _restore(self, state: Tuple[Dict[type, type], Dict[type, str]]) -> None:
        with self._lock:
            self._plugins, self._sources = dict(state[0]), dict(state[1])

    def _clear(self) -> None:
        with self._lock:
            self._plugins.clear()
            self._sources.clear()

    def __contains__(self, config_type: object) -> bool:
        return self.find(config_type) is not None  # type: ignore[arg-type]

    def __repr__(self) -> str:
        with self._lock:
            items = ", ".join(f"{_qualname(k)}: {_qualname(v)}" for k, v in self._plugins.items())
        return f"TaskPluginRegistry({{{items}}})"


TaskPluginRegistry = _Registry()
"""The process-wide task plugin registry (published name, also in ``flyte.extend``)."""


def _installed_description() -> str:
    from flyte._plugins.manager import get_plugin_manager

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


def resolve_task_class(plugin_config: Any) -> Type:
    """The ``TaskTemplate`` class to build tasks with for an environment's ``plugin_config``.

    ``None`` gives the plain Python task class (registered by the core's own hook). An instance
    of a registered config type (or of a subclass of one) gives its plugin class. On a miss the
    ``flyte.plugins.tasks`` entry point named by the config class's full name is loaded and
    the lookup retried. Still a miss: :class:`flyte.errors.PluginNotFoundError` naming the type
    and the installed task plugins.
    """
    config_type = type(plugin_config)
    found = TaskPluginRegistry.lookup(config_type)
    if found is not None:
        return found
    from flyte._plugins.manager import get_plugin_manager

    if get_plugin_manager().load_task_plugin(config_type):
        found = TaskPluginRegistry.lookup(config_type)
        if found is not None:
            return found
    raise PluginNotFoundError(
        f"no task plugin serves plugin_config={_short_repr(plugin_config)} of type {_qualname(config_type)}; "
        f"install the plugin package that defines it (it registers through the "
        f"'flyte.plugins.tasks' entry point named {entry_point_name(config_type)!r}, or by importing its "
        f"module). Task plugins {_installed_description()}"
    )
