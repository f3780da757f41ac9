"""The app plugin's hook implementations (the module its ``flyte.plugins.apps`` entry point names)."""

from __future__ import annotations

from typing import Any

from flyte.extend import hookimpl


@hookimpl
def flyte_register_app_types(registry: Any) -> None:
    """Register ``FastAPIAppEnvironment`` for ``fastapi.FastAPI`` apps."""
    from flyteplugins.app.environment import FastAPIAppEnvironment

    try:
        import fastapi
    except ImportError:  # still resolvable by name; making one says to install what is missing
        registry.register(config_type=FastAPIAppEnvironment, app_type=FastAPIAppEnvironment)
        return
    registry.register(config_type=fastapi.FastAPI, app_type=FastAPIAppEnvironment)
