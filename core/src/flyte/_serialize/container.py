"""The one place that decides a task's container command."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, List

from flyte.errors import ValidationError

if TYPE_CHECKING:
    from flyte.models import SerializationContext

__all__ = ["container_command"]


def container_command(task: Any, sctx: "SerializationContext") -> List[str]:
    """The command that runs ``task`` in a container: a plugin's ``flyte_task_container_args``
    hook if one answers for the task, else ``task.container_args(sctx)``; always a list of str."""
    from flyte._plugins.manager import get_plugin_manager

    args = get_plugin_manager().task_container_args(task, sctx)
    if args is None:
        args = task.container_args(sctx)
    if not isinstance(args, (list, tuple)) or not all(isinstance(a, str) for a in args):
        raise ValidationError("container_args", args, "a list of strings", owner=f"task {getattr(task, 'name', task)!r}")
    return list(args)
