"""The task plugin registry: which ``TaskTemplate`` subclass serves which ``plugin_config`` type,
and the optional per-task-type handlers (Kubernetes objects, container command) of each class.

Plugins fill it from the ``flyte_register_task_plugins(registry)`` hook, or (the form plugins
written for the published SDK use) by calling ``TaskPluginRegistry.register(config_type=...,
plugin=...)`` when their module is imported.

The registry is passive: a dictionary with validation. It never calls the plugin manager; the
manager calls the registration hook with the registry
(:func:`flyte._plugins.resolve.resolve_task_class` does that before a lookup).
"""

from __future__ import annotations

import inspect
import threading
from dataclasses import dataclass
from typing import (
    TYPE_CHECKING,
    Any,
    Callable,
    Dict,
    List,
    Mapping,
    Optional,
    Sequence,
    Tuple,
    Type,
)

from flyte._plugins.entry_points import entry_point_name
from flyte.errors import PluginError, TypeValidationError

if TYPE_CHECKING:
    from flyte._task import TaskTemplate
    from flyte.models import SerializationContext

__all__ = [
    "HANDLER_PARAMETERS",
    "REQUIRED_METHODS",
    "ContainerCommandHandler",
    "KubernetesObjectsHandler",
    "TaskPluginRegistry",
    "TaskTypeHandlers",
    "entry_point_name",
]

# What the engine and the serializers call on a task class; a plugin must not remove them.
REQUIRED_METHODS = ("pre", "execute", "post", "custom_config", "container_args")

ContainerCommandHandler = Callable[["TaskTemplate", "SerializationContext"], Optional[Sequence[str]]]
"""``(task, sctx) -> argument list`` (or None: use ``task.container_args(sctx)``)."""

# The settings are a ``flyte._serialize.k8s_settings.K8sSettings``; the serializers sit above this
# layer, so the alias names no type for them.
KubernetesObjectsHandler = Callable[..., Optional[List[Dict[str, Any]]]]
"""``(task, sctx, settings) -> list of Kubernetes objects`` (or None: the task's plain Pod)."""

HANDLER_PARAMETERS: Dict[str, Tuple[str, ...]] = {
    "container_command": ("task", "sctx"),
    "kubernetes_objects": ("task", "sctx", "settings"),
}
"""The per-task-type handlers a task class may register, and the parameters each is called with."""


def _qualname(obj: Any) -> str:
    module = getattr(obj, "__module__", None)
    name = getattr(obj, "__qualname__", None) or getattr(obj, "__name__", None) or repr(obj)
    return name if module in (None, "builtins") else f"{module}.{name}"


@dataclass(frozen=True)
class TaskTypeHandlers:
    """The handlers one task class registered (None: not given), and who registered them."""

    container_command: Optional[ContainerCommandHandler] = None
    kubernetes_objects: Optional[KubernetesObjectsHandler] = None
    source: str = ""

    def given(self) -> Dict[str, Callable[..., Any]]:
        """The handlers that are set, by name."""
        return {n: h for n in HANDLER_PARAMETERS if (h := getattr(self, n)) is not None}


def _check_handler(kind: str, handler: Any, owner: str) -> None:
    """A handler must be callable with the parameters of its kind, passed by keyword."""
    if handler is None:
        return
    allowed = HANDLER_PARAMETERS[kind]
    if not callable(handler):
        raise TypeValidationError(kind, handler, f"a callable ({', '.join(allowed)})", owner=owner)
    try:
        sig = inspect.signature(handler)
    except (TypeError, ValueError):  # a builtin without a signature: trust it
        return
    try:
        sig.bind(**{p: None for p in allowed})
    except TypeError as e:
        names = [p for p in sig.parameters]
        raise PluginError(
            f"{owner}: handler {kind}={_qualname(handler)}({', '.join(names)}) cannot be called with the "
            f"parameters of {kind}: ({', '.join(allowed)}) by keyword ({e})"
        ) from None


class _Registry:
    """Maps config types to task template classes, and task classes to their handlers.

    ``register(config_type, plugin)`` adds a mapping; ``find(config_type)`` returns the class
    registered for exactly that type, or None; ``handler(task_class, name)`` the nearest handler
    of that name along the task class's MRO. The registry is process-wide.
    """

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._plugins: Dict[type, type] = {}
        self._sources: Dict[type, str] = {}
        self._handlers: Dict[type, TaskTypeHandlers] = {}

    # -- the published API -------------------------------------------------------------------

    def register(
        self,
        config_type: Type,
        plugin: Type,
        *,
        source: Optional[str] = None,
        container_command: Optional[ContainerCommandHandler] = None,
        kubernetes_objects: Optional[KubernetesObjectsHandler] = None,
    ) -> None:
        """Serve tasks whose ``plugin_config`` is a ``config_type`` with the class ``plugin``.

        ``plugin`` must be a subclass of ``flyte.extend.TaskTemplate`` (usually of
        ``AsyncFunctionTaskTemplate``) keeping its ``pre``/``execute``/``post``,
        ``custom_config`` and ``container_args`` methods. Registering the same pair again is a
        no-op; registering a config type that another plugin class already serves raises
        :class:`flyte.errors.PluginError` naming both plugins and the type.

        The optional handlers apply to tasks of ``plugin`` (and of its subclasses) only:

        * ``container_command(task, sctx)``: the task's container command (a list of str), or
          None to use ``task.container_args(sctx)``;
        * ``kubernetes_objects(task, sctx, settings)``: the Kubernetes objects that run the task
          (plain dicts), replacing its plain ``Pod``; None keeps the ``Pod``.

        Handlers are called by keyword and must accept those parameter names; they go only with
        a plugin's own task class (flyte's ``TaskTemplate`` / ``AsyncFunctionTaskTemplate`` would
        pass them on to every task). Either mistake raises :class:`flyte.errors.PluginError`.
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
        where = source or plugin.__module__
        owner = f"plugin {_qualname(plugin)} (from {where})"
        _check_handler("container_command", container_command, owner)
        _check_handler("kubernetes_objects", kubernetes_objects, owner)
        handlers = TaskTypeHandlers(container_command, kubernetes_objects, where)
        if handlers.given() and (plugin.__module__ == "flyte" or plugin.__module__.startswith("flyte.")):
            # Handlers are inherited along the MRO: on a core class they would reach every task
            # of every plugin.
            raise PluginError(
                f"{owner}: handlers {', '.join(handlers.given())} can only be registered with a plugin's "
                f"own task class (a subclass of {_qualname(plugin)}), not with flyte's {_qualname(plugin)}"
            )
        with self._lock:
            existing = self._plugins.get(config_type)
            if existing is not None and existing is not plugin:
                if _qualname(existing) != _qualname(plugin):
                    raise PluginError(
                        f"config type {_qualname(config_type)} is already served by plugin "
                        f"{_qualname(existing)} (from {self._sources.get(config_type, '?')}); "
                        f"plugin {_qualname(plugin)} (from {where}) cannot register it too"
                    )
                # The defining module was imported again (a reload); keep the newer class.
                self._handlers.pop(existing, None)
            self._set_handlers(plugin, handlers, owner)
            self._plugins[config_type] = plugin
            self._sources.setdefault(config_type, where)

    def _set_handlers(self, plugin: type, handlers: TaskTypeHandlers, owner: str) -> None:
        if not handlers.given():
            return  # registering without handlers keeps those given before
        current = self._handlers.get(plugin)
        if current is not None and current.given() and current.given() != handlers.given():
            same = {n: _qualname(h) for n, h in current.given().items()} == {
                n: _qualname(h) for n, h in handlers.given().items()
            }
            if not same:
                raise PluginError(
                    f"{owner}: task class {_qualname(plugin)} already has handlers "
                    f"{', '.join(current.given())} registered by {current.source}; one task class has one "
                    f"set of handlers"
                )
        self._handlers[plugin] = handlers

    def find(self, config_type: Type) -> Optional[Type]:
        """The class registered for exactly ``config_type``, or None (no discovery, no MRO walk)."""
        with self._lock:
            return self._plugins.get(config_type)

    # -- helpers -----------------------------------------------------------------------------

    def lookup(self, config_type: Type) -> Optional[Type]:
        """The class registered for ``config_type`` or its nearest registered base class."""
        with self._lock:
            for klass in getattr(config_type, "__mro__", (config_type,)):
                found = self._plugins.get(klass)
                if found is not None:
                    return found
        return None

    def handler(self, task_class: Type, name: str) -> Optional[Callable[..., Any]]:
        """The handler ``name`` (``container_command`` / ``kubernetes_objects``) of ``task_class``:
        the one registered with the nearest class of its MRO that registered one, or None.

        A handler is inherited like a method: a subclass of a plugin's task class gets the
        plugin's handler unless it registers its own; a task of any other class never sees it.
        """
        if name not in HANDLER_PARAMETERS:
            raise ValueError(f"handler name {name!r} is not one of {', '.join(HANDLER_PARAMETERS)}")
        with self._lock:
            for klass in getattr(task_class, "__mro__", (task_class,)):
                entry = self._handlers.get(klass)
                if entry is not None and getattr(entry, name) is not None:
                    return getattr(entry, name)
        return None

    def handlers(self) -> Dict[type, TaskTypeHandlers]:
        """A copy of the mapping task class -> handlers it registered."""
        with self._lock:
            return dict(self._handlers)

    def registered(self) -> Dict[type, type]:
        """A copy of the mapping config type -> task class."""
        with self._lock:
            return dict(self._plugins)

    def serves(self, task_class: Type) -> bool:
        """True when ``task_class`` is registered for some config type."""
        with self._lock:
            return task_class in self._plugins.values()

    def _snapshot(self) -> Tuple[Dict[type, type], Dict[type, str], Dict[type, TaskTypeHandlers]]:
        with self._lock:
            return dict(self._plugins), dict(self._sources), dict(self._handlers)

    def _restore(self, state: Tuple[Mapping[type, type], Mapping[type, str], Mapping[type, TaskTypeHandlers]]) -> None:
        with self._lock:
            self._plugins, self._sources, self._handlers = dict(state[0]), dict(state[1]), dict(state[2])

    def _clear(self) -> None:
        with self._lock:
            self._plugins.clear()
            self._sources.clear()
            self._handlers.clear()

    def __contains__(self, config_type: object) -> bool:
        return self.find(config_type) is not None  # type: ignore[arg-type]

    def __repr__(self) -> str:
        with self._lock:
            items = ", ".join(f"{_qualname(k)}: {_qualname(v)}" for k, v in self._plugins.items())
        return f"TaskPluginRegistry({{{items}}})"


TaskPluginRegistry = _Registry()
"""The process-wide task plugin registry (published name, also in ``flyte.extend``)."""
