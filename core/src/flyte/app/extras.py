"""App environment types of plugins, resolved on first use: ``FastAPIAppEnvironment``.

``from flyte.app.extras import FastAPIAppEnvironment`` loads the app plugin (``flyte-plugin-app``)
through the ``flyte.plugins.apps`` entry point and the ``flyte_register_app_types`` hook; this
module imports neither FastAPI nor uvicorn itself. Without the plugin, the import is an error
saying to install ``flyte-plugin-app``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, List

__all__ = ["FastAPIAppEnvironment"]

if TYPE_CHECKING:  # pragma: no cover
    FastAPIAppEnvironment: Any


def __getattr__(name: str) -> Any:
    if name not in __all__:
        raise AttributeError(f"module 'flyte.app.extras' has no attribute {name!r}")
    from flyte.app._registry import resolve_app_type

    value = resolve_app_type(name)
    globals()[name] = value
    return value


def __dir__() -> List[str]:
    return sorted(set(globals()) | set(__all__))
