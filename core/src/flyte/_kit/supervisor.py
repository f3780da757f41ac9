"""One long-lived thread that starts every child process of the kit.

Linux's ``PR_SET_PDEATHSIG`` (see :mod:`flyte._kit.children`) fires when the *thread* that
forked a child exits, not when its process does. A child started from a worker thread of an
event loop's executor would be killed as soon as that executor shut down its threads. So every
start (our own child processes, and engines that fork their own, like ``ray.init``) runs on this
one daemon thread, which lives as long as the process: "parent died" then means what it says.

The thread also runs the kit's timers (idle timeouts). Rule for what runs here: never block on
a lock that a caller of :func:`call` may hold while waiting for this thread.
"""

from __future__ import annotations

import heapq
import itertools
import os
import queue
import threading
import time
from concurrent.futures import Future
from typing import Any, Callable, List, Optional, Tuple, TypeVar

__all__ = ["Timer", "call", "call_later", "is_supervisor_thread", "submit"]

T = TypeVar("T")

_THREAD_NAME = "flyte-kit-supervisor"


class Timer:
    """A callback scheduled with :func:`call_later`; :meth:`cancel` stops it from running."""

    def __init__(self, fn: Callable[[], Any]):
        self._fn: Optional[Callable[[], Any]] = fn

    def cancel(self) -> None:
        """Do not run the callback (a no-op once it ran)."""
        self._fn = None

    @property
    def cancelled(self) -> bool:
        return self._fn is None

    def _fire(self) -> None:
        fn, self._fn = self._fn, None
        if fn is not None:
            fn()


class _Supervisor:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        # SimpleQueue: its put() is reentrant, so a signal handler that submits work cannot
        # deadlock on a queue the interrupted code was putting into.
        self._queue: "queue.SimpleQueue[Tuple[Callable[[], Any], Optional[Future]]]" = queue.SimpleQueue()
        self._timers: List[Tuple[float, int, Timer]] = []
        self._seq = itertools.count()
        self._thread: Optional[threading.Thread] = None

    def _ensure_thread(self) -> None:
        if self._thread is not None and self._thread.is_alive():
            return
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._loop, name=_THREAD_NAME, daemon=True)
                self._thread.start()

    def _loop(self) -> None:
        while True:
            timeout = None
            if self._timers:
                timeout = max(0.0, self._timers[0][0] - time.monotonic())
            try:
                fn, fut = self._queue.get(timeout=timeout)
            except queue.Empty:
                fn, fut = None, None  # type: ignore[assignment]
            if fn is not None:
                self._run(fn, fut)
            now = time.monotonic()
            while self._timers and self._timers[0][0] <= now:
                _, _, timer = heapq.heappop(self._timers)
                self._run(timer._fire, None)

    @staticmethod
    def _run(fn: Callable[[], Any], fut: Optional[Future]) -> None:
        if fut is not None and not fut.set_running_or_notify_cancel():
            return
        try:
            result = fn()
        except BaseException as e:  # handed to the caller; a timer's error is only logged
            if fut is not None:
                fut.set_exception(e)
            else:
                import logging

                logging.getLogger("flyte").warning("a background task of the plugin kit failed: %s", e, exc_info=True)
            return
        if fut is not None:
            fut.set_result(result)

    def submit(self, fn: Callable[[], T]) -> "Future[T]":
        fut: "Future[T]" = Future()
        if threading.current_thread() is self._thread:
            self._run(fn, fut)
            return fut
        self._ensure_thread()
        self._queue.put((fn, fut))
        return fut

    def call_later(self, delay: float, fn: Callable[[], Any]) -> Timer:
        timer = Timer(fn)

        def schedule() -> None:
            heapq.heappush(self._timers, (time.monotonic() + delay, next(self._seq), timer))

        self._ensure_thread()
        self._queue.put((schedule, None))
        return timer

    def is_current(self) -> bool:
        return threading.current_thread() is self._thread

    def _after_fork(self) -> None:
        # A forked child has no supervisor thread; it starts its own when it needs one.
        self._lock = threading.Lock()
        self._queue = queue.SimpleQueue()
        self._timers = []
        self._thread = None


_supervisor = _Supervisor()
if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_supervisor._after_fork)


def submit(fn: Callable[[], T]) -> "Future[T]":
    """Run ``fn`` on the supervisor thread; a future of its result."""
    return _supervisor.submit(fn)


def call(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Run ``fn(*args, **kwargs)`` on the supervisor thread and return its result (or raise)."""
    if args or kwargs:
        return _supervisor.submit(lambda: fn(*args, **kwargs)).result()
    return _supervisor.submit(fn).result()


def call_later(delay: float, fn: Callable[[], Any]) -> Timer:
    """Run ``fn`` on the supervisor thread after ``delay`` seconds, unless cancelled first."""
    return _supervisor.call_later(delay, fn)


def is_supervisor_thread() -> bool:
    """True when called from the supervisor thread itself."""
    return _supervisor.is_current()
