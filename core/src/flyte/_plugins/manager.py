"""The process-wide plugin manager: pluggy plus lazy entry-point discovery.

Three entry-point groups are read, each listed at most once per process:

* ``flyte.plugins.tasks``: each entry point is *named* by the fully qualified name of the
  config class it serves (``flyteplugins.ray.config.RayJobConfig``) and points at the module
  implementing the hooks. It is imported only when a task with that config type is first
  resolved (:func:`flyte._plugins.resolve.resolve_task_class`).
* ``flyte.plugins.types``: each entry point names a module or a no-argument callable that
  registers type transformers; all are loaded by :func:`load_type_plugins`, at
  ``flyte.init(load_plugin_type_transformers=True)`` or at the first type lookup that misses.
* ``flyte.plugins.cli.commands`` is read by the CLI itself.

Environment switches, read at each discovery so tests and users can flip them per call:

* ``FLYTE_DISABLE_PLUGIN_AUTOLOAD=1``: no entry point is loaded (plugins can still be
  registered explicitly, and modules that register on import still do).
* ``FLYTE_PLUGINS=ray,spark``: only entry points whose name or distribution matches one of
  these tokens load (``ray`` matches the distributions ``ray``, ``flyte-plugin-ray`` and
  ``flyteplugins-ray``).
* ``FLYTE_TRACE_PLUGINS=1``: every hook call and its result is logged (logger
  ``flyte.plugins.trace``, to stderr).

A plugin that fails to import or to register is logged as a warning naming its distribution
and the error, and kept in :func:`failed_plugins`; nothing else is affected.
"""

from __future__ import annotations

import difflib
import inspect
import logging
import os
import sys
import threading
import types
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Dict, List, Optional, Tuple, Type

import pluggy

from flyte._plugins import hookspecs
from flyte._plugins.entry_points import EntryPoint, entry_point_name, scan_entry_points
from flyte.errors import PluginError

if TYPE_CHECKING:
    from flyte._plugins.registry import _Registry
    from flyte.types import TypeEngine

__all__ = [
    "CLI_GROUP",
    "TASKS_GROUP",
    "TYPES_GROUP",
    "FailedPlugin",
    "FlytePluginManager",
    "clear_entry_point_cache",
    "failed_plugins",
    "get_plugin_manager",
    "list_entry_points",
    "load_type_plugins",
    "set_plugin_manager",
]

TASKS_GROUP = "flyte.plugins.tasks"
TYPES_GROUP = "flyte.plugins.types"
CLI_GROUP = "flyte.plugins.cli.commands"

logger = logging.getLogger("flyte.plugins")
_trace_logger = logging.getLogger("flyte.plugins.trace")

_TRUE = {"1", "true", "yes", "on"}
_DIST_PREFIXES = ("flyte-plugin-", "flyteplugins-", "flyte-plugins-", "flyte-")


# --------------------------------------------------------------------------------------------
# Entry-point listing: one metadata scan per process, whatever the number of groups asked.
# --------------------------------------------------------------------------------------------

_ep_lock = threading.Lock()
_ep_cache: Optional[Dict[str, List[EntryPoint]]] = None


def _all_entry_points() -> Dict[str, List[EntryPoint]]:
    global _ep_cache
    cached = _ep_cache
    if cached is None:
        with _ep_lock:
            if _ep_cache is None:
                _ep_cache = scan_entry_points()
            cached = _ep_cache
    return cached


def clear_entry_point_cache() -> None:
    """Forget the listed entry points, so the next lookup scans installed distributions again.

    Needed only after installing a distribution into the running process (tests do).
    """
    global _ep_cache
    with _ep_lock:
        _ep_cache = None


def autoload_disabled() -> bool:
    """True when ``FLYTE_DISABLE_PLUGIN_AUTOLOAD`` switches entry-point discovery off."""
    return os.environ.get("FLYTE_DISABLE_PLUGIN_AUTOLOAD", "").strip().lower() in _TRUE


def _allowed_tokens() -> Optional[set]:
    raw = os.environ.get("FLYTE_PLUGINS")
    if raw is None or not raw.strip():
        return None
    return {_normalize(t) for t in raw.split(",") if t.strip()}


def _normalize(name: str) -> str:
    return name.strip().lower().replace("_", "-").replace(".", "-")


def distribution_name(ep: EntryPoint) -> str:
    """The distribution that declares ``ep`` (``"?"`` when unknown)."""
    dist = getattr(ep, "dist", None)
    name = getattr(dist, "name", None) if dist is not None else None
    return name or "?"


def _matches(ep: EntryPoint, tokens: set) -> bool:
    names = {_normalize(ep.name)}
    dist = _normalize(distribution_name(ep))
    names.add(dist)
    for prefix in _DIST_PREFIXES:
        if dist.startswith(prefix):
            names.add(dist[len(prefix) :])
    return bool(names & tokens)


def list_entry_points(group: str) -> Tuple[EntryPoint, ...]:
    """The entry points of ``group`` that the environment switches allow, in a stable order."""
    if autoload_disabled():
        return ()
    eps = _all_entry_points().get(group, ())
    tokens = _allowed_tokens()
    seen: Dict[str, EntryPoint] = {}
    for ep in eps:
        if tokens is not None and not _matches(ep, tokens):
            continue
        # The same distribution can be visible twice (an editable install and a wheel);
        # the first one on sys.path wins, as it does for imports.
        seen.setdefault(ep.name, ep)
    return tuple(seen.values())


# --------------------------------------------------------------------------------------------
# The manager
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class FailedPlugin:
    """A plugin that could not be loaded or registered."""

    group: str
    name: str
    distribution: str
    error: str
    exception: Optional[BaseException] = field(default=None, repr=False, compare=False)

    def __str__(self) -> str:
        return f"{self.name} (distribution {self.distribution}, group {self.group}): {self.error}"


class _PluggyManager(pluggy.PluginManager):
    """pluggy's manager, also treating unmarked ``flyte_*`` functions as hook implementations.

    Without this, a misspelled, undecorated ``flyte_regster_task_plugins`` would be ignored;
    with it, :meth:`FlytePluginManager.register` rejects it by name.
    """

    def parse_hookimpl_opts(self, plugin: Any, name: str):  # type: ignore[override]
        opts = super().parse_hookimpl_opts(plugin, name)
        if opts is None and name.startswith("flyte_"):
            member = getattr(plugin, name, None)
            if inspect.isroutine(member):
                return {}
        return opts


def _hook_names() -> List[str]:
    return [n for n in dir(hookspecs) if n.startswith("flyte_")]


def _plugin_label(plugin: Any) -> str:
    if isinstance(plugin, types.ModuleType):
        return plugin.__name__
    return getattr(plugin, "__qualname__", None) or type(plugin).__qualname__


class FlytePluginManager:
    """Wraps a pluggy ``PluginManager`` with one typed method per hook and lazy discovery.

    ``builtins=True`` registers the core's own implementations
    (:mod:`flyte._plugins.builtin`), exactly like any third-party plugin.
    """

    def __init__(self, *, builtins: bool = True) -> None:
        self._pm = _PluggyManager(hookspecs.PROJECT_NAME)
        self._pm.add_hookspecs(hookspecs)
        self._lock = threading.RLock()
        self._failed: List[FailedPlugin] = []
        self._loaded: Dict[Tuple[str, str], Any] = {}
        self._historic_done: set = set()
        self._type_plugins_loaded = False
        if os.environ.get("FLYTE_TRACE_PLUGINS", "").strip().lower() in _TRUE:
            self.enable_tracing()
        if builtins:
            from flyte._plugins import builtin

            self.register(builtin, name="flyte.builtin")

    # -- registration ------------------------------------------------------------------------

    @property
    def pluggy_manager(self) -> pluggy.PluginManager:
        """The underlying pluggy manager (for introspection; prefer the typed methods)."""
        return self._pm

    def register(self, plugin: Any, name: Optional[str] = None) -> str:
        """Register a plugin (a module or object with hook implementations) and check it.

        Historic hooks already called are replayed for it at once. A function named like a
        hook that does not exist (a typo) raises :class:`flyte.errors.PluginError` naming it,
        and the plugin is left unregistered. Registering the same plugin again is a no-op.
        """
        with self._lock:
            if self._pm.is_registered(plugin):
                return self._pm.get_name(plugin) or ""
            label = name or _plugin_label(plugin)
            self._check_names(plugin, label)
            self._check_parameters(plugin, label)
            try:
                registered = self._pm.register(plugin, name=name)
            except PluginError:
                self._safe_unregister(plugin)
                raise
            except pluggy.PluginValidationError as e:
                self._safe_unregister(plugin)
                raise PluginError(f"plugin {label}: invalid hook implementation: {e}") from e
            except Exception as e:
                self._safe_unregister(plugin)
                raise PluginError(f"plugin {label} failed to register: {type(e).__name__}: {e}") from e
            return registered or label

    def _check_names(self, plugin: Any, label: str) -> None:
        known = _hook_names()
        for attr in dir(plugin):
            if not attr.startswith("flyte_") or attr in known:
                continue
            if self._pm.parse_hookimpl_opts(plugin, attr) is None:
                continue
            handler = hookspecs.REMOVED_HOOKS.get(attr)
            if handler is not None:
                raise PluginError(
                    f"plugin {label}: {attr!r} is no longer a hook; a task type's {handler} is a handler "
                    f"registered with its task class: registry.register(config_type=..., plugin=MyTask, "
                    f"{handler}=fn) in flyte_register_task_plugins (known hooks: {', '.join(known)})"
                )
            close = difflib.get_close_matches(attr, known, n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            raise PluginError(
                f"plugin {label}: hook implementation {attr!r} matches no flyte hook{hint} "
                f"(known hooks: {', '.join(known)})"
            )

    def _check_parameters(self, plugin: Any, label: str) -> None:
        """Each implementation may name only parameters its hook has (pluggy checks this too; the
        error here names the plugin, the hook and the allowed parameters)."""
        for attr in _hook_names():
            member = getattr(plugin, attr, None)
            if member is None or not inspect.isroutine(member):
                continue
            allowed = list(inspect.signature(getattr(hookspecs, attr)).parameters)
            try:
                params = inspect.signature(member).parameters
            except (TypeError, ValueError):  # pragma: no cover - a builtin without a signature
                continue
            bad = [
                p for p, v in params.items()
                if p not in allowed and p not in ("self", "cls")
                and v.kind not in (v.VAR_POSITIONAL, v.VAR_KEYWORD) and v.default is v.empty
            ]
            if bad:
                hints = []
                for p in bad:
                    close = difflib.get_close_matches(p, allowed, n=1)
                    hints.append(f"{p!r} (did you mean {close[0]!r}?)" if close else repr(p))
                raise PluginError(
                    f"plugin {label}: hook implementation {attr}({', '.join(params)}) has parameter(s) "
                    f"{', '.join(hints)} that the hook does not pass; {attr} accepts any of: "
                    f"{', '.join(allowed)}"
                )

    def _safe_unregister(self, plugin: Any) -> None:
        try:
            if self._pm.is_registered(plugin):
                self._pm.unregister(plugin)
        except Exception:  # pragma: no cover - pluggy state already gone
            pass

    def check_pending(self) -> None:
        """Raise :class:`flyte.errors.PluginError` if any registered implementation has no hook,
        naming the plugin, the implementation and the known hooks."""
        try:
            self._pm.check_pending()
        except pluggy.PluginValidationError as e:
            plugin = getattr(e, "plugin", None)
            label = (self._pm.get_name(plugin) if plugin is not None else None) or _plugin_label(plugin)
            raise PluginError(
                f"plugin {label}: {e} (known hooks: {', '.join(_hook_names())})"
            ) from e

    def is_registered(self, plugin: Any) -> bool:
        """True when ``plugin`` (the module or object) is registered."""
        return self._pm.is_registered(plugin)

    def plugin_names(self) -> List[str]:
        """Names of the registered plugins, in registration order."""
        return [n for n, _ in self._pm.list_name_plugin()]

    def enable_tracing(self) -> None:
        """Log every hook call and result to the ``flyte.plugins.trace`` logger."""
        if not _trace_logger.handlers:
            handler = logging.StreamHandler(sys.stderr)
            handler.setFormatter(logging.Formatter("flyte plugin trace: %(message)s"))
            _trace_logger.addHandler(handler)
            _trace_logger.setLevel(logging.DEBUG)
        self._pm.trace.root.setwriter(lambda line: _trace_logger.debug(line.rstrip()))
        self._pm.enable_tracing()

    # -- typed hook calls --------------------------------------------------------------------

    def _call_historic_once(self, hook_name: str, **kwargs: Any) -> None:
        key = (hook_name, tuple(id(v) for v in kwargs.values()))
        with self._lock:
            if key in self._historic_done:
                return
            self._historic_done.add(key)
            getattr(self._pm.hook, hook_name).call_historic(kwargs=kwargs)

    def register_task_plugins(self, registry: "_Registry") -> None:
        """Call ``flyte_register_task_plugins(registry)`` once for this registry (historic)."""
        self._call_historic_once("flyte_register_task_plugins", registry=registry)

    def register_type_transformers(self, engine: "Type[TypeEngine]") -> None:
        """Call ``flyte_register_type_transformers(engine)`` once for this engine (historic)."""
        self._call_historic_once("flyte_register_type_transformers", engine=engine)

    def register_app_types(self, registry: hookspecs.AppTypeRegistry) -> None:
        """Call ``flyte_register_app_types(registry)`` once for this registry (historic).

        The app type registry (``flyte.app._registry``) calls it the first time an app type is looked up.
        """
        self._call_historic_once("flyte_register_app_types", registry=registry)

    # -- discovery ---------------------------------------------------------------------------

    def failed_plugins(self) -> List[FailedPlugin]:
        """Plugins that failed to load or register in this manager, oldest first."""
        with self._lock:
            return list(self._failed)

    def _record_failure(self, group: str, ep: EntryPoint, exc: BaseException) -> FailedPlugin:
        failure = FailedPlugin(
            group=group,
            name=ep.name,
            distribution=distribution_name(ep),
            error=f"{type(exc).__name__}: {exc}",
            exception=exc,
        )
        self._failed.append(failure)
        logger.warning(
            "flyte plugin %r from distribution %r (entry point %s = %s) failed to load: %s",
            ep.name,
            failure.distribution,
            group,
            ep.value,
            failure.error,
        )
        return failure

    def load_entry_point(self, group: str, ep: EntryPoint, *, call: bool = False) -> Tuple[bool, Any]:
        """Import ``ep`` once and register what it names; return ``(ok, loaded object)``.

        A module with hook implementations is registered as a plugin (historic hooks replay
        for it). With ``call=True`` a loaded callable is called with no arguments (the type
        plugin convention). Failures are recorded, logged and returned as ``(False, None)``.
        """
        key = (group, ep.name)
        with self._lock:
            if key in self._loaded:
                return True, self._loaded[key]
            if any(f.group == group and f.name == ep.name for f in self._failed):
                return False, None
            try:
                obj = ep.load()
                if isinstance(obj, types.ModuleType):
                    if any(n.startswith("flyte_") for n in dir(obj)):
                        self.register(obj, name=f"{distribution_name(ep)}:{ep.name}")
                elif call and callable(obj):
                    obj()
                else:
                    # An object (or class) holding hook implementations.
                    self.register(obj, name=f"{distribution_name(ep)}:{ep.name}")
            except Exception as e:
                self._record_failure(group, ep, e)
                return False, None
            self._loaded[key] = obj
            return True, obj

    def task_entry_points(self) -> Dict[str, EntryPoint]:
        """Allowed ``flyte.plugins.tasks`` entry points by name (a config class's full name)."""
        return {ep.name: ep for ep in list_entry_points(TASKS_GROUP)}

    def load_task_plugin(self, config_type: type) -> List[str]:
        """Load the task plugin entry points serving ``config_type`` or one of its bases.

        Returns the names of the entry points loaded successfully (empty when none matches).
        """
        available = self.task_entry_points()
        loaded: List[str] = []
        if not available:
            return loaded
        for klass in getattr(config_type, "__mro__", (config_type,)):
            if klass is object:
                continue
            name = entry_point_name(klass)
            ep = available.get(name)
            if ep is not None and self.load_entry_point(TASKS_GROUP, ep)[0]:
                loaded.append(name)
        return loaded

    def load_type_plugins(self) -> None:
        """Load every allowed ``flyte.plugins.types`` entry point, once per manager.

        Each entry point names a module or a no-argument callable; loading imports it and calls
        it when callable. Afterwards ``flyte_register_type_transformers`` runs (historic, so
        modules registered as plugins here are called too).
        """
        with self._lock:
            if self._type_plugins_loaded:
                return
            self._type_plugins_loaded = True
            for ep in list_entry_points(TYPES_GROUP):
                self.load_entry_point(TYPES_GROUP, ep, call=True)
        engine = _type_engine()
        if engine is not None:
            self.register_type_transformers(engine)

    @property
    def type_plugins_loaded(self) -> bool:
        """True once :meth:`load_type_plugins` ran in this manager."""
        return self._type_plugins_loaded


def _type_engine() -> Any:
    try:
        from flyte.types import TypeEngine
    except ImportError:  # the type engine is not importable (a broken install)
        return None
    return TypeEngine


# --------------------------------------------------------------------------------------------
# Process-wide access
# --------------------------------------------------------------------------------------------

_manager_lock = threading.Lock()
_manager: Optional[FlytePluginManager] = None


def get_plugin_manager() -> FlytePluginManager:
    """The process-wide plugin manager, created (with the built-in plugin) on first use."""
    global _manager
    pm = _manager
    if pm is None:
        with _manager_lock:
            if _manager is None:
                _manager = FlytePluginManager()
            pm = _manager
    return pm


def set_plugin_manager(pm: Optional[FlytePluginManager]) -> Optional[FlytePluginManager]:
    """Install ``pm`` as the process-wide manager (None: create anew on next use); return the old."""
    global _manager
    with _manager_lock:
        old, _manager = _manager, pm
    return old


def load_type_plugins() -> None:
    """Load the ``flyte.plugins.types`` entry points once per process (see the manager)."""
    get_plugin_manager().load_type_plugins()


def failed_plugins() -> List[FailedPlugin]:
    """Plugins that failed to load in this process, with their distribution and error."""
    return get_plugin_manager().failed_plugins()


