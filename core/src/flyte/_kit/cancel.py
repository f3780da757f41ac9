"""Open a resource without leaking it when the task is cancelled meanwhile."""

from __future__ import annotations

import asyncio
import inspect
import logging
from typing import Any, Awaitable, Callable, TypeVar, Union

__all__ = ["open_cancellably"]

T = TypeVar("T")

logger = logging.getLogger("flyte")


async def _outlast(fut: "asyncio.Future[Any]") -> None:
    """Wait until ``fut`` is done, however often the waiting task is cancelled meanwhile."""
    while not fut.done():
        try:
            await asyncio.shield(fut)
        except BaseException:  # cancelled again, or ``fut`` failed: both are looked at by the caller
            pass


async def open_cancellably(open_fn: Union[Callable[[], T], Awaitable[T]], stop: Callable[[T], Any]) -> T:
    """Open a resource (in a worker thread when ``open_fn`` is a plain callable) and return it.

    Starting an engine takes seconds, during which the task may be cancelled (its timeout,
    Ctrl-C). Cancelling a thread does not stop it, so the opening is shielded: on cancellation
    (also a repeated one) this waits for it to finish, calls ``stop(resource)`` (in a thread
    when it is a plain function), and re-raises the cancellation. Nothing opened outlives the
    task.
    """
    if inspect.isawaitable(open_fn):
        fut = asyncio.ensure_future(open_fn)
    else:
        fut = asyncio.ensure_future(asyncio.to_thread(open_fn))
    try:
        return await asyncio.shield(fut)
    except asyncio.CancelledError:
        await _outlast(fut)
        if fut.cancelled() or fut.exception() is not None:
            raise
        resource = fut.result()

        async def stopping() -> None:
            if inspect.iscoroutinefunction(stop):
                await stop(resource)
                return
            result = await asyncio.to_thread(stop, resource)
            if inspect.isawaitable(result):
                await result

        stopped = asyncio.ensure_future(stopping())
        await _outlast(stopped)
        if not stopped.cancelled() and stopped.exception() is not None:
            logger.warning("stopping %r after a cancellation failed: %s", resource, stopped.exception())
        raise
