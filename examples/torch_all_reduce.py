"""Two gloo ranks on this machine: each contributes its rank + 1 and all_reduce sums them.

Runs as real ranks here (torch's elastic agent starts them), and unchanged in one Kubernetes pod::

    flyte run examples/torch_all_reduce.py all_reduce --scale 1.0     # -> 3.0 (1 + 2)
    flyte deploy --dry-run --all --output manifests/ examples/torch_all_reduce.py   # a plain pod
"""

import flyte
from flyteplugins.pytorch import Elastic

env = flyte.TaskEnvironment(name="torch_all_reduce", plugin_config=Elastic(nnodes=1, nproc_per_node=2))


@env.task
def all_reduce(scale: float = 1.0) -> float:
    """Sum of ``scale * (rank + 1)`` over every rank (rank 0's value is the task's output)."""
    import torch
    import torch.distributed as dist

    dist.init_process_group("gloo")  # RANK, WORLD_SIZE, MASTER_ADDR/PORT come from the launcher
    try:
        value = torch.tensor([scale * (dist.get_rank() + 1)])
        dist.all_reduce(value)
        print(f"rank {dist.get_rank()} of {dist.get_world_size()}: {value.item()}")
        return float(value.item())
    finally:
        dist.destroy_process_group()
