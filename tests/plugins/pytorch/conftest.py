"""Fixtures of the PyTorch plugin tests: no rendezvous endpoint or operator environment leaks in.

Ranks and agents are real processes; every test that starts them checks with
``no_leaked_processes`` (and by the ranks' own PIDs) that none outlives the task.
"""

from __future__ import annotations

import pytest

_VARS = (
    "FLYTE_TORCH_RDZV_ENDPOINT", "FLYTE_TORCH_RDZV_ID", "FLYTE_TORCH_NODE_RANK", "PET_RDZV_ENDPOINT", "PET_NNODES",
    "PET_NPROC_PER_NODE", "PET_RDZV_BACKEND", "PET_NODE_RANK", "PET_RDZV_ID", "PET_MAX_RESTARTS", "MASTER_ADDR",
    "MASTER_PORT", "RANK", "WORLD_SIZE",
)


@pytest.fixture(autouse=True)
def no_torch_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every test starts as on a laptop: no endpoint, no operator variables."""
    for var in _VARS:
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("FLYTE_TORCH_IDLE_TIMEOUT", "0")
