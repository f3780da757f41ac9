"""The worked example plugin, installed with pip into a fresh virtual environment, runs a task."""

from __future__ import annotations

import os
import subprocess
import sys
import venv
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "plugin_example"


@pytest.fixture(scope="module")
def example_venv(tmp_path_factory) -> Path:
    where = tmp_path_factory.mktemp("example-venv") / "venv"
    venv.EnvBuilder(with_pip=True, system_site_packages=False).create(where)
    py = where / "bin" / "python"
    proc = subprocess.run(
        [str(py), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", str(ROOT / "core"), str(EXAMPLE)],
        capture_output=True, text=True, timeout=600,
    )
    if proc.returncode != 0:
        pytest.fail(f"pip install failed:\n{proc.stdout}\n{proc.stderr}")
    return py


def _env(tmp_path: Path) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("FLYTE_", "PYTHONPATH"))}
    env["FLYTE_HOME"] = str(tmp_path / "home")
    return env


def test_example_plugin_runs_a_task_in_a_fresh_venv(example_venv, tmp_path):
    proc = subprocess.run(
        [str(example_venv), str(EXAMPLE / "use_scratch.py")],
        capture_output=True, text=True, timeout=120, cwd=tmp_path, env=_env(tmp_path),
    )
    assert proc.returncode == 0, proc.stderr
    assert "share: 1/12" in proc.stdout  # Fraction(1, 3) / 4, exact through the plugin's transformer
    assert "usage: 1234" in proc.stdout  # post() replaced the output with the scratch usage


def test_example_plugin_is_found_only_through_entry_points_and_loads_lazily(example_venv, tmp_path):
    code = (
        "import sys, importlib.metadata as md\n"
        "import flyte\n"
        "assert 'flyte_plugin_scratch' not in sys.modules\n"
        "from flyte_plugin_scratch import ScratchConfig\n"
        "assert 'flyte_plugin_scratch.task' not in sys.modules, 'config must not import the runtime'\n"
        "env = flyte.TaskEnvironment(name='e', plugin_config=ScratchConfig())\n"
        "@env.task\n"
        "def f() -> int:\n    return 1\n"
        "print(type(f).__name__, f.task_type)\n"
        "print(sorted(ep.name for ep in md.entry_points(group='flyte.plugins.tasks')))\n"
    )
    proc = subprocess.run(
        [str(example_venv), "-c", code], capture_output=True, text=True, timeout=120, cwd=tmp_path, env=_env(tmp_path)
    )
    assert proc.returncode == 0, proc.stderr
    assert "ScratchTask scratch" in proc.stdout
    assert "flyte_plugin_scratch.config.ScratchConfig" in proc.stdout
