"""Functions usable both synchronously and as ``await fn.aio(...)``.

``@syncify`` wraps an ``async def``. Calling the result runs the coroutine to completion on a
private event loop of the calling thread; ``.aio`` is the coroutine function itself, for code
that is already inside an event loop (Jupyter, pytest-asyncio, async tasks).

Calling the blocking form from inside a running event loop would either deadlock or block the
loop, so it raises :class:`flyte.errors.SyncTaskCallInAsyncContextError` telling the user to use
``.aio`` instead.
"""

from __future__ import annotations

import functools
import threading
from typing import TYPE_CHECKING, Any, Awaitable, Callable, Coroutine, Generic, TypeVar

from flyte.errors import SyncTaskCallInAsyncContextError

if TYPE_CHECKING:
    import asyncio

__all__ = ["SyncAndAio", "Syncified", "run_sync", "syncify"]

R = TypeVar("R")

_local = threading.local()


def _runner() -> "asyncio.Runner":
    import asyncio

    runner = getattr(_local, "runner", None)
    if runner is None:
        runner = asyncio.Runner()
        _local.runner = runner
    return runner


def in_running_loop() -> bool:
    import asyncio

    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True


def run_sync(coro: Coroutine[Any, Any, R], *, name: str = "this function") -> R:
    """Run ``coro`` to completion from synchronous code on this thread's private loop."""
    if in_running_loop():
        coro.close()
        raise SyncTaskCallInAsyncContextError(
            f"{name} was called synchronously inside a running event loop; "
            f"use `await {name}.aio(...)` there instead"
        )
    runner = _runner()
    try:
        return runner.run(coro)
    except BaseException:
        # A KeyboardInterrupt leaves the runner's loop usable, but an interrupted loop may hold
        # half-finished state: start the next call on a fresh one.
        if getattr(_local, "runner", None) is runner and not runner.get_loop().is_running():
            runner.close()
            _local.runner = None
        raise


class Syncified(Generic[R]):
    """A callable with a blocking ``__call__`` and an ``aio`` coroutine form."""

    def __init__(self, fn: Callable[..., Awaitable[R]], name: str | None = None):
        self.aio = fn
        self._name = name or f"flyte.{fn.__name__}"
        functools.update_wrapper(self, fn)

    def __call__(self, *args: Any, **kwargs: Any) -> R:
        return run_sync(self.aio(*args, **kwargs), name=self._name)

    def __get__(self, obj: Any, objtype: Any = None) -> Any:
        if obj is None:
            return self
        bound = Syncified(functools.partial(self.aio, obj), name=self._name)
        return bound

    def __repr__(self) -> str:
        return f"<syncified {self._name}>"


def syncify(fn: Callable[..., Awaitable[R]]) -> Syncified[R]:
    """Decorate an ``async def`` so it can be called both ways."""
    return Syncified(fn)


class SyncAndAio(Generic[R]):
    """A function whose work is synchronous and quick, also offered as ``await fn.aio(...)``.

    Unlike :class:`Syncified` it needs no event loop (``flyte.init`` uses it: no asyncio import
    at start-up), and calling it inside a running loop is fine.
    """

    def __init__(self, fn: Callable[..., R], name: str | None = None):
        self._fn = fn
        self._name = name or f"flyte.{fn.__name__}"
        functools.update_wrapper(self, fn)

    def __call__(self, *args: Any, **kwargs: Any) -> R:
        return self._fn(*args, **kwargs)

    async def aio(self, *args: Any, **kwargs: Any) -> R:
        return self._fn(*args, **kwargs)

    def __repr__(self) -> str:
        return f"<{self._name}>"
