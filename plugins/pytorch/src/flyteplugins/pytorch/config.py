"""The PyTorch task configuration: pure data, validated, importing nothing heavy.

``Elastic`` and ``RunPolicy`` have the published plugin's fields and defaults; bad values raise
:class:`flyte.errors.ValidationError` naming the field, the value and what is allowed.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any, Dict, Literal, Optional, Tuple, Union

from flyte.errors import TypeValidationError, ValidationError

__all__ = [
    "CLEAN_POD_POLICIES",
    "NODE_RANK_ENV_VAR",
    "RDZV_BACKENDS",
    "RDZV_ENDPOINT_ENV_VAR",
    "RDZV_ID_ENV_VAR",
    "Elastic",
    "RunPolicy",
    "parse_nnodes",
]

RDZV_ENDPOINT_ENV_VAR = "FLYTE_TORCH_RDZV_ENDPOINT"
"""``host:port`` of a c10d rendezvous this process joins as one node of the job."""
RDZV_ID_ENV_VAR = "FLYTE_TORCH_RDZV_ID"
"""Overrides the rendezvous id the nodes of one job agree on."""
NODE_RANK_ENV_VAR = "FLYTE_TORCH_NODE_RANK"
"""Optional node rank of this process in the job (recorded; the c10d store assigns group ranks)."""

RDZV_BACKENDS = ("c10d", "etcd", "etcd-v2")
# The published spellings, and the CRD's value of each.
CLEAN_POD_POLICIES: Dict[str, str] = {"None": "None", "all": "All", "Running": "Running"}

_NNODES_ALLOWED = "an int >= 1 or a 'min:max' string with 1 <= min <= max"


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def parse_nnodes(value: Any, owner: str = "Elastic") -> Tuple[int, int]:
    """``(min_nodes, max_nodes)`` of ``nnodes`` (``2``, ``"2"``, ``"1:4"``); else a ValidationError."""
    if _is_int(value):
        if value < 1:
            raise ValidationError("nnodes", value, _NNODES_ALLOWED, owner=owner)
        return value, value
    if not isinstance(value, str):
        raise TypeValidationError("nnodes", value, _NNODES_ALLOWED, owner=owner)
    text = value.strip()
    parts = text.split(":")
    if len(parts) not in (1, 2) or not all(p.strip().isdigit() for p in parts):
        raise ValidationError("nnodes", value, _NNODES_ALLOWED, owner=owner)
    low, high = int(parts[0]), int(parts[-1])
    if low < 1 or high < low:
        raise ValidationError("nnodes", value, _NNODES_ALLOWED, owner=owner)
    return low, high


def _optional_int(owner: str, name: str, value: Any, minimum: int) -> None:
    if value is None:
        return
    if not _is_int(value):
        raise TypeValidationError(name, value, f"None or an int >= {minimum}", owner=owner)
    if value < minimum:
        raise ValidationError(name, value, f"None or an int >= {minimum}", owner=owner)


@dataclass
class RunPolicy:
    """What the training operator does with a finished or failing ``PyTorchJob``.

    Args:
        clean_pod_policy: Which pods to delete when the job ends: ``"None"``, ``"all"`` or
            ``"Running"`` (the published spellings; the manifest gets ``None``/``All``/``Running``).
            None: the operator's default (``None``).
        ttl_seconds_after_finished: Seconds after which a finished job is deleted.
        active_deadline_seconds: Seconds the job may run before it is terminated (> 0).
        backoff_limit: Retries before the job is marked failed.
    """

    clean_pod_policy: Optional[Literal["None", "all", "Running"]] = None
    ttl_seconds_after_finished: Optional[int] = None
    active_deadline_seconds: Optional[int] = None
    backoff_limit: Optional[int] = None

    def __post_init__(self) -> None:
        owner = "RunPolicy"
        if self.clean_pod_policy is not None and self.clean_pod_policy not in CLEAN_POD_POLICIES:
            raise ValidationError(
                "clean_pod_policy", self.clean_pod_policy, "None or one of 'None', 'all', 'Running'", owner=owner
            )
        _optional_int(owner, "ttl_seconds_after_finished", self.ttl_seconds_after_finished, 0)
        _optional_int(owner, "active_deadline_seconds", self.active_deadline_seconds, 1)
        _optional_int(owner, "backoff_limit", self.backoff_limit, 0)

    @property
    def crd_clean_pod_policy(self) -> str:
        """The ``runPolicy.cleanPodPolicy`` of the manifest (``None`` when unset)."""
        return CLEAN_POD_POLICIES[self.clean_pod_policy or "None"]


@dataclass
class Elastic:
    """Run a task's function as torch-distributed ranks under torch's elastic agent.

    Locally (no rendezvous endpoint) the ranks run on this machine: ``nproc_per_node`` worker
    processes per node, ``nnodes`` nodes (the maximum of a ``"min:max"`` range) meeting at a
    c10d rendezvous on 127.0.0.1. With ``FLYTE_TORCH_RDZV_ENDPOINT=host:port`` this process is one
    node of a job whose nodes meet there; inside a training-operator pod it joins the job as the
    operator configured it. On Kubernetes ``nnodes > 1`` is a Kubeflow ``PyTorchJob``.

    Args:
        nnodes: Number of nodes, an int or a ``"min:max"`` range (elastic).
        nproc_per_node: Worker processes (ranks) per node, >= 1.
        rdzv_backend: ``"c10d"`` (default), ``"etcd"`` or ``"etcd-v2"``.
        run_policy: The operator's :class:`RunPolicy` of the ``PyTorchJob``.
        monitor_interval: Seconds between the agent's checks of its workers (> 0).
        max_restarts: Restarts of the worker group before the task fails (>= 0).
        rdzv_configs: Rendezvous settings (``timeout``, ``join_timeout`` in seconds, ...).
        nccl_heartbeat_timeout_sec: ``TORCH_NCCL_HEARTBEAT_TIMEOUT_SEC`` of the ranks (None: torch's).
        nccl_async_error_handling: Set ``TORCH_NCCL_ASYNC_ERROR_HANDLING=1`` in the ranks.
        nccl_collective_timeout_sec: Default timeout of NCCL collectives (None: torch's).
        nccl_enable_monitoring: Set ``TORCH_NCCL_ENABLE_MONITORING=1`` in the ranks.
    """

    nnodes: Union[int, str]
    nproc_per_node: int
    rdzv_backend: Literal["c10d", "etcd", "etcd-v2"] = "c10d"
    run_policy: Optional[RunPolicy] = None
    monitor_interval: int = 3
    max_restarts: int = 3
    rdzv_configs: Dict[str, Any] = field(default_factory=lambda: {"timeout": 900, "join_timeout": 900})
    nccl_heartbeat_timeout_sec: Optional[int] = 300
    nccl_async_error_handling: bool = False
    nccl_collective_timeout_sec: Optional[int] = None
    nccl_enable_monitoring: bool = True

    def __post_init__(self) -> None:
        owner = "Elastic"
        parse_nnodes(self.nnodes, owner)
        if not _is_int(self.nproc_per_node):
            raise TypeValidationError("nproc_per_node", self.nproc_per_node, "an int >= 1", owner=owner)
        if self.nproc_per_node < 1:
            raise ValidationError("nproc_per_node", self.nproc_per_node, "an int >= 1", owner=owner)
        if self.rdzv_backend not in RDZV_BACKENDS:
            raise ValidationError("rdzv_backend", self.rdzv_backend, "one of 'c10d', 'etcd', 'etcd-v2'", owner=owner)
        if self.run_policy is not None and not isinstance(self.run_policy, RunPolicy):
            raise TypeValidationError("run_policy", self.run_policy, "None or a RunPolicy", owner=owner)
        interval = self.monitor_interval
        if isinstance(interval, bool) or not isinstance(interval, (int, float)) or not interval > 0:
            raise ValidationError("monitor_interval", interval, "a number of seconds > 0", owner=owner)
        if not _is_int(self.max_restarts) or self.max_restarts < 0:
            raise ValidationError("max_restarts", self.max_restarts, "an int >= 0", owner=owner)
        if not isinstance(self.rdzv_configs, dict) or not all(isinstance(k, str) for k in self.rdzv_configs):
            raise TypeValidationError("rdzv_configs", self.rdzv_configs, "a dict with str keys", owner=owner)
        for key in ("timeout", "join_timeout", "last_call_timeout", "close_timeout"):
            if key in self.rdzv_configs:
                value = self.rdzv_configs[key]
                if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
                    raise ValidationError(f"rdzv_configs[{key!r}]", value, "a number of seconds > 0", owner=owner)
        _optional_int(owner, "nccl_heartbeat_timeout_sec", self.nccl_heartbeat_timeout_sec, 1)
        _optional_int(owner, "nccl_collective_timeout_sec", self.nccl_collective_timeout_sec, 1)
        for name in ("nccl_async_error_handling", "nccl_enable_monitoring"):
            if not isinstance(getattr(self, name), bool):
                raise TypeValidationError(name, getattr(self, name), "a bool", owner=owner)

    @property
    def min_nodes(self) -> int:
        """The least number of nodes of the job."""
        return parse_nnodes(self.nnodes)[0]

    @property
    def max_nodes(self) -> int:
        """The most nodes of the job (what runs locally, and the ``PyTorchJob``'s replicas)."""
        return parse_nnodes(self.nnodes)[1]

    @property
    def single_node(self) -> bool:
        """True for ``nnodes == 1``: one pod on Kubernetes, the task type ``python-task``."""
        return parse_nnodes(self.nnodes) == (1, 1)

    def rank_env(self) -> Dict[str, str]:
        """The NCCL environment the ranks get from this config (values the user set win)."""
        env: Dict[str, str] = {}
        if self.nccl_heartbeat_timeout_sec is not None:
            env["TORCH_NCCL_HEARTBEAT_TIMEOUT_SEC"] = str(self.nccl_heartbeat_timeout_sec)
        if self.nccl_async_error_handling:
            env["TORCH_NCCL_ASYNC_ERROR_HANDLING"] = "1"
        if self.nccl_enable_monitoring:
            env["TORCH_NCCL_ENABLE_MONITORING"] = "1"
        if self.nccl_collective_timeout_sec is not None:
            env["FLYTE_NCCL_COLLECTIVE_TIMEOUT_SEC"] = str(self.nccl_collective_timeout_sec)
        return {k: v for k, v in env.items() if k not in os.environ}
