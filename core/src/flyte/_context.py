"""Context variables: which task (if any) is running, and which run it belongs to.

Everything that needs to know "where am I" (``flyte.ctx()``, the controller, the type engine
when it uploads files to the run's raw data path) reads these variables. asyncio copies them
into every task it creates, and the engine copies them into worker threads, so sub-actions see
their parent's context.
"""

from __future__ import annotations

from contextvars import ContextVar
from typing import TYPE_CHECKING, Any, Optional

if TYPE_CHECKING:
    from flyte.models import RawDataPath, TaskContext

# The TaskContext of the task whose code is running in this context, or None outside tasks.
current_task_context: ContextVar[Optional["TaskContext"]] = ContextVar("flyte_task_context", default=None)

# Engine-internal state of the run this code belongs to (flyte._engine.state.RunState), or None.
current_run_state: ContextVar[Optional[Any]] = ContextVar("flyte_run_state", default=None)

# Custom context set by ``flyte.custom_context(...)`` blocks outside/inside tasks.
current_custom_context: ContextVar[Optional[dict]] = ContextVar("flyte_custom_context", default=None)


def ctx() -> Optional["TaskContext"]:
    """Return the ``flyte.models.TaskContext`` of the running task, or None outside a task.

    Use it in task code, not at module level.
    """
    return current_task_context.get()


def raw_data_path() -> str:
    """The raw data path of the current run (or of the default local location outside runs)."""
    tctx = current_task_context.get()
    if tctx is not None and tctx.raw_data_path.path:
        return tctx.raw_data_path.path
    state = current_run_state.get()
    if state is not None:
        return state.raw_data_path
    from flyte._config import get_config

    return get_config().default_raw_data_path()


class _ContextData:
    """What :func:`internal_ctx` shows: the running task's context and the raw data path."""

    __slots__ = ()

    @property
    def task_context(self) -> Optional["TaskContext"]:
        """The running task's context, or None outside a task."""
        return current_task_context.get()

    @property
    def raw_data_path(self) -> "RawDataPath":
        """Where the current run writes large data."""
        from flyte.models import RawDataPath

        tctx = current_task_context.get()
        if tctx is not None and tctx.raw_data_path.path:
            return tctx.raw_data_path
        return RawDataPath(path=raw_data_path())


class _InternalContext:
    """Compatibility view of the context variables under the published SDK's ``internal_ctx()`` shape.

    Plugins written for the published SDK read ``internal_ctx().raw_data`` (to pick where an
    encoder writes) and ``internal_ctx().data.task_context``. Here that state lives in the
    context variables of this module; this object reads them when asked and holds nothing.
    """

    __slots__ = ()

    @property
    def data(self) -> _ContextData:
        """The task context and raw data path, read from the context variables."""
        return _ContextData()

    @property
    def raw_data(self) -> "RawDataPath":
        """The raw data path of the running task, else of the current run, else the configured one."""
        return _ContextData().raw_data_path

    def is_task_context(self) -> bool:
        """True inside a running task."""
        return current_task_context.get() is not None

    def replace_task_context(self, tctx: "TaskContext") -> Any:
        """A context manager running its body with ``tctx`` as the task context."""
        import contextlib

        @contextlib.contextmanager
        def _scope() -> Any:
            token = current_task_context.set(tctx)
            try:
                yield self
            finally:
                current_task_context.reset(token)

        return _scope()


def internal_ctx() -> _InternalContext:
    """Compatibility alias of the published SDK's ``flyte._context.internal_ctx`` (see :class:`_InternalContext`).

    New code uses :func:`flyte.ctx` (the task context) and ``flyte.ctx().raw_data_path``.
    """
    return _InternalContext()
