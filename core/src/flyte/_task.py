"""Task templates: what ``@env.task`` produces and what plugins subclass.

A `TaskTemplate` is pure description (name, interface, resources, cache, retries, ...) plus the
lifecycle coroutines ``pre -> execute -> post`` that the engine drives. `AsyncFunctionTaskTemplate`
wraps a user function (``def`` or ``async def``). Plugins subclass it, add their
``plugin_config`` and ``task_type``, override ``pre``/``post`` to bring an engine up and down,
and ``custom_config``/``container_args`` to describe the task to a cluster.
"""

from __future__ import annotations

import asyncio
import dataclasses
import inspect
import weakref
from dataclasses import dataclass
from typing import (
    Any,
    Callable,
    Coroutine,
    Dict,
    Generic,
    List,
    Optional,
    ParamSpec,
    Tuple,
    TypeVar,
)

from flyte._context import current_run_state
from flyte.errors import ValidationError
from flyte.models import MAX_INLINE_IO_BYTES, NativeInterface, SerializationContext

__all__ = ["AsyncFunctionTaskTemplate", "TaskTemplate"]

P = ParamSpec("P")
R = TypeVar("R")
F = TypeVar("F", bound=Callable[..., Any])

# Fields that identify a task: override() refuses them.
_NOT_OVERRIDABLE = ("name", "image", "docs", "interface")


@dataclass(kw_only=True)
class TaskTemplate(Generic[P, R, F]):
    """A task: its description and its ``pre -> execute -> post`` lifecycle.

    Subclasses override ``execute`` (and usually ``pre``/``post``); the engine awaits
    ``pre(*args, **kwargs)``, then ``execute``, then ``post(return_vals)``.
    """

    name: str
    interface: NativeInterface
    short_name: str = ""
    task_type: str = "python"
    task_type_version: int = 0
    image: Any = "auto"
    resources: Any = None
    cache: Any = "disable"
    interruptible: bool = False
    retries: Any = 0
    reusable: Any = None
    docs: Any = None
    env_vars: Optional[Dict[str, str]] = None
    secrets: Any = None
    timeout: Any = None
    pod_template: Any = None
    report: bool = False
    queue: Optional[str] = None
    debuggable: bool = False
    entrypoint: bool = False
    parent_env: Optional[weakref.ReferenceType] = None
    parent_env_name: Optional[str] = None
    service_account: Optional[str] = None
    ref: bool = False
    max_inline_io_bytes: int = MAX_INLINE_IO_BYTES
    triggers: Tuple[Any, ...] = ()
    links: Tuple[Any, ...] = ()
    _call_as_synchronous: bool = False

    def __post_init__(self) -> None:
        if not self.short_name:
            self.short_name = self.name.rsplit(".", 1)[-1]
        from flyte._task_normalize import normalize_task_fields

        normalize_task_fields(self)

    # ----------------------------------------------------------------------------------------
    # Lifecycle (driven by the engine)
    # ----------------------------------------------------------------------------------------
    async def pre(self, *args: Any, **kwargs: Any) -> Dict[str, Any]:
        """Called before ``execute``; what it returns is what the body reads as ``flyte.ctx().data``."""
        return {}

    async def execute(self, *args: Any, **kwargs: Any) -> Any:
        """Run the task's work and return its raw result."""
        raise NotImplementedError(f"{type(self).__name__}.execute is not implemented")

    async def post(self, return_vals: Any) -> Any:
        """Called after ``execute`` (also when it failed); a non-None return replaces the output."""
        return return_vals

    # ----------------------------------------------------------------------------------------
    # Description for clusters (used by serializers)
    # ----------------------------------------------------------------------------------------
    def config(self, sctx: SerializationContext) -> Dict[str, str]:
        """Extra key/value configuration of the task execution environment (plugins)."""
        return {}

    def custom_config(self, sctx: SerializationContext) -> Dict[str, Any]:
        """Plugin-specific configuration, serialized as the task template's ``custom`` struct."""
        return {}

    def sql(self, sctx: SerializationContext) -> Optional[str]:
        """The SQL statement of SQL tasks; None for others."""
        return None

    def data_loading_config(self, sctx: SerializationContext) -> Any:
        """Side-loading configuration for raw containers (None: the SDK handles inputs/outputs)."""
        return None

    def container_args(self, sctx: SerializationContext) -> List[str]:
        """The command a container runs to execute this task from serialized inputs."""
        from flyte._serialize.command import task_command

        return task_command(self, sctx)

    @property
    def native_interface(self) -> NativeInterface:
        return self.interface

    @property
    def source_file(self) -> Optional[str]:
        return None

    # ----------------------------------------------------------------------------------------
    # Calling
    # ----------------------------------------------------------------------------------------
    def forward(self, *args: Any, **kwargs: Any) -> Any:
        """Local execution when called outside any run: the plain function behaviour."""
        raise NotImplementedError(f"{type(self).__name__} cannot be called outside a run")

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        state = current_run_state.get()
        if state is None:
            return self.forward(*args, **kwargs)
        if self._call_as_synchronous or not _loop_running():
            # Sync code (a sync task body) cannot await: wait for the result, also for async tasks.
            from flyte._engine.bridge import block_on

            return block_on(state.controller.submit(self, args, kwargs), name=self.name)
        return state.controller.submit(self, args, kwargs)

    def aio(self, *args: Any, **kwargs: Any) -> Coroutine[Any, Any, R]:
        """Call the task from async code, whether its function is sync or async."""
        state = current_run_state.get()
        if state is None:
            return _as_coroutine(self.forward, args, kwargs)
        return state.controller.submit(self, args, kwargs)

    def override(self, **kwargs: Any) -> "TaskTemplate":
        """A copy of this task with some settings replaced for this call site.

        ``name``, ``image``, ``docs`` and ``interface`` identify the task and cannot be
        overridden. With ``reusable`` set, ``resources``, ``env_vars`` and ``secrets`` can only be
        overridden together with ``reusable="off"``.
        """
        from flyte._task_normalize import check_override

        for bad in _NOT_OVERRIDABLE:
            if bad in kwargs:
                raise ValidationError(
                    bad,
                    kwargs[bad],
                    "name, image, docs and interface identify a task and cannot be overridden",
                    owner=f"task {self.name} override()",
                )
        known = {f.name for f in dataclasses.fields(self)}
        unknown = sorted(k for k in kwargs if k not in known)
        if unknown:
            allowed = sorted(known - set(_NOT_OVERRIDABLE) - {"parent_env", "parent_env_name", "_call_as_synchronous", "func", "ref"})
            raise ValidationError(unknown[0], kwargs[unknown[0]], f"one of {', '.join(allowed)}", owner=f"task {self.name} override()")
        changes = check_override(self, dict(kwargs))
        return dataclasses.replace(self, **changes)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r}, interface={self.interface!r})"

    __hash__ = object.__hash__


def _loop_running() -> bool:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True


async def _as_coroutine(fn: Callable[..., Any], args: tuple, kwargs: dict) -> Any:
    result = fn(*args, **kwargs)
    if inspect.isawaitable(result):
        return await result
    return result


@dataclass(kw_only=True)
class AsyncFunctionTaskTemplate(TaskTemplate[P, R, F]):
    """A task wrapping a Python function, ``def`` or ``async def``.

    Sync functions run in worker threads so that async parents can ``asyncio.gather`` them.
    """

    func: F
    plugin_config: Optional[Any] = None

    def __post_init__(self) -> None:
        super().__post_init__()
        self._call_as_synchronous = not (
            inspect.iscoroutinefunction(self.func) or inspect.isasyncgenfunction(self.func)
        )
        if not self.docs and self.func.__doc__:
            from flyte._docs import Documentation

            self.docs = Documentation(description=inspect.getdoc(self.func))
        # Let the task be a drop-in for its function in tooling (pickling by reference, help()).
        self.__wrapped__ = self.func
        self.__doc__ = self.func.__doc__
        self.__module__ = getattr(self.func, "__module__", __name__)
        self.__name__ = getattr(self.func, "__name__", self.name)
        self.__qualname__ = getattr(self.func, "__qualname__", self.name)

    async def execute(self, *args: Any, **kwargs: Any) -> Any:
        """Call the function: awaited when async, in a worker thread when sync."""
        if self._call_as_synchronous:
            from flyte._engine.bridge import run_sync_in_thread

            return await run_sync_in_thread(self.func, args, kwargs)
        return await self.func(*args, **kwargs)

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        return self.func(*args, **kwargs)

    @property
    def source_file(self) -> Optional[str]:
        try:
            return inspect.getsourcefile(self.func)
        except TypeError:
            return None

    def __reduce__(self) -> Any:
        # Tasks travel (to worker processes, to containers) by reference: module + name.
        return (_load_task, (self.__module__, self.func.__qualname__))


def _load_task(module: str, qualname: str) -> Any:
    import importlib

    obj: Any = importlib.import_module(module)
    for part in qualname.split("."):
        obj = getattr(obj, part)
    return obj
