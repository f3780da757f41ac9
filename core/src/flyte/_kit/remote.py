"""Run a task as a remote command: the container entrypoint, submitted by a plugin.

The same path serves a Ray Jobs API submission, ``spark-submit`` to a standalone master and a
PyTorchJob: write the inputs under the run's raw-data path, build the task's container command
(``flyte-execute ...``), let the plugin submit it and wait, then read ``outputs.pb`` back or
raise from the error document.

* :func:`prepare` writes the inputs and returns a :class:`RemoteCall` (command, URIs);
* :func:`collect` reads the outputs (unpacked like a local call's) or raises the task's error;
* :func:`container_call` does both around a ``submit(call)`` coroutine of the plugin.
"""

from __future__ import annotations

import os
import sys
import uuid
from dataclasses import dataclass, field
from typing import Any, Awaitable, Callable, Dict, List, Optional, Type

from flyte.errors import RuntimeSystemError, RuntimeUserError

__all__ = ["RemoteCall", "RemoteTaskError", "collect", "container_call", "module_root", "prepare", "unpack_outputs"]


class RemoteTaskError(RuntimeUserError):
    """A task run as a remote command failed; ``code`` and the message come from its error document."""


@dataclass
class RemoteCall:
    """One remote run of a task: its command and where its data lives.

    Attributes:
        command: The container command (``flyte-execute ...``) as a list of strings.
        work_uri: The folder of this call under the run's raw-data path.
        inputs_uri: The inputs file the command reads.
        outputs_prefix: Where the command writes ``outputs.pb`` or its error document.
        root_dir: The folder the task's module imports from (ship it as the working dir).
        name: A unique, readable name for a submission (``flyte-<run>-<action>-<random>``).
    """

    command: List[str]
    work_uri: str
    inputs_uri: str
    outputs_prefix: str
    root_dir: str
    name: str
    extra: Dict[str, Any] = field(default_factory=dict)


def module_root(task: Any) -> Optional[str]:
    """The folder from which the task's module imports under its name (None: unknown)."""
    from flyte._config import get_config
    from flyte._loader import task_module_location

    # A script run as __main__ is named relative to the project root (flyte.init(root_dir=...)).
    location = task_module_location(task, get_config().root_dir)
    return str(location.root) if location is not None else None


async def prepare(task: Any, kwargs: Dict[str, Any], *, prefix: str = "remote") -> RemoteCall:
    """Write ``kwargs`` as the task's inputs and build its command (see :class:`RemoteCall`)."""
    from flyte import storage
    from flyte._context import current_task_context, raw_data_path
    from flyte._serialize.container import container_command
    from flyte._serialize.io import write_inputs
    from flyte.models import SerializationContext

    base = raw_data_path()
    if not storage.is_remote(base):
        # The command may run in another working directory: give it an absolute URI.
        base = "file://" + os.path.abspath(storage.to_local_path(base))
    token = uuid.uuid4().hex
    work = storage.join(base, prefix, token[:16])
    input_types = {k: t for k, (t, _) in task.interface.inputs.items()}
    inputs = storage.join(work, "inputs.pb")
    await write_inputs(inputs, kwargs, input_types)
    outputs_prefix = storage.join(work, "outputs")
    root_dir = module_root(task) or os.getcwd()
    sctx = SerializationContext(
        input_path=inputs, output_path=outputs_prefix, interpreter_path=sys.executable, root_dir=root_dir
    )
    command = container_command(task, sctx)
    tctx = current_task_context.get()
    name = f"flyte-{token[:12]}"
    if tctx is not None:
        name = f"flyte-{tctx.action.run_name}-{tctx.action.name}-{token[:6]}"
    return RemoteCall(command, work, inputs, outputs_prefix, root_dir, name)


def unpack_outputs(task: Any, values: Dict[str, Any]) -> Any:
    """The task's return value from its named outputs, as a local call returns it: None, the
    one value, or a tuple (the function's NamedTuple when it returns one)."""
    from flyte.models import named_tuple_return, returned_value

    return returned_value(list(task.interface.outputs), values, named_tuple_return(getattr(task, "func", None)))


async def collect(
    task: Any, call: RemoteCall, *, error_type: Type[RuntimeUserError] = RemoteTaskError, where: str = ""
) -> Any:
    """The outputs of a finished remote call, or the task's error raised as ``error_type``.

    ``where`` ("in Ray job X at ADDRESS") goes into the error message. Raises
    ``RuntimeSystemError`` when the command wrote neither outputs nor an error.
    """
    error = await read_error(call)
    if error is not None:
        message = error.message if not error.traceback else f"{error.message}\n{error.traceback}"
        suffix = f" {where}" if where else ""
        raise error_type(error.code or "RemoteTaskFailed", f"task {task.name} failed{suffix}: {message}")
    from flyte._serialize.io import read_outputs

    output_types = dict(task.interface.outputs)
    values = await read_outputs(call.outputs_prefix, output_types)
    if values is None:
        if not output_types:
            return None
        raise RuntimeSystemError(
            "OutputsMissing", f"task {task.name} wrote no outputs under {call.outputs_prefix}{' ' + where if where else ''}"
        )
    return unpack_outputs(task, values)


async def read_error(call: RemoteCall) -> Any:
    """The error document of a remote call (``flyte._serialize.io.ErrorInfo``), or None."""
    from flyte._serialize.io import read_error as _read_error

    return await _read_error(call.outputs_prefix)


async def container_call(
    task: Any,
    kwargs: Dict[str, Any],
    submit: Callable[[RemoteCall], Awaitable[Any]],
    *,
    error_type: Type[RuntimeUserError] = RemoteTaskError,
    where: str = "",
) -> Any:
    """Run ``task`` with ``kwargs`` as a remote command and return its outputs.

    ``submit(call)`` is the plugin's: it runs ``call.command`` on the engine, streams its logs
    and returns when it finished (raising when the engine itself failed). Then the outputs are
    read back, or the task's error is raised as ``error_type``.
    """
    call = await prepare(task, kwargs)
    await submit(call)
    return await collect(task, call, error_type=error_type, where=where)
