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
    from flyte.models import TaskContext

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
