"""Tasks the PyTorch plugin tests run (an importable module: the ranks import it)."""

from __future__ import annotations

import os
import time
from typing import Dict, List

import flyte
from flyteplugins.pytorch import Elastic

two_ranks = flyte.TaskEnvironment(name="torch_two", plugin_config=Elastic(nnodes=1, nproc_per_node=2, monitor_interval=1))
restarting = flyte.TaskEnvironment(
    name="torch_restart", plugin_config=Elastic(nnodes=1, nproc_per_node=2, max_restarts=1, monitor_interval=1)
)
failing = flyte.TaskEnvironment(
    name="torch_fail", plugin_config=Elastic(nnodes=1, nproc_per_node=2, max_restarts=0, monitor_interval=1)
)
two_nodes = flyte.TaskEnvironment(
    name="torch_nodes", plugin_config=Elastic(nnodes="1:2", nproc_per_node=1, monitor_interval=1)
)
gpu_env = flyte.TaskEnvironment(
    name="torch_gpu", plugin_config=Elastic(nnodes=1, nproc_per_node=2, monitor_interval=1),
    resources=flyte.Resources(gpu=1),
)

_KEYS = ("RANK", "LOCAL_RANK", "WORLD_SIZE", "GROUP_RANK", "MASTER_ADDR", "MASTER_PORT", "FLYTE_TORCH_NODE_RANK")


def _env() -> Dict[str, str]:
    return {k: os.environ.get(k, "") for k in _KEYS}


def _all_reduce(value: float) -> List[float]:
    import torch
    import torch.distributed as dist

    dist.init_process_group("gloo")
    try:
        t = torch.tensor([value * (dist.get_rank() + 1)])
        dist.all_reduce(t)
        return [float(t.item()), float(dist.get_world_size())]
    finally:
        dist.destroy_process_group()


@two_ranks.task
def all_reduce(x: float) -> Dict[str, str]:
    """Sum of x * (rank + 1) over the ranks; rank 0's environment."""
    total, world = _all_reduce(x)
    print(f"rank {os.environ['RANK']} says hello", flush=True)
    return {**_env(), "total": str(total), "world": str(world), "pid": str(os.getpid())}


@gpu_env.task
async def async_all_reduce(x: float) -> float:
    """An async body (and a GPU ask on a machine without GPUs)."""
    return _all_reduce(x)[0]


@restarting.task
def fails_once(marker_dir: str) -> int:
    """Rank 1 fails in the first round only; returns the restart count rank 0 saw."""
    restart = int(os.environ.get("TORCHELASTIC_RESTART_COUNT", "0"))
    with open(os.path.join(marker_dir, f"pid-{os.getpid()}"), "w"):
        pass
    if os.environ["RANK"] == "1" and restart == 0:
        raise RuntimeError("first round fails")
    return restart


@failing.task
def rank_one_fails() -> int:
    print(f"rank {os.environ['RANK']} before the failure", flush=True)
    if os.environ["RANK"] == "1":
        raise ValueError("rank one cannot go on")
    time.sleep(30)
    return 0


@two_ranks.task
def sleeps(marker_dir: str, seconds: float) -> int:
    """Writes its pid, then sleeps (for timeout and Ctrl-C tests)."""
    with open(os.path.join(marker_dir, f"pid-{os.getpid()}"), "w"):
        pass
    time.sleep(seconds)
    return 0


@two_nodes.task
def nodes() -> Dict[str, str]:
    total, world = _all_reduce(1.0)
    return {**_env(), "total": str(total), "world": str(world)}

