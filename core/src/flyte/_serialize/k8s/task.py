"""A plain task as Kubernetes objects: its pod spec, its ``Pod``, and the manifests of any task.

Built from the generic helpers of :mod:`flyte._serialize.k8s.pod` and
:mod:`flyte._serialize.k8s.replica`, the same ones plugins use for their custom resources.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Dict, List, Optional

from flyte._serialize.container import container_command
from flyte._serialize.devices import check_single_pod
from flyte._serialize.k8s.pod import (
    check_no_nulls,
    check_no_secret_values,
    container_resources,
    env_list,
    merge_pod_template,
    resolve_image_uri,
    task_container_name,
)
from flyte._serialize.k8s.replica import finish_pod_spec, object_metadata
from flyte._serialize.k8s_settings import K8sSettings, current_settings
from flyte.errors import TypeValidationError

if TYPE_CHECKING:
    from flyte.models import SerializationContext

__all__ = ["task_manifests", "task_pod", "task_pod_spec"]


def _owner(task: Any) -> str:
    return f"task {getattr(task, 'name', task)!r}"


def task_pod_spec(
    task: Any,
    sctx: Optional["SerializationContext"] = None,
    settings: Optional[K8sSettings] = None,
    container_name: Optional[str] = None,
) -> Dict[str, Any]:
    """The pod spec that runs ``task``, as a plain dict.

    The task's pod template (if any) is the base; its primary container gets the image, the
    container command (:func:`flyte._serialize.container.container_command`: the task type's
    handler, else ``task.container_args``), the env vars, the resources (template values kept
    unless the task sets them, then defaults), the shared memory volume, and the secrets as
    references. A device adds its node affinity and tolerations; an interruptible task the
    settings' interruptible selector, tolerations and affinity (:func:`finish_pod_spec`).
    ``restartPolicy`` is ``Never`` (retries are the controller's).
    """
    from flyte._pod import PodTemplate
    from flyte.models import SerializationContext

    sctx = sctx or SerializationContext()
    settings = settings or current_settings()
    owner = _owner(task)
    name = container_name or task_container_name(task)
    resources = getattr(task, "resources", None)
    device = resources.get_device() if resources is not None else None
    if device is not None:
        check_single_pod(device, owner=owner)

    container: Dict[str, Any] = {
        "name": name,
        "image": resolve_image_uri(getattr(task, "image", "auto"), owner=owner),
        "args": container_command(task, sctx),
    }
    env = env_list(getattr(task, "env_vars", None))
    if env:
        container["env"] = env
    task_resources = container_resources(resources, settings, owner=owner, apply_defaults=False)
    if task_resources:
        container["resources"] = task_resources

    template = getattr(task, "pod_template", None)
    base = template.pod_spec_dict() if isinstance(template, PodTemplate) else {}
    spec = merge_pod_template(base, name, container)
    spec = finish_pod_spec(
        spec, name, settings=settings,
        shm=resources.get_shared_memory() if resources is not None else None,
        secrets=getattr(task, "secrets", None), device=device,
        interruptible=bool(getattr(task, "interruptible", False)), owner=owner,
        service_account=getattr(task, "service_account", None),
    )
    spec["restartPolicy"] = "Never"
    check_no_nulls(spec, owner=owner)
    check_no_secret_values(spec, getattr(task, "secrets", None), owner=owner)
    return spec


def task_pod(
    task: Any, sctx: Optional["SerializationContext"] = None, settings: Optional[K8sSettings] = None
) -> Dict[str, Any]:
    """The ``Pod`` (``apiVersion: v1``) that runs a plain task: :func:`object_metadata` (name from
    the task name, labels and annotations of the task's pod template plus flyte's own labels,
    the namespace) and :func:`task_pod_spec` as the spec."""
    from flyte.models import SerializationContext

    sctx = sctx or SerializationContext()
    # Pod names are DNS-1123 subdomains: a leading digit is allowed, so no DNS-1035 rule here.
    metadata = object_metadata(task, sctx, dns1035=False)
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": metadata, "spec": task_pod_spec(task, sctx, settings)}
    return check_no_nulls(pod, owner=_owner(task))


def task_manifests(
    task: Any, sctx: Optional["SerializationContext"] = None, settings: Optional[K8sSettings] = None
) -> List[Dict[str, Any]]:
    """The Kubernetes objects that run ``task``.

    The ``kubernetes_objects`` handler registered with the task's class (looked up along its
    MRO) answers first: when it returns objects, those are the task's manifests, replacing the
    plain ``Pod`` (a Ray task is one ``RayJob``, whose pods the operator creates). A handler that
    needs the ``Pod`` as well includes :func:`task_pod`'s result in its list. Otherwise the
    result is ``[task_pod(task, sctx, settings)]``. Every object is checked for nulls and for
    secret values.
    """
    from flyte._plugins.resolve import task_handler
    from flyte.models import SerializationContext

    sctx = sctx or SerializationContext()
    settings = settings or current_settings()
    owner = _owner(task)
    handler = task_handler(task, "kubernetes_objects")
    objects = handler(task=task, sctx=sctx, settings=settings) if handler is not None else None
    if objects is not None and not isinstance(objects, list):
        raise TypeValidationError(
            "kubernetes_objects", objects, "a list of Kubernetes objects (dicts) or None",
            owner=f"{owner}: handler {getattr(handler, '__qualname__', handler)!r}",
        )
    if not objects:
        objects = [task_pod(task, sctx, settings)]
    for obj in objects:
        if not isinstance(obj, dict) or "kind" not in obj or "apiVersion" not in obj:
            raise TypeValidationError("kubernetes object", obj, "a dict with apiVersion and kind", owner=owner)
        check_no_nulls(obj, owner=owner)
        check_no_secret_values(obj, getattr(task, "secrets", None), owner=owner)
    return objects
