"""The core's own plugin: plain Python tasks and the built-in type transformers.

It is registered in every plugin manager (``flyte.builtin``) and uses the same hooks as any
third-party plugin, so the contract in :mod:`flyte._plugins.hookspecs` is exercised by the core
itself on every run.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Type

from flyte._plugins.hookspecs import hookimpl

if TYPE_CHECKING:
    from flyte._plugins.registry import _Registry
    from flyte.types import TypeEngine

__all__ = ["PLAIN_CONFIG_TYPE", "flyte_register_task_plugins", "flyte_register_type_transformers"]

# ``plugin_config=None`` (a plain Python task) is served by the class registered for NoneType.
PLAIN_CONFIG_TYPE = type(None)


@hookimpl(tryfirst=True)
def flyte_register_task_plugins(registry: "_Registry") -> None:
    """Plain Python tasks: ``plugin_config=None`` -> ``AsyncFunctionTaskTemplate``; and
    ``flyte.extras.Sleep`` -> ``SleepTask``."""
    from flyte._task import AsyncFunctionTaskTemplate
    from flyte.extras._sleep import Sleep, SleepTask

    registry.register(PLAIN_CONFIG_TYPE, AsyncFunctionTaskTemplate, source="flyte")
    registry.register(Sleep, SleepTask, source="flyte")  # flyte.extras.Sleep: tasks that only wait


@hookimpl(tryfirst=True)
def flyte_register_type_transformers(engine: "Type[TypeEngine]") -> None:
    """The built-in transformers: Python's own types, then files, directories and dataframes.

    The type engine has no other source of them: with this hook gone, no value converts.
    """
    from flyte.io._register import register_io_transformers
    from flyte.types._builtins import register_builtin_transformers

    register_builtin_transformers(engine)
    register_io_transformers(engine)
