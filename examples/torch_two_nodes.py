"""Two-node torch code, tried on one machine: two elastic agents meet at a local c10d rendezvous.

On this machine both nodes start here; across machines each runs one node and joins a
rendezvous; on Kubernetes it is a ``PyTorchJob`` with two workers::

    flyte run examples/torch_two_nodes.py world
    # on two machines: one serves the store, both join it
    python -m flyteplugins.pytorch.rendezvous --port 29400                        # machine A
    FLYTE_TORCH_RDZV_ENDPOINT=machine-a:29400 flyte run examples/torch_two_nodes.py world   # A and B
    flyte deploy --dry-run --all --output manifests/ examples/torch_two_nodes.py     # PyTorchJob
"""

from typing import Dict

import flyte
from flyteplugins.pytorch import Elastic

env = flyte.TaskEnvironment(name="torch_two_nodes", plugin_config=Elastic(nnodes=2, nproc_per_node=1))


@env.task
def world() -> Dict[str, int]:
    """World size, this rank's node (GROUP_RANK) and the sum of every rank's node + 1."""
    import os

    import torch
    import torch.distributed as dist

    dist.init_process_group("gloo")
    try:
        node = int(os.environ["GROUP_RANK"])
        total = torch.tensor([node + 1])
        dist.all_reduce(total)
        print(f"rank {dist.get_rank()} on node {node}")
        return {"world_size": dist.get_world_size(), "node": node, "sum": int(total.item())}
    finally:
        dist.destroy_process_group()
