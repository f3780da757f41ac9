"""The app type registry: app environment types that plugins provide (``FastAPIAppEnvironment``).

Plugins declare an entry point in the ``flyte.plugins.apps`` group, named by the app type's
class name, whose module implements ``flyte_register_app_types(registry)``. The first lookup
of a name loads the entry point of that name, then calls the hook (historic: plugins loaded
later register as they load) with the registry below. Nothing is imported before that lookup.
"""

from __future__ import annotations

import threading
from typing import Any, Dict, List, Optional, Type

from flyte.errors import PluginError

__all__ = ["APPS_GROUP", "AppTypeNotFoundError", "AppTypeRegistry", "app_type_registry", "resolve_app_type"]

APPS_GROUP = "flyte.plugins.apps"
APP_PLUGIN = "flyte-plugin-app"


class AppTypeNotFoundError(PluginError, ImportError):
    """An app environment type (``flyte.app.extras.FastAPIAppEnvironment``) that no installed plugin provides."""


class AppTypeRegistry:
    """App environment types by name and by the type of what they serve (``fastapi.FastAPI``)."""

    def __init__(self) -> None:
        self._by_name: Dict[str, type] = {}
        self._by_config: Dict[type, type] = {}

    def register(self, config_type: Type[Any], app_type: Type[Any]) -> None:
        """Serve app objects of ``config_type`` (``fastapi.FastAPI``) with ``app_type``, an ``AppEnvironment`` subclass."""
        from flyte.app._app_environment import AppEnvironment

        if not (isinstance(app_type, type) and issubclass(app_type, AppEnvironment)):
            raise PluginError(f"app type {app_type!r} registered for {config_type!r} is not a flyte.app.AppEnvironment subclass")
        seen = self._by_config.get(config_type)
        if seen is not None and seen is not app_type:
            raise PluginError(
                f"two plugins register app types for {config_type!r}: {seen.__module__}.{seen.__qualname__} and "
                f"{app_type.__module__}.{app_type.__qualname__}"
            )
        self._by_config[config_type] = app_type
        self._by_name[app_type.__name__] = app_type

    def get(self, name: str) -> Optional[type]:
        """The app type named ``name`` (its class name), if registered."""
        return self._by_name.get(name)

    def for_app(self, app: Any) -> Optional[type]:
        """The app type serving ``app`` (by its type's MRO), if registered."""
        for klass in type(app).__mro__:
            if klass in self._by_config:
                return self._by_config[klass]
        return None

    def names(self) -> List[str]:
        return sorted(self._by_name)


_lock = threading.Lock()
_registry: Optional[AppTypeRegistry] = None
_registry_manager: Any = None


def app_type_registry() -> AppTypeRegistry:
    """The registry of the current plugin manager (the hook is called once for each)."""
    global _registry, _registry_manager
    from flyte._plugins.manager import get_plugin_manager

    pm = get_plugin_manager()
    with _lock:
        if _registry is None or _registry_manager is not pm:
            _registry, _registry_manager = AppTypeRegistry(), pm
            pm.register_app_types(_registry)
        return _registry


def resolve_app_type(name: str, module: str = "flyte.app.extras") -> type:
    """The app type ``name``, loading the ``flyte.plugins.apps`` entry point of that name on first use."""
    from flyte._plugins.manager import get_plugin_manager, list_entry_points

    registry = app_type_registry()
    found = registry.get(name)
    if found is not None:
        return found
    pm = get_plugin_manager()
    eps = [ep for ep in list_entry_points(APPS_GROUP) if ep.name == name]
    for ep in eps:
        pm.load_entry_point(APPS_GROUP, ep)
    found = registry.get(name)
    if found is not None:
        return found
    failures = [f for f in pm.failed_plugins() if f.group == APPS_GROUP and f.name == name]
    if failures:
        raise AppTypeNotFoundError(
            f"{module}.{name}: the plugin providing it failed to load ({failures[0].error}); "
            f"reinstall {APP_PLUGIN} (pip install ./plugins/app from this checkout)"
        )
    raise AppTypeNotFoundError(
        f"{module}.{name} is provided by the {APP_PLUGIN} distribution (FastAPI and uvicorn), which is not "
        f"installed here; install it: pip install ./plugins/app (from this checkout, with ./core)"
    )
