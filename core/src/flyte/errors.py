"""The one exception hierarchy of flyte.

Two families live here:

* **User mistakes caught before anything runs** (bad parameters, bad types). They derive from
  :class:`FlyteError` and also from the builtin that ``except`` clauses in existing code expect:
  :class:`ValidationError` is a ``ValueError``, :class:`TypeValidationError` is a ``TypeError``.
  Each names the field, the bad value and what is allowed.
* **Runtime errors** raised while a task runs, shaped like the published SDK's
  (``code``, ``kind``, ``message``), so that ``except flyte.errors.RuntimeUserError`` keeps working.
"""

from __future__ import annotations

from typing import Any, Literal

ErrorKind = Literal["system", "unknown", "user"]

__all__ = [
    "ActionAbortedError",
    "ActionNotFoundError",
    "BaseRuntimeError",
    "CustomError",
    "DeploymentError",
    "ErrorKind",
    "FlyteError",
    "ImageBuildError",
    "InitializationError",
    "InlineIOMaxBytesBreached",
    "ModuleLoadError",
    "NotInTaskContextError",
    "OOMError",
    "PluginError",
    "PluginNotFoundError",
    "RetriesExhaustedError",
    "RunAbortedError",
    "RuntimeDataValidationError",
    "RuntimeSystemError",
    "RuntimeUnknownError",
    "RuntimeUserError",
    "SyncTaskCallInAsyncContextError",
    "TaskInterruptedError",
    "TaskTimeoutError",
    "TraceDoesNotAllowNestedTasksError",
    "TypeValidationError",
    "ValidationError",
]


def _short_repr(value: Any, limit: int = 80) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


class FlyteError(Exception):
    """Base class of every error flyte raises on purpose."""


class ValidationError(FlyteError, ValueError):
    """A value given by the user is not allowed.

    The message always names the field, the bad value and what is allowed, optionally prefixed by
    the owner (an environment, a task, a plugin config) so the user knows where to look.
    """

    def __init__(self, field: str, value: Any, allowed: str, *, owner: str | None = None):
        self.field = field
        self.value = value
        self.allowed = allowed
        self.owner = owner
        where = f"{owner}: " if owner else ""
        super().__init__(f"{where}invalid {field}={_short_repr(value)}: {allowed}")


class TypeValidationError(FlyteError, TypeError):
    """A value has the wrong Python type for a task input/output or a parameter."""

    def __init__(self, field: str, value: Any, expected: Any, *, owner: str | None = None, detail: str = ""):
        self.field = field
        self.value = value
        self.expected = expected
        self.owner = owner
        where = f"{owner}: " if owner else ""
        exp = expected if isinstance(expected, str) else _type_name(expected)
        extra = f" ({detail})" if detail else ""
        super().__init__(
            f"{where}{field} got {_short_repr(value)} of type {type(value).__name__}, expected {exp}{extra}"
        )


def _type_name(tp: Any) -> str:
    if isinstance(tp, type):
        return tp.__qualname__ if tp.__module__ == "builtins" else f"{tp.__module__}.{tp.__qualname__}"
    return repr(tp).replace("typing.", "")


class PluginError(FlyteError):
    """A plugin failed to load or misbehaved; the message names the plugin (distribution)."""


class PluginNotFoundError(PluginError, TypeError):
    """No task plugin is registered for a ``plugin_config`` type."""


# --------------------------------------------------------------------------------------------
# Runtime errors (shape of the published SDK)
# --------------------------------------------------------------------------------------------


class BaseRuntimeError(RuntimeError):
    """Base class for errors raised while running tasks. ``code`` is a short machine name."""

    def __init__(self, code: str, kind: ErrorKind, root_cause_message: str, worker: str | None = None):
        super().__init__(root_cause_message)
        self.code = code
        self.kind = kind
        self.worker = worker

    @property
    def message(self) -> str:
        return str(self.args[0]) if self.args else ""


class InitializationError(BaseRuntimeError):
    """flyte is not (or wrongly) initialized."""

    def __init__(self, code: str, kind: ErrorKind = "user", root_cause_message: str = "", worker: str | None = None):
        if not root_cause_message:  # allow InitializationError("message")
            code, root_cause_message = "InitializationError", code
        super().__init__(code, kind, root_cause_message, worker)


class RuntimeSystemError(BaseRuntimeError):
    def __init__(self, code: str, message: str, worker: str | None = None):
        super().__init__(code, "system", message, worker)


class RuntimeUserError(BaseRuntimeError):
    """An error caused by user code or user input while a task runs."""

    def __init__(self, code: str, message: str, worker: str | None = None):
        super().__init__(code, "user", message, worker)


class RuntimeUnknownError(BaseRuntimeError):
    def __init__(self, code: str, message: str, worker: str | None = None):
        super().__init__(code, "unknown", message, worker)


class OOMError(RuntimeUserError):
    pass


class TaskInterruptedError(RuntimeUserError):
    pass


class TaskTimeoutError(RuntimeUserError, TimeoutError):
    """A task ran past its timeout and was cancelled."""

    def __init__(self, message: str, code: str = "TaskTimeoutError"):
        super().__init__(code, message)


class RetriesExhaustedError(RuntimeUserError):
    pass


class CustomError(RuntimeUserError):
    """Raised by a task that failed with a user exception, carrying its original type name."""

    def __init__(self, code: str, message: str):
        super().__init__(code, message)

    @classmethod
    def from_exception(cls, e: BaseException) -> "CustomError":
        new = cls(code=type(e).__name__, message=str(e))
        new.__cause__ = e
        return new


class NotInTaskContextError(RuntimeUserError):
    pass


class ActionNotFoundError(RuntimeError):
    pass


class RuntimeDataValidationError(RuntimeUserError):
    """An input or output value could not be converted by the type engine."""

    def __init__(self, var: str, e: Exception | str, task_name: str = ""):
        where = f" of task {task_name}" if task_name else ""
        super().__init__("DataValidationError", f"Failed to convert {var}{where}: {e}")
        self.var = var
        self.task_name = task_name


class DeploymentError(RuntimeUserError):
    def __init__(self, message: str):
        super().__init__("DeploymentError", message)


class ImageBuildError(RuntimeUserError):
    def __init__(self, message: str):
        super().__init__("ImageBuildError", message)


class ModuleLoadError(RuntimeUserError):
    def __init__(self, message: str):
        super().__init__("ModuleLoadError", message)


class InlineIOMaxBytesBreached(RuntimeUserError):
    def __init__(self, message: str):
        super().__init__("InlineIOMaxBytesBreached", message)


class ActionAbortedError(RuntimeUserError):
    def __init__(self, message: str):
        super().__init__("ActionAbortedError", message)


class RunAbortedError(ActionAbortedError):
    """The run was aborted (Ctrl-C, SIGTERM, or its process died)."""


class SyncTaskCallInAsyncContextError(RuntimeUserError):
    """A blocking (sync) flyte call was made from inside a running event loop."""

    def __init__(self, message: str):
        super().__init__("SyncTaskCallInAsyncContextError", message)


class TraceDoesNotAllowNestedTasksError(RuntimeUserError):
    def __init__(self, message: str):
        super().__init__("TraceDoesNotAllowNestedTasksError", message)


# --------------------------------------------------------------------------------------------
# Plugin kit
# --------------------------------------------------------------------------------------------


class ClusterUnreachableError(RuntimeUserError):
    """The address of an existing cluster given to a task does not answer.

    Plugins subclass it (``RayClusterUnreachableError``); ``address`` is the address tried.
    """

    def __init__(self, address: str, reason: str, hint: str = "", code: str = "ClusterUnreachable"):
        where = f" (set by {hint})" if hint else ""
        super().__init__(
            code,
            f"cannot reach the cluster at {address}: {reason}. Check the address{where} and that the cluster is running",
        )
        self.address = address
        self.reason = reason


__all__ += ["ClusterUnreachableError"]
