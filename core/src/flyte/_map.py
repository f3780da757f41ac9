"""``flyte.map``: call a task over zipped iterables, concurrently, yielding results in order.

Items run concurrently up to ``concurrency`` (0: no limit of the user's). Memory stays bounded
however many items there are: at most ``concurrency`` (or 1,024 with no limit) calls are in
flight, and finished results wait in a bounded look-ahead queue until they are yielded in order.
"""

from __future__ import annotations

import asyncio
import functools
from typing import Any, AsyncIterator, Callable, Iterable, Iterator, Optional

from flyte._context import current_run_state
from flyte.errors import ValidationError

__all__ = ["map"]

UNBOUNDED_WINDOW = 1024


def _caller(func: Any) -> tuple[Callable[..., Any], str]:
    from flyte._task import TaskTemplate

    if isinstance(func, functools.partial):
        inner = func.func
        if not isinstance(inner, TaskTemplate):
            raise ValidationError("func", func, "a task or a functools.partial of a task", owner="flyte.map")
        pargs, pkw = func.args, func.keywords

        def call(*items: Any) -> Any:
            return inner.aio(*pargs, *items, **pkw)

        return call, inner.short_name
    if isinstance(func, TaskTemplate):
        return func.aio, func.short_name
    raise ValidationError("func", func, "a task (made with @env.task) or a functools.partial of one", owner="flyte.map")


async def _amap(
    func: Any,
    args: tuple,
    group_name: Optional[str],
    concurrency: int,
    return_exceptions: bool,
) -> AsyncIterator[Any]:
    from flyte._engine.run import group

    if not isinstance(concurrency, int) or isinstance(concurrency, bool) or concurrency < 0:
        raise ValidationError("concurrency", concurrency, "an int >= 0 (0 means no limit)", owner="flyte.map")
    call, short = _caller(func)
    if not args:
        return
    items: Iterator[tuple] = zip(*args)
    window = concurrency or UNBOUNDED_WINDOW
    gate = asyncio.Semaphore(window)
    queue: asyncio.Queue = asyncio.Queue(maxsize=max(window * 2, 64))
    loop = asyncio.get_running_loop()

    def _release(_: Any) -> None:
        gate.release()

    producer_error: list = []

    async def produce() -> None:
        # Tasks copy the context at creation: the group applies to every mapped call.
        try:
            with group(group_name or short) if current_run_state.get() is not None else _nullctx():
                for item in items:
                    await gate.acquire()
                    t = loop.create_task(call(*item))
                    t.add_done_callback(_release)
                    await queue.put(t)
        except asyncio.CancelledError:
            raise
        except BaseException as e:  # the inputs themselves failed: the consumer re-raises it
            producer_error.append(e)
        await queue.put(None)

    producer = loop.create_task(produce())
    try:
        while True:
            t = await queue.get()
            if t is None:
                if producer_error:
                    raise producer_error[0]
                break
            try:
                result = await t
            except asyncio.CancelledError:
                raise
            except Exception as e:
                if return_exceptions:
                    yield e
                    continue
                raise
            yield result
        await producer
    finally:
        if not producer.done():
            producer.cancel()
        while not queue.empty():
            t = queue.get_nowait()
            if t is not None and not t.done():
                t.cancel()


class _nullctx:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: Any) -> None:
        return None


class _Map:
    """``flyte.map(task, *iterables, ...)`` returns an iterator; ``flyte.map.aio`` an async iterator."""

    def __call__(
        self,
        func: Any,
        *args: Iterable[Any],
        group_name: Optional[str] = None,
        concurrency: int = 0,
        return_exceptions: bool = True,
    ) -> Iterator[Any]:
        """Map a task over the zipped iterables; results come back in input order."""

        async def collect() -> list:
            return [r async for r in _amap(func, args, group_name, concurrency, return_exceptions)]

        from flyte._engine.bridge import block_on

        return iter(block_on(collect(), name="flyte.map"))

    def aio(
        self,
        func: Any,
        *args: Iterable[Any],
        group_name: Optional[str] = None,
        concurrency: int = 0,
        return_exceptions: bool = True,
    ) -> AsyncIterator[Any]:
        """Async form: ``async for result in flyte.map.aio(task, items): ...``."""
        return _amap(func, args, group_name, concurrency, return_exceptions)


map = _Map()
