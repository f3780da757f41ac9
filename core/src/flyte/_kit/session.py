"""Engine sessions: what a task's ``pre`` opens, its body uses and its ``post`` closes.

A plugin whose tasks drive an engine (Ray, Spark, torch elastic, an app server) subclasses
:class:`SessionTaskTemplate` and implements one method, :meth:`~SessionTaskTemplate.open_session`,
returning an :class:`EngineSession`. The template does the rest for every such plugin:

* ``pre`` opens the session and hands ``session.data`` to the body (``flyte.ctx().data``);
* ``execute`` runs the body here, or through ``session.execute`` when the body runs elsewhere
  (a job submitted to a cluster: ``runs_body_here = False``);
* ``post`` stops the session, also when the body failed, timed out or was cancelled (the
  engine calls it in a ``finally``).

Sessions are kept per attempt, keyed by ``(run, action, attempt)``, so concurrent calls of one
task and retries never see each other's session.
"""

from __future__ import annotations

import asyncio
import threading
from dataclasses import dataclass
from typing import Any, Dict, Mapping, Optional, Tuple

from flyte._context import current_task_context
from flyte._task import AsyncFunctionTaskTemplate

__all__ = ["EngineSession", "SessionTaskTemplate"]


class EngineSession:
    """An engine opened for one task attempt.

    Subclasses override :meth:`release` (what stopping means: release a runtime lease,
    disconnect, stop a submitted job) and, when ``runs_body_here`` is False, :meth:`execute`.

    Attributes:
        data: What the task body reads as ``flyte.ctx().data``.
        runs_body_here: False when the body runs elsewhere; :meth:`execute` runs it there.
    """

    runs_body_here: bool = True

    def __init__(self, data: Optional[Mapping[str, Any]] = None):
        self.data: Dict[str, Any] = dict(data or {})
        self._stopped = False
        self._stop_lock = threading.Lock()

    async def execute(self, task: Any, kwargs: Dict[str, Any]) -> Any:
        """Run the task body on the engine and return its outputs (``runs_body_here = False``)."""
        raise NotImplementedError(f"{type(self).__name__} runs the task body in this process")

    def release(self) -> None:
        """Undo what opening the session did. Called once, by :meth:`stop`."""

    def stop(self) -> None:
        """Release the session; idempotent and safe to call from any thread."""
        with self._stop_lock:
            if self._stopped:
                return
            self._stopped = True
        self.release()

    @property
    def stopped(self) -> bool:
        return self._stopped


_AttemptKey = Optional[Tuple[str, str, int]]


@dataclass(kw_only=True)
class SessionTaskTemplate(AsyncFunctionTaskTemplate):
    """A function task whose attempts each run inside an :class:`EngineSession`.

    Subclasses implement :meth:`open_session`; see the module docs for the lifecycle.
    """

    def __post_init__(self) -> None:
        super().__post_init__()
        self._sessions: Dict[_AttemptKey, EngineSession] = {}
        self._sessions_lock = threading.Lock()

    async def open_session(self, *args: Any, **kwargs: Any) -> EngineSession:
        """Open the engine for this attempt (called by ``pre`` with the task's inputs).

        Blocking work belongs in a thread; use :func:`flyte.extend.open_cancellably` so that a
        cancellation during the opening stops what was opened.
        """
        raise NotImplementedError(f"{type(self).__name__} must implement open_session")

    @staticmethod
    def attempt_key() -> _AttemptKey:
        """``(run, action, attempt)`` of the running attempt (None outside a run)."""
        tctx = current_task_context.get()
        if tctx is None:
            return None
        return (tctx.action.run_name, tctx.action.name, tctx.attempt_number)

    def session(self) -> Optional[EngineSession]:
        """The session of the running attempt, if one is open."""
        with self._sessions_lock:
            return self._sessions.get(self.attempt_key())

    async def pre(self, *args: Any, **kwargs: Any) -> Dict[str, Any]:
        """Open the session and hand its ``data`` to the body."""
        from flyte._kit import signals

        signals.install()  # pre runs on the run's thread: the main one, where handlers can go
        key = self.attempt_key()
        session = await self.open_session(*args, **kwargs)
        with self._sessions_lock:
            previous = self._sessions.pop(key, None)
            self._sessions[key] = session
        if previous is not None:  # an attempt whose post never ran (a crashed engine)
            await asyncio.to_thread(previous.stop)
        return dict(session.data)

    async def execute(self, *args: Any, **kwargs: Any) -> Any:
        """Run the body here, or through the session when it runs elsewhere."""
        session = self.session()
        if session is not None and not session.runs_body_here:
            return await session.execute(self, kwargs)
        return await super().execute(*args, **kwargs)

    async def post(self, return_vals: Any) -> Any:
        """Stop the session; the function's value stays the task's output."""
        with self._sessions_lock:
            session = self._sessions.pop(self.attempt_key(), None)
        if session is not None:
            # Shielded: a cancellation arriving now must not leave the session half stopped.
            await asyncio.shield(asyncio.to_thread(session.stop))
        return None
