"""``RayFunctionTask``: a Python task whose body drives a Ray cluster.

Where the cluster is follows from the address (``RayJobConfig.address``, else the
``FLYTE_RAY_ADDRESS`` environment variable), so moving a task from a laptop to a cluster
changes no code:

==========================  ===========================================================
address                     ``pre`` ...
==========================  ===========================================================
none                        starts Ray on this machine (:mod:`flyteplugins.ray.local`)
``ray://host:10001``        connects this process as a Ray Client driver; the body runs here
``http://host:8265``        checks the Jobs API; ``execute`` submits the task there as a job
``host:6379`` / ``auto``    connects this process as a driver of that cluster
(inside a Ray job)          connects to the job's own cluster (Jobs API and KubeRay runs)
==========================  ===========================================================

``post`` undoes whatever ``pre`` started; the engine calls it also when the body failed, timed
out or was cancelled. On Kubernetes the task is a KubeRay ``RayJob`` (:mod:`flyteplugins.ray.k8s`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar, Dict, Optional, Tuple

from flyte.errors import TypeValidationError, ValidationError
from flyte.extend import SessionTaskTemplate, open_cancellably, resolve_target
from flyte.models import SerializationContext

from flyteplugins.ray import cluster, local
from flyteplugins.ray._session import RaySession
from flyteplugins.ray.config import ADDRESS_ENV_VAR, ADDRESS_SCHEMES, RayJobConfig, upscaling_mode_number
from flyteplugins.ray.config import _ADDRESS_FORMS
# The published plugin's module path: its config classes are importable from here too.
from flyteplugins.ray.config import AutoscalerOptionsConfig, HeadNodeConfig, WorkerNodeConfig

__all__ = [
    "IN_RAY_JOB_ENV_VAR",
    "AutoscalerOptionsConfig",
    "HeadNodeConfig",
    "RayFunctionTask",
    "RayJobConfig",
    "WorkerNodeConfig",
    "target_address",
]

IN_RAY_JOB_ENV_VAR = "RAY_JOB_CONFIG_JSON_ENV_VAR"
"""Set by Ray in the driver process of a submitted job (Jobs API, KubeRay)."""



def target_address(config: RayJobConfig) -> Tuple[str, Optional[str]]:
    """``(kind, address)`` of where a task with ``config`` runs from this process.

    ``kind`` is ``"job-driver"`` inside a Ray job (the task *is* the job), else ``"local"``
    (no address), ``"client"`` (``ray://``), ``"jobs"`` (``http(s)://``) or ``"driver"``
    (a GCS ``host:port`` or ``auto``). The config's address wins over ``FLYTE_RAY_ADDRESS``.
    """
    target = resolve_target(
        "ray",
        config.address,
        schemes=ADDRESS_SCHEMES,
        allowed=_ADDRESS_FORMS,
        bare="driver",
        words=("auto",),
        in_job_env=(IN_RAY_JOB_ENV_VAR,),
        in_job_kind="job-driver",
        owner="RayJobConfig",
        env_var=ADDRESS_ENV_VAR,
    )
    return target.kind, target.address


@dataclass(kw_only=True)
class RayFunctionTask(SessionTaskTemplate):
    """A task whose function calls ``@ray.remote`` code on the Ray cluster of its ``RayJobConfig``.

    The body reads ``flyte.ctx().data["ray_address"]`` (and ``ray_target``) to learn where it
    runs. ``ray`` is imported only when the task runs.
    """

    plugin_config: RayJobConfig
    task_type: str = "ray"
    debuggable: bool = True
    supports_reuse_policy: ClassVar[bool] = True

    def __post_init__(self) -> None:
        super().__post_init__()
        owner = f"task {self.name}"
        if not isinstance(self.plugin_config, RayJobConfig):
            raise TypeValidationError("plugin_config", self.plugin_config, RayJobConfig, owner=owner)
        self._check_reuse(owner)

    def _check_reuse(self, owner: str) -> None:
        # A reusable Ray task shares one long-lived cluster between calls: settings that tear the
        # cluster down per job, or several replicas/concurrent calls of it, contradict that.
        policy = self.reusable
        if policy is None:
            return
        cfg = self.plugin_config
        replicas = policy.replicas if isinstance(policy.replicas, int) else tuple(policy.replicas)
        if replicas not in (1, (1, 1)):
            raise ValidationError(
                "reusable.replicas", policy.replicas, "1 (a reusable Ray task shares one Ray cluster)", owner=owner
            )
        if policy.concurrency != 1:
            raise ValidationError(
                "reusable.concurrency", policy.concurrency, "1 (a Ray driver runs one task at a time)", owner=owner
            )
        if cfg.shutdown_after_job_finishes:
            raise ValidationError(
                "plugin_config.shutdown_after_job_finishes",
                True,
                "False with a reuse policy: the shared cluster must outlive each job "
                "(ReusePolicy(idle_ttl=...) decides when it goes)",
                owner=owner,
            )
        if cfg.ttl_seconds_after_finished is not None:
            raise ValidationError(
                "plugin_config.ttl_seconds_after_finished",
                cfg.ttl_seconds_after_finished,
                "None with a reuse policy (ReusePolicy(idle_ttl=...) decides when the shared cluster goes)",
                owner=owner,
            )

    # ------------------------------------------------------------------------------------------
    # Lifecycle (pre / execute / post come from SessionTaskTemplate)
    # ------------------------------------------------------------------------------------------
    async def open_session(self, *args: Any, **kwargs: Any) -> RaySession:
        """Open the Ray target of this task (see the module docs)."""
        kind, address = target_address(self.plugin_config)
        if kind == "local":
            if local.local_node_mode() == "per-replica":
                # Ray's multi-node helper installs signal handlers: it must start on this thread.
                return local.start_local(self.plugin_config, self.resources)
            # Starting Ray takes seconds: off the event loop, so other tasks of the run go on
            # (the start itself runs on the kit's supervisor thread).
            return await open_cancellably(
                lambda: local.start_local(self.plugin_config, self.resources), lambda s: s.stop()
            )
        return await cluster.open_session(kind, address, self.plugin_config)

    # ------------------------------------------------------------------------------------------
    # Description for clusters
    # ------------------------------------------------------------------------------------------
    def custom_config(self, sctx: SerializationContext) -> Dict[str, Any]:
        """The flyteidl2 ``RayJob`` description of this task, as a dict (the template's ``custom``)."""
        from flyteidl2.core import tasks_pb2
        from flyteidl2.core.literals_pb2 import KeyValuePair
        from flyteidl2.plugins import ray_pb2
        from google.protobuf import json_format, struct_pb2

        from flyte.extend import get_proto_extended_resources, get_proto_resources
        from flyteplugins.ray.config import start_param_str
        from flyteplugins.ray.k8s import HEAD_CONTAINER, WORKER_CONTAINER, group_pod_spec

        cfg = self.plugin_config

        def k8s_pod(container: str, requests: Any, limits: Any, template: Any) -> Optional[Any]:
            spec = group_pod_spec(container, requests, limits, template)
            if spec is None:
                return None
            pod_spec = struct_pb2.Struct()
            pod_spec.update(spec)
            kwargs: Dict[str, Any] = {"pod_spec": pod_spec}
            if template is not None and (template.labels or template.annotations):
                kwargs["metadata"] = tasks_pb2.K8sObjectMetadata(
                    labels=template.labels or {}, annotations=template.annotations or {}
                )
            return tasks_pb2.K8sPod(**kwargs)

        def params(values: Any) -> Dict[str, str]:
            return {k: start_param_str(v) for k, v in (values or {}).items()}

        cluster = ray_pb2.RayCluster(enable_autoscaling=cfg.enable_autoscaling)
        head = cfg.head_node_config
        if head is not None:
            cluster.head_group_spec.CopyFrom(
                ray_pb2.HeadGroupSpec(
                    ray_start_params=params(head.ray_start_params),
                    k8s_pod=k8s_pod(HEAD_CONTAINER, head.requests, head.limits, head.pod_template),
                    extended_resources=get_proto_extended_resources(head.requests or head.limits),
                )
            )
        for group in cfg.worker_node_config:
            cluster.worker_group_spec.append(
                ray_pb2.WorkerGroupSpec(
                    group_name=group.group_name,
                    replicas=group.replicas,
                    min_replicas=group.effective_min_replicas,
                    max_replicas=group.effective_max_replicas,
                    ray_start_params=params(group.ray_start_params),
                    k8s_pod=k8s_pod(WORKER_CONTAINER, group.requests, group.limits, group.pod_template),
                    extended_resources=get_proto_extended_resources(group.requests or group.limits),
                )
            )
        opts = cfg.autoscaler_options
        if opts is not None:
            cluster.autoscaler_options.CopyFrom(
                ray_pb2.AutoscalerOptions(
                    upscaling_mode=upscaling_mode_number(opts.upscaling_mode),
                    idle_timeout_seconds=opts.idle_timeout_seconds or 0,
                    image=opts.image or "",
                    env=[KeyValuePair(key=k, value=v) for k, v in (opts.env or {}).items()],
                    resources=get_proto_resources(opts.resources),
                )
            )
        job = ray_pb2.RayJob(
            ray_cluster=cluster,
            shutdown_after_job_finishes=cfg.shutdown_after_job_finishes,
            ttl_seconds_after_finished=cfg.ttl_seconds_after_finished or 0,
        )
        if cfg.runtime_env:
            import yaml

            job.runtime_env_yaml = yaml.safe_dump(dict(cfg.runtime_env), sort_keys=True)
        return json_format.MessageToDict(job)
