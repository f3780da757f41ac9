"""Open a resource without leaking it when the task is cancelled meanwhile."""

from __future__ import annotations

import asyncio
import inspect
from typing import Any, Awaitable, Callable, TypeVar, Union

__all__ = ["open_cancellably"]

T = TypeVar("T")


async def open_cancellably(open_fn: Union[Callable[[], T], Awaitable[T]], stop: Callable[[T], Any]) -> T:
    """Open a resource (in a worker thread when ``open_fn`` is a plain callable) and return it.

    Starting an engine takes seconds, during which the task may be cancelled (its timeout,
    Ctrl-C). Cancelling a thread does not stop it, so the opening is shielded: on cancellation
    this waits for it to finish, calls ``stop(resource)`` (in a thread), and re-raises the
    cancellation. Nothing opened outlives the task.
    """
    if inspect.isawaitable(open_fn):
        fut = asyncio.ensure_future(open_fn)
    else:
        fut = asyncio.ensure_future(asyncio.to_thread(open_fn))
    try:
        return await asyncio.shield(fut)
    except asyncio.CancelledError:
        try:
            resource = await fut
        except BaseException:
            raise asyncio.CancelledError from None
        result = stop(resource)
        if inspect.isawaitable(result):
            await result
        raise
