"""flyte-plugin-pytorch: torch-distributed ranks on this machine, across machines, or as a Kubeflow PyTorchJob.

Give a ``TaskEnvironment`` an :class:`Elastic` config and write an ordinary torch-distributed
function::

    import flyte
    from flyteplugins.pytorch import Elastic

    env = flyte.TaskEnvironment(name="ddp", plugin_config=Elastic(nnodes=1, nproc_per_node=2))

    @env.task
    def train(steps: int) -> float:
        import torch.distributed as dist
        dist.init_process_group("gloo")
        ...

Only the configuration is imported here (pure data); ``torch`` itself is imported when a PyTorch
task first runs.
"""

from flyteplugins.pytorch.config import Elastic, RunPolicy

__all__ = ["Elastic", "RunPolicy"]
