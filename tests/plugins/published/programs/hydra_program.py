"""flyteplugins-hydra: a task given a Hydra-composed config, one run and a sweep on the local engine."""

from __future__ import annotations

from omegaconf import DictConfig

import flyte

env = flyte.TaskEnvironment(name="published_hydra")

CONFIG = """\
optimizer:
  lr: 0.01
training:
  epochs: 2
"""


@env.task
async def train(cfg: DictConfig, scale: int = 1) -> float:
    return float(cfg.optimizer.lr * cfg.training.epochs * scale)


@env.task
async def train_to_file(cfg: DictConfig, out: str, scale: int = 1) -> float:
    """The `flyte hydra run` program: each run appends its value to ``out``."""
    value = float(cfg.optimizer.lr * cfg.training.epochs * scale)
    with open(out, "a") as fh:
        fh.write(f"{value}\n")
    return value
