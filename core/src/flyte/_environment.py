"""``TaskEnvironment``: shared settings for a set of tasks, and the ``@env.task`` decorator.

Task configuration has three levels, most general first: the environment, the ``@env.task``
decorator, and ``task.override()`` at the call site. Which parameter is accepted at which level
is the table of the TaskEnvironment document; the checks below enforce it.
"""

from __future__ import annotations

import inspect
import re
import weakref
from dataclasses import dataclass, field, fields
from typing import Any, Callable, Dict, List, Optional, Tuple

from flyte._task_normalize import check_service_account
from flyte.errors import ArgumentKindError, TypeValidationError, ValidationError

__all__ = ["Environment", "TaskEnvironment"]

_NAME_RE = re.compile(r"^[a-z0-9]+([_-][a-z0-9]+)*$")
MAX_DESCRIPTION = 255
# Longest environment name `flyte deploy` takes: it names Kubernetes objects (a DNS label).
MAX_DEPLOYED_NAME = 63


def _check_name(name: Any, owner: str) -> None:
    if not isinstance(name, str) or not _NAME_RE.fullmatch(name):
        raise ValidationError(
            "name", name, "snake_case or kebab-case: lowercase letters and digits separated by '_' or '-'", owner=owner
        )


@dataclass
class Environment:
    """Base of execution environments: what every environment kind shares."""

    name: str
    depends_on: List["Environment"] = field(default_factory=list)
    pod_template: Any = None
    description: Optional[str] = None
    secrets: Any = None
    env_vars: Optional[Dict[str, str]] = None
    resources: Any = None
    interruptible: bool = False
    image: Any = "auto"
    include: Tuple[str, ...] = ()
    # The Kubernetes service account the pods of this environment's tasks run as.
    service_account: Optional[str] = None

    def __post_init__(self) -> None:
        owner = f"{type(self).__name__}({self.name!r})"
        _check_name(self.name, type(self).__name__)
        check_service_account(self.service_account, owner)
        if len(self.name) > MAX_DEPLOYED_NAME:
            from flyte.errors import warn_likely_mistake

            warn_likely_mistake(
                "name", self.name,
                f"at most {MAX_DEPLOYED_NAME} characters (got {len(self.name)}): it runs locally, but `flyte deploy` "
                "refuses it, as a Kubernetes name cannot hold it",
                owner=type(self).__name__,
            )
        if self.description is not None:
            if not isinstance(self.description, str):
                raise TypeValidationError("description", self.description, str, owner=owner)
            if len(self.description) > MAX_DESCRIPTION:
                raise ValidationError(
                    "description",
                    self.description,
                    f"at most {MAX_DESCRIPTION} characters (got {len(self.description)})",
                    owner=owner,
                )
        from flyte._image import Image
        from flyte._pod import PodTemplate
        from flyte._resources import Resources

        if self.image is not None and not isinstance(self.image, (str, Image)):
            raise TypeValidationError("image", self.image, "an image URI string, a flyte.Image, or 'auto'", owner=owner)
        if self.resources is not None and not isinstance(self.resources, Resources):
            raise TypeValidationError("resources", self.resources, Resources, owner=owner)
        if self.env_vars is not None:
            if not isinstance(self.env_vars, dict) or not all(
                isinstance(k, str) and isinstance(v, str) for k, v in self.env_vars.items()
            ):
                raise TypeValidationError("env_vars", self.env_vars, "dict[str, str]", owner=owner)
        if self.pod_template is not None and not isinstance(self.pod_template, (str, PodTemplate)):
            raise TypeValidationError("pod_template", self.pod_template, "a pod template name or flyte.PodTemplate", owner=owner)
        if self.secrets is not None:
            from flyte._secret import secrets_from_request

            secrets_from_request(self.secrets)  # validates
        if isinstance(self.include, str):
            raise TypeValidationError("include", self.include, "a tuple of path strings, not a bare string", owner=owner)
        self.include = tuple(self.include or ())
        deps = list(self.depends_on or [])
        for d in deps:
            if not isinstance(d, Environment):
                raise TypeValidationError("depends_on", d, "a list of environments", owner=owner)
        self.depends_on = deps

    def add_dependency(self, *env: "Environment") -> None:
        """Add environments deployed together with this one (duplicates are ignored)."""
        for e in env:
            if not isinstance(e, Environment):
                raise TypeValidationError("env", e, "an Environment", owner=f"{self.name}.add_dependency")
            if e is self:
                raise ValidationError("env", e.name, "an environment other than itself", owner=f"{self.name}.add_dependency")
            if not any(d is e for d in self.depends_on):
                self.depends_on.append(e)

    def clone_with(self, name: str, **kwargs: Any) -> "Environment":
        raise NotImplementedError


@dataclass
class TaskEnvironment(Environment):
    """An environment for a set of tasks: image, resources, cache, secrets, plugin config...

    Decorate functions with ``@env.task`` to make tasks; each task's fully qualified name is
    ``<env name>.<function name>``.
    """

    cache: Any = "disable"
    reusable: Any = None
    plugin_config: Optional[Any] = None
    queue: Optional[str] = None
    _tasks: Dict[str, Any] = field(default_factory=dict, init=False, repr=False)

    def __post_init__(self) -> None:
        super().__post_init__()
        owner = f"TaskEnvironment({self.name!r})"
        from flyte._cache import cache_from_request
        from flyte._reusable import ReusePolicy

        try:
            cache_from_request(self.cache)
        except (ValidationError, TypeValidationError) as e:
            raise ValidationError(
                "cache", self.cache, f"'auto', 'override', 'disable' or a flyte.Cache ({e})", owner=owner
            ) from None
        if self.reusable is not None and not isinstance(self.reusable, ReusePolicy):
            raise TypeValidationError("reusable", self.reusable, ReusePolicy, owner=owner)
        if self.plugin_config is not None and self.reusable is not None:
            raise ValidationError(
                "plugin_config",
                self.plugin_config,
                "plugin_config cannot be combined with reusable; drop one of them",
                owner=owner,
            )

    @property
    def tasks(self) -> Dict[str, Any]:
        """The tasks defined in this environment, by fully qualified name."""
        return dict(self._tasks)

    def clone_with(
        self,
        name: str,
        image: Any = None,
        resources: Any = None,
        env_vars: Optional[Dict[str, str]] = None,
        secrets: Any = None,
        depends_on: Optional[List[Environment]] = None,
        description: Optional[str] = None,
        interruptible: Optional[bool] = None,
        include: Optional[Tuple[str, ...]] = None,
        service_account: Optional[str] = None,
        **kwargs: Any,
    ) -> "TaskEnvironment":
        """A new environment sharing this one's settings except the name and those given."""
        allowed = {"cache", "reusable", "plugin_config", "queue", "pod_template"}
        for k in kwargs:
            if k not in allowed:
                raise ValidationError(k, kwargs[k], f"one of the TaskEnvironment settings: {', '.join(sorted(allowed))}", owner=f"{self.name}.clone_with")
        values: Dict[str, Any] = {f.name: getattr(self, f.name) for f in fields(self) if f.init}
        values.update(
            name=name,
            depends_on=list(self.depends_on) if depends_on is None else depends_on,
        )
        for key, val in dict(
            image=image,
            resources=resources,
            env_vars=env_vars,
            secrets=secrets,
            description=description,
            interruptible=interruptible,
            include=include,
            service_account=service_account,
        ).items():
            if val is not None:
                values[key] = val
        values.update(kwargs)
        return TaskEnvironment(**values)

    @classmethod
    def from_task(cls, name: str, *tasks: Any, depends_on: Optional[List[Environment]] = None) -> "TaskEnvironment":
        """An environment holding existing tasks (they must share one image, compared by identity)."""
        if len(tasks) == 1 and isinstance(tasks[0], (list, tuple)):
            tasks = tuple(tasks[0])
        if not tasks:
            raise ValidationError("tasks", tasks, "at least one task", owner=f"TaskEnvironment.from_task({name!r})")
        image = tasks[0].image
        env_names = {t.parent_env_name for t in tasks if t.parent_env_name}
        if len(env_names) > 1:
            raise ValidationError(
                "tasks", sorted(env_names), "tasks from a single environment", owner=f"TaskEnvironment.from_task({name!r})"
            )
        for t in tasks[1:]:
            if t.image is not image:
                raise ValidationError(
                    "tasks", [t.name for t in tasks], "tasks that all use the same image object", owner=f"TaskEnvironment.from_task({name!r})"
                )
        env = cls(name=name, image=image if image is not None else "auto", depends_on=list(depends_on or []))
        for t in tasks:
            env._tasks[t.name] = t
        return env

    def task(
        self,
        _func: Optional[Callable] = None,
        *,
        short_name: Optional[str] = None,
        cache: Any = None,
        retries: Any = 0,
        timeout: Any = 0,
        docs: Any = None,
        pod_template: Any = None,
        report: bool = False,
        interruptible: Optional[bool] = None,
        max_inline_io_bytes: int = 10 * 1024 * 1024,
        queue: Optional[str] = None,
        triggers: Any = (),
        links: Any = (),
        task_resolver: Any = None,
        entrypoint: bool = False,
        service_account: Optional[str] = None,
        **unknown: Any,
    ) -> Any:
        """Make a task of a function (``def`` or ``async def``); usable bare or with arguments."""
        owner = f"{self.name}.task"
        if unknown:
            k = sorted(unknown)[0]
            hint = ""
            if k in ("resources", "env_vars", "secrets", "image", "plugin_config", "reusable", "depends_on", "description"):
                hint = f"; {k} is set on the TaskEnvironment (or via task.override() where allowed)"
            raise ArgumentKindError(
                k,
                unknown[k],
                "a parameter of @env.task: short_name, cache, retries, timeout, docs, pod_template, report, "
                "interruptible, max_inline_io_bytes, queue, triggers, links, task_resolver, entrypoint, "
                "service_account" + hint,
                owner=owner,
            )
        if self.reusable is not None and pod_template is not None:
            raise ValidationError("pod_template", pod_template, "not settable on a task of a reusable environment", owner=owner)
        check_service_account(service_account, owner)
        if self.reusable is not None and service_account is not None and service_account != self.service_account:
            raise ValidationError(
                "service_account", service_account, "the environment's own on a task of a reusable environment", owner=owner
            )

        def decorator(func: Callable) -> Any:
            if not callable(func) or not (inspect.isfunction(func) or inspect.iscoroutinefunction(func) or inspect.ismethod(func)):
                raise TypeValidationError("@env.task target", func, "a function (def or async def)", owner=owner)
            _check_task_function(func, owner)
            from flyte._plugins.resolve import resolve_task_class
            from flyte.models import NativeInterface

            cls = resolve_task_class(self.plugin_config)
            if self.reusable is not None and not inspect.iscoroutinefunction(func) and getattr(self.reusable, "concurrency", 1) > 1:
                raise ValidationError(
                    "reusable.concurrency",
                    self.reusable.concurrency,
                    "1 for sync functions; use an async function for concurrency > 1",
                    owner=f"{self.name}.{func.__name__}",
                )
            name = f"{self.name}.{func.__name__}"
            kwargs: Dict[str, Any] = dict(
                name=name,
                interface=NativeInterface.from_callable(func),
                short_name=short_name or func.__name__,
                func=func,
                image=self.image,
                resources=self.resources,
                cache=cache if cache is not None else self.cache,
                interruptible=self.interruptible if interruptible is None else interruptible,
                retries=retries,
                reusable=self.reusable,
                docs=docs,
                env_vars=self.env_vars,
                secrets=self.secrets,
                timeout=timeout,
                pod_template=pod_template if pod_template is not None else self.pod_template,
                report=report,
                queue=queue if queue is not None else self.queue,
                parent_env=weakref.ref(self),
                parent_env_name=self.name,
                service_account=service_account if service_account is not None else self.service_account,
                max_inline_io_bytes=max_inline_io_bytes,
                triggers=triggers if isinstance(triggers, tuple) else (triggers,),
                links=links if isinstance(links, tuple) else (links,),
                entrypoint=entrypoint,
            )
            if self.plugin_config is not None:
                kwargs["plugin_config"] = self.plugin_config
            tmpl = cls(**kwargs)
            _warn_task_settings(tmpl, short_name)
            previous = self._tasks.get(name)
            if previous is not None:
                _warn_redefined(name, previous, func)
            self._tasks[name] = tmpl
            return tmpl

        if _func is not None:
            return decorator(_func)
        return decorator

    def __hash__(self) -> int:
        return id(self)

    def __eq__(self, other: object) -> bool:
        return self is other


def _check_task_function(func: Callable, owner: str) -> None:
    """Refuse functions whose return value a task cannot carry; warn about likely mistakes."""
    from flyte.errors import warn_likely_mistake

    target = getattr(func, "__func__", func)
    if inspect.isgeneratorfunction(target) or inspect.isasyncgenfunction(target):
        kind = "an async generator" if inspect.isasyncgenfunction(target) else "a generator"
        raise TypeValidationError(
            "@env.task target",
            func,
            f"a function that returns its result; {target.__qualname__} is {kind} function (it yields), "
            "and a task's output is what it returns: collect the items and return them as a list "
            "(return list(...)), or make each item the output of a task call (flyte.map)",
            owner=owner,
        )
    if target.__name__ == "<lambda>":
        warn_likely_mistake(
            "@env.task target", func,
            "a function defined with def or async def: a lambda has no name that a container can import it by",
            owner=owner,
        )
    elif inspect.ismethod(func) or _looks_like_method(target):
        warn_likely_mistake(
            "@env.task target", func,
            "a module-level function: a method's self (or cls) becomes a task input, and a container "
            "cannot import the method by its name",
            owner=owner,
        )
    sig = inspect.signature(func)
    unannotated = [n for n, p in sig.parameters.items() if p.annotation is inspect.Parameter.empty]
    if unannotated and all(p.annotation is inspect.Parameter.empty for p in sig.parameters.values()) and sig.return_annotation is inspect.Signature.empty:
        warn_likely_mistake(
            "annotations of " + target.__qualname__, "none",
            f"type annotations: the inputs {', '.join(unannotated)} have none, so their values are pickled "
            "(as the published SDK does), and without a return annotation the task has no outputs",
            owner=owner,
        )
    elif unannotated:
        warn_likely_mistake(
            "annotations of " + target.__qualname__, ", ".join(unannotated),
            "a type annotation on every input: inputs without one are pickled",
            owner=owner,
        )


def _looks_like_method(func: Callable) -> bool:
    # A function defined in a class body: its qualname has the class before it (not "<locals>").
    parts = func.__qualname__.split(".")
    if len(parts) < 2 or parts[-2] == "<locals>":
        return False
    params = list(inspect.signature(func).parameters)
    return bool(params) and params[0] in ("self", "cls")


def _warn_task_settings(task: Any, short_name: Optional[str]) -> None:
    """Warn about task settings that are accepted but cannot mean what they say."""
    from flyte.errors import warn_likely_mistake

    owner = f"task {task.name}"
    if not isinstance(task.report, bool):
        warn_likely_mistake("report", task.report, "True or False", owner=owner)
    if isinstance(short_name, str) and short_name and not _NAME_RE.fullmatch(short_name):
        warn_likely_mistake(
            "short_name", short_name,
            "lowercase letters and digits separated by '_' or '-' (a name a cluster can show and select)",
            owner=owner,
        )
    from flyte._cache import Cache

    cache = task.cache
    if isinstance(cache, Cache):
        unknown = [n for n in cache.get_ignored_inputs() if n not in task.interface.inputs]
        if unknown:
            warn_likely_mistake(
                "cache.ignored_inputs", unknown[0] if len(unknown) == 1 else tuple(unknown),
                f"names of the task's inputs ({', '.join(task.interface.inputs) or 'it has none'}); "
                "an unknown name ignores nothing",
                owner=owner,
            )


def _source_place(obj: Any) -> Optional[Tuple[str, int]]:
    func = inspect.unwrap(getattr(obj, "func", obj))
    code = getattr(func, "__code__", None)
    if code is None:
        return None
    return code.co_filename, code.co_firstlineno


def _warn_redefined(name: str, previous: Any, func: Callable) -> None:
    """A second task of one name replaces the first; say so unless it is the same definition run again."""
    import warnings

    from flyte.errors import _user_stacklevel

    old, new = _source_place(previous), _source_place(func)
    if old is None or new is None or old == new:  # re-running a notebook cell or a module
        return
    warnings.warn(
        f"task {name} is defined twice in environment {name.rsplit('.', 1)[0]!r}: the definition at "
        f"{new[0]}:{new[1]} replaces the one at {old[0]}:{old[1]}; rename one of them to keep both",
        UserWarning,
        stacklevel=_user_stacklevel(),
    )
