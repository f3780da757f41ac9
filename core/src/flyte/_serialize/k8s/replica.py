"""What every custom-resource mapping shares: a task's parts, pod finishing, replica-group pod
templates, and the metadata of an object made for a task.

A Ray head or worker group, a Spark driver or executor, a PyTorch master or worker: each is a
*replica group*, a pod template whose one container the operator runs, sized by the group's own
requests and limits (else the task's ``Resources``), based on the group's pod template (else the
task's), with the task's env vars, secrets, devices and shared memory. :func:`replica_pod_template`
builds one; :func:`finish_pod_spec` is its last step, which a plain task's pod goes through too.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Dict, Mapping, Optional, Sequence, Tuple

from flyte._serialize.devices import device_scheduling
from flyte._serialize.k8s.pod import (
    _container_or_fail,
    add_node_affinity,
    add_tolerations,
    apply_secrets,
    apply_shm,
    container_resources,
    dns_label,
    env_list,
    finalize_container_resources,
    label_value,
    merge_pod_template,
)
from flyte._serialize.k8s_settings import K8sSettings, check_label_value
from flyte._task_normalize import check_service_account
from flyte.errors import TypeValidationError

if TYPE_CHECKING:
    from flyte._pod import PodTemplate
    from flyte._resources import Device, Resources
    from flyte._secret import SecretRequest
    from flyte.models import SerializationContext

__all__ = [
    "POD_TEMPLATE_NAME_ANNOTATION",
    "TaskParts",
    "finish_pod_spec",
    "object_metadata",
    "replica_pod_template",
]

POD_TEMPLATE_NAME_ANNOTATION = "flyte.org/pod-template-name"
"""Records a task's named pod template (one that lives in the cluster) for the controller."""


@dataclass(frozen=True)
class TaskParts:
    """The parts of a task a Kubernetes mapping reads, so a mapping also works without a task.

    ``pod_template`` is a ``flyte.PodTemplate`` or None (a named template, a string, is recorded
    in the object's metadata by :func:`object_metadata` instead).
    """

    resources: Optional["Resources"] = None
    env_vars: Optional[Mapping[str, str]] = None
    secrets: Optional["SecretRequest"] = None
    pod_template: Optional["PodTemplate"] = None
    interruptible: bool = False
    service_account: Optional[str] = None

    @classmethod
    def of(cls, task: Any) -> "TaskParts":
        """The parts of ``task`` (a ``TaskTemplate``); a named pod template is left out."""
        from flyte._pod import PodTemplate

        template = getattr(task, "pod_template", None)
        return cls(
            resources=getattr(task, "resources", None),
            env_vars=getattr(task, "env_vars", None),
            secrets=getattr(task, "secrets", None),
            pod_template=template if isinstance(template, PodTemplate) else None,
            interruptible=bool(getattr(task, "interruptible", False)),
            service_account=getattr(task, "service_account", None),
        )


def finish_pod_spec(
    pod_spec: Mapping[str, Any],
    container_name: str,
    *,
    settings: K8sSettings,
    shm: Optional[str] = None,
    secrets: Optional["SecretRequest"] = None,
    device: Optional["Device"] = None,
    interruptible: bool = False,
    owner: Optional[str] = None,
    service_account: Optional[str] = None,
) -> Dict[str, Any]:
    """The last steps of every pod the mapping emits, on the container ``container_name``:

    * its resources completed (:func:`finalize_container_resources`: a missing limit is the
      request and the reverse, default cpu and memory, zeros dropped, request <= limit);
    * shared memory (``shm``, :func:`apply_shm`) and ``secrets`` as references
      (:func:`apply_secrets`);
    * the ``device``'s node affinity and tolerations (:func:`device_scheduling`);
    * for an ``interruptible`` task, the settings' interruptible node affinity, tolerations and
      node selector;
    * the ``service_account`` (``serviceAccountName``) the pod runs as, when given; it replaces
      a pod template's.

    Returns a new pod spec; ``pod_spec`` is not changed.
    """
    spec = copy.deepcopy(dict(pod_spec))
    primary = _container_or_fail(spec, container_name)
    final = finalize_container_resources(primary.get("resources"), settings, owner=owner)
    if final:
        primary["resources"] = final
    else:
        primary.pop("resources", None)
    spec = apply_shm(spec, container_name, shm)
    spec = apply_secrets(spec, container_name, secrets)
    requirements, tolerations = device_scheduling(device, settings, owner=owner)
    if interruptible:
        requirements = [*requirements, *settings.interruptible_node_affinity]
        tolerations = [*tolerations, *settings.interruptible_tolerations]
        if settings.interruptible_node_selector:
            spec["nodeSelector"] = {**(spec.get("nodeSelector") or {}), **settings.interruptible_node_selector}
    spec = add_node_affinity(spec, requirements)
    if service_account:
        spec["serviceAccountName"] = check_service_account(service_account, owner or container_name)
    return add_tolerations(spec, tolerations)


def _group_resources(
    requests: Optional["Resources"],
    limits: Optional["Resources"],
    fallback: Optional["Resources"],
    settings: K8sSettings,
    owner: str,
) -> Tuple[Dict[str, Dict[str, str]], Optional["Device"], Optional[str]]:
    """(container resources without defaults, the device, shared memory) of one group's container.

    ``requests`` gives requests (and limits where it holds tuples), ``limits`` gives limits; when
    the group gives neither, ``fallback`` (the task's own ``Resources``) sizes it.
    """
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


def _base_spec(
    group_template: Optional["PodTemplate"], task_template: Optional["PodTemplate"], container_name: str
) -> Tuple[Dict[str, Any], Dict[str, str], Dict[str, str]]:
    """(pod spec dict, labels, annotations) of the pod template a group starts from.

    The group's own template wins over the task's; the template's primary container becomes
    ``container_name`` when the spec has no container of that name.
    """
    from flyte._pod import PodTemplate

    template = group_template if group_template is not None else task_template
    if template is None:
        return {}, {}, {}
    if not isinstance(template, PodTemplate):
        raise TypeValidationError("pod_template", template, "a flyte.PodTemplate or None", owner=container_name)
    spec = template.pod_spec_dict()
    names = [c.get("name") for c in spec.get("containers") or []]
    if container_name not in names and template.primary_container_name in names:
        for c in spec["containers"]:
            if c.get("name") == template.primary_container_name:
                c["name"] = container_name
    return spec, dict(template.labels or {}), dict(template.annotations or {})


def replica_pod_template(
    *,
    container_name: str,
    image: Optional[str],
    requests: Optional["Resources"],
    limits: Optional["Resources"],
    pod_template: Optional["PodTemplate"],
    task_parts: TaskParts,
    settings: K8sSettings,
    owner: str,
    ports: Sequence[Mapping[str, Any]] = (),
    args: Optional[Sequence[str]] = None,
    clear_command: bool = False,
    primary_first: bool = True,
) -> Dict[str, Any]:
    """The pod template (``{"metadata": ..., "spec": ...}``, a ``PodTemplateSpec``) of one replica
    group of a custom resource.

    Args:
        container_name: The container the operator runs (``ray-worker``, ``pytorch``, ...).
        image: Its image (None: leave the template's, e.g. where the control plane fills it).
        requests: The group's requests (tuples also give limits); with ``limits`` None too, the
            task's ``Resources`` (``task_parts.resources``) size the group.
        limits: The group's limits.
        pod_template: The group's ``PodTemplate``, else ``task_parts.pod_template``, is the base
            (rule 6: merged by container name, its primary container renamed ``container_name``).
        task_parts: The task's env vars, secrets, interruptible flag (and the fallbacks above).
        settings: The cluster's ``K8sSettings``.
        owner: Names the group in error messages (``"RayJob 'x' worker group 'gpu'"``).
        ports: ``containerPort`` entries of the container.
        args: The container's args (the task's command, for operators that run it per replica);
            None leaves the template's.
        clear_command: Remove the container's ``command`` and ``args`` (operators that write
            their own start command, like KubeRay's ``ray start``).
        primary_first: Make the container the first of the pod (operators that run the first).

    Devices, shared memory, secrets and interruptible scheduling go through
    :func:`finish_pod_spec`, so they follow the rules of plain tasks, on this group only. The
    template's labels and annotations become the pod template's metadata.
    """
    resources, device, shm = _group_resources(requests, limits, task_parts.resources, settings, owner)
    container: Dict[str, Any] = {"name": container_name}
    if image:
        container["image"] = image
    if args is not None:
        container["args"] = [str(a) for a in args]
    env = env_list(task_parts.env_vars)
    if env:
        container["env"] = env
    if ports:
        container["ports"] = [dict(p) for p in ports]
    if resources:
        container["resources"] = resources
    base, labels, annotations = _base_spec(pod_template, task_parts.pod_template, container_name)
    for key, value in labels.items():
        check_label_value(f"pod_template.labels[{key!r}]", value, owner=owner)
    spec = merge_pod_template(base, container_name, container)
    primary = _container_or_fail(spec, container_name)  # merge_pod_template always adds it
    if primary_first:
        spec["containers"] = [primary, *(c for c in spec["containers"] if c is not primary)]
    if clear_command:
        primary.pop("command", None)
        primary.pop("args", None)
    spec = finish_pod_spec(
        spec, container_name, settings=settings, shm=shm, secrets=task_parts.secrets, device=device,
        interruptible=task_parts.interruptible, owner=owner, service_account=task_parts.service_account,
    )
    template: Dict[str, Any] = {"spec": spec}
    metadata: Dict[str, Any] = {}
    if labels:
        metadata["labels"] = labels
    if annotations:
        metadata["annotations"] = annotations
    if metadata:
        template["metadata"] = metadata
    return template


def object_metadata(
    task: Any,
    sctx: Optional["SerializationContext"] = None,
    max_name: int = 63,
    dns1035: bool = True,
) -> Dict[str, Any]:
    """The ``metadata`` of a Kubernetes object made for ``task`` (a ``Pod``, a custom resource).

    * ``name``: the task's name as a DNS label of at most ``max_name`` characters (operators cap
      it: KubeRay 47), starting with a letter when ``dns1035`` (what most operators require);
    * ``namespace``: ``<project>-<domain>`` (or the project) of ``sctx``, when it names one;
    * ``labels``: the task's pod template labels (checked), then ``app.kubernetes.io/managed-by:
      flyte``, ``flyte.org/task``, ``flyte.org/environment`` and ``flyte.org/version``;
    * ``annotations``: the pod template's, plus ``flyte.org/pod-template-name`` for a named
      template (one that lives in the cluster, resolved by the controller).

    Empty label values are left out; no ``None`` anywhere.
    """
    from flyte._pod import PodTemplate
    from flyte.models import SerializationContext

    sctx = sctx or SerializationContext()
    owner = f"task {getattr(task, 'name', task)!r}"
    labels: Dict[str, str] = {}
    annotations: Dict[str, str] = {}
    template = getattr(task, "pod_template", None)
    if isinstance(template, PodTemplate):
        labels.update(template.labels or {})
        annotations.update(template.annotations or {})
    elif isinstance(template, str):
        annotations[POD_TEMPLATE_NAME_ANNOTATION] = template
    for key, value in labels.items():
        check_label_value(f"pod_template.labels[{key!r}]", value, owner=owner)
    labels["app.kubernetes.io/managed-by"] = "flyte"
    labels["flyte.org/task"] = label_value(task.name)
    if getattr(task, "parent_env_name", None):
        labels["flyte.org/environment"] = label_value(task.parent_env_name)
    if sctx.version:
        labels["flyte.org/version"] = label_value(sctx.version)
    metadata: Dict[str, Any] = {
        "name": dns_label(task.name, max_name, dns1035=dns1035),
        "labels": {k: v for k, v in labels.items() if v},
    }
    if sctx.project:
        metadata["namespace"] = dns_label(f"{sctx.project}-{sctx.domain}" if sctx.domain else sctx.project)
    if annotations:
        metadata["annotations"] = annotations
    return metadata
