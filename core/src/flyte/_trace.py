"""``@flyte.trace``: record a helper function's calls (timing, outcome) as sub-actions of a task.

Traced functions may not start tasks: a trace is a leaf of the run's action tree.
"""

from __future__ import annotations

import contextlib
import contextvars
import functools
import inspect
import time
from typing import Any, Callable, Iterator, TypeVar

from flyte._context import current_run_state, current_task_context

T = TypeVar("T")

_in_trace: contextvars.ContextVar[bool] = contextvars.ContextVar("flyte_in_trace", default=False)

__all__ = ["trace"]


def in_trace() -> bool:
    return _in_trace.get()


def _record(name: str, status: str, started: float, error: BaseException | None = None) -> None:
    state = current_run_state.get()
    tctx = current_task_context.get()
    if state is None or tctx is None:
        return
    state.traces.append((tctx.action.name, name, status, time.time() - started))
    store = state.store
    if store is not None:
        action = state.next_action_name()
        store.action_started(state.run_name, action, tctx.action.name, f"trace:{name}", None, 0)
        err = {"type": type(error).__name__, "message": str(error), "traceback": ""} if error else None
        store.action_finished(state.run_name, action, status, error=err)


@contextlib.contextmanager
def _traced(name: str) -> Iterator[None]:
    """Mark the block as a trace (no tasks inside) and record its outcome and timing."""
    started = time.time()
    token = _in_trace.set(True)
    try:
        yield
    except BaseException as e:
        _record(name, "failed", started, e)
        raise
    finally:
        _in_trace.reset(token)
    _record(name, "succeeded", started)


def trace(func: Callable[..., T]) -> Callable[..., T]:
    """Trace a function (sync, async, or async generator) called inside tasks.

    Outside a task the function runs as it is, untraced.
    """
    name = getattr(func, "__qualname__", getattr(func, "__name__", "trace"))

    if inspect.isasyncgenfunction(func):

        @functools.wraps(func)
        async def agen_wrapper(*args: Any, **kwargs: Any) -> Any:
            if current_task_context.get() is None:
                async for item in func(*args, **kwargs):
                    yield item
                return
            # The flag covers each step of the generator, never the caller's loop body between
            # steps (async generators run in their caller's context).
            started = time.time()
            agen = func(*args, **kwargs)
            try:
                while True:
                    token = _in_trace.set(True)
                    try:
                        item = await agen.__anext__()
                    except StopAsyncIteration:
                        break
                    finally:
                        _in_trace.reset(token)
                    yield item
            except BaseException as e:
                _record(name, "failed", started, e)
                raise
            finally:
                await agen.aclose()
            _record(name, "succeeded", started)

        return agen_wrapper  # type: ignore[return-value]

    if inspect.iscoroutinefunction(func):

        @functools.wraps(func)
        async def async_wrapper(*args: Any, **kwargs: Any) -> Any:
            if current_task_context.get() is None:
                return await func(*args, **kwargs)
            with _traced(name):
                return await func(*args, **kwargs)

        return async_wrapper  # type: ignore[return-value]

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if current_task_context.get() is None:
            return func(*args, **kwargs)
        with _traced(name):
            return func(*args, **kwargs)

    return wrapper
