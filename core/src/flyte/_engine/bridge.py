"""Bridges between the run's event loop and the threads that run sync task bodies.

Sync task bodies run in worker threads so async parents can ``asyncio.gather`` them. At most
``sync_slots()`` bodies run at once; a body that blocks waiting on a child task gives its slot
back while it waits, so deep trees of sync tasks never deadlock on the pool.

A thread cannot be killed. When a sync body's caller is cancelled (timeout, Ctrl-C), the child
calls it is waiting on are cancelled, so the body gets ``CancelledError`` at its next task call;
a body busy in its own code is abandoned and runs on until it returns. Worker threads are
daemons: an abandoned body never keeps the process alive.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextvars
import os
import queue
import threading
from typing import Any, Callable, Coroutine, Optional, Set, TypeVar

from flyte._context import current_run_state

T = TypeVar("T")

def sync_slots() -> int:
    """How many sync task bodies may run at once (``FLYTE_LOCAL_SYNC_CONCURRENCY``)."""
    raw = os.environ.get("FLYTE_LOCAL_SYNC_CONCURRENCY", "").strip()
    if not raw:
        return max(32, (os.cpu_count() or 1) * 8)
    if not raw.isdigit() or int(raw) < 1:
        from flyte.errors import ValidationError

        raise ValidationError("FLYTE_LOCAL_SYNC_CONCURRENCY", raw, "an int >= 1 (sync task bodies run at once)")
    return int(raw)


class _DaemonPool:
    """Daemon threads taking jobs from one queue; a new thread starts when none is idle."""

    def __init__(self, name: str):
        self._name = name
        self._jobs: "queue.SimpleQueue[Any]" = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._idle = 0
        self._count = 0

    def submit(self, fn: Callable[..., Any], *args: Any) -> concurrent.futures.Future:
        fut: concurrent.futures.Future = concurrent.futures.Future()
        self._jobs.put((fut, fn, args))
        with self._lock:
            if self._idle > 0:
                self._idle -= 1
                return fut
            self._count += 1
            n = self._count
        threading.Thread(target=self._work, name=f"{self._name}_{n}", daemon=True).start()
        return fut

    def _work(self) -> None:
        while True:
            fut, fn, args = self._jobs.get()
            if fut.set_running_or_notify_cancel():
                try:
                    fut.set_result(fn(*args))
                except BaseException as e:  # delivered to the awaiting caller
                    fut.set_exception(e)
            del fut, fn, args
            with self._lock:
                self._idle += 1


_pool = _DaemonPool("flyte-task")


class _Worker:
    """What a sync body's thread knows: the run loop, its slot, the child calls it waits on."""

    def __init__(self, loop: asyncio.AbstractEventLoop, slots: Any):
        self.loop = loop
        self.slots = slots
        self.holds_slot = False  # only read and written on the loop's thread
        self.pending: Set[concurrent.futures.Future] = set()
        self.abandoned = False

    async def acquire_slot(self) -> None:
        if self.slots is None or self.holds_slot:
            return
        await self.slots.acquire()
        if self.abandoned:  # given up while waiting: nothing will release it later
            self.slots.release()
        else:
            self.holds_slot = True

    def release_slot(self) -> None:
        if self.holds_slot:
            self.holds_slot = False
            self.slots.release()

    def cancel_pending(self) -> None:
        self.abandoned = True
        for fut in list(self.pending):
            fut.cancel()


_local = threading.local()

# While set (by the controller, per attempt), a sync body abandoned on cancellation (a timeout)
# adds its thread's future here, so a retry can wait for it instead of overlapping it.
abandoned_bodies: "contextvars.ContextVar[Optional[list]]" = contextvars.ContextVar("flyte_abandoned_bodies", default=None)


def _run_in_worker(ctx: contextvars.Context, worker: _Worker, fn: Callable, args: tuple, kwargs: dict) -> Any:
    _local.worker = worker
    worker.thread_id = threading.get_ident()  # type: ignore[attr-defined]
    try:
        return ctx.run(fn, *args, **kwargs)
    finally:
        _local.worker = None


async def run_sync_in_thread(fn: Callable[..., T], args: tuple, kwargs: dict) -> T:
    """Run a sync task body in a worker thread, holding one of the run's sync slots."""
    loop = asyncio.get_running_loop()
    state = current_run_state.get()
    # The slot semaphore belongs to the run's main loop; calls on a private loop skip it.
    slots = state.sync_slots if state is not None and state.loop is loop else None
    worker = _Worker(loop, slots)
    fut: Optional[concurrent.futures.Future] = None
    try:
        await worker.acquire_slot()
        fut = _pool.submit(_run_in_worker, contextvars.copy_context(), worker, fn, args, kwargs)
        return await asyncio.wrap_future(fut)
    except asyncio.CancelledError as e:
        worker.cancel_pending()
        _note_abandoned_stack(e, worker)
        left = abandoned_bodies.get()
        if left is not None and fut is not None and not fut.done():
            left.append(fut)
        raise
    finally:
        worker.release_slot()


def _note_abandoned_stack(e: BaseException, worker: _Worker) -> None:
    """Record on ``e`` where the body's thread is now: the traceback of a timeout shows it."""
    import sys
    import traceback

    frame = sys._current_frames().get(getattr(worker, "thread_id", -1))
    if frame is not None:
        e.abandoned_stack = traceback.extract_stack(frame)  # type: ignore[attr-defined]


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
    worker: Optional[_Worker] = getattr(_local, "worker", None)
    if worker is not None and not _in_running_loop():
        return _block_in_worker(worker, coro)
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


def _block_in_worker(worker: _Worker, coro: Coroutine[Any, Any, T]) -> T:
    if worker.abandoned:
        coro.close()
        raise asyncio.CancelledError("the task calling this was cancelled")
    loop = worker.loop
    if worker.slots is not None:
        loop.call_soon_threadsafe(worker.release_slot)
    fut = asyncio.run_coroutine_threadsafe(coro, loop)
    worker.pending.add(fut)
    try:
        return fut.result()
    except concurrent.futures.CancelledError:
        raise asyncio.CancelledError("the task calling this was cancelled") from None
    finally:
        worker.pending.discard(fut)
        if worker.slots is not None and not worker.abandoned and not loop.is_closed():
            try:
                asyncio.run_coroutine_threadsafe(worker.acquire_slot(), loop).result()
            except (RuntimeError, concurrent.futures.CancelledError):
                pass  # the run is over: nothing to hold a slot of
