"""Benchmark: first-use cost of plugin discovery with 50 fake plugin entry points installed.

Installs 50 fake distributions (25 task plugins, 25 type plugins) on ``sys.path``, then times,
in a fresh plugin manager each round:

* ``baseline``: one plain ``importlib.metadata.entry_points()`` call (the floor: listing
  installed entry points at all);
* ``task``: resolving a task class for a plugin's config type on first use (list entry points
  once, import the plugin's hook module, run its hook);
* ``types``: loading the type plugins on first use (list, import and call each of the 25).

Prints the median of each and its ratio to the baseline. Run: ``python bench/plugin_discovery.py``.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.metadata as md
import statistics
import sys
import tempfile
import time
from pathlib import Path

N_TASK = 25
N_TYPE = 25

CONFIG = "from dataclasses import dataclass\n\n@dataclass\nclass Cfg{i}:\n    n: int = 0\n"
HOOKS = (
    "from dataclasses import dataclass\n"
    "from flyte.extend import AsyncFunctionTaskTemplate, hookimpl\n"
    "from benchtask{i}.config import Cfg{i}\n\n"
    "@dataclass(kw_only=True)\nclass Task{i}(AsyncFunctionTaskTemplate):\n    task_type: str = 'bench{i}'\n\n"
    "@hookimpl\ndef flyte_register_task_plugins(registry):\n    registry.register(Cfg{i}, Task{i})\n"
)
TYPE = "REGISTERED = []\n\ndef register():\n    REGISTERED.append(1)\n"


def install(root: Path) -> None:
    from flyte.testing import fake_distribution

    for i in range(N_TASK):
        fake_distribution(
            root, f"bench-task-{i}",
            entry_points={"flyte.plugins.tasks": {f"benchtask{i}.config.Cfg{i}": f"benchtask{i}.hooks"}},
            modules={f"benchtask{i}/__init__.py": "", f"benchtask{i}/config.py": CONFIG.format(i=i),
                     f"benchtask{i}/hooks.py": HOOKS.format(i=i)},
        )
    for i in range(N_TYPE):
        fake_distribution(
            root, f"bench-type-{i}",
            entry_points={"flyte.plugins.types": {f"benchtype{i}": f"benchtype{i}:register"}},
            modules={f"benchtype{i}.py": TYPE},
        )


def one_round(root: Path, i: int) -> tuple:
    from flyte._plugins.manager import clear_entry_point_cache
    from flyte._plugins.resolve import resolve_task_class
    from flyte.testing import isolated_plugins

    sys.path.insert(0, str(root))
    t0 = time.perf_counter()
    listed = md.entry_points()
    baseline = time.perf_counter() - t0
    assert len(listed.select(group="flyte.plugins.types")) >= N_TYPE

    with isolated_plugins(root / "sandbox") as sandbox:
        try:
            clear_entry_point_cache()
            cfg = importlib.import_module(f"benchtask{i}.config")
            config = getattr(cfg, f"Cfg{i}")()
            t0 = time.perf_counter()
            cls = resolve_task_class(config)
            task = time.perf_counter() - t0
            assert cls.task_type == f"bench{i}", cls
            t0 = time.perf_counter()
            sandbox.manager.load_type_plugins()
            types_t = time.perf_counter() - t0
            assert not sandbox.manager.failed_plugins(), sandbox.manager.failed_plugins()
        finally:
            sys.path.remove(str(root))
            for name in [m for m in sys.modules if m.startswith(("benchtask", "benchtype"))]:
                del sys.modules[name]
    return baseline, task, types_t


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=15)
    args = parser.parse_args()
    import flyte.types  # noqa: F401 - the type engine is part of every real run; keep it out of the timings

    with tempfile.TemporaryDirectory() as d:
        root = Path(d)
        install(root)
        rows = [one_round(root, r % N_TASK) for r in range(args.rounds)]
    base, task, types_t = (statistics.median(col) for col in zip(*rows))
    print(f"fake entry points installed: {N_TASK + N_TYPE} ({N_TASK} task, {N_TYPE} type); rounds: {args.rounds}")
    print(f"baseline  importlib.metadata.entry_points(): {base * 1e3:8.2f} ms  (1.00x)")
    print(f"task      resolve_task_class, first use:     {task * 1e3:8.2f} ms  ({task / base:.2f}x baseline)")
    print(f"types     load_type_plugins (25), first use: {types_t * 1e3:8.2f} ms  ({types_t / base:.2f}x baseline)")


if __name__ == "__main__":
    main()
