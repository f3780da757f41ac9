"""Shared test isolation: every test gets its own flyte home, store and raw data path."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(autouse=True)
def isolated_flyte_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Point FLYTE_HOME, the local store and raw data at a temp dir; forget any init()."""
    home = tmp_path / "flyte-home"
    home.mkdir()
    monkeypatch.setenv("FLYTE_HOME", str(home))
    monkeypatch.setenv("FLYTE_LOCAL_STORE", str(home / "local.db"))
    monkeypatch.setenv("FLYTE_RAW_DATA_PATH", str(home / "data"))
    for var in ("FLYTE_CONFIG", "FLYTE_LOCAL_PERSISTENCE", "FLYTE_PROJECT", "FLYTE_DOMAIN"):
        monkeypatch.delenv(var, raising=False)
    import flyte._initialize as init_mod

    init_mod.reset()
    yield home
    init_mod.reset()


@pytest.fixture
def repo_root() -> Path:
    return REPO


@pytest.fixture
def venv_bin() -> Path:
    return REPO / ".venv" / "bin"


def subprocess_env(home: Path, **extra: str) -> dict:
    """Environment for a child process that uses the same isolated flyte home."""
    env = dict(os.environ)
    env.update(
        FLYTE_HOME=str(home),
        FLYTE_LOCAL_STORE=str(home / "local.db"),
        FLYTE_RAW_DATA_PATH=str(home / "data"),
        PYTHONUNBUFFERED="1",
    )
    env.update(extra)
    return env
