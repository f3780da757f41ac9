"""The container command of a task: the one place that decides it.

Every serializer (the flyteidl2 task template, the Kubernetes pod, a plugin's custom resource, a
remote submission) asks :func:`container_command`, so a task runs the same command whichever
way it leaves this process.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, List

from flyte._plugins.resolve import task_handler
from flyte.errors import ValidationError

if TYPE_CHECKING:
    from flyte._task import TaskTemplate
    from flyte.models import SerializationContext

__all__ = ["container_command"]


def container_command(task: "TaskTemplate", sctx: "SerializationContext") -> List[str]:
    """The full argument list a container runs ``task`` with (``["flyte-execute", ...]``).

    The ``container_command`` handler registered with the task's class (or the nearest base
    class that registered one) answers first; when there is none, or it returns None, the task's
    own ``container_args(sctx)``. The result must be a list (or tuple) of strings: anything else
    raises :class:`flyte.errors.ValidationError` naming the task and who produced it.
    """
    handler = task_handler(task, "container_command")
    args = handler(task=task, sctx=sctx) if handler is not None else None
    source = f"the container_command handler {getattr(handler, '__qualname__', handler)!r}"
    if args is None:
        args = task.container_args(sctx)
        source = f"{type(task).__qualname__}.container_args"
    if not isinstance(args, (list, tuple)) or not all(isinstance(a, str) for a in args):
        raise ValidationError(
            "container_args", args, f"a list of strings (from {source})",
            owner=f"task {getattr(task, 'name', task)!r}",
        )
    return list(args)
