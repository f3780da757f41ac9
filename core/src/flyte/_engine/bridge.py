"""Bridges between the run's event loop and the threads that run sync task bodies.

Sync task bodies run in worker threads so async parents can ``asyncio.gather`` them. At most
``SYNC_SLOTS`` bodies run at once; a body that blocks waiting on a child task gives its slot back
while it waits, so deep trees of sync tasks never deadlock on the pool.
"""

from __future__ import annotations

import asyncio
import contextvars
import os
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Callable, Coroutine, Optional, TypeVar

from flyte._context import current_run_state

T = TypeVar("T")

SYNC_SLOTS = int(os.environ.get("FLYTE_LOCAL_SYNC_CONCURRENCY", "0")) or max(32, (os.cpu_count() or 1) * 8)

_executor: Optional[ThreadPoolExecutor] = None
_executor_lock = threading.Lock()
_worker = threading.local()


def _get_executor() -> ThreadPoolExecutor:
    global _executor
    if _executor is None:
        with _executor_lock:
            if _executor is None:
                # Threads are created on demand; the slot semaphore, not the pool, bounds how many
                # bodies run, so the pool must be larger than the number of blocked parents.
                _executor = ThreadPoolExecutor(max_workers=4096, thread_name_prefix="flyte-task")
    return _executor


def _run_in_worker(ctx: contextvars.Context, loop: asyncio.AbstractEventLoop, slots: Any, fn: Callable, args: tuple, kwargs: dict) -> Any:
    _worker.loop = loop
    _worker.slots = slots
    try:
        return ctx.run(fn, *args, **kwargs)
    finally:
        _worker.loop = None
        _worker.slots = None


async def run_sync_in_thread(fn: Callable[..., T], args: tuple, kwargs: dict) -> T:
    """Run a sync task body in a worker thread, holding one of the run's sync slots."""
    loop = asyncio.get_running_loop()
    state = current_run_state.get()
    # The slot semaphore belongs to the run's main loop; calls on a private loop skip it.
    slots = state.sync_slots if state is not None and state.loop is loop else None
    if slots is not None:
        await slots.acquire()
    try:
        ctx = contextvars.copy_context()
        return await loop.run_in_executor(_get_executor(), _run_in_worker, ctx, loop, slots, fn, args, kwargs)
    finally:
        if slots is not None:
            slots.release()


def _in_running_loop() -> bool:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True


def block_on(coro: Coroutine[Any, Any, T], *, name: str) -> T:
    """Wait for ``coro`` from synchronous code inside a run.

    * In a worker thread running a sync task body: run the coroutine on the run's loop and wait,
      giving the body's slot back meanwhile.
    * On a thread whose event loop is running (async code calling a sync task directly): the loop
      cannot be blocked on itself, so the call runs on a private loop in a helper thread; the
      caller's loop pauses until it returns. ``await task.aio(...)`` avoids that pause.
    * Elsewhere (a plain thread of the user's): a private loop on this thread.
    """
    loop: Optional[asyncio.AbstractEventLoop] = getattr(_worker, "loop", None)
    if loop is not None and not _in_running_loop():
        slots = getattr(_worker, "slots", None)
        if slots is not None:
            loop.call_soon_threadsafe(slots.release)
        try:
            return asyncio.run_coroutine_threadsafe(coro, loop).result()
        finally:
            if slots is not None:
                asyncio.run_coroutine_threadsafe(slots.acquire(), loop).result()
    if _in_running_loop():
        if current_run_state.get() is None:
            from flyte.errors import SyncTaskCallInAsyncContextError

            coro.close()
            raise SyncTaskCallInAsyncContextError(
                f"{name} was called synchronously inside a running event loop; use `await {name}.aio(...)` there instead"
            )
        ctx = contextvars.copy_context()
        result: dict = {}

        def target() -> None:
            try:
                result["value"] = ctx.run(asyncio.run, coro)
            except BaseException as e:  # re-raised in the caller's thread
                result["error"] = e

        t = threading.Thread(target=target, name=f"flyte-sync-call-{name}", daemon=True)
        t.start()
        t.join()
        if "error" in result:
            raise result["error"]
        return result["value"]
    from flyte.syncify import run_sync

    return run_sync(coro, name=name)


def current_worker_loop() -> Optional[asyncio.AbstractEventLoop]:
    """The run loop that dispatched the sync body running on this thread, if any."""
    return getattr(_worker, "loop", None)
