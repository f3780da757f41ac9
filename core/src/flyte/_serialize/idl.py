"""Tasks as flyteidl2 protos: the ``TaskTemplate`` a Flyte control plane accepts.

:func:`serialize_task` describes one task: its id, type, typed interface, container (image,
command, env, resources), metadata (retries, timeouts, cache, interruptible, ...), the plugin's
``custom`` struct and ``config``, SQL where set, and its secrets as references.
:func:`serialize_task_spec` wraps that template with the default inputs, short name and
environment, as deployments send it.

Every problem is a :class:`flyte.errors.ValidationError` naming the task and the field. A secret
value can never end up in a spec: secrets are references, and a serialized task that contains
the value of one of its secrets (as resolvable on this machine) is refused.
"""

from __future__ import annotations

import inspect
from datetime import timedelta
from typing import TYPE_CHECKING, Any, Dict, Iterator, List, Optional, Tuple, Union

from flyte.errors import FlyteError, ValidationError

if TYPE_CHECKING:
    from flyteidl2.core import interface_pb2, security_pb2, tasks_pb2
    from flyteidl2.task import task_definition_pb2
    from google.protobuf.duration_pb2 import Duration

    from flyte._task import TaskTemplate
    from flyte.models import SerializationContext

__all__ = [
    "QUEUE_TAG",
    "image_uri",
    "security_context",
    "serialize_task",
    "serialize_task_spec",
    "typed_interface",
]

QUEUE_TAG = "queue"
"""``TaskMetadata.tags`` key holding the task's queue: the task template has no field of its own for it."""

# Secret values shorter than this are too likely to occur by chance to be checked for.
_MIN_SECRET_LEN = 8
_MAX_SHORT_NAME = 63


def _owner(task: "TaskTemplate") -> str:
    return f"task {task.name}"


def _type_name(tp: Any) -> str:
    return getattr(tp, "__name__", None) or repr(tp).replace("typing.", "")


# ------------------------------------------------------------------------------------------
# Interface
# ------------------------------------------------------------------------------------------
def _variable(task: "TaskTemplate", kind: str, name: str, tp: Any) -> "interface_pb2.Variable":
    from flyteidl2.core import interface_pb2

    from flyte.types import TypeEngine

    try:
        literal_type = TypeEngine.to_literal_type(tp)
    except Exception as e:
        raise ValidationError(
            f"{kind} {name!r}",
            _type_name(tp),
            f"a type the type engine can serialize ({type(e).__name__}: {e})",
            owner=_owner(task),
        ) from e
    return interface_pb2.Variable(type=literal_type)


def typed_interface(task: "TaskTemplate") -> "interface_pb2.TypedInterface":
    """The task's inputs and outputs as a flyteidl2 ``TypedInterface``, in declaration order."""
    from flyteidl2.core import interface_pb2

    iface = task.interface
    inputs = [
        interface_pb2.VariableEntry(key=k, value=_variable(task, "input", k, t)) for k, (t, _) in iface.inputs.items()
    ]
    outputs = [interface_pb2.VariableEntry(key=k, value=_variable(task, "output", k, t)) for k, t in iface.outputs.items()]
    return interface_pb2.TypedInterface(
        inputs=interface_pb2.VariableMap(variables=inputs),
        outputs=interface_pb2.VariableMap(variables=outputs),
    )


# ------------------------------------------------------------------------------------------
# Container
# ------------------------------------------------------------------------------------------
def image_uri(task: "TaskTemplate", sctx: Optional["SerializationContext"] = None) -> str:
    """The image reference a task's container runs.

    The deployment's image cache (``sctx.image_cache``, ``image_lookup`` by environment name)
    wins when it names the task's environment. Otherwise the rule the Kubernetes manifests use
    (:func:`flyte._serialize.k8s.resolve_image_uri`): a URI string as is, an ``Image``'s
    content-addressed ``uri``, ``"auto"`` the configured default or this SDK's default image, a
    reference name the configured ``images`` entry.
    """
    from flyte._serialize.k8s import resolve_image_uri

    cache = getattr(sctx, "image_cache", None) if sctx is not None else None
    lookup = getattr(cache, "image_lookup", None) or (cache if isinstance(cache, dict) else None)
    if lookup and task.parent_env_name in lookup:
        return str(lookup[task.parent_env_name])
    try:
        return resolve_image_uri(task.image, owner=_owner(task))
    except ValidationError:
        raise
    except FlyteError as e:
        raise ValidationError("image", repr(task.image), f"an image with a URI ({e})", owner=_owner(task)) from e


def _key_values(values: Optional[Dict[str, str]]) -> List[Any]:
    from flyteidl2.core import literals_pb2

    return [literals_pb2.KeyValuePair(key=k, value=v) for k, v in (values or {}).items()]


def _container(task: "TaskTemplate", sctx: "SerializationContext", config: Dict[str, str]) -> "tasks_pb2.Container":
    from flyteidl2.core import tasks_pb2

    from flyte._serialize.container import container_command
    from flyte._serialize.resources import get_proto_resources

    kwargs: Dict[str, Any] = dict(
        image=image_uri(task, sctx),
        args=container_command(task, sctx),
        env=_key_values(task.env_vars),
        config=_key_values(config),
    )
    resources = get_proto_resources(task.resources)
    if resources is not None:
        kwargs["resources"] = resources
    data_config = task.data_loading_config(sctx)
    if data_config is not None:
        kwargs["data_config"] = data_config
    return tasks_pb2.Container(**kwargs)


# ------------------------------------------------------------------------------------------
# Metadata
# ------------------------------------------------------------------------------------------
def _duration(value: Union[timedelta, int, float, None]) -> Optional["Duration"]:
    """A protobuf ``Duration``; None for None or zero (zero means "no limit")."""
    from google.protobuf.duration_pb2 import Duration

    if value is None:
        return None
    seconds = value.total_seconds() if isinstance(value, timedelta) else float(value)
    if seconds <= 0:
        return None
    whole = int(seconds)
    return Duration(seconds=whole, nanos=round((seconds - whole) * 1e9))


def _retry_strategy(task: "TaskTemplate") -> Any:
    from flyteidl2.core import literals_pb2

    from flyte._retry import retries_from_request

    strategy = retries_from_request(task.retries)
    proto = literals_pb2.RetryStrategy(retries=strategy.count)
    backoff = strategy.backoff
    if backoff is not None:
        proto.backoff.CopyFrom(literals_pb2.Backoff(base=_duration(backoff.base), factor=backoff.factor))  # type: ignore[union-attr]
        cap = _duration(backoff.cap)  # type: ignore[union-attr]
        if cap is not None:
            proto.backoff.cap.CopyFrom(cap)
    return proto


def _timeouts(task: "TaskTemplate") -> Tuple[Optional["Duration"], Any]:
    from flyteidl2.core import literals_pb2

    from flyte._timeout import timeout_from_request

    if task.timeout is None:
        return None, None
    t = timeout_from_request(task.timeout)
    queued, deadline = _duration(t.max_queued_time), _duration(t.deadline)
    strategy = None
    if queued is not None or deadline is not None:
        strategy = literals_pb2.TimeoutStrategy()
        if queued is not None:
            strategy.queued_timeout.CopyFrom(queued)
        if deadline is not None:
            strategy.deadline.CopyFrom(deadline)
    return _duration(t.max_runtime), strategy


def _cache_fields(task: "TaskTemplate", sctx: "SerializationContext") -> Dict[str, Any]:
    from flyte._cache import VersionParameters, cache_from_request

    cache = cache_from_request(task.cache)
    enabled = cache.is_enabled()
    # The version identifies the task's code even with caching off, as published SDKs send it.
    versioned = cache if enabled else cache_from_request("auto")
    params = VersionParameters(func=getattr(task, "func", None), image=task.image, code_bundle=sctx.code_bundle)
    try:
        version = versioned.get_version(params)
    except FlyteError as e:
        raise ValidationError("cache", task.cache, f"a cache whose version can be computed ({e})", owner=_owner(task)) from e
    out: Dict[str, Any] = dict(
        discoverable=enabled,
        discovery_version=version,
        cache_serializable=bool(cache.serialize) and enabled,
    )
    if enabled:
        out["cache_ignore_input_vars"] = list(cache.get_ignored_inputs())
        max_age = _duration(cache.max_age)
        if max_age is not None:
            out["cache_max_age"] = max_age
        unknown = sorted(set(cache.get_ignored_inputs()) - set(task.interface.inputs))
        if unknown:
            raise ValidationError(
                "cache.ignored_inputs",
                unknown,
                f"names of the task's inputs ({', '.join(task.interface.inputs) or 'none'})",
                owner=_owner(task),
            )
    return out


def _metadata(task: "TaskTemplate", sctx: "SerializationContext") -> "tasks_pb2.TaskMetadata":
    from flyteidl2.core import tasks_pb2
    from google.protobuf.wrappers_pb2 import BoolValue

    from flyte._version import __version__

    timeout, timeouts = _timeouts(task)
    kwargs: Dict[str, Any] = dict(
        runtime=tasks_pb2.RuntimeMetadata(
            type=tasks_pb2.RuntimeMetadata.RuntimeType.FLYTE_SDK, version=__version__, flavor="python"
        ),
        retries=_retry_strategy(task),
        interruptible=bool(task.interruptible),
        generates_deck=BoolValue(value=bool(task.report)),
        debuggable=bool(task.debuggable) and task.reusable is None,
        is_entrypoint=bool(task.entrypoint),
        **_cache_fields(task, sctx),
    )
    if timeout is not None:
        kwargs["timeout"] = timeout
    if timeouts is not None:
        kwargs["timeouts"] = timeouts
    if isinstance(task.pod_template, str):
        kwargs["pod_template_name"] = task.pod_template
    if task.queue:
        kwargs["tags"] = {QUEUE_TAG: task.queue}
    if sctx.code_bundle is not None and sctx.code_bundle.tgz:
        kwargs["code_bundle_uri"] = sctx.code_bundle.tgz
    return tasks_pb2.TaskMetadata(**kwargs)


# ------------------------------------------------------------------------------------------
# Security, reuse, pod templates
# ------------------------------------------------------------------------------------------
def security_context(task: "TaskTemplate") -> Optional["security_pb2.SecurityContext"]:
    """The task's secrets as references (group, key, how they are mounted); never their values."""
    from flyteidl2.core import security_pb2

    from flyte._secret import secrets_from_request

    secrets = secrets_from_request(task.secrets)
    service_account = getattr(task, "service_account", None)
    if not secrets and not service_account:
        return None
    out = []
    for s in secrets or ():
        mount = security_pb2.Secret.MountType.ENV_VAR if s.as_env_var else security_pb2.Secret.MountType.FILE
        out.append(security_pb2.Secret(group=s.group or "", key=s.key, mount_requirement=mount, env_var=s.as_env_var or ""))
    if service_account:  # the identity the task's pods run as
        return security_pb2.SecurityContext(secrets=out, run_as=security_pb2.Identity(k8s_service_account=service_account))
    return security_pb2.SecurityContext(secrets=out)


def _reuse_policy(task: "TaskTemplate", sctx: "SerializationContext") -> Any:
    from flyteidl2.core import tasks_pb2

    policy = task.reusable
    scope = tasks_pb2.ReusePolicy.RUN if policy.scope == "run" else tasks_pb2.ReusePolicy.GLOBAL
    kwargs: Dict[str, Any] = dict(
        min_replicas=policy.min_replicas,
        max_replicas=policy.max_replicas,
        concurrency=policy.concurrency,
        scope=scope,
        name=task.parent_env_name or task.name,
        version=sctx.version,
    )
    idle, down = _duration(policy.idle_ttl), _duration(policy.get_scaledown_ttl())
    if idle is not None:
        kwargs["idle_ttl"] = idle
    if down is not None:
        kwargs["scaledown_ttl"] = down
    return tasks_pb2.ReusePolicy(**kwargs)


def _struct(task: "TaskTemplate", field: str, value: Dict[str, Any]) -> Any:
    from google.protobuf.struct_pb2 import Struct

    s = Struct()
    try:
        s.update(value)
    except (TypeError, ValueError) as e:
        raise ValidationError(field, value, f"a JSON-like dict of str keys ({e})", owner=_owner(task)) from e
    return s


def _k8s_pod(task: "TaskTemplate", sctx: "SerializationContext") -> "tasks_pb2.K8sPod":
    """The task's ``PodTemplate`` with the task's container merged in, as the manifests build it."""
    from flyteidl2.core import tasks_pb2

    from flyte._serialize.k8s import task_pod_spec

    template = task.pod_template
    spec = task_pod_spec(task, sctx)
    metadata = tasks_pb2.K8sObjectMetadata(labels=template.labels or {}, annotations=template.annotations or {})
    return tasks_pb2.K8sPod(
        metadata=metadata,
        pod_spec=_struct(task, "pod_template", spec),
        primary_container_name=template.primary_container_name,
    )


# ------------------------------------------------------------------------------------------
# The task template
# ------------------------------------------------------------------------------------------
def serialize_task(task: "TaskTemplate", sctx: "SerializationContext") -> "tasks_pb2.TaskTemplate":
    """The flyteidl2 ``TaskTemplate`` of ``task`` under ``sctx`` (project, domain, version, paths).

    The container's args come from :func:`flyte._serialize.container.container_command` (the task
    type's ``container_command`` handler, else ``task.container_args(sctx)``). A ``PodTemplate``
    makes a ``k8s_pod`` holding the container; a SQL task (``task.sql(sctx)``) has no container.
    """
    from flyteidl2.core import identifier_pb2, tasks_pb2

    from flyte._pod import PodTemplate
    from flyte._serialize.resources import get_proto_extended_resources

    owner = _owner(task)
    task_id = identifier_pb2.Identifier(
        resource_type=identifier_pb2.ResourceType.TASK,
        project=sctx.project or "",
        domain=sctx.domain or "",
        org=sctx.org or "",
        name=task.name,
        version=sctx.version,
    )
    config = task.config(sctx) or {}
    if not isinstance(config, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in config.items()):
        raise ValidationError("config", config, "a dict of str to str", owner=owner)
    custom = task.custom_config(sctx) or {}
    if not isinstance(custom, dict):
        raise ValidationError("custom_config", custom, "a dict (the task template's custom struct)", owner=owner)
    kwargs: Dict[str, Any] = dict(
        id=task_id,
        type=task.task_type,
        task_type_version=int(task.task_type_version or 0),
        metadata=_metadata(task, sctx),
        interface=typed_interface(task),
        config=dict(config),
    )
    if custom:
        kwargs["custom"] = _struct(task, "custom_config", custom)
    sql = task.sql(sctx)
    if sql is not None:
        if isinstance(sql, str):
            kwargs["sql"] = tasks_pb2.Sql(statement=sql, dialect=tasks_pb2.Sql.Dialect.ANSI)
        elif isinstance(sql, tasks_pb2.Sql):
            kwargs["sql"] = sql
        else:
            raise ValidationError("sql", sql, "a SQL statement string or a flyteidl2 Sql", owner=owner)
    else:
        if isinstance(task.pod_template, PodTemplate):
            kwargs["k8s_pod"] = _k8s_pod(task, sctx)
            kwargs["config"] = {**kwargs["config"], "primary_container_name": task.pod_template.primary_container_name}
        else:
            kwargs["container"] = _container(task, sctx, config)
    sec = security_context(task)
    if sec is not None:
        kwargs["security_context"] = sec
    extended = get_proto_extended_resources(task.resources)
    if extended is not None:
        kwargs["extended_resources"] = extended
    if task.reusable is not None:
        kwargs["reuse_policy"] = _reuse_policy(task, sctx)
    template = tasks_pb2.TaskTemplate(**kwargs)
    check_no_secret_values(task, template)
    return template


async def serialize_task_spec(task: "TaskTemplate", sctx: "SerializationContext") -> "task_definition_pb2.TaskSpec":
    """The flyteidl2 ``TaskSpec``: the template plus default inputs, short name and environment."""
    from flyteidl2.core import interface_pb2
    from flyteidl2.task import common_pb2, environment_pb2, task_definition_pb2

    from flyte.types import TypeEngine

    template = serialize_task(task, sctx)
    variables = {v.key: v.value for v in template.interface.inputs.variables}
    defaults = []
    for name, (tp, default) in task.interface.inputs.items():
        if default is inspect.Parameter.empty:
            continue
        try:
            literal = await TypeEngine.to_literal(default, tp, variables[name].type)
        except Exception as e:
            raise ValidationError(
                f"input {name!r} default", repr(default)[:200], f"a value of type {_type_name(tp)} ({e})", owner=_owner(task)
            ) from e
        defaults.append(
            common_pb2.NamedParameter(
                name=name, parameter=interface_pb2.Parameter(var=variables[name], default=literal)
            )
        )
    env = None
    if task.parent_env_name:
        env = environment_pb2.Environment(name=task.parent_env_name[:_MAX_SHORT_NAME])
    return task_definition_pb2.TaskSpec(
        task_template=template,
        default_inputs=defaults,
        short_name=(task.short_name or task.name)[:_MAX_SHORT_NAME],
        environment=env,
    )


# ------------------------------------------------------------------------------------------
# Secrets never travel
# ------------------------------------------------------------------------------------------
def _strings(obj: Any, path: str) -> Iterator[Tuple[str, str]]:
    if isinstance(obj, str):
        yield path, obj
    elif isinstance(obj, dict):
        for k, v in obj.items():
            yield from _strings(v, f"{path}.{k}" if path else str(k))
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            yield from _strings(v, f"{path}[{i}]")


def check_no_secret_values(task: "TaskTemplate", template: "tasks_pb2.TaskTemplate") -> None:
    """Refuse a template that would carry a secret's value.

    Two ways a value slips in: an ``env_vars`` entry under the variable a secret provides (the
    secret would be shadowed by a literal), and the value itself, as resolvable on this machine,
    appearing in any string of the template (env, args, custom, config).
    """
    from google.protobuf.json_format import MessageToDict

    from flyte._secret import resolve_secret_locally, secrets_from_request

    secrets = secrets_from_request(task.secrets)
    if not secrets:
        return
    owner = _owner(task)
    env = task.env_vars or {}
    for s in secrets:
        if s.as_env_var and s.as_env_var in env:
            raise ValidationError(
                f"env_vars[{s.as_env_var!r}]",
                "<redacted>",
                f"no literal value: the variable is provided by secret {s.key!r}; remove it from env_vars",
                owner=owner,
            )
    values = []
    for s in secrets:
        try:
            value = resolve_secret_locally(s)
        except Exception:
            continue  # not resolvable here: nothing to compare against
        if len(value) >= _MIN_SECRET_LEN:
            values.append((s, value))
    if not values:
        return
    for path, text in _strings(MessageToDict(template), ""):
        for s, value in values:
            if value in text:
                raise ValidationError(
                    path,
                    "<redacted>",
                    f"no secret values: it contains the value of secret {s.key!r}; pass secrets as flyte.Secret references",
                    owner=owner,
                )
