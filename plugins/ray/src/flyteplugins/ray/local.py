"""Ray on this machine: started by the first Ray task, shared, stopped when idle.

The local Ray is owned by the process (:mod:`flyteplugins.ray._process`): every Ray task of
the process, one after another or at the same time, uses the one Ray the first of them started,
and it stays up ``FLYTE_RAY_IDLE_TIMEOUT`` seconds (default 60) after the last one ends (``0``:
until the run ends). Ray that something else initialized (the user's own ``ray.init()``) is
reused and left running. Ray is started from the kit's supervisor thread, so its processes die
with this process even when it is killed.

``FLYTE_RAY_LOCAL_NODES=per-replica`` starts a head plus one node per worker replica with Ray's
own multi-node-on-one-machine support (``ray.cluster_utils.Cluster``), so worker-group
scheduling can be tried on a laptop; the default is one node, as fast as a plain ``ray.init()``.
A task whose node layout differs from the running one restarts it between tasks.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional

from flyte.errors import ValidationError
from flyte.extend import Lease, local_size

from flyteplugins.ray._process import RayRuntime, RayShape, SizeKey, acquire, env_key
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

    def key(self) -> SizeKey:
        """The size as a comparable tuple (see :class:`flyteplugins.ray._process.RayShape`)."""
        return (self.num_cpus, self.num_gpus, self.memory, tuple(sorted(self.resources.items())))

    def describe(self) -> str:
        parts = [
            f"{self.num_cpus} CPU" if self.num_cpus is not None else "all CPUs",
            f"{self.memory / 2**30:.2g} GiB" if self.memory is not None else "",
            f"{self.num_gpus} GPU" if self.num_gpus else "",
            *(f"{v:g} {k}" for k, v in sorted(self.resources.items())),
        ]
        return ", ".join(p for p in parts if p)

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


def node_size(resources: Any) -> NodeSize:
    """Size a Ray node from a task's (or worker group's) ``flyte.Resources``.

    CPUs are the limit (else the request) rounded up to whole cores; memory becomes Ray's
    ``memory`` resource with 30% of it (at least 78 MiB) as object store, as Ray itself would
    split a machine; a GPU count becomes ``num_gpus``, other accelerators Ray's custom
    resources (``TPU``, ``neuron_cores``, ``HPU``). ``None`` leaves everything to Ray.
    """
    local = local_size(resources)
    size = NodeSize(num_cpus=local.cpus, memory=local.memory)
    if local.memory is not None:
        size.object_store_memory = max(_MIN_OBJECT_STORE, int(local.memory * 0.3))
    if local.accelerators is not None and local.device_class is not None:
        if local.gpus is not None:
            size.num_gpus = local.gpus
        else:
            size.resources[_RAY_DEVICE_RESOURCES[local.device_class]] = float(local.accelerators)
    return size


def local_node_mode() -> str:
    """The value of ``FLYTE_RAY_LOCAL_NODES`` (``single`` when unset), validated."""
    mode = os.environ.get(LOCAL_NODES_ENV_VAR, "").strip().lower() or "single"
    if mode not in _NODE_MODES:
        raise ValidationError(LOCAL_NODES_ENV_VAR, mode, "'single' or 'per-replica'", owner="environment")
    return mode


class LocalRaySession(RaySession):
    """Ray on this machine for one task attempt; :meth:`stop` releases its lease."""

    kind = "local"

    def __init__(self, data: Dict[str, Any], lease: "Lease[RayRuntime]"):
        super().__init__(data)
        self.lease = lease

    def release(self) -> None:
        self.lease.release()


# ----------------------------------------------------------------------------------------------
# Shapes
# ----------------------------------------------------------------------------------------------


def _nodes_spec(config: RayJobConfig, resources: Any) -> Dict[str, Any]:
    """The per-replica layout: ``{"head": node args, "workers": [node args, ...]}``."""
    head = config.head_node_config
    head_size = node_size(head.requests if head is not None and head.requests is not None else resources)
    head_args = head_size.node_args(max(_MIN_OBJECT_STORE, head_size.object_store_memory or 200 * 1024 * 1024))
    # The dashboard is a dozen processes: too heavy for a many-node cluster on one machine.
    head_args["include_dashboard"] = False
    workers: List[Dict[str, Any]] = []
    for group in config.worker_node_config:
        size = node_size(group.requests if group.requests is not None else group.limits)
        workers.extend(size.node_args(_WORKER_NODE_OBJECT_STORE) for _ in range(group.replicas))
    return {"head": head_args, "workers": workers}


def _freeze(args: Dict[str, Any]) -> SizeKey:
    res = tuple(sorted((args.get("resources") or {}).items()))
    return (args.get("num_cpus"), args.get("num_gpus"), args.get("memory"), res)


def local_shape(config: RayJobConfig, resources: Any, mode: str) -> RayShape:
    """The :class:`RayShape` of local Ray for a task with ``config`` and ``resources``."""
    env = env_key(config.runtime_env)
    if mode == "per-replica":
        spec = _nodes_spec(config, resources)
        layout = (_freeze(spec["head"]), *(_freeze(w) for w in spec["workers"]))
        return RayShape("local", None, mode, layout, env, label=f"head + {len(spec['workers'])} worker nodes")
    size = node_size(resources)
    return RayShape("local", None, mode, (size.key(),), env, label=f"one node, {size.describe()}")


# ----------------------------------------------------------------------------------------------
# Starting
# ----------------------------------------------------------------------------------------------


def _gcs_address(ray: Any) -> Optional[str]:
    try:
        return ray.get_runtime_context().gcs_address
    except Exception:  # an old Ray without gcs_address; the address is informative only
        return None


def _start_single(config: RayJobConfig, resources: Any) -> RayRuntime:
    ray = require_ray()
    try:
        # "local": always a new instance, never a cluster that `ray start` left on this machine
        # (use FLYTE_RAY_ADDRESS=auto to run on that one).
        ray.init(address="local", runtime_env=config.runtime_env, **node_size(resources).init_kwargs())
    except BaseException:
        session = _session_dir(ray)
        ray.shutdown()  # nothing may outlive a failed start either
        _remove_session(session)
        raise
    session = _session_dir(ray)
    return RayRuntime({"ray_address": _gcs_address(ray), "ray_local_nodes": "single"}, lambda: _remove_session(session))


def _session_dir(ray: Any) -> Optional[str]:
    """The folder of the Ray instance this process started (``/tmp/ray/session_*``)."""
    try:
        node = ray._private.worker._global_node
        return None if node is None else str(node.get_session_dir_path())
    except Exception:  # another Ray layout: the folder is then left to Ray
        return None


def _remove_session(session: Optional[str]) -> None:
    """Remove the session folder of a Ray we started and stopped (``FLYTE_RAY_KEEP_SESSION=1``
    keeps it, with Ray's logs), and its ``session_latest`` link when it points there."""
    import os
    import shutil

    if not session or os.environ.get("FLYTE_RAY_KEEP_SESSION") == "1":
        return
    name = os.path.basename(session.rstrip("/"))
    if not name.startswith("session_") or not os.path.isdir(session):
        return
    shutil.rmtree(session, ignore_errors=True)
    latest = os.path.join(os.path.dirname(session), "session_latest")
    try:
        if os.path.islink(latest) and os.path.realpath(latest) == os.path.realpath(session):
            os.unlink(latest)
    except OSError:
        pass


def _start_nodes(config: RayJobConfig, resources: Any) -> RayRuntime:
    from ray.cluster_utils import Cluster

    ray = require_ray()
    spec = _nodes_spec(config, resources)
    # Ray's multi-node helper installs signal handlers, so it runs on the calling (main)
    # thread, which lives as long as the process: its nodes die with the process.
    cluster = Cluster(initialize_head=True, head_node_args=spec["head"], shutdown_at_exit=True)
    try:
        for args in spec["workers"]:
            cluster.add_node(wait=False, **args)
        cluster.wait_for_nodes()
        ray.init(address=cluster.address, runtime_env=config.runtime_env)
    except BaseException:
        ray.shutdown()
        cluster.shutdown()
        raise
    return RayRuntime({"ray_address": _gcs_address(ray) or cluster.address, "ray_local_nodes": "per-replica"}, cluster.shutdown)


def start_local(config: RayJobConfig, resources: Any) -> LocalRaySession:
    """A session on this machine's Ray for the running task: the shared Ray when it fits, else
    a new one (or the user's own Ray, left running). :meth:`LocalRaySession.stop` releases it."""
    mode = local_node_mode()
    shape = local_shape(config, resources, mode)
    start = _start_nodes if mode == "per-replica" else _start_single
    lease = acquire(shape, lambda: start(config, resources), start_here=mode == "per-replica")
    data: Dict[str, Any] = {"ray_target": "local", "ray_reused": not lease.owned, "ray_warm": lease.reused}
    if lease.owned:
        data.update(lease.runtime.data)
    else:
        address = _gcs_address(require_ray())
        if address:
            data["ray_address"] = address
    return LocalRaySession(data, lease)
