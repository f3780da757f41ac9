"""Plugins written for the published SDK load and run their kind of program on this core.

The plugins (``flyteplugins-polars``, ``-pandera``, ``-omegaconf``, ``-hydra``, ``-jsonl``) are
installed by ./scripts/setup as their READMEs say, with ``pip install --no-deps`` over this core,
into .venv/published-plugins; their own third-party dependencies come from requirements-dev.txt.
One child process, with that folder on its PYTHONPATH, runs programs/run_programs.py: it calls
``flyte.init()`` (which loads the plugins through their ``flyte.plugins.types`` entry points) and
runs one program per plugin through ``flyte.run`` on the local engine. The tests below read its
report. The folder is kept off the suite's own path so that the other tests see the environment
they were written for.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any, Dict

import pytest

from tests.conftest import REPO, subprocess_env

# Where ./scripts/setup installs them (tox's environment says where it put them).
PUBLISHED = Path(os.environ.get("FLYTE_PUBLISHED_PLUGINS") or REPO / ".venv" / "published-plugins")
PROGRAMS = Path(__file__).resolve().parent / "programs"
MARKER = "=== published plugin report ==="

# flyteplugins-omegaconf and flyteplugins-pandera import flyte.report when they load (and
# flyteplugins-hydra needs flyteplugins-omegaconf): without it in this core they cannot load.
HAS_REPORT = importlib.util.find_spec("flyte.report") is not None
NEEDS_REPORT = pytest.mark.skipif(not HAS_REPORT, reason="flyte.report is not part of this core (the plugin imports it)")


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> Dict[str, Any]:
    if not (PUBLISHED / "flyteplugins" / "polars").is_dir():
        pytest.fail(f"{PUBLISHED} holds no published plugins: run ./scripts/setup (it installs them there)")
    work = tmp_path_factory.mktemp("published")
    home = work / "home"
    home.mkdir()
    env = subprocess_env(home, PYTHONPATH=os.pathsep.join([str(PUBLISHED), str(REPO)]))
    env.pop("FLYTE_DISABLE_PLUGIN_AUTOLOAD", None)
    env.pop("FLYTE_PLUGINS", None)
    wanted = ["polars", "jsonl"] + (["pandera", "omegaconf", "hydra"] if HAS_REPORT else [])
    proc = subprocess.run(
        [sys.executable, str(PROGRAMS / "run_programs.py"), str(work), *wanted],
        cwd=str(PROGRAMS),
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
    )
    out = proc.stdout
    assert proc.returncode == 0 and MARKER in out, f"runner failed (rc {proc.returncode}):\n{out[-3000:]}\n{proc.stderr[-3000:]}"
    data = json.loads(out.split(MARKER, 1)[1].strip().splitlines()[0])
    data["raw_root"] = str(home / "data")
    return data


def _program(report: Dict[str, Any], name: str) -> Dict[str, Any]:
    result = report["programs"][name]
    assert result["ok"], f"the {name} program failed: {result['error']}\n{result.get('traceback', '')}"
    return result


def test_published_type_plugins_load_through_their_entry_points(report: Dict[str, Any]) -> None:
    expected = {"flyteplugins.polars", "flyteplugins.jsonl"} | ({"flyteplugins.pandera", "flyteplugins.omegaconf"} if HAS_REPORT else set())
    assert expected <= set(report["loaded_at_init"])
    failed = {k: v for k, v in report["failed_plugins"].items() if HAS_REPORT or k not in ("pandera", "omegaconf")}
    assert failed == {}


def test_polars_dataframe_and_lazyframe_cross_tasks_as_parquet(report: Dict[str, Any]) -> None:
    result = _program(report, "polars")
    assert result["encoders"] == ["DataFrame", "LazyFrame"]
    out = result["result"]
    assert (out["df_type"], out["lf_type"]) == ("DataFrame", "LazyFrame")
    assert (out["b_sum"], out["c_sum"], out["columns"]) == (20, 30, ["a", "b", "a", "c"])
    # The plugin's own encoders wrote the frames: "00000" (DataFrame) and "00000.parquet" (LazyFrame).
    names = sorted(Path(p).name for p in result["written"])
    assert names == ["00000", "00000", "00000.parquet", "00000.parquet"]
    for rel in result["written"]:
        data = (Path(report["raw_root"]) / rel).read_bytes()
        assert data[:4] == b"PAR1" and data[-4:] == b"PAR1", rel


def test_jsonl_files_and_sharded_dirs_cross_tasks(report: Dict[str, Any]) -> None:
    out = _program(report, "jsonl")["result"]
    assert (out["rows_type"], out["shards_type"]) == ("JsonlFile", "JsonlDir")
    assert (out["sq_sum"], out["sq_sum_sync"], out["compressed_sum"], out["shard_sum"]) == (30, 30, 10, 10)


@NEEDS_REPORT
def test_pandera_schema_typed_dataframes_are_validated_between_tasks(report: Dict[str, Any]) -> None:
    result = _program(report, "pandera")
    assert result["total"] == 3.0
    assert result["polars_count"] == 3
    # A frame breaking the schema fails the task that returns it, naming the check and column.
    assert result["bad"].startswith("RuntimeDataValidationError")
    assert "greater_than_or_equal_to(0)" in result["bad"] and "sensor" in result["bad"]


@NEEDS_REPORT
def test_omegaconf_dictconfig_and_listconfig_are_task_inputs_and_outputs(report: Dict[str, Any]) -> None:
    result = _program(report, "omegaconf")
    assert result["transformer"] == "flyteplugins.omegaconf.base_transformer"
    out = result["result"]
    # The structured config's schema survived the plugin's msgpack encoding between tasks.
    assert out == {"schema": "Training", "lr": 0.1, "layers": [64, 32, 0.1], "layers_type": "ListConfig"}


@NEEDS_REPORT
def test_hydra_composes_configs_for_a_run_and_a_sweep_on_the_local_engine(report: Dict[str, Any]) -> None:
    result = _program(report, "hydra")
    assert result["run"] == 3.0  # lr 0.5 (override) * epochs 2 * scale 3
    assert result["sweep"] == [0.1, 0.2, 1.0, 2.0]  # lr {0.1, 0.2} x epochs {1, 10}


def _flyte_hydra(tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    home = tmp_path / "home"
    home.mkdir(exist_ok=True)
    (tmp_path / "conf").mkdir(exist_ok=True)
    sys.path.insert(0, str(PROGRAMS))
    try:
        import hydra_program
    finally:
        sys.path.remove(str(PROGRAMS))
    (tmp_path / "conf" / "training.yaml").write_text(hydra_program.CONFIG)
    # Only the plugins this command needs load (FLYTE_PLUGINS): not pandas, pandera and polars.
    env = subprocess_env(home, PYTHONPATH=str(PUBLISHED), FLYTE_PLUGINS="omegaconf,hydra")
    cmd = [str(Path(sys.executable).parent / "flyte"), "hydra", "run", "--local", "--config-path", "conf", "--config-name", "training"]
    return subprocess.run(
        [*cmd, *args], cwd=str(tmp_path), env=env, capture_output=True, text=True, timeout=120
    )


@NEEDS_REPORT
def test_flyte_hydra_run_command_runs_and_sweeps_on_the_local_engine(tmp_path: Path) -> None:
    program = str(PROGRAMS / "hydra_program.py")
    out = tmp_path / "values.txt"
    one = _flyte_hydra(tmp_path, program, "train_to_file", "--cfg", "optimizer.lr=0.5", "--scale", "3", "--out", str(out))
    assert one.returncode == 0, one.stderr[-2000:]
    sweep = _flyte_hydra(tmp_path, "--multirun", program, "train_to_file", "--cfg", "optimizer.lr=0.1,0.2", "--out", str(out))
    assert sweep.returncode == 0, sweep.stderr[-2000:]
    assert out.read_text().split() == ["3.0", "0.2", "0.4"]


@NEEDS_REPORT
def test_flyte_hydra_run_names_a_missing_task_input(tmp_path: Path) -> None:
    proc = _flyte_hydra(tmp_path, str(PROGRAMS / "hydra_program.py"), "train_to_file")
    assert proc.returncode == 2
    assert "Missing option '--out'" in proc.stderr
    assert "Traceback" not in proc.stderr
