"""Installed as a new user would: a fresh virtual environment, the packages from this repository.

Core's distribution is ``flyte-sdk-core``; a plugin installed from this repository must end up on
that core, never on the published SDK (distribution ``flyte``) fetched from an index. Third-party
dependencies (numpy, pandas, ...) come from the package index (or pip's cache).
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
_IGNORE = shutil.ignore_patterns("build", "dist", "*.egg-info", "__pycache__", ".pytest_cache")


def _run(*cmd: object, check: bool = True, timeout: float = 600) -> subprocess.CompletedProcess:
    out = subprocess.run([str(c) for c in cmd], capture_output=True, text=True, timeout=timeout)
    if check and out.returncode != 0:
        raise AssertionError(f"{' '.join(map(str, cmd))} exited {out.returncode}:\n{out.stdout[-3000:]}\n{out.stderr[-3000:]}")
    return out


@pytest.fixture(scope="module")
def sources(tmp_path_factory) -> Path:
    """Copies of the packages, so building them leaves nothing in the repository."""
    root = tmp_path_factory.mktemp("src")
    for rel in ("core", "plugins/types"):
        shutil.copytree(ROOT / rel, root / rel, ignore=_IGNORE)
    return root


@pytest.fixture(scope="module")
def venv(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("venv") / "v"
    _run(sys.executable, "-m", "venv", path)  # no --system-site-packages: nothing of ours leaks in
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.mark.timeout(900)
def test_a_plugin_with_its_core_installs_on_this_core_and_never_the_published_sdk(sources: Path, venv: Path):
    py = venv / "bin" / "python"
    pip = [py, "-m", "pip", "--disable-pip-version-check"]

    # Alone, the plugin cannot be satisfied by the published SDK: its core has a name of its own.
    alone = _run(*pip, "install", sources / "plugins" / "types", check=False)
    assert alone.returncode != 0
    assert "flyte-sdk-core" in alone.stdout + alone.stderr
    assert _run(*pip, "show", "flyte", check=False).returncode != 0  # nothing pulled the published SDK

    _run(*pip, "install", sources / "core", sources / "plugins" / "types")
    assert _run(*pip, "show", "flyte", check=False).returncode != 0
    shown = _run(*pip, "show", "flyte-sdk-core").stdout
    assert "Name: flyte-sdk-core" in shown and "Version: 0.1.0" in shown

    check = (
        "import importlib.metadata as m, sys, flyte, flyte.extend\n"
        "assert flyte.__file__.startswith(sys.prefix), flyte.__file__\n"
        "assert m.version('flyte-sdk-core') == flyte.__version__\n"
        "flyte.extend.require_core('flyte-plugin-types', '>=0.1,<0.2', package='flyteplugins.types')\n"
        "import flyteplugins.types.hooks\n"
        "print('ours', flyte.__version__)\n"
    )
    env_check = _run(py, "-W", "error::UserWarning", "-c", check)
    assert env_check.stdout.strip() == "ours 0.1.0"
    version = _run(venv / "bin" / "flyte", "--version")
    assert version.stdout.strip() == "flyte 0.1.0"

