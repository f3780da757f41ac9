"""The one exception hierarchy of flyte.

Every error flyte raises on purpose derives from :class:`FlyteError`, so
``except flyte.errors.FlyteError`` catches all of them. Each class also keeps the builtin base
that ``except`` clauses written for the published SDK expect (``RuntimeError``, ``ValueError``,
``TypeError``, ``LookupError``, ``TimeoutError``). Two families live under the root:

* **User mistakes caught before anything runs** (bad parameters, bad types):
  :class:`ValidationError` is a ``ValueError``, :class:`TypeValidationError` is a ``TypeError``.
  Each names the field, the bad value and what is allowed.
* **Runtime errors** raised while a task runs, under :class:`BaseRuntimeError` (a
  ``RuntimeError``), shaped like the published SDK's (``code``, ``kind``, ``message``), so that
  ``except flyte.errors.RuntimeUserError`` keeps working.

The class docstrings are user-facing text: each says what went wrong in words a user can act on.
"""

from __future__ import annotations

import os
from typing import Any, Literal

ErrorKind = Literal["system", "unknown", "user"]

__all__ = [
    "ActionAbortedError",
    "ActionNotFoundError",
    "BaseRuntimeError",
    "CustomError",
    "DeploymentError",
    "DistributionConflictWarning",
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


# A path is never cut (its file name is what the reader needs); PATH_MAX bounds real ones.
_PATH_LIMIT = 4096
# Other values are data: a big one is shortened from the middle, keeping both ends.
_DATA_LIMIT = 200


def _short_repr(value: Any, limit: int = _DATA_LIMIT) -> str:
    text = repr(value)
    if isinstance(value, (str, os.PathLike)) and "\n" not in str(value):
        limit = max(limit, _PATH_LIMIT)
    return shorten_middle(text, limit)


def shorten_middle(text: str, limit: int = _DATA_LIMIT) -> str:
    """``text`` if it fits in ``limit`` characters, else its two ends with the count left out between."""
    if len(text) <= limit:
        return text
    keep = max(limit - 30, 20) // 2
    return f"{text[:keep]}...<{len(text) - 2 * keep} characters left out>...{text[-keep:]}"


def warn_likely_mistake(field: str, value: Any, expected: str, *, owner: str | None = None) -> None:
    """Warn that ``field=value`` is accepted but probably not what the user meant.

    For inputs the published SDK accepts, so programs using them keep running: the warning
    names the field, the value and what is expected, and points at the user's line.
    """
    import warnings

    where = f"{owner}: " if owner else ""
    warnings.warn(
        f"{where}{field}={_short_repr(value)} is accepted but likely a mistake: {expected}",
        UserWarning,
        stacklevel=_user_stacklevel(),
    )


def _user_stacklevel() -> int:
    """The stack level of the first caller outside the flyte package (for ``warnings.warn``)."""
    import sys

    here = os.path.dirname(os.path.abspath(__file__)) + os.sep
    frame = sys._getframe(2)  # the caller of warn_likely_mistake: stack level 2 of its warn()
    level = 2
    while frame is not None and os.path.abspath(frame.f_code.co_filename).startswith(here):
        frame = frame.f_back
        level += 1
    return level


class FlyteError(Exception):
    """Base class of every error flyte raises on purpose; catch it to catch them all."""


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


class InputBindingError(TypeValidationError, ValueError):
    """A task was called with an input missing, unknown or given twice. A ``TypeError``, as
    Python's own for a bad call, and a ``ValueError``, as the published SDK raises."""


class ArgumentKindError(ValidationError, TypeError):
    """An argument is not of the kind allowed (not a task, not a parameter of the decorator). A
    ``ValueError`` like every validation error, and a ``TypeError``, as the published SDK raises."""


def _type_name(tp: Any) -> str:
    if isinstance(tp, type):
        return tp.__qualname__ if tp.__module__ == "builtins" else f"{tp.__module__}.{tp.__qualname__}"
    return repr(tp).replace("typing.", "")


class PluginError(FlyteError):
    """A plugin failed to load or misbehaved; the message names the plugin (distribution)."""


class DistributionConflictWarning(UserWarning):
    """Two installed distributions provide the same import package (``flyte``, or one plugin's
    ``flyteplugins.<name>``), so one has overwritten the other's files; the message names both.

    A warning, not an error: the code that is running may well be the one the user wants.
    """


class PluginNotFoundError(PluginError, ValueError, TypeError, LookupError):
    """No task plugin is registered for a ``plugin_config`` type.

    A ``ValueError``, as the published SDK raises for an unregistered ``plugin_config``, so its
    ``except ValueError`` clauses keep working; still a ``TypeError`` and a ``LookupError`` for
    code written against this SDK's earlier releases.
    """


# --------------------------------------------------------------------------------------------
# Runtime errors (shape of the published SDK)
# --------------------------------------------------------------------------------------------


class BaseRuntimeError(FlyteError, RuntimeError):
    """Base class of errors raised while tasks run: ``code`` is a short machine name, ``kind`` says
    whose fault it is (``user``, ``system`` or ``unknown``) and ``message`` what happened."""

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
    """A failure of flyte or of the machine it runs on, not of the task's code; retrying may help."""

    def __init__(self, code: str, message: str, worker: str | None = None):
        super().__init__(code, "system", message, worker)


class RuntimeUserError(BaseRuntimeError):
    """An error caused by user code or user input while a task runs."""

    def __init__(self, code: str, message: str, worker: str | None = None):
        super().__init__(code, "user", message, worker)


class RuntimeUnknownError(BaseRuntimeError):
    """A failure whose cause (user code or the system) could not be told."""

    def __init__(self, code: str, message: str, worker: str | None = None):
        super().__init__(code, "unknown", message, worker)


class OOMError(RuntimeUserError):
    """The task ran out of memory; give it more with ``Resources(memory=...)``."""


class TaskInterruptedError(RuntimeUserError):
    """The task was interrupted before it finished (for example its machine was taken away)."""


class TaskTimeoutError(RuntimeUserError, TimeoutError):
    """A task ran past its timeout and was cancelled."""

    def __init__(self, message: str, code: str = "TaskTimeoutError"):
        super().__init__(code, message)


class RetriesExhaustedError(RuntimeUserError):
    """Every attempt the task's retry policy allows has failed."""


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
    """Something that only works inside a running task was used outside of one."""


class ActionNotFoundError(FlyteError, RuntimeError, LookupError):
    """No action of that name exists in the run."""


class RuntimeDataValidationError(RuntimeUserError):
    """An input or output value could not be converted by the type engine."""

    def __init__(self, var: str, e: Exception | str, task_name: str = ""):
        where = f" of task {task_name}" if task_name else ""
        super().__init__("DataValidationError", f"Failed to convert {var}{where}: {e}")
        self.var = var
        self.task_name = task_name


class DeploymentError(RuntimeUserError):
    """Tasks or environments could not be deployed; the message says which and why."""

    def __init__(self, message: str):
        super().__init__("DeploymentError", message)


class ImageBuildError(RuntimeUserError):
    """A container image could not be built; the message names the image and the failing step."""

    def __init__(self, message: str):
        super().__init__("ImageBuildError", message)


class ModuleLoadError(RuntimeUserError):
    """The user's module or file holding a task could not be imported."""

    def __init__(self, message: str):
        super().__init__("ModuleLoadError", message)


class InlineIOMaxBytesBreached(RuntimeUserError):
    """Inputs or outputs passed inline are larger than allowed; pass large data as File, Dir or DataFrame."""

    def __init__(self, message: str):
        super().__init__("InlineIOMaxBytesBreached", message)


class ActionAbortedError(RuntimeUserError):
    """The action was aborted before it finished."""

    def __init__(self, message: str):
        super().__init__("ActionAbortedError", message)


class RunAbortedError(ActionAbortedError):
    """The run was aborted (Ctrl-C, SIGTERM, or its process died)."""


class SyncTaskCallInAsyncContextError(RuntimeUserError):
    """A blocking (sync) flyte call was made from inside a running event loop."""

    def __init__(self, message: str):
        super().__init__("SyncTaskCallInAsyncContextError", message)


class TraceDoesNotAllowNestedTasksError(RuntimeUserError):
    """A function decorated with ``flyte.trace`` called a task; traces may only call plain functions."""

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
__all__ += ["ArgumentKindError", "InputBindingError"]
