"""An app environment as Kubernetes objects: a ``Deployment``, a ``Service`` and, when scaling
has a range, a ``HorizontalPodAutoscaler`` (``../K8S_MAPPING.md``, "Apps").

* One of each per app, named after the app (a DNS-1035 label), in the namespace of the
  context, all carrying ``app.kubernetes.io/name`` / ``app.kubernetes.io/instance`` = the app's
  name; the Deployment's selector and the Service's selector are exactly those two labels,
  which its pod template carries.
* The pod is built like a replica group of a plugin's custom resource
  (:func:`~flyte._serialize.k8s.replica.replica_pod_template`), so resources, devices, shared
  memory, env vars and secrets (as references) follow the rules of tasks. Its container ``app``
  runs the app's ``command`` (and ``args``), else ``flyte serve --local --host 0.0.0.0 FILE APP``:
  the local serving path of this SDK. ``containerPort`` is the app's port (8080 for ``port=0``),
  named ``http`` (or the ``Port``'s name); TCP readiness and liveness probes on it.
* ``Scaling(replicas=(min, max))``: ``spec.replicas`` is ``min``, or 1 when ``min`` is 0 (plain
  Kubernetes does not scale to zero: a warning says so); ``max`` above that adds an
  ``autoscaling/v2`` HorizontalPodAutoscaler over the Deployment, on CPU utilization (80%).
  ``scaledown_after`` becomes its scale-down stabilization window. A ``Concurrency`` or
  ``RequestRate`` metric has no plain Kubernetes equivalent: a warning says so and the metric is
  recorded as an annotation, never dropped silently (so are ``requires_auth`` and the request
  timeout, which the platform's ingress would enforce).
* The Service (``ClusterIP``) exposes port 80 and targets the container port by name.

Pure: every function depends only on its arguments and the settings.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any, Dict, List, Optional

from flyte._serialize.k8s.pod import check_no_nulls, check_no_secret_values, dns_label, label_value, resolve_image_uri
from flyte._serialize.k8s.replica import TaskParts, replica_pod_template
from flyte._serialize.k8s_settings import K8sSettings, current_settings

if TYPE_CHECKING:
    from flyte.app import AppEnvironment
    from flyte.models import SerializationContext

__all__ = ["APP_CONTAINER_NAME", "app_deployment", "app_hpa", "app_manifests", "app_service"]

logger = logging.getLogger("flyte")

APP_CONTAINER_NAME = "app"
SERVICE_PORT = 80
HPA_CPU_UTILIZATION = 80
MAX_STABILIZATION_SECONDS = 3600  # what the HorizontalPodAutoscaler API accepts


def _owner(env: "AppEnvironment") -> str:
    return f"app {env.name!r}"


def _selector(env: "AppEnvironment") -> Dict[str, str]:
    name = label_value(env.name)
    return {"app.kubernetes.io/name": name, "app.kubernetes.io/instance": name}


def _metadata(env: "AppEnvironment", sctx: "SerializationContext") -> Dict[str, Any]:
    labels = {**_selector(env), "app.kubernetes.io/managed-by": "flyte", "flyte.org/environment": label_value(env.name)}
    if sctx.version:
        labels["flyte.org/version"] = label_value(sctx.version)
    metadata: Dict[str, Any] = {"name": dns_label(env.name, dns1035=True), "labels": {k: v for k, v in labels.items() if v}}
    if sctx.project:
        metadata["namespace"] = dns_label(f"{sctx.project}-{sctx.domain}" if sctx.domain else sctx.project)
    return metadata


def _port(env: "AppEnvironment") -> Dict[str, Any]:
    from flyte.app._app_environment import DEFAULT_CLUSTER_PORT

    port = env.port if not isinstance(env.port, int) else None
    number = (port.port if port is not None else int(env.port)) or DEFAULT_CLUSTER_PORT  # type: ignore[arg-type]
    return {"name": (port.name if port is not None and port.name else "http"), "containerPort": number, "protocol": "TCP"}


def _annotations(env: "AppEnvironment") -> Dict[str, str]:
    notes = {"flyte.org/requires-auth": "true" if env.requires_auth else "false"}
    metric = env.scaling.metric
    if metric is not None:
        kind = "concurrency" if type(metric).__name__ == "Concurrency" else "request-rate"
        notes["flyte.org/scaling-metric"] = f"{kind}={metric.val}"
    request = env.timeouts.request
    if request is not None:
        notes["flyte.org/request-timeout-seconds"] = str(int(request.total_seconds()))  # type: ignore[union-attr]
    return notes


def _replicas(env: "AppEnvironment") -> "tuple[int, int]":
    low, high = env.scaling.get_replicas()
    if low == 0:
        logger.warning(
            "app %r: scaling min is 0, but a plain Kubernetes Deployment cannot scale to zero; it runs 1 replica%s",
            env.name, " and scales up to %d" % high if high > 1 else "",
        )
    return max(low, 1), high


def _pod_template(env: "AppEnvironment", sctx: "SerializationContext", settings: K8sSettings) -> Dict[str, Any]:
    from flyte._pod import PodTemplate

    owner = _owner(env)
    template = env.pod_template if isinstance(env.pod_template, PodTemplate) else None
    command = env.command_list()
    args = env.args_list()
    if command is None and not args:
        args = env.serve_command(sctx)
    pod = replica_pod_template(
        container_name=APP_CONTAINER_NAME,
        image=resolve_image_uri(env.image, owner=owner),
        requests=None,
        limits=None,
        pod_template=template,
        task_parts=TaskParts(
            resources=env.resources, env_vars=env.env_vars, secrets=env.secrets, pod_template=template,
            interruptible=bool(env.interruptible),
        ),
        settings=settings,
        owner=owner,
        ports=[_port(env)],
        args=args or None,
    )
    container = next(c for c in pod["spec"]["containers"] if c["name"] == APP_CONTAINER_NAME)
    if command is not None:
        container["command"] = command
    probe_port = _port(env)["name"]
    container["readinessProbe"] = {"tcpSocket": {"port": probe_port}, "periodSeconds": 5, "failureThreshold": 3}
    container["livenessProbe"] = {"tcpSocket": {"port": probe_port}, "periodSeconds": 10, "failureThreshold": 6}
    metadata = pod.setdefault("metadata", {})
    metadata["labels"] = {**metadata.get("labels", {}), **_selector(env)}
    return pod


def app_deployment(
    env: "AppEnvironment", sctx: Optional["SerializationContext"] = None, settings: Optional[K8sSettings] = None
) -> Dict[str, Any]:
    """The ``Deployment`` (``apps/v1``) running the app's pods."""
    from flyte.models import SerializationContext

    sctx = sctx or SerializationContext()
    settings = settings or current_settings()
    metadata = _metadata(env, sctx)
    metadata["annotations"] = _annotations(env)
    replicas, _ = _replicas(env)
    obj = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": metadata,
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": _selector(env)},
            "template": _pod_template(env, sctx, settings),
        },
    }
    return obj


def app_service(env: "AppEnvironment", sctx: Optional["SerializationContext"] = None) -> Dict[str, Any]:
    """The ``Service`` (``v1``, ClusterIP) in front of the app: port 80 to the container port, by name."""
    from flyte.models import SerializationContext

    sctx = sctx or SerializationContext()
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": _metadata(env, sctx),
        "spec": {
            "type": "ClusterIP",
            "selector": _selector(env),
            "ports": [{"name": "http", "port": SERVICE_PORT, "targetPort": _port(env)["name"], "protocol": "TCP"}],
        },
    }


def app_hpa(env: "AppEnvironment", sctx: Optional["SerializationContext"] = None) -> Optional[Dict[str, Any]]:
    """The ``HorizontalPodAutoscaler`` (``autoscaling/v2``) when scaling has a range above the Deployment's replicas."""
    from flyte.models import SerializationContext

    sctx = sctx or SerializationContext()
    low, high = env.scaling.get_replicas()
    low = max(low, 1)
    if high <= low:
        return None
    metric = env.scaling.metric
    if metric is not None:
        logger.warning(
            "app %r: Kubernetes' HorizontalPodAutoscaler cannot scale on %s without a custom metrics adapter; "
            "it scales on CPU utilization (%d%%) and the metric is kept as the annotation flyte.org/scaling-metric",
            env.name, type(metric).__name__, HPA_CPU_UTILIZATION,
        )
    spec: Dict[str, Any] = {
        "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": dns_label(env.name, dns1035=True)},
        "minReplicas": low,
        "maxReplicas": high,
        "metrics": [
            {"type": "Resource", "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": HPA_CPU_UTILIZATION}}}
        ],
    }
    after = env.scaling.scaledown_after
    if after is not None:
        seconds = int(after.total_seconds())  # type: ignore[union-attr]
        if seconds > MAX_STABILIZATION_SECONDS:
            logger.warning(
                "app %r: scaledown_after=%ds is above the %ds a HorizontalPodAutoscaler accepts; using %ds",
                env.name, seconds, MAX_STABILIZATION_SECONDS, MAX_STABILIZATION_SECONDS,
            )
            seconds = MAX_STABILIZATION_SECONDS
        spec["behavior"] = {"scaleDown": {"stabilizationWindowSeconds": seconds}}
    metadata = _metadata(env, sctx)
    metadata["annotations"] = _annotations(env)
    return {"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler", "metadata": metadata, "spec": spec}


def app_manifests(
    env: "AppEnvironment", sctx: Optional["SerializationContext"] = None, settings: Optional[K8sSettings] = None
) -> List[Dict[str, Any]]:
    """Every object of the app: its Deployment, its Service and, with a scaling range, its HPA.

    Each is checked for ``None`` values and for secret values known on this machine.
    """
    objects = [app_deployment(env, sctx, settings), app_service(env, sctx)]
    hpa = app_hpa(env, sctx)
    if hpa is not None:
        objects.append(hpa)
    for obj in objects:
        check_no_nulls(obj, owner=_owner(env))
        check_no_secret_values(obj, env.secrets, owner=_owner(env))
    return objects
