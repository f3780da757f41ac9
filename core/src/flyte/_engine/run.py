"""Runs: ``flyte.run``, ``flyte.with_runcontext`` and the ``Run`` object they return."""

from __future__ import annotations

import asyncio
import contextvars
import enum
import json
import logging
import os
import signal
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Literal, Optional, Tuple

from flyte._context import current_run_state, current_task_context
from flyte._engine.controller import LocalController
from flyte._engine.environ import set_environ
from flyte._engine.errors import error_record, strip_engine_frames
from flyte._engine.state import RunState, _group_var
from flyte.errors import ArgumentKindError, FlyteError, InitializationError, RunAbortedError, ValidationError
from flyte.models import generate_random_name

logger = logging.getLogger("flyte")

# RunState lives in flyte._engine.state; it stays importable from here.
__all__ = ["ActionOutputs", "ActionPhase", "Run", "RunState", "with_runcontext"]

Mode = Literal["local", "remote", "hybrid"]



class ActionPhase(str, enum.Enum):
    """Where a run or action is in its life."""

    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    ABORTED = "aborted"
    TIMED_OUT = "timed_out"


class ActionOutputs(tuple):
    """A run's outputs: a tuple (``outputs()[0]``) whose items are also named (``.o0``, ``["o0"]``)."""

    _names: Tuple[str, ...]

    def __new__(cls, names: Tuple[str, ...], values: Tuple[Any, ...]) -> "ActionOutputs":
        obj = super().__new__(cls, values)
        obj._names = tuple(names)
        return obj

    @property
    def named_outputs(self) -> Dict[str, Any]:
        return dict(zip(self._names, self))

    def to_dict(self) -> Dict[str, Any]:
        return self.named_outputs

    def __getattr__(self, name: str) -> Any:
        names = object.__getattribute__(self, "_names")
        if name in names:
            return self[names.index(name)]
        raise AttributeError(f"outputs have no {name!r}; they are {', '.join(names) or '(none)'}")

    def __getitem__(self, key: Any) -> Any:  # type: ignore[override]
        if isinstance(key, str):
            if key not in self._names:
                raise KeyError(f"no output {key!r}; outputs are {', '.join(self._names) or '(none)'}")
            key = self._names.index(key)
        return tuple.__getitem__(self, key)

    def __repr__(self) -> str:
        return "ActionOutputs(" + ", ".join(f"{k}={v!r}" for k, v in zip(self._names, self)) + ")"


class group:
    """Group the actions started inside this block under ``name`` (a context manager)."""

    def __init__(self, name: str):
        if not isinstance(name, str) or not name:
            raise ValidationError("name", name, "a non-empty group name", owner="flyte.group")
        self.name = name
        self._token: Optional[contextvars.Token] = None

    def __enter__(self) -> "group":
        self._token = _group_var.set(self.name)
        return self

    def __exit__(self, *exc: Any) -> None:
        if self._token is not None:
            _group_var.reset(self._token)

    async def __aenter__(self) -> "group":
        return self.__enter__()

    async def __aexit__(self, *exc: Any) -> None:
        self.__exit__(*exc)


@dataclass
class Run:
    """A finished local run: its name, phase, outputs and records."""

    name: str
    phase: ActionPhase
    task_name: str
    _outputs: Optional[ActionOutputs] = None
    _inputs: Dict[str, Any] = field(default_factory=dict)
    error: Optional[BaseException] = None
    store_path: Optional[Path] = None
    duration: float = 0.0
    reports: Dict[str, str] = field(default_factory=dict)
    """Action name -> the HTML file of its report (tasks with ``report=True`` that wrote one)."""

    @property
    def url(self) -> str:
        """Where the run is recorded (the local store), for `flyte get run NAME`."""
        where = str(self.store_path) if self.store_path else "memory"
        return f"local://{where}#{self.name}"

    def outputs(self) -> ActionOutputs:
        """The task's outputs; raises the task's error if it failed."""
        self.raise_for_status()
        assert self._outputs is not None
        return self._outputs

    def inputs(self) -> Dict[str, Any]:
        return dict(self._inputs)

    def done(self) -> bool:
        return self.phase in (ActionPhase.SUCCEEDED, ActionPhase.FAILED, ActionPhase.ABORTED, ActionPhase.TIMED_OUT)

    def wait(self, quiet: bool = False, wait_for: str = "terminal") -> None:
        """Local runs are finished when returned; kept for API compatibility."""
        return None

    def raise_for_status(self) -> None:
        if self.error is not None:
            raise self.error

    def abort(self, reason: str = "") -> None:
        """A finished run cannot be aborted; provided for API compatibility."""
        return None

    def get_logs(self) -> List[str]:
        if self.store_path is None:
            return []
        from flyte._engine.store import LocalStore

        with LocalStore(self.store_path) as s:
            return [rec.text for rec in s.get_logs(self.name)]

    def show_logs(self) -> None:
        for line in self.get_logs():
            print(line, end="" if line.endswith("\n") else "\n")

    def to_dict(self) -> Dict[str, Any]:
        return {
            "name": self.name,
            "phase": self.phase.value,
            "task": self.task_name,
            "duration_s": round(self.duration, 6),
            "outputs": {k: repr(v) for k, v in self._outputs.named_outputs.items()} if self._outputs is not None else None,
            "error": str(self.error) if self.error else None,
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict())

    def __repr__(self) -> str:
        return f"Run(name={self.name!r}, phase={self.phase.value!r}, task={self.task_name!r})"


def _user_facing(fn: Any, name: str) -> Any:
    """``flyte.run``'s blocking and ``aio`` forms, raising errors without the engine's frames."""
    import functools

    from flyte.syncify import Syncified

    @functools.wraps(fn)
    async def aio(*args: Any, **kwargs: Any) -> Run:
        try:
            return await fn(*args, **kwargs)
        except FlyteError as e:
            raise strip_engine_frames(e)

    class _Run(Syncified):
        def __call__(self, *args: Any, **kwargs: Any) -> Any:
            try:
                return super().__call__(*args, **kwargs)
            except FlyteError as e:
                raise strip_engine_frames(e)

    return _Run(aio, name=name)


def _summary(values: Dict[str, Any], limit: int = 2000, what: str = "value") -> str:
    """The run's inputs or outputs for the record: a JSON object, always whole (never cut mid-way).

    JSON values (numbers, strings, lists, dicts of them) stay themselves, so ``flyte get runs -o
    json`` shows them as JSON; others are their repr. A value over 200 characters, and every
    value once the object would pass ``limit``, is shortened from the middle. A value holding a
    resolved secret's value is withheld: the caller gets it in this process, the store never.
    """
    from flyte._redact import secret_in

    out: Dict[str, Any] = {}
    used = 2
    for k, v in values.items():
        secret = secret_in(repr(v))
        if secret is not None:
            item: Any = f"<withheld: holds the value of secret {secret!r}>"
            import warnings

            warnings.warn(
                f"{what} {k!r} holds the value of secret {secret!r}: the caller gets it, the local store shows it as withheld",
                UserWarning,
                stacklevel=2,
            )
        else:
            item = _summary_value(v)
        size = len(json.dumps(item)) + len(json.dumps(k)) + 4
        if used + size > limit:
            item = "..."
            size = len(json.dumps(k)) + 9
        out[k] = item
        used += size
    return json.dumps(out)


def _summary_value(value: Any, cap: int = 200) -> Any:
    plain = _plain_json(value)
    text = json.dumps(plain) if plain is not _NOT_JSON else repr(value)
    if len(text) <= cap and plain is not _NOT_JSON:
        return plain
    if len(text) <= cap:
        return text
    half = (cap - 5) // 2
    return f"{text[:half]} ... {text[-half:]}"


_NOT_JSON = object()


def _plain_json(value: Any, depth: int = 0) -> Any:
    """``value`` if it is plain JSON data (bool, int, float, str, None, lists and str-keyed dicts)."""
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, (int, float)) and not isinstance(value, enum.Enum):
        return value if type(value) in (int, float) and value == value and abs(value) != float("inf") else _NOT_JSON
    if depth > 20:
        return _NOT_JSON
    if isinstance(value, list):
        items = [_plain_json(v, depth + 1) for v in value]
        return _NOT_JSON if any(i is _NOT_JSON for i in items) else items
    if type(value) is dict and all(isinstance(k, str) for k in value):
        items = {k: _plain_json(v, depth + 1) for k, v in value.items()}
        return _NOT_JSON if any(i is _NOT_JSON for i in items.values()) else items
    return _NOT_JSON


class _Runner:
    """The run context made by ``with_runcontext``: ``.run(task, *args, **kwargs)``."""

    def __init__(
        self,
        mode: Optional[Mode] = None,
        name: Optional[str] = None,
        raw_data_path: Optional[str] = None,
        run_base_dir: Optional[str] = None,
        overwrite_cache: bool = False,
        project: Optional[str] = None,
        domain: Optional[str] = None,
        env_vars: Optional[Dict[str, str]] = None,
        custom_context: Optional[Dict[str, str]] = None,
        log_level: Optional[int] = None,
        disable_run_cache: bool = False,
        local_persistence: Optional[bool] = None,
        **ignored: Any,
    ):
        if mode not in (None, "local"):
            raise ValidationError(
                "mode", mode, "'local' (this SDK runs tasks on the local engine; use `flyte deploy` for clusters)", owner="with_runcontext"
            )
        if name is not None and (not isinstance(name, str) or not name or len(name) > 63 or not name.replace("-", "").replace("_", "").isalnum()):
            raise ValidationError("name", name, "1-63 letters, digits, '-' or '_'", owner="with_runcontext")
        if env_vars is not None and not all(isinstance(k, str) and isinstance(v, str) for k, v in env_vars.items()):
            raise ValidationError("env_vars", env_vars, "dict[str, str]", owner="with_runcontext")
        if custom_context is not None and not all(isinstance(k, str) and isinstance(v, str) for k, v in custom_context.items()):
            raise ValidationError("custom_context", custom_context, "dict[str, str]", owner="with_runcontext")
        self.name = name
        self.raw_data_path = raw_data_path
        self.run_base_dir = run_base_dir
        self.overwrite_cache = overwrite_cache
        self.project = project
        self.domain = domain
        self.env_vars = env_vars or {}
        self.custom_context = custom_context or {}
        self.log_level = log_level
        self.disable_run_cache = disable_run_cache
        self.local_persistence = local_persistence
        # Set to "remote" by the container entrypoint: the run executes inside a cluster.
        self.task_mode = "local"
        self.run = _user_facing(self._run, "flyte.run")

    async def _run(self, task: Any, *args: Any, **kwargs: Any) -> Run:
        from flyte._config import get_config
        from flyte._task import TaskTemplate

        if not isinstance(task, TaskTemplate):
            raise ArgumentKindError("task", task, "a task made with @env.task (a flyte TaskTemplate)", owner="flyte.run")
        if current_run_state.get() is not None:
            raise InitializationError(
                "NestedRun", "user", "flyte.run was called inside a running task; call the task directly instead"
            )
        cfg = get_config()
        from flyte._engine.store._guard import private_home

        private_home()  # owner-only, before the store or the raw data folder is written
        if self.log_level is not None:
            logging.getLogger("flyte").setLevel(self.log_level)
        run_name = self.name or generate_random_name(16)
        raw = self.raw_data_path or os.path.join(cfg.default_raw_data_path(), run_name)
        base = self.run_base_dir or os.path.join(cfg.default_raw_data_path(), "metadata", run_name)
        persist = cfg.local_persistence if self.local_persistence is None else self.local_persistence
        store = None
        store_path = cfg.default_store_path()
        if persist:
            from flyte._engine.store import LocalStore

            store = LocalStore(store_path)
        restore_env = set_environ(self.env_vars) if self.env_vars else None
        loop = asyncio.get_running_loop()
        state = RunState(
            run_name,
            loop=loop,
            store=store,
            raw_data_path=raw,
            run_base_dir=base,
            project=self.project or cfg.project,
            domain=self.domain or cfg.domain,
            custom_context=dict(self.custom_context),
            overwrite_cache=self.overwrite_cache,
            disable_run_cache=self.disable_run_cache,
            cache_store_path=store_path,
        )
        state.controller = LocalController(state)
        state.mode = self.task_mode
        from flyte._engine.logs import capture_logs
        from flyte._kit import runs as kit_runs
        from flyte._kit import runtime as kit_runtime
        from flyte._kit import signals as kit_signals

        token = current_run_state.set(state)
        ctx_token = current_task_context.set(None)
        main_task = asyncio.current_task()
        previous_sigterm: Any = None
        sigterm_installed = False
        if threading.current_thread() is threading.main_thread() and main_task is not None:
            previous_sigterm = signal.getsignal(signal.SIGTERM)
            # A handler of the user's own stays in charge; otherwise SIGTERM aborts the run (the
            # plugin kit's handler, which stops engine runtimes, counts as the default here).
            if previous_sigterm in (signal.SIG_DFL, None) or kit_signals.is_kit_handler(previous_sigterm):
                try:
                    def on_sigterm() -> None:
                        state.abort_reason = "SIGTERM"
                        main_task.cancel()

                    loop.add_signal_handler(signal.SIGTERM, on_sigterm)
                    sigterm_installed = True
                except (NotImplementedError, RuntimeError, ValueError):
                    pass
        started = loop.time()
        inputs_for_record = _safe_inputs(task, args, kwargs)
        kit_runs.run_started()
        try:
            if store is not None:
                store.start_run(run_name, task.name, _summary(inputs_for_record, what="input"))
            try:
                with capture_logs(store, run_name):
                    result = await state.controller.submit(task, args, kwargs)
            except asyncio.CancelledError:
                kit_runtime.stop_when_idle()  # an interrupted run leaves no engine runtime up
                reason = state.abort_reason or "interrupted"
                if store is not None:
                    store.finish_run(run_name, "aborted", error={"type": "RunAbortedError", "message": f"run aborted ({reason})", "traceback": ""})
                if state.abort_reason == "SIGTERM":
                    raise RunAbortedError(f"run {run_name} was aborted by SIGTERM") from None
                raise
            except BaseException as e:
                if store is not None:
                    store.finish_run(run_name, "failed", error=error_record(e))
                raise
            names = tuple(task.interface.outputs)
            if len(names) == 0:
                values: Tuple[Any, ...] = ()
            elif len(names) == 1:
                values = (result,)
            else:
                values = tuple(result)
            outputs = ActionOutputs(names, values)
            if store is not None:
                store.finish_run(run_name, "succeeded", outputs_summary=_summary(outputs.named_outputs, what="output"))
            return Run(
                name=run_name,
                phase=ActionPhase.SUCCEEDED,
                task_name=task.name,
                _outputs=outputs,
                _inputs=inputs_for_record,
                store_path=store_path if store is not None else None,
                duration=loop.time() - started,
                reports=dict(state._journals.reports) if state._journals is not None else {},
            )
        finally:
            await state.stop_leftover_actions()
            if sigterm_installed:
                loop.remove_signal_handler(signal.SIGTERM)
                # getsignal() gives None for a handler not set from Python: the default then.
                signal.signal(signal.SIGTERM, signal.SIG_DFL if previous_sigterm is None else previous_sigterm)
            kit_runs.run_ended()  # after the handler is restored: the kit may install its own
            if restore_env is not None:
                restore_env()
            current_task_context.reset(ctx_token)
            current_run_state.reset(token)
            if store is not None:
                store.close()
            state.close()


def _safe_inputs(task: Any, args: tuple, kwargs: dict) -> Dict[str, Any]:
    try:
        return task.interface.convert_to_kwargs(*args, **kwargs)
    except Exception:
        return {}


def with_runcontext(
    mode: Optional[Mode] = None,
    *,
    name: Optional[str] = None,
    service_account: Optional[str] = None,
    version: Optional[str] = None,
    copy_style: str = "loaded_modules",
    dry_run: bool = False,
    copy_bundle_to: Optional[Path] = None,
    interactive_mode: Optional[bool] = None,
    raw_data_path: Optional[str] = None,
    run_base_dir: Optional[str] = None,
    overwrite_cache: bool = False,
    project: Optional[str] = None,
    domain: Optional[str] = None,
    env_vars: Optional[Dict[str, str]] = None,
    labels: Optional[Dict[str, str]] = None,
    annotations: Optional[Dict[str, str]] = None,
    interruptible: Optional[bool] = None,
    log_level: Optional[int] = None,
    log_format: str = "console",
    reset_root_logger: bool = False,
    disable_run_cache: bool = False,
    queue: Optional[str] = None,
    custom_context: Optional[Dict[str, str]] = None,
    cache_lookup_scope: str = "global",
    preserve_original_types: bool = False,
    local_persistence: Optional[bool] = None,
    _tracker: Any = None,
) -> _Runner:
    """Launch a new run with the given settings: ``flyte.with_runcontext(name="x").run(task, ...)``.

    On the local engine ``name``, ``raw_data_path``, ``run_base_dir``, ``overwrite_cache``,
    ``disable_run_cache``, ``env_vars``, ``custom_context``, ``project``, ``domain`` and
    ``log_level`` take effect; cluster-only settings are accepted and ignored.
    """
    return _Runner(
        mode=mode,
        name=name,
        raw_data_path=raw_data_path,
        run_base_dir=run_base_dir,
        overwrite_cache=overwrite_cache,
        project=project,
        domain=domain,
        env_vars=env_vars,
        custom_context=custom_context,
        log_level=log_level,
        disable_run_cache=disable_run_cache,
        local_persistence=local_persistence,
    )


async def _run_aio(task: Any, *args: Any, **kwargs: Any) -> Run:
    """Run a task on the local engine and return the finished ``Run``."""
    return await _Runner()._run(task, *args, **kwargs)


def _make_run() -> Any:
    return _user_facing(_run_aio, "flyte.run")


run = _make_run()
