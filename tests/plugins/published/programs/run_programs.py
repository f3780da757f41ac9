"""Run one program per published plugin on the local engine; print what happened as JSON.

Started by tests/plugins/published/test_published_plugins.py in a child process whose
PYTHONPATH holds the published plugins (installed by scripts/setup with ``--no-deps`` into
.venv/published-plugins), so that they are found the way a user's environment finds them:
through their ``flyte.plugins.types`` entry points, at ``flyte.init()``.

Usage: run_programs.py WORKDIR PLUGIN...   (the last line of stdout is the JSON report)
"""

from __future__ import annotations

import json
import os
import sys
import traceback
from pathlib import Path
from typing import Any, Callable, Dict

MARKER = "=== published plugin report ==="


def _error(e: BaseException) -> Dict[str, Any]:
    return {"error": f"{type(e).__name__}: {e}", "traceback": traceback.format_exc(limit=8)}


def _raw_files(suffix: str = "") -> list:
    root = Path(os.environ["FLYTE_RAW_DATA_PATH"])
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file() and p.name.endswith(suffix))


def run_polars() -> Dict[str, Any]:
    import polars as pl

    import flyte
    from flyte.io.extend import DataFrameTransformerEngine

    import polars_program

    before = set(_raw_files())
    out = flyte.run(polars_program.pipeline, n=5).outputs()[0]
    written = sorted(set(_raw_files()) - before)
    return {
        "result": out,
        "encoders": sorted(t.__name__ for t in DataFrameTransformerEngine.ENCODERS if t in (pl.DataFrame, pl.LazyFrame)),
        "written": written,
    }


def run_pandera() -> Dict[str, Any]:
    import flyte

    import pandera_program

    report: Dict[str, Any] = {"total": flyte.run(pandera_program.pipeline, n=4).outputs()[0]}
    try:
        flyte.run(pandera_program.bad_readings)
        report["bad"] = "accepted"
    except Exception as e:  # the schema's check fails: the run must fail naming it
        report["bad"] = f"{type(e).__name__}: {e}"
    report["polars_count"] = flyte.run(pandera_program.polars_pipeline, n=3).outputs()[0]
    return report


def run_omegaconf() -> Dict[str, Any]:
    from omegaconf import DictConfig

    import flyte
    from flyte.types import TypeEngine

    import omegaconf_program

    return {
        "transformer": type(TypeEngine.get_transformer(DictConfig)).__module__,
        "result": flyte.run(omegaconf_program.pipeline, factor=10.0).outputs()[0],
    }


def run_jsonl() -> Dict[str, Any]:
    import flyte

    import jsonl_program

    return {"result": flyte.run(jsonl_program.pipeline, n=5).outputs()[0]}


def run_hydra() -> Dict[str, Any]:
    from flyteplugins.hydra import hydra_run, hydra_sweep

    import hydra_program

    conf = Path.cwd() / "conf"
    conf.mkdir(exist_ok=True)
    (conf / "training.yaml").write_text(hydra_program.CONFIG)
    one = hydra_run(
        hydra_program.train, config_path=str(conf), config_name="training", overrides=["optimizer.lr=0.5"], mode="local", scale=3
    )
    sweep = hydra_sweep(
        hydra_program.train,
        config_path=str(conf),
        config_name="training",
        overrides=["optimizer.lr=0.1,0.2", "training.epochs=1,10"],
        mode="local",
    )
    return {"run": one.outputs()[0], "sweep": sorted(r.outputs()[0] for r in sweep)}


PROGRAMS: Dict[str, Callable[[], Dict[str, Any]]] = {
    "polars": run_polars,
    "pandera": run_pandera,
    "omegaconf": run_omegaconf,
    "jsonl": run_jsonl,
    "hydra": run_hydra,
}


def main(argv: list) -> int:
    workdir, wanted = Path(argv[1]), argv[2:] or list(PROGRAMS)
    os.chdir(workdir)  # hydra writes its outputs/ and multirun/ folders here
    import flyte
    from flyte._plugins.manager import failed_plugins

    flyte.init()  # loads the flyte.plugins.types entry points, as a user's program does
    report: Dict[str, Any] = {
        "failed_plugins": {f.name: f.error for f in failed_plugins()},
        "loaded_at_init": sorted(m for m in sys.modules if m.startswith("flyteplugins.") and m.count(".") == 1),
        "programs": {},
    }
    for name in wanted:
        try:
            report["programs"][name] = {"ok": True, **PROGRAMS[name]()}
        except BaseException as e:  # noqa: BLE001 - every failure is reported, the next program still runs
            report["programs"][name] = {"ok": False, **_error(e)}
    print(MARKER)
    print(json.dumps(report, default=repr))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
