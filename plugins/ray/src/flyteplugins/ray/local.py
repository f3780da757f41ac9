"""Ray on this machine: started for a task, sized from its ``Resources``, stopped when it ends.

Ray is process-global (one driver connection per process), so this module keeps one record of
what *it* started, shared by every Ray task of the process and counted: the first task to need
Ray starts it, the last one to finish stops it. Ray that something else initialized (the user's
own ``ray.init()``) is reused and left running.

``FLYTE_RAY_LOCAL_NODES=per-replica`` starts a head plus one node per worker replica with Ray's
own multi-node-on-one-machine support (``ray.cluster_utils.Cluster``), so worker-group
scheduling can be tried on a laptop; the default is one node, as fast as a plain ``ray.init()``.
"""

from __future__ import annotations

import logging
import math
import os
import threading
from dataclasses import dataclass, field
from typing import Any, Dict, Optional

from flyte.errors import ValidationError

from flyteplugins.ray._session import RaySession, require_ray
from flyteplugins.ray.config import RayJobConfig

__all__ = [
    "LOCAL_NODES_ENV_VAR",
    "LocalRaySession",
    "NodeSize",
    "local_node_mode",
    "node_size",
    "start_local",
]

logger = logging.getLogger("flyteplugins.ray")

LOCAL_NODES_ENV_VAR = "FLYTE_RAY_LOCAL_NODES"
"""``single`` (default): one Ray node; ``per-replica``: a head plus one node per worker replica."""

_NODE_MODES = ("single", "per-replica")
# Ray refuses object stores smaller than 75 MiB; extra nodes get a small one so that a laptop
# can hold several of them.
_MIN_OBJECT_STORE = 78 * 1024 * 1024
_WORKER_NODE_OBJECT_STORE = 100 * 1024 * 1024
# Ray's custom resource names of the accelerators it does not count as GPUs.
_RAY_DEVICE_RESOURCES = {"TPU": "TPU", "NEURON": "neuron_cores", "HABANA_GAUDI": "HPU"}


@dataclass
class NodeSize:
    """The size of one local Ray node (None: let Ray detect it)."""

    num_cpus: Optional[int] = None
    num_gpus: Optional[int] = None
    memory: Optional[int] = None
    object_store_memory: Optional[int] = None
    resources: Dict[str, float] = field(default_factory=dict)

    def init_kwargs(self) -> Dict[str, Any]:
        """Keyword arguments of ``ray.init`` for this size (only what is set)."""
        kwargs: Dict[str, Any] = {}
        if self.num_cpus is not None:
            kwargs["num_cpus"] = self.num_cpus
        if self.num_gpus is not None:
            kwargs["num_gpus"] = self.num_gpus
        if self.memory is not None:
            kwargs["_memory"] = self.memory
        if self.object_store_memory is not None:
            kwargs["object_store_memory"] = self.object_store_memory
        if self.resources:
            kwargs["resources"] = dict(self.resources)
        return kwargs

    def node_args(self, default_object_store: int) -> Dict[str, Any]:
        """Keyword arguments of ``Cluster.add_node`` for this size."""
        args: Dict[str, Any] = {"num_cpus": self.num_cpus if self.num_cpus is not None else 1}
        if self.num_gpus is not None:
            args["num_gpus"] = self.num_gpus
        if self.memory is not None:
            args["memory"] = self.memory
        args["object_store_memory"] = self.object_store_memory or default_object_store
        if self.resources:
            args["resources"] = dict(self.resources)
        return args


def _upper(value: Any) -> Any:
    """The limit of a ``(request, limit)`` pair, else the value itself."""
    return value[1] if isinstance(value, tuple) else value


def node_size(resources: Any) -> NodeSize:
    """Size a Ray node from a task's (or worker group's) ``flyte.Resources``.

    CPUs are the limit (else the request) rounded up to whole cores; memory becomes Ray's
    ``memory`` resource with 30% of it (at least 78 MiB) as object store, as Ray itself would
    split a machine; a GPU count becomes ``num_gpus``, other accelerators Ray's custom
    resources (``TPU``, ``neuron_cores``, ``HPU``). ``None`` leaves everything to Ray.
    """
    size = NodeSize()
    if resources is None:
        return size
    from flyte._quantity import parse_quantity

    cpu = _upper(resources.cpu)
    if cpu is not None and parse_quantity(cpu) > 0:
        size.num_cpus = max(1, math.ceil(parse_quantity(cpu)))
    memory = _upper(resources.memory)
    if memory is not None and parse_quantity(memory) > 0:
        size.memory = int(parse_quantity(memory))
        size.object_store_memory = max(_MIN_OBJECT_STORE, int(size.memory * 0.3))
    device = resources.get_device()
    if device is not None:
        count = device.accelerator_count()
        if device.device_class in ("GPU", "AMD_GPU"):
            size.num_gpus = count
        else:
            size.resources[_RAY_DEVICE_RESOURCES[device.device_class]] = float(count)
    return size


def local_node_mode() -> str:
    """The value of ``FLYTE_RAY_LOCAL_NODES`` (``single`` when unset), validated."""
    mode = os.environ.get(LOCAL_NODES_ENV_VAR, "").strip().lower() or "single"
    if mode not in _NODE_MODES:
        raise ValidationError(LOCAL_NODES_ENV_VAR, mode, "'single' or 'per-replica'", owner="environment")
    return mode


class _Owned:
    """Ray started by this module, and how many running tasks use it."""

    def __init__(self, cluster: Any, data: Dict[str, Any]):
        self.cluster = cluster
        self.data = data
        self.users = 0


_lock = threading.Lock()
_owned: Optional[_Owned] = None


class LocalRaySession(RaySession):
    """Ray on this machine for one task attempt; :meth:`stop` releases it."""

    kind = "local"

    def __init__(self, data: Dict[str, Any], owned: Optional[_Owned]):
        super().__init__(data)
        self._owned = owned

    def stop(self) -> None:
        owned, self._owned = self._owned, None
        if owned is not None:
            _release(owned)


def _release(owned: _Owned) -> None:
    global _owned
    with _lock:
        owned.users -= 1
        if owned.users > 0:
            return
        if _owned is owned:
            _owned = None
        _shutdown(owned.cluster)


def _shutdown(cluster: Any) -> None:
    ray = require_ray()
    try:
        ray.shutdown()
    finally:
        if cluster is not None:
            cluster.shutdown()


def started_here() -> bool:
    """True while a Ray task of this process runs on the Ray this module started."""
    return _owned is not None


def start_local(config: RayJobConfig, resources: Any) -> LocalRaySession:
    """Start Ray here for a task (or join what this module already started, or reuse the
    user's own Ray) and return the session whose ``stop`` undoes it."""
    global _owned
    ray = require_ray()
    with _lock:
        if _owned is not None and ray.is_initialized():
            _owned.users += 1
            return LocalRaySession(dict(_owned.data), _owned)
        from flyteplugins.ray.cluster import connected_target

        connected = connected_target()
        if connected is not None:
            raise ValidationError(
                "address",
                None,
                f"the Ray cluster this process is connected to for another running Ray task ({connected[1]}); "
                "run tasks with different Ray targets one after another",
            )
        if ray.is_initialized():
            # Someone else's Ray: use it, never stop it.
            return LocalRaySession(_running_data(ray, reused=True), None)
        mode = local_node_mode()
        cluster = None
        try:
            if mode == "per-replica":
                cluster = _start_nodes(ray, config, resources)
                ray.init(address=cluster.address, runtime_env=config.runtime_env)
            else:
                # "local": always a new instance, never a cluster that `ray start` left on this
                # machine (use FLYTE_RAY_ADDRESS=auto to run on that one).
                ray.init(address="local", runtime_env=config.runtime_env, **node_size(resources).init_kwargs())
        except BaseException:
            # Nothing may outlive a failed start either.
            _shutdown(cluster)
            raise
        owned = _Owned(cluster, _running_data(ray, reused=False, nodes=mode))
        owned.users = 1
        _owned = owned
        return LocalRaySession(dict(owned.data), owned)


def _start_nodes(ray: Any, config: RayJobConfig, resources: Any) -> Any:
    from ray.cluster_utils import Cluster

    head = config.head_node_config
    head_size = node_size(head.requests if head is not None and head.requests is not None else resources)
    head_args = head_size.node_args(max(_MIN_OBJECT_STORE, head_size.object_store_memory or 200 * 1024 * 1024))
    # The dashboard is a dozen processes: too heavy for a many-node cluster on one machine.
    head_args["include_dashboard"] = False
    cluster = Cluster(initialize_head=True, head_node_args=head_args, shutdown_at_exit=True)
    try:
        for group in config.worker_node_config:
            size = node_size(group.requests if group.requests is not None else group.limits)
            for _ in range(group.replicas):
                cluster.add_node(wait=False, **size.node_args(_WORKER_NODE_OBJECT_STORE))
        cluster.wait_for_nodes()
    except BaseException:
        cluster.shutdown()
        raise
    return cluster


def _running_data(ray: Any, *, reused: bool, nodes: str = "single") -> Dict[str, Any]:
    """What the body reads as ``flyte.ctx().data`` for Ray running in this process."""
    data: Dict[str, Any] = {"ray_target": "local", "ray_reused": reused}
    try:
        data["ray_address"] = ray.get_runtime_context().gcs_address
    except Exception:  # an old Ray without gcs_address; the address is informative only
        pass
    if not reused:
        data["ray_local_nodes"] = nodes
    return data

