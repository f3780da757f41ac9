"""flyte-plugin-scratch: tasks with a private scratch directory, and exact Fraction values.

Only the config is imported here (it is pure data); the task class and the hooks load when
flyte first needs them, through the package's entry points.
"""

from flyte_plugin_scratch.config import ScratchConfig

__all__ = ["ScratchConfig"]
