"""``TorchFunctionTask``: a task whose function runs as torch-distributed ranks.

Where the ranks run follows from the environment, so the same code runs on a laptop, across
machines and on Kubernetes:

==============================================  ===============================================
environment                                     the task ...
==============================================  ===============================================
(nothing)                                       runs every node here: one elastic agent per node
                                                (``nnodes``, the maximum of a range), meeting at a
                                                c10d rendezvous on 127.0.0.1
``FLYTE_TORCH_RDZV_ENDPOINT=host:port``         is one node of a job whose nodes meet at that
                                                c10d rendezvous (the store there assigns ranks)
a training-operator pod (``PET_*``,             joins the job as the operator configured it; no
``MASTER_ADDR``)                                local rendezvous is started
==============================================  ===============================================

In every case the function runs as ``nproc_per_node`` ranks per node with ``RANK``,
``LOCAL_RANK``, ``WORLD_SIZE``, ``GROUP_RANK``, ``MASTER_ADDR``/``MASTER_PORT`` set, so
``dist.init_process_group("gloo")`` (or ``"nccl"``) works unchanged; the task's output is rank 0's
return value. On Kubernetes ``nnodes > 1`` is a Kubeflow ``PyTorchJob`` (:mod:`flyteplugins.pytorch.k8s`)
and ``nnodes == 1`` a plain pod running the same launcher.
"""

from __future__ import annotations

import glob
import hashlib
import ipaddress
import logging
import os
import uuid
import warnings
from dataclasses import dataclass
from typing import Any, Dict, Optional, Tuple

from flyte.errors import TypeValidationError, ValidationError
from flyte.extend import SessionTaskTemplate, host_port, local_size, probe_tcp, resolve_target
from flyte.models import SerializationContext

from flyteplugins.pytorch._session import (
    ElasticSession,
    LaunchPlan,
    RankFailedError,
    TorchNotInstalledError,
    TorchRendezvousUnreachableError,
    check_torch,
    require_torch,
)
from flyteplugins.pytorch.config import (
    NODE_RANK_ENV_VAR,
    RDZV_ENDPOINT_ENV_VAR,
    RDZV_ID_ENV_VAR,
    Elastic,
    RunPolicy,
    parse_nnodes,
)

__all__ = [
    "IN_JOB_ENV_VARS",
    "Elastic",
    "RankFailedError",
    "RunPolicy",
    "TorchFunctionTask",
    "TorchNotInstalledError",
    "TorchRendezvousUnreachableError",
    "launch_plan",
]

logger = logging.getLogger("flyteplugins.pytorch")

IN_JOB_ENV_VARS: Tuple[str, ...] = ("PET_RDZV_ENDPOINT", "PET_NNODES", "MASTER_ADDR")
"""Set by the training operator in the pods of a ``PyTorchJob``: the task is a node of that job."""

_ENDPOINT_FORMS = "a c10d rendezvous endpoint 'host:port'"
_ENDPOINT_HINT = f"{RDZV_ENDPOINT_ENV_VAR}, or address in the config file's torch: section"
PROBE_TIMEOUT_S = 5.0


def _rendezvous_id(task_name: str, endpoint: str) -> str:
    """The id every node of one job derives alike: from the task's name and the endpoint."""
    explicit = os.environ.get(RDZV_ID_ENV_VAR, "").strip()
    if explicit:
        return explicit
    digest = hashlib.sha256(f"{task_name}\n{endpoint}".encode()).hexdigest()[:16]
    return f"flyte-{digest}"


def _node_rank(max_nodes: int, owner: str) -> Optional[int]:
    text = os.environ.get(NODE_RANK_ENV_VAR, "").strip()
    if not text:
        return None
    allowed = f"an int from 0 to {max_nodes - 1} (the job has at most {max_nodes} node(s))"
    if not text.lstrip("-").isdigit() or not 0 <= int(text) < max_nodes:
        raise ValidationError(NODE_RANK_ENV_VAR, text, allowed, owner=owner)
    return int(text)


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _local_gpus() -> int:
    """NVIDIA devices on this machine, without importing torch (``/dev/nvidiaN``)."""
    return len([p for p in glob.glob("/dev/nvidia[0-9]*") if os.path.basename(p)[6:].isdigit()])


def _in_job_plan(cfg: Elastic, task_name: str) -> LaunchPlan:
    env = os.environ
    nnodes = env.get("PET_NNODES") or cfg.nnodes
    min_nodes, max_nodes = parse_nnodes(nnodes, owner="PET_NNODES")
    nproc = env.get("PET_NPROC_PER_NODE", "")
    endpoint = env.get("PET_RDZV_ENDPOINT") or f"{env['MASTER_ADDR']}:{env.get('MASTER_PORT') or 29400}"
    node_rank = env.get("PET_NODE_RANK") or (env.get("RANK") if "PET_RDZV_ENDPOINT" not in env else None)
    restarts = env.get("PET_MAX_RESTARTS", "")
    return LaunchPlan(
        target="in-job",
        min_nodes=min_nodes,
        max_nodes=max_nodes,
        nproc_per_node=int(nproc) if nproc.isdigit() else cfg.nproc_per_node,
        rdzv_backend=env.get("PET_RDZV_BACKEND") or cfg.rdzv_backend,
        rdzv_endpoint=endpoint,
        run_id=env.get("PET_RDZV_ID") or _rendezvous_id(task_name, endpoint),
        rdzv_configs=dict(cfg.rdzv_configs),
        max_restarts=int(restarts) if restarts.isdigit() else cfg.max_restarts,
        monitor_interval=cfg.monitor_interval,
        node_ranks=[int(node_rank) if node_rank and node_rank.isdigit() else None],
    )


def launch_plan(cfg: Elastic, task_name: str, target_kind: str, endpoint: Optional[str], owner: str) -> LaunchPlan:
    """How ranks of a task with ``cfg`` launch for a target (``local``, ``endpoint``, ``in-job``).

    For ``local`` the rendezvous endpoint is filled in when the nodes start (see
    :meth:`TorchFunctionTask.open_session`).
    """
    if target_kind == "in-job":
        return _in_job_plan(cfg, task_name)
    common = dict(
        min_nodes=cfg.min_nodes,
        max_nodes=cfg.max_nodes,
        nproc_per_node=cfg.nproc_per_node,
        rdzv_configs=dict(cfg.rdzv_configs),
        max_restarts=cfg.max_restarts,
        monitor_interval=cfg.monitor_interval,
        env=cfg.rank_env(),
    )
    if target_kind == "endpoint":
        assert endpoint is not None
        host, _ = host_port(endpoint)
        # Joining: the store at the endpoint is someone else's (it assigns the group ranks).
        common["rdzv_configs"]["is_host"] = False
        return LaunchPlan(
            target="endpoint",
            rdzv_backend=cfg.rdzv_backend,
            rdzv_endpoint=endpoint,
            run_id=_rendezvous_id(task_name, endpoint),
            node_ranks=[_node_rank(cfg.max_nodes, owner)],
            local_addr="127.0.0.1" if _is_loopback(host) else None,
            **common,  # type: ignore[arg-type]
        )
    nodes = cfg.max_nodes
    if nodes > 1:
        common["rdzv_configs"]["is_host"] = False  # this process hosts the store
    return LaunchPlan(
        target="local",
        rdzv_backend="c10d",  # the only backend this machine can host on its own
        rdzv_endpoint="127.0.0.1:0",
        run_id=f"flyte-{uuid.uuid4().hex[:16]}",
        nodes=nodes,
        node_ranks=list(range(nodes)) if nodes > 1 else [None],
        local_addr="127.0.0.1",
        **common,  # type: ignore[arg-type]
    )


def _host_store() -> Tuple[Any, int]:
    """A c10d ``TCPStore`` served by this process on 127.0.0.1 (a port the kernel picks)."""
    torch = require_torch()
    store = torch.distributed.TCPStore("127.0.0.1", 0, is_master=True, wait_for_workers=False)
    return store, int(store.port)


@dataclass(kw_only=True)
class TorchFunctionTask(SessionTaskTemplate):
    """A task whose function runs as the ranks of a torch-distributed job (see the module docs).

    The task type is ``"python-task"`` for ``nnodes == 1`` (one pod on Kubernetes), else
    ``"pytorch"``.
    """

    plugin_config: Elastic
    task_type: str = "pytorch"
    task_type_version: int = 1
    debuggable: bool = False

    def __post_init__(self) -> None:
        super().__post_init__()
        if not isinstance(self.plugin_config, Elastic):
            raise TypeValidationError("plugin_config", self.plugin_config, Elastic, owner=f"task {self.name}")
        self.task_type = "python-task" if self.plugin_config.single_node else "pytorch"
        self.min_nodes, self.max_nodes = self.plugin_config.min_nodes, self.plugin_config.max_nodes

    def target(self) -> Tuple[str, Optional[str]]:
        """``(kind, endpoint)``: ``("in-job", None)``, ``("endpoint", "host:port")`` or ``("local", None)``."""
        target = resolve_target(
            "torch",
            None,
            schemes={},
            bare="endpoint",
            in_job_env=IN_JOB_ENV_VARS,
            in_job_kind="in-job",
            field="rdzv_endpoint",
            owner="Elastic",
            env_var=RDZV_ENDPOINT_ENV_VAR,
            allowed=_ENDPOINT_FORMS,
        )
        return target.kind, target.address

    def _check_devices(self) -> None:
        wanted = local_size(self.resources).gpus
        if not wanted:
            return
        have = _local_gpus()
        if have >= wanted:
            return
        # Decided: run anyway, on CPU. A laptop run of GPU code is the point of running locally;
        # the user's code chooses its backend, and gloo works on CPU where NCCL cannot.
        message = (
            f"task {self.name} asks for {wanted} GPU(s) per node but this machine has {have}: its ranks run on "
            "CPU; use the 'gloo' backend (dist.init_process_group('gloo')), NCCL needs GPUs"
        )
        warnings.warn(message, RuntimeWarning, stacklevel=2)
        logger.warning(message)

    async def open_session(self, *args: Any, **kwargs: Any) -> ElasticSession:
        """Plan the launch for this attempt's target; the ranks start in ``execute``."""
        owner = f"task {self.name}"
        kind, endpoint = self.target()
        plan = launch_plan(self.plugin_config, self.name, kind, endpoint, owner)
        if kind == "endpoint":
            assert endpoint is not None
            try:
                await probe_tcp(endpoint, timeout=PROBE_TIMEOUT_S, hint=_ENDPOINT_HINT)
            except TorchRendezvousUnreachableError:
                raise
            except Exception as e:
                reason = getattr(e, "reason", str(e))
                raise TorchRendezvousUnreachableError(endpoint, reason, hint=_ENDPOINT_HINT) from e
            check_torch()
            return ElasticSession(plan)
        if kind == "local":
            self._check_devices()
            if plan.nodes > 1:
                store, port = _host_store()
                plan.rdzv_endpoint = f"127.0.0.1:{port}"
                return ElasticSession(plan, store=store)
        check_torch()
        return ElasticSession(plan)

    def custom_config(self, sctx: SerializationContext) -> Dict[str, Any]:
        """The flyteidl2 ``DistributedPyTorchTrainingTask`` of this task, as a dict."""
        from flyteidl2.plugins.kubeflow import common_pb2
        from flyteidl2.plugins.kubeflow.pytorch_pb2 import (
            DistributedPyTorchTrainingReplicaSpec,
            DistributedPyTorchTrainingTask,
            ElasticConfig,
        )
        from google.protobuf.json_format import MessageToDict

        cfg = self.plugin_config
        elastic = ElasticConfig(
            rdzv_backend=cfg.rdzv_backend,
            min_replicas=cfg.min_nodes,
            max_replicas=cfg.max_nodes,
            nproc_per_node=cfg.nproc_per_node,
            max_restarts=cfg.max_restarts,
        )
        policy = None
        rp = cfg.run_policy
        if rp is not None:
            policy = common_pb2.RunPolicy(
                clean_pod_policy=(
                    common_pb2.CleanPodPolicy.Value("CLEANPOD_POLICY_" + rp.clean_pod_policy.upper())
                    if rp.clean_pod_policy
                    else None
                ),
                ttl_seconds_after_finished=rp.ttl_seconds_after_finished,
                active_deadline_seconds=rp.active_deadline_seconds,
                backoff_limit=rp.backoff_limit,
            )
        job = DistributedPyTorchTrainingTask(
            worker_replicas=DistributedPyTorchTrainingReplicaSpec(replicas=cfg.max_nodes),
            run_policy=policy,
            elastic_config=elastic,
        )
        return MessageToDict(job)
