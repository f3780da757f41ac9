"""A small DistributedDataParallel training loop on random data, on 2 gloo ranks.

Each rank trains on its own shard of a synthetic regression problem; DDP averages gradients
across ranks, and the task returns rank 0's final loss::

    flyte run examples/torch_ddp.py train --epochs 5
"""

import flyte
from flyteplugins.pytorch import Elastic, RunPolicy

env = flyte.TaskEnvironment(
    name="torch_ddp",
    plugin_config=Elastic(nnodes=1, nproc_per_node=2, max_restarts=1, run_policy=RunPolicy(clean_pod_policy="all")),
    resources=flyte.Resources(cpu=2, memory="2Gi"),
)


@env.task
def train(epochs: int = 5, batch_size: int = 32, lr: float = 0.05) -> float:
    """Fit ``y = x @ w + b`` with DDP; returns the final mean squared error of rank 0."""
    import torch
    import torch.distributed as dist
    from torch.nn.parallel import DistributedDataParallel as DDP
    from torch.utils.data import DataLoader, TensorDataset
    from torch.utils.data.distributed import DistributedSampler

    dist.init_process_group("gloo")
    try:
        torch.manual_seed(0)  # the same data on every rank; the sampler gives each its shard
        x = torch.randn(512, 8)
        y = x @ torch.randn(8, 1) + 0.1 * torch.randn(512, 1)
        data = TensorDataset(x, y)
        sampler = DistributedSampler(data, num_replicas=dist.get_world_size(), rank=dist.get_rank())
        loader = DataLoader(data, batch_size=batch_size, sampler=sampler)
        model = DDP(torch.nn.Linear(8, 1))
        optimizer = torch.optim.SGD(model.parameters(), lr=lr)
        loss_fn = torch.nn.MSELoss()
        loss = torch.tensor(0.0)
        for epoch in range(epochs):
            sampler.set_epoch(epoch)
            for xb, yb in loader:
                optimizer.zero_grad()
                loss = loss_fn(model(xb), yb)
                loss.backward()  # gradients are all-reduced across the ranks here
                optimizer.step()
            if dist.get_rank() == 0:
                print(f"epoch {epoch}: loss {loss.item():.4f}")
        return float(loss.item())
    finally:
        dist.destroy_process_group()
