"""A Ray task as a KubeRay ``RayJob`` (``ray.io/v1``): a pure function of config, image and command.

The rules (``K8S_MAPPING.md``, "Ray -> RayJob"):

* ``spec.entrypoint`` is the task's container command as one shell line (``shlex.join``);
  the Ray containers get no command or args of their own (the operator runs ``ray start``);
* ``spec.runtimeEnvYAML`` is the YAML of ``runtime_env``;
* ``shutdownAfterJobFinishes`` and ``ttlSecondsAfterFinished`` are the user's values, both ways;
* the head group's ``rayStartParams`` are the user's plus, when absent, ``dashboard-host:
  0.0.0.0``, ``include-dashboard: "true"``, ``disable-usage-stats: "true"``; its container is
  ``ray-head`` with the GCS, client and dashboard ports;
* each worker group has ``replicas``, ``minReplicas``, ``maxReplicas`` and a ``ray-worker``
  container;
* a group's ``requests``/``limits`` (else the task's ``Resources``) size its container, with
  accelerators, their node affinity and tolerations, and shared memory on that group only;
* a group's ``pod_template`` (else the task's) is the base of its pods, merged by container name.

Pod-level rules (requests and limits, devices, secrets, templates) come from
:mod:`flyte._serialize.k8s`, shared with every other task type.
"""

from __future__ import annotations

import copy
import shlex
from typing import TYPE_CHECKING, Any, Dict, List, Mapping, Optional, Sequence, Tuple

from flyteplugins.ray.config import (
    AutoscalerOptionsConfig,
    HeadNodeConfig,
    RayJobConfig,
    WorkerNodeConfig,
    start_param_str,
    upscaling_mode_name,
)

if TYPE_CHECKING:
    from flyte._serialize.k8s_settings import K8sSettings
    from flyte.models import SerializationContext

__all__ = [
    "API_VERSION",
    "DEFAULT_HEAD_START_PARAMS",
    "HEAD_CONTAINER",
    "HEAD_PORTS",
    "KIND",
    "WORKER_CONTAINER",
    "ray_job",
    "ray_job_for_task",
]

API_VERSION = "ray.io/v1"
KIND = "RayJob"
HEAD_CONTAINER = "ray-head"
WORKER_CONTAINER = "ray-worker"
HEAD_PORTS: Tuple[Dict[str, Any], ...] = (
    {"name": "gcs-server", "containerPort": 6379},
    {"name": "client", "containerPort": 10001},
    {"name": "dashboard", "containerPort": 8265},
)
DEFAULT_HEAD_START_PARAMS: Dict[str, str] = {
    "dashboard-host": "0.0.0.0",
    "include-dashboard": "true",
    "disable-usage-stats": "true",
}
# KubeRay caps RayJob names (it derives cluster and pod names from them), and requires a
# DNS-1035 label (starting with a letter).
_MAX_NAME = 47
# With this annotation KubeRay keeps the container's own command instead of writing ray start.
_OVERWRITE_CMD = "ray.io/overwrite-container-cmd"


def _settings(settings: Any) -> "K8sSettings":
    from flyte._serialize.k8s_settings import K8sSettings, current_settings

    if settings is None:
        return current_settings()
    if isinstance(settings, K8sSettings):
        return settings
    if isinstance(settings, Mapping):
        return K8sSettings.from_config(settings)
    from flyte.errors import TypeValidationError

    raise TypeValidationError("settings", settings, "a K8sSettings or a mapping of settings", owner="ray_job")


def _job_name(name: str) -> str:
    from flyte._serialize.k8s import dns_label

    text = dns_label(name, _MAX_NAME)
    if not text[0].isalpha():
        text = dns_label(f"r-{name}", _MAX_NAME)
    return text


def _node_resources(requests: Any, limits: Any, fallback: Any, settings: "K8sSettings", owner: str) -> Tuple[Dict[str, Dict[str, str]], Any, Optional[str]]:
    """(container resources without defaults, the device, shared memory) of one group's container.

    ``requests`` gives requests (and limits where it holds tuples), ``limits`` gives limits; when
    the group gives neither, the task's own ``Resources`` size it.
    """
    from flyte._serialize.k8s import container_resources

    if requests is None and limits is None:
        requests = fallback
    req = container_resources(requests, settings, owner=owner, apply_defaults=False)
    lim = container_resources(limits, settings, owner=owner, apply_defaults=False)
    merged_requests = {**lim.get("requests", {}), **req.get("requests", {})}
    merged_limits = {**req.get("limits", {}), **lim.get("limits", {})}
    out: Dict[str, Dict[str, str]] = {}
    if merged_requests:
        out["requests"] = merged_requests
    if merged_limits:
        out["limits"] = merged_limits
    device = None
    shm = None
    for source in (limits, requests):
        if source is None:
            continue
        device = device or source.get_device()
        if shm is None:
            shm = source.get_shared_memory()
    return out, device, shm


def _base_spec(group_template: Any, task_template: Any, container_name: str) -> Tuple[Dict[str, Any], Dict[str, str], Dict[str, str]]:
    """(pod spec dict, labels, annotations) of the pod template a group starts from.

    The group's own template wins over the task's; the template's primary container becomes
    ``container_name`` when the spec has no container of that name.
    """
    from flyte._pod import PodTemplate

    template = group_template if group_template is not None else task_template
    if not isinstance(template, PodTemplate):
        return {}, {}, {}
    spec = template.pod_spec_dict()
    names = [c.get("name") for c in spec.get("containers") or []]
    if container_name not in names and template.primary_container_name in names:
        for c in spec["containers"]:
            if c.get("name") == template.primary_container_name:
                c["name"] = container_name
    return spec, dict(template.labels or {}), dict(template.annotations or {})


def _group_template(
    *,
    container_name: str,
    image: Optional[str],
    requests: Any,
    limits: Any,
    group_pod_template: Any,
    task: "_TaskParts",
    settings: "K8sSettings",
    owner: str,
    ports: Sequence[Dict[str, Any]] = (),
) -> Dict[str, Any]:
    """The pod template (``{metadata, spec}``) of one Ray group."""
    from flyte._serialize.k8s import (
        add_node_affinity,
        add_tolerations,
        apply_secrets,
        apply_shm,
        device_scheduling,
        env_list,
        finalize_container_resources,
        find_container,
        merge_pod_template,
    )

    resources, device, shm = _node_resources(requests, limits, task.resources, settings, owner)
    container: Dict[str, Any] = {"name": container_name}
    if image:
        container["image"] = image
    env = env_list(task.env_vars)
    if env:
        container["env"] = env
    if ports:
        container["ports"] = [dict(p) for p in ports]
    if resources:
        container["resources"] = resources
    base, labels, annotations = _base_spec(group_pod_template, task.pod_template, container_name)
    spec = merge_pod_template(base, container_name, container)
    primary = find_container(spec, container_name)  # merge_pod_template always adds it
    assert primary is not None
    # KubeRay runs `ray start` in the FIRST container of head and worker pods: a sidecar the
    # user's template lists first must come after the Ray container.
    spec["containers"] = [primary, *(c for c in spec["containers"] if c is not primary)]
    if annotations.get(_OVERWRITE_CMD, "").lower() != "true":
        # KubeRay writes the `ray start` command itself; the task's command is the job entrypoint.
        primary.pop("command", None)
        primary.pop("args", None)
    final = finalize_container_resources(primary.get("resources"), settings, owner=owner)
    if final:
        primary["resources"] = final
    else:
        primary.pop("resources", None)
    spec = apply_shm(spec, container_name, shm)
    spec = apply_secrets(spec, container_name, task.secrets)
    requirements, tolerations = device_scheduling(device, settings, owner=owner)
    if task.interruptible:
        requirements = [*requirements, *settings.interruptible_node_affinity]
        tolerations = [*tolerations, *settings.interruptible_tolerations]
        if settings.interruptible_node_selector:
            spec["nodeSelector"] = {**(spec.get("nodeSelector") or {}), **settings.interruptible_node_selector}
    spec = add_node_affinity(spec, requirements)
    spec = add_tolerations(spec, tolerations)
    template: Dict[str, Any] = {"spec": spec}
    metadata: Dict[str, Any] = {}
    if labels:
        metadata["labels"] = labels
    if annotations:
        metadata["annotations"] = annotations
    if metadata:
        template["metadata"] = metadata
    return template


def _start_params(params: Optional[Mapping[str, Any]], defaults: Mapping[str, str] = ()) -> Dict[str, str]:
    out = {k: start_param_str(v) for k, v in (params or {}).items()}
    for k, v in dict(defaults).items():
        out.setdefault(k, v)
    return out


def _autoscaler_options(opts: AutoscalerOptionsConfig, settings: "K8sSettings") -> Dict[str, Any]:
    from flyte._serialize.k8s import container_resources, env_list

    out: Dict[str, Any] = {}
    mode = upscaling_mode_name(opts.upscaling_mode)
    if mode:
        out["upscalingMode"] = mode
    if opts.idle_timeout_seconds is not None:
        out["idleTimeoutSeconds"] = opts.idle_timeout_seconds
    if opts.image:
        out["image"] = opts.image
    if opts.env:
        out["env"] = env_list(opts.env)
    resources = container_resources(opts.resources, settings, owner="autoscaler_options", apply_defaults=False)
    if resources:
        out["resources"] = resources
    return out


class _TaskParts:
    """The parts of a task the mapping reads (so the function also works without a task)."""

    def __init__(self, resources: Any, env_vars: Any, secrets: Any, pod_template: Any, interruptible: bool):
        self.resources = resources
        self.env_vars = env_vars
        self.secrets = secrets
        self.pod_template = pod_template
        self.interruptible = interruptible


def ray_job(
    config: RayJobConfig,
    *,
    name: str,
    image: str,
    command: Sequence[str],
    resources: Any = None,
    env_vars: Optional[Mapping[str, str]] = None,
    secrets: Any = None,
    pod_template: Any = None,
    interruptible: bool = False,
    settings: Any = None,
    namespace: Optional[str] = None,
    labels: Optional[Mapping[str, str]] = None,
) -> Dict[str, Any]:
    """The KubeRay ``RayJob`` that runs ``command`` on a Ray cluster shaped by ``config``.

    Args:
        config: The task's ``RayJobConfig``.
        name: Name of the job (made a valid, at most 47-character DNS label).
        image: Image of every Ray container.
        command: The task's container command; it becomes ``spec.entrypoint``.
        resources: The task's ``flyte.Resources``: sizes the head and worker groups that give no
            ``requests``/``limits`` of their own.
        env_vars: Environment variables of every Ray container.
        secrets: The task's secrets, as references in every Ray container.
        pod_template: The task's ``PodTemplate``: base of the groups that have none.
        interruptible: Add the settings' interruptible scheduling to every pod.
        settings: ``K8sSettings`` (or the ``kubernetes:`` mapping); None: the configured ones.
        namespace: ``metadata.namespace``, when given.
        labels: Labels of the ``RayJob``.

    Returns:
        The ``RayJob`` as a plain dict, with no ``None`` values.
    """
    from flyte._serialize.k8s import check_no_nulls
    from flyte.errors import ValidationError

    if not isinstance(config, RayJobConfig):
        from flyte.errors import TypeValidationError

        raise TypeValidationError("config", config, RayJobConfig, owner="ray_job")
    settings = _settings(settings)
    owner = f"RayJob {name!r}"
    parts = _TaskParts(resources, env_vars, secrets, pod_template, interruptible)
    head = config.head_node_config or HeadNodeConfig()
    head_group: Dict[str, Any] = {
        "rayStartParams": _start_params(head.ray_start_params, DEFAULT_HEAD_START_PARAMS),
        "template": _group_template(
            container_name=HEAD_CONTAINER,
            image=image,
            requests=head.requests,
            limits=head.limits,
            group_pod_template=head.pod_template,
            task=parts,
            settings=settings,
            owner=f"{owner} head group",
            ports=HEAD_PORTS,
        ),
    }
    workers: List[Dict[str, Any]] = []
    for group in config.worker_node_config:
        workers.append(_worker_group(group, image, parts, settings, owner))
    cluster: Dict[str, Any] = {
        "enableInTreeAutoscaling": bool(config.enable_autoscaling),
        "headGroupSpec": head_group,
        "workerGroupSpecs": workers,
    }
    if config.autoscaler_options is not None:
        options = _autoscaler_options(config.autoscaler_options, settings)
        if options:
            cluster["autoscalerOptions"] = options
    spec: Dict[str, Any] = {
        "entrypoint": shlex.join(str(a) for a in command),
        "shutdownAfterJobFinishes": bool(config.shutdown_after_job_finishes),
        "rayClusterSpec": cluster,
    }
    if config.ttl_seconds_after_finished is not None:
        if config.ttl_seconds_after_finished > 0 and not config.shutdown_after_job_finishes:
            # KubeRay refuses this combination: the cluster would never be deleted to begin with.
            raise ValidationError(
                "ttl_seconds_after_finished",
                config.ttl_seconds_after_finished,
                "None or 0 unless shutdown_after_job_finishes=True (KubeRay deletes a finished cluster "
                "after the TTL only when it shuts it down)",
                owner=owner,
            )
        spec["ttlSecondsAfterFinished"] = config.ttl_seconds_after_finished
    if config.runtime_env:
        import yaml

        spec["runtimeEnvYAML"] = yaml.safe_dump(dict(config.runtime_env), sort_keys=True)
    metadata: Dict[str, Any] = {"name": _job_name(name)}
    if namespace:
        metadata["namespace"] = namespace
    if labels:
        metadata["labels"] = dict(labels)
    job = {"apiVersion": API_VERSION, "kind": KIND, "metadata": metadata, "spec": spec}
    return check_no_nulls(job, owner=owner)


def _worker_group(group: WorkerNodeConfig, image: str, parts: _TaskParts, settings: "K8sSettings", owner: str) -> Dict[str, Any]:
    return {
        "groupName": group.group_name,
        "replicas": group.replicas,
        "minReplicas": group.effective_min_replicas,
        "maxReplicas": group.effective_max_replicas,
        "rayStartParams": _start_params(group.ray_start_params),
        "template": _group_template(
            container_name=WORKER_CONTAINER,
            image=image,
            requests=group.requests,
            limits=group.limits,
            group_pod_template=group.pod_template,
            task=parts,
            settings=settings,
            owner=f"{owner} worker group {group.group_name!r}",
        ),
    }


def group_pod_spec(
    container_name: str, requests: Any, limits: Any, pod_template: Any, settings: Any = None
) -> Optional[Dict[str, Any]]:
    """The pod spec of one group from its own ``requests``/``limits``/``pod_template`` only (no
    image, no task parts); None when the group sets none of them. Used for the flyteidl2
    description, where the control plane adds the task's container."""
    if requests is None and limits is None and pod_template is None:
        return None
    parts = _TaskParts(None, None, None, None, False)
    template = _group_template(
        container_name=container_name,
        image=None,
        requests=requests,
        limits=limits,
        group_pod_template=pod_template,
        task=parts,
        settings=_settings(settings),
        owner=f"{container_name} group",
    )
    return copy.deepcopy(template["spec"])


def ray_job_for_task(task: Any, sctx: Optional["SerializationContext"] = None, settings: Any = None) -> Dict[str, Any]:
    """The ``RayJob`` of a Ray task: :func:`ray_job` with the task's image, container command
    (a plugin's ``flyte_task_container_args`` first), resources, env vars, secrets, pod template
    and labels naming the task."""
    from flyte._plugins.manager import get_plugin_manager
    from flyte._serialize.k8s import dns_label, label_value, resolve_image_uri
    from flyte.models import SerializationContext

    sctx = sctx or SerializationContext()
    owner = f"task {task.name!r}"
    command = get_plugin_manager().task_container_args(task, sctx)
    if command is None:
        command = task.container_args(sctx)
    labels = {"app.kubernetes.io/managed-by": "flyte", "flyte.org/task": label_value(task.name)}
    if getattr(task, "parent_env_name", None):
        labels["flyte.org/environment"] = label_value(task.parent_env_name)
    if sctx.version:
        labels["flyte.org/version"] = label_value(sctx.version)
    namespace = None
    if sctx.project:
        namespace = dns_label(f"{sctx.project}-{sctx.domain}" if sctx.domain else sctx.project)
    return ray_job(
        task.plugin_config,
        name=task.name,
        image=resolve_image_uri(getattr(task, "image", "auto"), owner=owner),
        command=[str(a) for a in command],
        resources=task.resources,
        env_vars=task.env_vars,
        secrets=task.secrets,
        pod_template=task.pod_template if not isinstance(task.pod_template, str) else None,
        interruptible=bool(task.interruptible),
        settings=settings,
        namespace=namespace,
        labels={k: v for k, v in labels.items() if v},
    )
