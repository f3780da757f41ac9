"""Engine runtimes owned by the process, not by a task.

A local Ray, a local Spark session, a rendezvous server: starting one takes seconds, so it is
started once and shared. :class:`RuntimeOwner` holds the one runtime an engine has in this
process (``runtime_owner("ray")``) together with its *shape* (what it was started for: node
layout, runtime environment, target address...):

* :meth:`RuntimeOwner.acquire` hands out a :class:`Lease`; tasks running at the same time
  and one after another share the runtime while their shapes are compatible (reference
  counted). A task that needs an incompatible shape restarts it when nobody uses it, and is
  an error naming both users while somebody does.
* When the last lease is released the runtime stays up ``FLYTE_<ENGINE>_IDLE_TIMEOUT`` seconds
  (default 60) for the next task; ``0`` stops it when the run ends (when the last lease goes,
  outside runs).
* It is stopped at interpreter exit, on SIGTERM (chained to the handler installed before, see
  :mod:`flyte._kit.signals`), and when a run is interrupted; and its processes, started from the
  kit's supervisor thread, die with this process even when it is SIGKILLed.

A runtime the user started themselves is not acquired at all: the plugin uses it and leaves it
running. Starting and stopping run on the supervisor thread (:mod:`flyte._kit.supervisor`).
"""

from __future__ import annotations

import atexit
import logging
import os
import threading
import time
from typing import Any, Callable, Dict, Generic, List, Optional, TypeVar

from flyte._kit import runs, signals, supervisor, watchdog
from flyte._kit.children import descendants
from flyte.errors import FlyteError, ValidationError

__all__ = ["Lease", "RuntimeConflictError", "RuntimeOwner", "idle_timeout", "runtime_owner", "stop_all"]

logger = logging.getLogger("flyte")

R = TypeVar("R")

DEFAULT_IDLE_TIMEOUT = 60.0
"""Seconds a runtime nobody uses stays up, unless ``FLYTE_<ENGINE>_IDLE_TIMEOUT`` says otherwise."""


class RuntimeConflictError(FlyteError, RuntimeError):
    """A task needs a runtime of another shape while other tasks of this process use the current one.

    The message names the task asking, the tasks using the runtime, and both shapes.
    """

    def __init__(self, engine: str, user: str, wanted: str, users: List[str], running: str):
        self.engine = engine
        self.user = user
        self.users = list(users)
        super().__init__(
            f"{user} needs {wanted}, but {', '.join(users)} {'uses' if len(users) == 1 else 'use'} {running} "
            f"in this process right now; one process holds one {engine} runtime at a time: run these tasks "
            f"one after another (the runtime is then restarted between them), or give them the same settings"
        )


def idle_timeout(engine: str, default: float = DEFAULT_IDLE_TIMEOUT) -> float:
    """Seconds from ``FLYTE_<ENGINE>_IDLE_TIMEOUT``, else ``idle_timeout`` in the config file's
    ``<engine>:`` section, else ``default``; validated."""
    from flyte._kit.settings import engine_setting

    raw, var = engine_setting(engine, "idle_timeout")
    text = (raw or "").strip()
    if not text:
        return default
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not value >= 0 or value == float("inf"):
        raise ValidationError(
            var, text, "a number of seconds >= 0 (0: stop the runtime when the run ends)",
            owner="environment" if var.startswith("FLYTE_") else "config file",
        )
    return value


class Lease(Generic[R]):
    """One user's share of a runtime; :meth:`release` gives it back (idempotent)."""

    def __init__(self, owner: "RuntimeOwner[R]", runtime: R, user: str, reused: bool, owned: bool = True):
        self.owner = owner
        self.runtime = runtime
        self.user = user
        self.reused = reused
        """True when the runtime was already running for an earlier or concurrent user."""
        self.owned = owned
        """False for a runtime somebody else started (adopted): it is never stopped by us."""
        self._released = False

    def release(self) -> None:
        """Give the runtime back; the owner stops it after the idle timeout."""
        if not self._released:
            self._released = True
            if self.owned:
                self.owner._release(self)

    def __enter__(self) -> "Lease[R]":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.release()


def _describe(shape: Any) -> str:
    describe = getattr(shape, "describe", None)
    return describe() if callable(describe) else repr(shape)


def _compatible(running: Any, wanted: Any) -> bool:
    check = getattr(running, "accepts", None)
    return bool(check(wanted)) if callable(check) else running == wanted


class RuntimeOwner(Generic[R]):
    """The runtime of one engine in this process (see the module docs).

    A *shape* is any value describing what a runtime was started for. Shapes are compatible when
    ``running.accepts(wanted)`` is true (if the shape has that method) or when they are equal;
    ``shape.describe()`` (else ``repr``) names it in errors. A *runtime* is what ``start_fn``
    returns: it must have ``stop()``, and may have ``alive() -> bool`` (a runtime that died on
    its own is then restarted rather than handed out).
    """

    def __init__(self, engine: str, default_idle_timeout: float = DEFAULT_IDLE_TIMEOUT):
        self.engine = engine
        self.default_idle_timeout = default_idle_timeout
        self._reset()
        self.starts = 0
        """How many times a runtime was started (for tests and benchmarks)."""

    def _reset(self) -> None:
        self._lock = threading.RLock()
        self._runtime: Optional[R] = None
        self._shape: Any = None
        self._leases: List[Lease[R]] = []
        self._timer: Optional[supervisor.Timer] = None
        self._idle_token: Optional[object] = None  # the idle timer that may stop the runtime
        self._closing = False  # stop as soon as the last lease is released

    # -- state --------------------------------------------------------------------------------
    @property
    def runtime(self) -> Optional[R]:
        """The running runtime, or None."""
        return self._runtime

    @property
    def shape(self) -> Any:
        """The shape of the running runtime, or None."""
        return self._shape if self._runtime is not None else None

    @property
    def users(self) -> List[str]:
        """Who holds a lease now."""
        return [lease.user for lease in self._leases]

    def idle_timeout(self) -> float:
        """This engine's idle timeout in seconds (``FLYTE_<ENGINE>_IDLE_TIMEOUT``)."""
        return idle_timeout(self.engine, self.default_idle_timeout)

    # -- acquire / release --------------------------------------------------------------------
    def acquire(
        self,
        shape: Any,
        start_fn: Callable[[], R],
        *,
        user: str = "a task",
        adopt: Optional[Callable[[], Optional[R]]] = None,
        start_here: bool = False,
    ) -> Lease[R]:
        """A lease on a runtime of ``shape``: the running one when compatible, else a new one.

        ``start_fn`` runs on the supervisor thread. Blocks while another user starts or stops
        the runtime. Raises :class:`RuntimeConflictError` when the running runtime is
        incompatible and in use. ``adopt``, when this owner runs nothing, may return a runtime
        somebody else started (the user's own): it is handed out unowned and never stopped.
        ``start_here`` runs ``start_fn`` on the calling thread instead (for engines that must
        start on the main thread; their processes then fate-share with that thread).
        """
        self.idle_timeout()  # a bad setting fails the task now, not later when it is released
        with self._lock:
            self._cancel_timer()
            self._closing = False
            runtime = self._runtime
            if runtime is None and adopt is not None:
                theirs = adopt()
                if theirs is not None:
                    return Lease(self, theirs, user, reused=True, owned=False)
            if runtime is not None and not self._alive(runtime):
                logger.info("the %s runtime of this process stopped on its own; starting a new one", self.engine)
                # Its users cannot use it any more: they neither keep its replacement up nor
                # stand in the way of another shape.
                self._leases = [lease for lease in self._leases if lease.runtime is not runtime]
                self._stop_locked()
                runtime = None
            if runtime is not None:
                if _compatible(self._shape, shape):
                    lease = Lease(self, runtime, user, reused=True)
                    self._leases.append(lease)
                    return lease
                if self._leases:
                    raise RuntimeConflictError(self.engine, user, _describe(shape), self.users, _describe(self._shape))
                logger.info(
                    "restarting the %s runtime of this process: %s needs %s (it ran %s)",
                    self.engine, user, _describe(shape), _describe(self._shape),
                )
                self._stop_locked()
            before = descendants(os.getpid())
            runtime = start_fn() if start_here else supervisor.call(start_fn)
            # What the start added (an engine's own processes) dies with us even by SIGKILL.
            watchdog.guard(descendants(os.getpid()) - before - {watchdog.watchdog_pid() or 0})
            self.starts += 1
            self._runtime, self._shape = runtime, shape
            _register(self)
            lease = Lease(self, runtime, user, reused=False)
            self._leases.append(lease)
            return lease

    def _release(self, lease: Lease[R]) -> None:
        with self._lock:
            if lease in self._leases:
                self._leases.remove(lease)
            if self._runtime is None or lease.runtime is not self._runtime:
                return
            if any(other.runtime is self._runtime for other in self._leases):
                return
            if self._closing:
                self._stop_locked()
                return
            try:
                timeout = self.idle_timeout()
            except ValidationError:
                timeout = self.default_idle_timeout
            if timeout > 0:
                runtime, token = self._runtime, object()
                self._idle_token = token
                self._timer = supervisor.call_later(timeout, lambda: self._idle_stop(runtime, token))
            elif runs.runs_in_progress() == 0:
                self._stop_locked()
            # else: stopped when the run ends (see _on_run_end)

    def _idle_stop(self, runtime: R, token: object) -> None:
        # On the supervisor thread: never wait for the lock (an acquirer holding it may be
        # waiting for this thread); try again shortly. An acquire or a stop meanwhile cancels
        # the timer (the token no longer matches), so a retry never cuts a later idle time short.
        if not self._lock.acquire(blocking=False):
            if self._idle_token is token:
                supervisor.call_later(0.05, lambda: self._idle_stop(runtime, token))
            return
        try:
            if self._idle_token is token and self._runtime is runtime and not self._leases:
                logger.info("stopping the %s runtime of this process after %gs idle", self.engine, self.idle_timeout())
                self._stop_locked()
        finally:
            self._lock.release()

    def _on_run_end(self) -> None:
        with self._lock:
            if self._runtime is None or self._leases:
                return
            try:
                timeout = self.idle_timeout()
            except ValidationError:
                timeout = self.default_idle_timeout
            if timeout == 0 or self._closing:
                self._stop_locked()

    # -- stop ---------------------------------------------------------------------------------
    def stop(self, *, force: bool = False, wait: float = 30.0) -> bool:
        """Stop the runtime now if nobody uses it (or regardless, with ``force``); True if stopped.

        ``wait``: seconds to wait for a user starting or stopping it meanwhile.
        """
        if not self._lock.acquire(timeout=wait):
            return False
        try:
            if self._runtime is None or (self._leases and not force):
                return False
            self._leases.clear()
            self._stop_locked()
            return True
        finally:
            self._lock.release()

    def stop_when_idle(self) -> None:
        """Stop the runtime as soon as nobody uses it (now, if nobody does). Never blocks."""
        self._closing = True

        def attempt() -> None:
            if not self._lock.acquire(blocking=False):
                supervisor.call_later(0.05, attempt)
                return
            try:
                if self._runtime is not None and not self._leases:
                    self._stop_locked()
            finally:
                self._lock.release()

        supervisor.submit(attempt)

    def _cancel_timer(self) -> None:
        self._idle_token = None
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _alive(self, runtime: R) -> bool:
        alive = getattr(runtime, "alive", None)
        if not callable(alive):
            return True
        try:
            return bool(alive())
        except Exception:
            return False

    def _stop_locked(self) -> None:
        self._cancel_timer()
        runtime, self._runtime, self._shape = self._runtime, None, None
        self._closing = False
        if runtime is None:
            return
        try:
            supervisor.call(runtime.stop)  # type: ignore[attr-defined]
        except Exception as e:
            logger.warning("stopping the %s runtime failed: %s", self.engine, e, exc_info=True)

    def __repr__(self) -> str:
        state = _describe(self._shape) if self._runtime is not None else "stopped"
        return f"RuntimeOwner({self.engine!r}, {state}, users={self.users})"


# ----------------------------------------------------------------------------------------------
# One owner per engine, and what stops them all
# ----------------------------------------------------------------------------------------------

_owners_lock = threading.Lock()
_owners: Dict[str, RuntimeOwner] = {}
_hooks_installed = False


def runtime_owner(engine: str, default_idle_timeout: float = DEFAULT_IDLE_TIMEOUT) -> RuntimeOwner:
    """The process-wide :class:`RuntimeOwner` of ``engine`` (``"ray"``, ``"spark"``...)."""
    key = engine.lower()
    with _owners_lock:
        owner = _owners.get(key)
        if owner is None:
            owner = _owners[key] = RuntimeOwner(key, default_idle_timeout)
        return owner


def _register(owner: RuntimeOwner) -> None:
    global _hooks_installed
    if _hooks_installed:
        return
    with _owners_lock:
        if _hooks_installed:
            return
        _hooks_installed = True
    atexit.register(_at_exit)
    runs.on_run_end(_run_end)
    signals.set_stopper(_on_signal)
    signals.install()


def _after_fork() -> None:
    # A forked child shares none of the parent's runtimes: it must not stop them (at its exit,
    # on a signal) nor hand them out. The owners stay (plugins keep references to them), empty.
    global _owners_lock
    _owners_lock = threading.Lock()
    for owner in list(_owners.values()):
        owner._reset()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork)


def _run_end() -> None:
    for owner in list(_owners.values()):
        owner._on_run_end()
    signals.install()  # the end of a run is on the caller's thread, usually the main one


def _on_signal(blocking: bool) -> None:
    if blocking:
        stop_all(force=True, wait=5.0)
    else:
        for owner in list(_owners.values()):
            owner.stop_when_idle()


def stop_all(*, force: bool = True, wait: float = 10.0) -> None:
    """Stop every engine runtime of this process (``force``: also the ones in use)."""
    for owner in list(_owners.values()):
        owner.stop(force=force, wait=wait)


def stop_when_idle() -> None:
    """Ask every runtime to stop as soon as nobody uses it (an interrupted run calls this)."""
    for owner in list(_owners.values()):
        owner.stop_when_idle()


def _at_exit() -> None:
    started = time.monotonic()
    stop_all(force=True, wait=5.0)
    logger.debug("runtimes stopped at exit in %.2fs", time.monotonic() - started)
