"""Tasks the PyTorch plugin tests run (an importable module: the ranks import it)."""

from __future__ import annotations

import os
import time
from typing import Dict, List

import flyte
from flyteplugins.pytorch import Elastic

two_ranks = flyte.TaskEnvironment(name="torch_two", plugin_config=Elastic(nnodes=1, nproc_per_node=2, monitor_interval=1))
failing = flyte.TaskEnvironment(
    name="torch_fail", plugin_config=Elastic(nnodes=1, nproc_per_node=2, max_restarts=1, monitor_interval=1)
)
# Two nodes, asking for a GPU each (this machine has none: the ranks run on CPU, with a warning).
two_nodes = flyte.TaskEnvironment(
    name="torch_nodes", plugin_config=Elastic(nnodes="1:2", nproc_per_node=1, monitor_interval=1),
    resources=flyte.Resources(gpu=1),
)
# One node of a two-node job whose nodes meet at FLYTE_TORCH_RDZV_ENDPOINT.
joining = flyte.TaskEnvironment(
    name="torch_join", plugin_config=Elastic(nnodes=2, nproc_per_node=1, monitor_interval=1,
                                            rdzv_configs={"timeout": 60, "join_timeout": 60}),
)

_KEYS = (
    "RANK", "LOCAL_RANK", "WORLD_SIZE", "GROUP_RANK", "MASTER_ADDR", "MASTER_PORT", "FLYTE_TORCH_NODE_RANK",
    "FLYTE_TORCH_TARGET",
)


def _env() -> Dict[str, str]:
    return {k: os.environ.get(k, "") for k in _KEYS}


def _all_reduce(value: float, of_group_rank: bool = False) -> List[float]:
    import torch
    import torch.distributed as dist

    dist.init_process_group("gloo")
    try:
        t = torch.tensor([value * (dist.get_rank() + 1)])
        dist.all_reduce(t)
        groups = torch.tensor([float(os.environ["GROUP_RANK"])])
        dist.all_reduce(groups)
        return [float(t.item()), float(dist.get_world_size()), float(groups.item())]
    finally:
        dist.destroy_process_group()


@two_ranks.task
def all_reduce(x: float) -> Dict[str, str]:
    """Sum of x * (rank + 1) over the ranks; rank 0's environment."""
    total, world, _ = _all_reduce(x)
    print(f"rank {os.environ['RANK']} says hello", flush=True)
    return {**_env(), "total": str(total), "world": str(world), "pid": str(os.getpid())}


@failing.task
def rank_one_fails(marker_dir: str) -> int:
    """Rank 1 fails in every round (max_restarts=1: two rounds); rank 0 waits to be stopped."""
    restart = os.environ.get("TORCHELASTIC_RESTART_COUNT", "?")
    with open(os.path.join(marker_dir, f"pid-{os.getpid()}-round-{restart}"), "w"):
        pass
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
async def nodes() -> Dict[str, str]:
    """An async body on two local nodes."""
    total, world, groups = _all_reduce(1.0)
    return {**_env(), "total": str(total), "world": str(world), "group_rank_sum": str(groups)}


@joining.task
def join() -> Dict[str, str]:
    total, world, groups = _all_reduce(1.0)
    print(f"joined: target {os.environ['FLYTE_TORCH_TARGET']} world {int(world)} group ranks {int(groups)}", flush=True)
    return {**_env(), "total": str(total), "world": str(world), "group_rank_sum": str(groups)}


@two_ranks.task
def where() -> str:
    """Prints where the ranks run (the operator-pod test reads it)."""
    line = f"target={os.environ['FLYTE_TORCH_TARGET']} world={os.environ['WORLD_SIZE']} rank={os.environ['RANK']}"
    print(line, flush=True)
    return line

