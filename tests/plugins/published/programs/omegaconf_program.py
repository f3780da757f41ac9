"""flyteplugins-omegaconf: DictConfig and ListConfig values as task inputs and outputs."""

from __future__ import annotations

from dataclasses import dataclass, field

from omegaconf import DictConfig, ListConfig, OmegaConf

import flyte
from flyteplugins.omegaconf.report import log_yaml


@dataclass
class Optimizer:
    lr: float = 0.01
    momentum: float = 0.9


@dataclass
class Training:
    name: str = "baseline"
    optimizer: Optimizer = field(default_factory=Optimizer)
    layers: list = field(default_factory=lambda: [64, 32])


env = flyte.TaskEnvironment(name="published_omegaconf")


@env.task(report=True)
async def scale_lr(cfg: DictConfig, factor: float) -> DictConfig:
    cfg.optimizer.lr = cfg.optimizer.lr * factor
    await log_yaml.aio(cfg, title="scaled config")
    return cfg


@env.task
async def layer_list(cfg: DictConfig) -> ListConfig:
    return OmegaConf.create(list(cfg.layers) + [cfg.optimizer.lr])


@env.task
async def describe(cfg: DictConfig, layers: ListConfig) -> dict[str, object]:
    return {
        "schema": OmegaConf.get_type(cfg).__name__,
        "lr": cfg.optimizer.lr,
        "layers": list(layers),
        "layers_type": type(layers).__name__,
    }


@env.task
async def pipeline(factor: float) -> dict[str, object]:
    cfg = OmegaConf.structured(Training)
    scaled = await scale_lr(cfg, factor)
    return await describe(scaled, await layer_list(scaled))
