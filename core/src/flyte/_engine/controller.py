"""The local controller: runs every task call (action) of a run in this process.

For each call it binds and type-checks the inputs, consults the cache, runs
``pre -> execute -> post`` under the task's timeout and retries, type-checks the outputs and
records the action. Nothing above the controller knows which controller is in use: a cluster
controller would implement the same ``submit``.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import sys
from dataclasses import dataclass
from typing import Any, Dict, Optional, Tuple

from flyte._context import current_custom_context, current_task_context

# Error records and environment handling live in their own modules; their names stay importable
# from here.
from flyte._engine.environ import _apply_environment, set_environ  # noqa: F401
from flyte._engine.errors import error_record, timeout_traceback, user_error, user_traceback  # noqa: F401
from flyte._engine.state import Controller, RunState
from flyte.errors import (
    BaseRuntimeError,
    FlyteError,
    InputBindingError,
    RuntimeDataValidationError,
    TaskTimeoutError,
    TraceDoesNotAllowNestedTasksError,
    TypeValidationError,
)
from flyte.errors import _short_repr, shorten_middle
from flyte.models import ActionID, GroupData, TaskContext, named_tuple_return, returned_value

logger = logging.getLogger("flyte")

__all__ = ["Controller", "LocalController"]

_EMPTY = inspect.Parameter.empty


@dataclass
class _Plan:
    """Per-task facts computed once: the engine's hot path reads only these."""

    names: Tuple[str, ...]
    input_types: Dict[str, Any]
    defaults: Dict[str, Any]
    output_names: Tuple[str, ...]
    output_types: Dict[str, Any]
    cache: Any  # flyte.Cache or None when disabled
    attempts: int
    timeout: Optional[float]
    env: Dict[str, str]
    secrets: tuple
    result_type: Any  # a NamedTuple class when the function returns one, else None
    retry: Any = None  # the task's RetryStrategy (its backoff paces the retries)


def _plan(task: Any) -> _Plan:
    plan = task.__dict__.get("_flyte_plan")
    if plan is not None:
        return plan
    from flyte._cache import cache_from_request
    from flyte._retry import RetryStrategy
    from flyte._timeout import timeout_seconds

    iface = task.interface
    cache = cache_from_request(task.cache)
    if cache is not None and getattr(cache, "behavior", "disable") == "disable":
        cache = None
    retries = task.retries.count if isinstance(task.retries, RetryStrategy) else int(task.retries or 0)
    secrets: tuple = ()
    if task.secrets:
        from flyte._secret import secrets_from_request

        secrets = tuple(secrets_from_request(task.secrets))
    plan = _Plan(
        names=tuple(iface.inputs),
        input_types={k: t for k, (t, _) in iface.inputs.items()},
        defaults={k: d for k, (_, d) in iface.inputs.items() if d is not _EMPTY},
        output_names=tuple(iface.outputs),
        output_types=dict(iface.outputs),
        cache=cache,
        attempts=retries + 1,
        timeout=timeout_seconds(task.timeout),
        env=dict(task.env_vars or {}),
        secrets=secrets,
        result_type=_named_tuple_result(task),
        retry=task.retries if isinstance(task.retries, RetryStrategy) else None,
    )
    task.__dict__["_flyte_plan"] = plan
    return plan


def _named_tuple_result(task: Any) -> Any:
    return named_tuple_return(getattr(task, "func", None))


def _bind(task: Any, plan: _Plan, args: tuple, kwargs: dict) -> Dict[str, Any]:
    names = plan.names
    if len(args) > len(names):
        raise InputBindingError(
            "arguments", args, f"at most {len(names)} positional arguments ({', '.join(names) or 'no inputs'})", owner=f"task {task.name}"
        )
    bound = dict(zip(names, args)) if args else {}
    for k, v in kwargs.items():
        if k not in plan.input_types:
            raise InputBindingError(
                f"input {k!r}", v, f"one of the task's inputs: {', '.join(names) or '(none)'}", owner=f"task {task.name}"
            )
        if k in bound:
            raise InputBindingError(f"input {k!r}", v, "a value given once, not positionally and by name", owner=f"task {task.name}")
        bound[k] = v
    if len(bound) != len(names):
        for k in names:
            if k not in bound:
                if k in plan.defaults:
                    bound[k] = plan.defaults[k]
                else:
                    raise InputBindingError(
                        f"input {k!r}",
                        None,
                        f"a value of type {_tname(plan.input_types[k])} (the input is required and was not given)",
                        owner=f"task {task.name}",
                    )
    return bound


def _tname(tp: Any) -> str:
    return getattr(tp, "__name__", None) or repr(tp).replace("typing.", "")


def _outputs_to_dict(task: Any, plan: _Plan, value: Any) -> Dict[str, Any]:
    n = len(plan.output_names)
    if n == 0:
        if value is not None:
            # The value would be dropped without a word: a missing return annotation, mostly.
            raise RuntimeDataValidationError(
                "o0",
                f"Expected no outputs but got {_short_repr((value,))}, did you miss a return type annotation? "
                "(the task is declared to return nothing)",
                task.name,
            )
        return {}
    if n == 1:
        return {plan.output_names[0]: value}
    if not isinstance(value, tuple) or len(value) != n:
        raise TypeValidationError(
            "output", value, f"a tuple of {n} values ({', '.join(plan.output_names)})", owner=f"task {task.name}"
        )
    return dict(zip(plan.output_names, value))


def _dict_to_outputs(plan: _Plan, values: Dict[str, Any]) -> Any:
    return returned_value(plan.output_names, values, plan.result_type)


async def _maybe_await(v: Any) -> Any:
    if inspect.isawaitable(v):
        return await v
    return v


def _open_report(state: RunState, tctx: TaskContext) -> Any:
    """A fresh report for one attempt of a ``report=True`` task, kept as
    ``<raw data path>/reports/<action>.html`` (decision 32)."""
    import os

    from flyte._uri import is_remote, to_local_path
    from flyte.report import Report

    action = tctx.action.name
    report = Report(name=f"{tctx.task_name} ({action})")
    if not is_remote(state.raw_data_path):
        journals = state.journals
        path = os.path.join(to_local_path(state.raw_data_path), "reports", f"{action}.html")
        report._attach(path, lambda p: journals.report_written(action, p))
    return report


def _close_report(report: Any, task: Any, tctx: TaskContext) -> None:
    try:
        report._close(f"task {task.name} (action {tctx.action.name})")
    except OSError as e:  # a full disk must not turn a finished task into a failed one
        logger.warning("could not write the report of task %s: %s", task.name, e)


class LocalController:
    """Runs actions in this process: async bodies on the run's loop, sync bodies in threads."""

    def __init__(self, state: "RunState"):
        self.state = state

    async def cancel_all(self) -> None:  # actions are awaited by their callers; cancelling the root cancels all
        return None

    async def submit(self, task: Any, args: tuple, kwargs: dict) -> Any:
        from flyte._trace import in_trace

        if in_trace():
            raise TraceDoesNotAllowNestedTasksError(
                f"task {task.name} was called inside a @flyte.trace function; traces cannot start tasks"
            )
        state = self.state
        running = state.action_task_started()
        try:
            return await self._submit(task, args, kwargs)
        finally:
            state.action_task_ended(running)

    async def _submit(self, task: Any, args: tuple, kwargs: dict) -> Any:
        from flyte.types import convert_boundary

        state = self.state
        plan = _plan(task)
        inputs = _bind(task, plan, args, kwargs)
        inputs = await convert_boundary(inputs, plan.input_types, owner=f"task {task.name}", direction="input")

        parent = current_task_context.get()
        action_name = state.next_action_name()
        custom = state.custom_context if parent is None else parent.custom_context
        block = current_custom_context.get()
        if block:
            custom = {**custom, **block}
        group = state.current_group()
        store = state.store
        if store is not None:
            store.action_started(state.run_name, action_name, parent.action.name if parent else None, task.name, group, 0)

        cache_key = None
        cache = plan.cache
        if cache is not None and not state.disable_run_cache:
            cache_key = await state.cache_key(task, cache, inputs, plan.input_types)
            if cache.behavior == "auto" and not state.overwrite_cache:
                hit = await state.cache_lookup(cache_key, plan.output_types)
                if hit is not None:
                    if store is not None:
                        store.action_finished(state.run_name, action_name, "succeeded", cache_status="hit")
                    return _dict_to_outputs(plan, hit)

        tctx = TaskContext(
            action=ActionID(name=action_name, run_name=state.run_name, project=state.project, domain=state.domain),
            raw_data_path=state.raw_path,
            output_path=state.run_base_dir,
            run_base_dir=state.run_base_dir,
            mode=state.mode,  # type: ignore[arg-type]
            custom_context=custom,
            disable_run_cache=state.disable_run_cache,
            group_data=GroupData(group) if group else None,
            run_start_time=state.start_time,
            task_name=task.name,
        )
        attempt = 0
        abandoned: list = []  # threads of sync bodies that timed out and still run
        while True:
            try:
                result = await self._attempt(task, plan, tctx, inputs, attempt, abandoned)
                break
            except asyncio.CancelledError:
                if store is not None:
                    store.action_finished(state.run_name, action_name, "aborted")
                raise
            except BaseException as e:
                if isinstance(e, (KeyboardInterrupt, SystemExit)):
                    raise
                err = e if isinstance(e, (BaseRuntimeError, FlyteError)) else user_error(task.name, e)
                attempt += 1
                if attempt < plan.attempts:
                    try:
                        overlap = await self._before_retry(task, plan, tctx, attempt, e, abandoned)
                    except asyncio.CancelledError:
                        if store is not None:
                            store.action_finished(state.run_name, action_name, "aborted")
                        raise
                    if overlap is None:
                        if store is not None:
                            store.action_started(state.run_name, action_name, parent.action.name if parent else None, task.name, group, attempt)
                        continue
                    err = overlap
                if store is not None:
                    store.action_finished(state.run_name, action_name, "failed", error=error_record(err))
                if err is e:
                    raise
                raise err from e

        try:
            outputs = _outputs_to_dict(task, plan, result)
            if outputs:
                outputs = await convert_boundary(outputs, plan.output_types, owner=f"task {task.name}", direction="output")
            if cache_key is not None:
                await state.cache_store(cache_key, task.name, outputs, plan.output_types)
        except BaseException as e:
            if store is not None:
                status = "aborted" if isinstance(e, asyncio.CancelledError) else "failed"
                store.action_finished(state.run_name, action_name, status, error=None if status == "aborted" else error_record(e))
            raise
        if store is not None:
            store.action_finished(
                state.run_name, action_name, "succeeded", cache_status="miss" if cache_key is not None else None
            )
        return _dict_to_outputs(plan, outputs)

    async def _before_retry(
        self, task: Any, plan: _Plan, tctx: TaskContext, attempt: int, err: BaseException, abandoned: list
    ) -> Optional[BaseException]:
        """Wait for what must end before retry ``attempt`` starts; the error to fail with instead, if any.

        A timed-out sync body cannot be killed: the retry first waits for it, at most one more
        timeout period, so two copies of the body never run at once. Then the retry backoff
        (``RetryStrategy.backoff``), less the time already waited; both waits are cancellable.
        """
        loop = asyncio.get_running_loop()
        started = loop.time()
        if abandoned:
            pending = {asyncio.wrap_future(f) for f in abandoned}
            _, still = await asyncio.wait(pending, timeout=plan.timeout)
            abandoned.clear()
            if still:
                return TaskTimeoutError(
                    f"task {task.name} (action {tctx.action.name}): its sync body ignored its timeout of "
                    f"{plan.timeout:g}s and was still running {plan.timeout:g}s after it was abandoned, so it "
                    f"was not retried (a retry would run beside it); make the body return in time, for "
                    f"example by checking the time in its loop"
                )
        delay = plan.retry.delay(attempt - 1).total_seconds() if plan.retry is not None else 0.0
        message = (
            f"task {task.name} (action {tctx.action.name}) failed on attempt {attempt}/{plan.attempts} "
            f"({type(err).__name__}: {shorten_middle(str(err))}); retrying in {delay:g} s\n"
        )
        # Written as the failing action's output: shown on the terminal and kept in its log.
        token = current_task_context.set(tctx)
        try:
            sys.stderr.write(message)
        finally:
            current_task_context.reset(token)
        logger.debug(message.rstrip())
        remaining = delay - (loop.time() - started)
        if remaining > 0:
            await asyncio.sleep(remaining)
        return None

    async def _attempt(
        self, task: Any, plan: _Plan, tctx: TaskContext, inputs: Dict[str, Any], attempt: int, abandoned: Optional[list] = None
    ) -> Any:
        if attempt:
            tctx = tctx.replace(attempt_number=attempt)
        report = None
        if task.report:
            report = _open_report(self.state, tctx)
            tctx = tctx.replace(report=report)
        try:
            return await self._attempt_body(task, plan, tctx, inputs, abandoned)
        finally:
            if report is not None:
                _close_report(report, task, tctx)

    async def _attempt_body(
        self, task: Any, plan: _Plan, tctx: TaskContext, inputs: Dict[str, Any], abandoned: Optional[list] = None
    ) -> Any:
        from flyte._engine.bridge import abandoned_bodies

        restore = _apply_environment(plan) if (plan.env or plan.secrets) else None
        token = current_task_context.set(tctx)
        left_token = abandoned_bodies.set(abandoned) if abandoned is not None else None
        try:
            if plan.timeout:
                try:
                    async with asyncio.timeout(plan.timeout):
                        return await self._lifecycle(task, tctx, inputs)
                except TimeoutError as e:
                    what = (
                        "its sync body cannot be interrupted and was abandoned (its task calls are cancelled)"
                        if getattr(task, "_call_as_synchronous", False)
                        else "it was cancelled"
                    )
                    timeout_error = TaskTimeoutError(
                        f"task {task.name} (action {tctx.action.name}) exceeded its timeout of {plan.timeout:g}s; {what}"
                    )
                    # Where the body was when time ran out, not the engine's own TimeoutError.
                    timeout_error.traceback = timeout_traceback(timeout_error, e.__cause__ or e.__context__)  # type: ignore[attr-defined]
                    raise timeout_error from e
            return await self._lifecycle(task, tctx, inputs)
        finally:
            if left_token is not None:
                abandoned_bodies.reset(left_token)
            current_task_context.reset(token)
            if restore is not None:
                restore()

    async def _lifecycle(self, task: Any, tctx: TaskContext, inputs: Dict[str, Any]) -> Any:
        data = await _maybe_await(task.pre(**inputs))
        if data:
            tctx = tctx.replace(data=data)
            current_task_context.set(tctx)
        try:
            result = await task.execute(**inputs)
        except BaseException as e:
            # Teardown runs also when the body fails, times out or is cancelled; post sees the error.
            current_task_context.set(tctx.replace(error=e))
            try:
                await _maybe_await(task.post(None))
            except Exception as post_error:  # the body's error is the one to report
                logger.warning("post of task %s failed after the task failed: %s", task.name, post_error)
            raise
        post_value = await _maybe_await(task.post(result))
        return result if post_value is None else post_value
