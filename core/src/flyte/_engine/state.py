"""The state of one run, shared by every action of it through a context variable.

The state holds what actions need to know about their run (name, store, raw data path, cache,
sync-body slots) and the controller that executes them. It does not choose the controller:
whoever starts the run builds one and hands it the state (``flyte.run`` uses
:class:`~flyte._engine.controller.LocalController`), so a different controller fits without
changing this module.
"""

from __future__ import annotations

import asyncio
import contextvars
import datetime as _dt
import itertools
from pathlib import Path
from typing import Any, Dict, List, Optional, Protocol

from flyte.models import RawDataPath

__all__ = ["Controller", "RunState"]

# The group (``flyte.group``) that actions started in this context belong to.
_group_var: contextvars.ContextVar[Optional[str]] = contextvars.ContextVar("flyte_group", default=None)


class Controller(Protocol):
    """What the SDK needs from whatever executes actions."""

    async def submit(self, task: Any, args: tuple, kwargs: dict) -> Any:
        """Run one call of ``task`` with these arguments and return its output (or raise)."""

    async def cancel_all(self) -> None:
        """Cancel everything still running."""


class RunState:
    """Engine-internal state of one run, reachable from every action through a context variable."""

    def __init__(
        self,
        run_name: str,
        *,
        loop: asyncio.AbstractEventLoop,
        store: Any,
        raw_data_path: str,
        run_base_dir: str,
        project: Optional[str],
        domain: Optional[str],
        custom_context: Dict[str, str],
        overwrite_cache: bool,
        disable_run_cache: bool,
        cache_store_path: Path,
        controller: Optional["Controller"] = None,
    ):
        from flyte._engine.bridge import sync_slots

        self.run_name = run_name
        self.loop = loop
        self.store = store
        self.raw_data_path = raw_data_path
        self.raw_path = RawDataPath(path=raw_data_path)
        self.run_base_dir = run_base_dir
        self.project = project
        self.domain = domain
        self.custom_context = custom_context
        self.overwrite_cache = overwrite_cache
        self.disable_run_cache = disable_run_cache
        self.start_time = _dt.datetime.now(_dt.timezone.utc)
        self.sync_slots = asyncio.Semaphore(sync_slots())
        # Whatever executes this run's actions; set by whoever starts the run (flyte.run gives it
        # a LocalController). The state never picks its controller.
        self.controller: Optional[Controller] = controller
        self._counter = itertools.count()
        self._cache_store_path = cache_store_path
        self._cache_db: Any = store
        self.abort_reason: Optional[str] = None
        # What tasks see as flyte.ctx().mode: "remote" when the container entrypoint runs them.
        self.mode: str = "local"
        self.traces: List[tuple] = []
        # The asyncio tasks running actions on the run's loop (task -> calls in it), so the run
        # can stop those its code left behind (a failed gather's siblings) before it closes.
        self.live_actions: Dict[asyncio.Task, int] = {}
        # flyte.durable values and report files per action (made on first use: most runs have none).
        self._journals: Any = None

    @property
    def journals(self) -> Any:
        """The run's :class:`~flyte._engine.journal.Journals` (durable values, report files)."""
        if self._journals is None:
            from flyte._engine.journal import Journals

            self._journals = Journals(self.run_name, self.store)
        return self._journals

    def durable_journal(self, action_name: str, attempt: int) -> Any:
        """What ``flyte.durable`` records into and replays from, for one attempt of an action."""
        return self.journals.journal(action_name).cursor(attempt)

    def next_action_name(self) -> str:
        return f"a{next(self._counter)}"

    @staticmethod
    def current_group() -> Optional[str]:
        return _group_var.get()

    # The cache lives in the local store whether or not runs are recorded.
    def _cache(self) -> Any:
        if self._cache_db is None:
            from flyte._engine.store import LocalStore

            self._cache_db = LocalStore(self._cache_store_path)
        return self._cache_db

    async def cache_key(self, task: Any, cache: Any, inputs: Dict[str, Any], types: Dict[str, Any]) -> str:
        from flyte._cache import compute_cache_version
        from flyte.types import hash_inputs

        version = task.__dict__.get("_flyte_cache_version")
        if version is None:
            version = compute_cache_version(cache, getattr(task, "func", None), image=task.image)
            task.__dict__["_flyte_cache_version"] = version
        ignored = set(getattr(cache, "ignored_inputs", ()) or ())
        digest = await hash_inputs(inputs, types, ignored)
        return f"{task.name}:{version}:{digest}"

    def _cache_failed(self, e: BaseException) -> None:
        """A store that fails turns the cache off for this run, with one warning: a store error
        must never become a task's value (nor fail every call of a ``flyte.map``)."""
        import warnings

        from flyte._engine.store import StoreWarning

        self._cache_broken = True
        warnings.warn(f"the task cache is off for run {self.run_name}: {e}", StoreWarning, stacklevel=3)

    def _cache_or_none(self) -> Any:
        if getattr(self, "_cache_broken", False):
            return None
        try:
            return self._cache()
        except Exception as e:
            self._cache_failed(e)
            return None

    async def cache_lookup(self, key: str, output_types: Dict[str, Any]) -> Optional[Dict[str, Any]]:
        import sqlite3

        db = self._cache_or_none()
        if db is None:
            return None
        try:
            blob = db.cache_get(key)
        except (sqlite3.Error, OSError) as e:
            self._cache_failed(e)
            return None
        if blob is None:
            return None
        from flyteidl2.core import literals_pb2

        from flyte.types import TypeEngine

        lm = literals_pb2.LiteralMap()
        lm.ParseFromString(blob)
        return await TypeEngine.literal_map_to_kwargs(lm, output_types)

    async def cache_store(self, key: str, task_name: str, outputs: Dict[str, Any], output_types: Dict[str, Any]) -> None:
        from flyte.types import TypeEngine

        import sqlite3

        from flyte._redact import secret_in

        lm = await TypeEngine.dict_to_literal_map(outputs, output_types)
        blob = lm.SerializeToString(deterministic=True)
        secret = secret_in(blob)
        if secret is not None:
            import warnings

            # The caller has the value already; the store must never hold it.
            warnings.warn(
                f"the outputs of task {task_name} contain the value of secret {secret!r}: they are returned "
                "but not cached",
                UserWarning,
                stacklevel=3,
            )
            return
        db = self._cache_or_none()
        if db is None:
            return
        try:
            db.cache_put(key, blob, task_name)
        except (sqlite3.Error, OSError) as e:
            self._cache_failed(e)

    def action_task_started(self) -> Optional[asyncio.Task]:
        """Note that the current asyncio task runs an action; returns it for ``action_task_ended``."""
        try:
            task = asyncio.current_task()
        except RuntimeError:
            return None
        if task is None or task.get_loop() is not self.loop:  # a private loop's: not ours to stop
            return None
        self.live_actions[task] = self.live_actions.get(task, 0) + 1
        return task

    def action_task_ended(self, task: Optional[asyncio.Task]) -> None:
        if task is None:
            return
        n = self.live_actions.get(task, 0) - 1
        if n > 0:
            self.live_actions[task] = n
        else:
            self.live_actions.pop(task, None)

    async def stop_leftover_actions(self) -> None:
        """Cancel and wait for the actions still running when the run's own task is done.

        ``asyncio.gather`` raises the first failure and leaves its siblings running; so does
        leaving ``async for ... in flyte.map.aio(...)`` by an exception. Stopped here, they end
        as aborted while the store is open, and nothing surfaces at interpreter shutdown.
        """
        me = asyncio.current_task()
        left = [t for t in self.live_actions if t is not me and not t.done()]
        if not left:
            return
        for t in left:
            t.cancel()
        try:
            # Their outcomes are cancellations (or late errors) of work nobody waits for any more.
            await asyncio.gather(*left, return_exceptions=True)
        except asyncio.CancelledError:
            # Interrupted again while they stop: the run's clean-up must still go on, so the
            # cancellation is handed back to this task, to end it once the clean-up is done.
            if me is not None:
                me.cancel()

    def close(self) -> None:
        if self._cache_db is not None and self._cache_db is not self.store:
            self._cache_db.close()
