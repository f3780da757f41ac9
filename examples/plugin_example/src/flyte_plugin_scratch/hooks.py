"""The plugin's hook implementations (the module the ``flyte.plugins.tasks`` entry point names)."""

from __future__ import annotations

from flyte.extend import hookimpl


@hookimpl
def flyte_register_task_plugins(registry):
    """Serve ``ScratchConfig`` environments with ``ScratchTask``."""
    from flyte_plugin_scratch.config import ScratchConfig
    from flyte_plugin_scratch.task import ScratchTask

    registry.register(config_type=ScratchConfig, plugin=ScratchTask)
