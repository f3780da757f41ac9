"""A Ray task as a KubeRay ``RayJob`` (``ray.io/v1``): a pure function of config, image and command.

The rules (the Kubernetes mapping of ``docs/ARCHITECTURE.md`` for the pods; KubeRay's own here):

* ``spec.entrypoint`` is the task's container command as one shell line (``shlex.join``);
  the Ray containers get no command or args of their own (the operator runs ``ray start``);
* ``spec.runtimeEnvYAML`` is the YAML of ``runtime_env``;
* ``shutdownAfterJobFinishes`` is always written, as ``shutdown_after_job_finishes``;
  ``ttlSecondsAfterFinished`` only when ``ttl_seconds_after_finished`` is set. A positive TTL
  without ``shutdown_after_job_finishes=True`` raises ``ValidationError`` (KubeRay refuses it:
  it deletes a finished cluster after the TTL only when it shuts it down);
* the head group's ``rayStartParams`` are the user's plus, when absent, ``dashboard-host:
  0.0.0.0``, ``include-dashboard: "true"``, ``disable-usage-stats: "true"``; its container is
  ``ray-head`` with the GCS, client and dashboard ports;
* each worker group has ``replicas``, ``minReplicas``, ``maxReplicas`` and a ``ray-worker``
  container;
* a group's ``requests``/``limits`` (else the task's ``Resources``) size its container, with
  accelerators, their node affinity and tolerations, and shared memory on that group only;
* a group's ``pod_template`` (else the task's) is the base of its pods, merged by container name.

Pod-level rules (requests and limits, devices, secrets, templates) and the object's metadata
come from the Kubernetes mapping helpers of :mod:`flyte.extend` (``replica_pod_template``,
``object_metadata``), shared with every other task type.
"""

from __future__ import annotations

import copy
import shlex
from typing import TYPE_CHECKING, Any, Dict, List, Mapping, Optional, Sequence, Tuple

from flyte.errors import TypeValidationError, ValidationError
from flyte.extend import (
    K8sSettings,
    TaskParts,
    check_no_nulls,
    container_command,
    container_resources,
    dns_label,
    env_list,
    object_metadata,
    replica_pod_template,
    resolve_image_uri,
)

from flyteplugins.ray.config import (
    AutoscalerOptionsConfig,
    HeadNodeConfig,
    RayJobConfig,
    WorkerNodeConfig,
    start_param_str,
    upscaling_mode_name,
)

if TYPE_CHECKING:
    from flyte import PodTemplate
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


def _group_template(
    *,
    container_name: str,
    image: Optional[str],
    requests: Any,
    limits: Any,
    group_pod_template: Optional["PodTemplate"],
    task: TaskParts,
    settings: K8sSettings,
    owner: str,
    ports: Sequence[Dict[str, Any]] = (),
) -> Dict[str, Any]:
    """The pod template (``{metadata, spec}``) of one Ray group.

    KubeRay runs ``ray start`` in the FIRST container of head and worker pods (so the Ray
    container goes first, before a sidecar the user's template lists), and writes that command
    itself: the container's own command and args are cleared, unless the template's annotation
    ``ray.io/overwrite-container-cmd: "true"`` asks KubeRay to keep them.
    """
    template = group_pod_template if group_pod_template is not None else task.pod_template
    annotations = (getattr(template, "annotations", None) or {}) if template is not None else {}
    return replica_pod_template(
        container_name=container_name,
        image=image,
        requests=requests,
        limits=limits,
        pod_template=group_pod_template,
        task_parts=task,
        settings=settings,
        owner=owner,
        ports=ports,
        clear_command=str(annotations.get(_OVERWRITE_CMD, "")).lower() != "true",
        primary_first=True,
    )


def _start_params(params: Optional[Mapping[str, Any]], defaults: Mapping[str, str] = ()) -> Dict[str, str]:
    out = {k: start_param_str(v) for k, v in (params or {}).items()}
    for k, v in dict(defaults).items():
        out.setdefault(k, v)
    return out


def _autoscaler_options(opts: AutoscalerOptionsConfig, settings: K8sSettings) -> Dict[str, Any]:
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
    annotations: Optional[Mapping[str, str]] = None,
    service_account: Optional[str] = None,
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
        annotations: Annotations of the ``RayJob``.
        service_account: The Kubernetes service account of the head and worker pods
            (``serviceAccountName``; the environment's ``service_account``).

    Returns:
        The ``RayJob`` as a plain dict, with no ``None`` values.
    """
    if not isinstance(config, RayJobConfig):
        raise TypeValidationError("config", config, RayJobConfig, owner="ray_job")
    settings = K8sSettings.coerce(settings, owner="ray_job")
    owner = f"RayJob {name!r}"
    parts = TaskParts(
        resources=resources, env_vars=env_vars, secrets=secrets, pod_template=pod_template,
        interruptible=bool(interruptible), service_account=service_account,
    )
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
    metadata: Dict[str, Any] = {"name": dns_label(name, _MAX_NAME, dns1035=True)}
    if namespace:
        metadata["namespace"] = namespace
    if labels:
        metadata["labels"] = dict(labels)
    if annotations:
        metadata["annotations"] = dict(annotations)
    job = {"apiVersion": API_VERSION, "kind": KIND, "metadata": metadata, "spec": spec}
    return check_no_nulls(job, owner=owner)


def _worker_group(group: WorkerNodeConfig, image: str, parts: TaskParts, settings: K8sSettings, owner: str) -> Dict[str, Any]:
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
    parts = TaskParts()
    template = _group_template(
        container_name=container_name,
        image=None,
        requests=requests,
        limits=limits,
        group_pod_template=pod_template,
        task=parts,
        settings=K8sSettings.coerce(settings, owner="group_pod_spec"),
        owner=f"{container_name} group",
    )
    return copy.deepcopy(template["spec"])


def ray_job_for_task(task: Any, sctx: Optional["SerializationContext"] = None, settings: Any = None) -> Dict[str, Any]:
    """The ``RayJob`` of a Ray task: :func:`ray_job` with the task's image, container command
    (``flyte.extend.container_command``), resources, env vars, secrets, pod template, and the
    metadata every object of a task gets (``flyte.extend.object_metadata``: labels naming the
    task, the namespace of the project and domain, a named pod template's annotation)."""
    from flyte.models import SerializationContext

    sctx = sctx or SerializationContext()
    owner = f"task {task.name!r}"
    metadata = object_metadata(task, sctx, max_name=_MAX_NAME, dns1035=True)
    parts = TaskParts.of(task)
    return ray_job(
        task.plugin_config,
        name=task.name,
        image=resolve_image_uri(getattr(task, "image", "auto"), owner=owner),
        command=container_command(task, sctx),
        resources=parts.resources,
        env_vars=parts.env_vars,
        secrets=parts.secrets,
        pod_template=parts.pod_template,
        interruptible=parts.interruptible,
        settings=settings,
        namespace=metadata.get("namespace"),
        labels=metadata["labels"],
        annotations=metadata.get("annotations"),
        service_account=parts.service_account,
    )
