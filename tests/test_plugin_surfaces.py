"""Each plugin's public surface is pinned: its ``__all__`` both ways, and the published module paths.

Adding or removing a public name of a plugin is a decision: it is made here, in the pin.
Importing a plugin package (or its published submodule paths) imports no engine library.
"""

from __future__ import annotations

import importlib
import subprocess
import sys
import types

import pytest

PINNED = {
    "flyteplugins.ray": {"AutoscalerOptionsConfig", "HeadNodeConfig", "RayJobConfig", "WorkerNodeConfig"},
    "flyteplugins.ray.task": {
        "IN_RAY_JOB_ENV_VAR",
        "AutoscalerOptionsConfig",
        "HeadNodeConfig",
        "RayFunctionTask",
        "RayJobConfig",
        "WorkerNodeConfig",
        "target_address",
    },
    "flyteplugins.types": set(),
    "flyteplugins.app": {"FastAPIAppEnvironment"},
    "flyteplugins.pytorch": {"Elastic", "RunPolicy"},
    "flyteplugins.pytorch.task": {
        "IN_JOB_ENV_VARS",
        "Elastic",
        "RankFailedError",
        "RunPolicy",
        "TorchFunctionTask",
        "TorchNotInstalledError",
        "TorchRendezvousUnreachableError",
        "launch_plan",
    },
    "flyteplugins.spark": {"ParquetToSparkDecoder", "Spark", "SparkToParquetEncoder", "register_spark_df_transformers"},
    "flyteplugins.spark.task": {"DEFAULT_SPARK_CONTEXT_NAME", "IN_DRIVER_ENV_VAR", "PysparkFunctionTask", "Spark", "target_of"},
    "flyteplugins.spark.df_transformer": {"ParquetToSparkDecoder", "SparkToParquetEncoder", "register_spark_df_transformers"},
}

# Names the published plugins export from these module paths; ours must answer them too.
PUBLISHED = {
    "flyteplugins.ray": {"AutoscalerOptionsConfig", "HeadNodeConfig", "RayJobConfig", "WorkerNodeConfig"},
    "flyteplugins.ray.task": {"AutoscalerOptionsConfig", "HeadNodeConfig", "RayFunctionTask", "RayJobConfig", "WorkerNodeConfig"},
    "flyteplugins.pytorch": {"Elastic"},
    "flyteplugins.pytorch.task": {"Elastic", "RunPolicy", "TorchFunctionTask"},
    "flyteplugins.spark": {"ParquetToSparkDecoder", "Spark", "SparkToParquetEncoder", "register_spark_df_transformers"},
    "flyteplugins.spark.task": {"PysparkFunctionTask", "Spark"},
    "flyteplugins.spark.df_transformer": {"ParquetToSparkDecoder", "SparkToParquetEncoder", "register_spark_df_transformers"},
}

HEAVY = ("ray", "pyspark", "torch", "fastapi", "uvicorn", "numpy", "pandas", "pyarrow")


@pytest.mark.parametrize("module", sorted(PINNED))
def test_all_is_pinned_both_ways(module):
    mod = importlib.import_module(module)
    assert sorted(mod.__all__) == sorted(PINNED[module])
    assert len(mod.__all__) == len(set(mod.__all__))
    for name in mod.__all__:
        assert hasattr(mod, name), f"{module}.__all__ lists {name}, which it does not define"


@pytest.mark.parametrize("module", sorted(p for p in PINNED if "." not in p.split("flyteplugins.", 1)[1]))
def test_a_plugin_package_exposes_nothing_public_beyond_all(module):
    mod = importlib.import_module(module)
    public = {
        n for n, v in vars(mod).items()
        if not n.startswith("_") and not isinstance(v, types.ModuleType) and n != "annotations"
    }
    assert public - set(mod.__all__) == set()


@pytest.mark.parametrize("module", sorted(PUBLISHED))
def test_published_module_paths_answer_the_published_names(module):
    mod = importlib.import_module(module)
    missing = sorted(n for n in PUBLISHED[module] if not hasattr(mod, n))
    assert missing == []


def test_the_published_paths_and_names_are_the_same_objects():
    import flyteplugins.ray
    import flyteplugins.ray.task

    for name in PUBLISHED["flyteplugins.ray"]:
        assert getattr(flyteplugins.ray.task, name) is getattr(flyteplugins.ray, name)

    import flyteplugins.pytorch
    import flyteplugins.pytorch.task

    for name in ("Elastic", "RunPolicy"):
        assert getattr(flyteplugins.pytorch.task, name) is getattr(flyteplugins.pytorch, name)


def test_importing_the_plugin_packages_imports_no_engine():
    code = (
        "import sys\n"
        f"import {', '.join(sorted(PINNED))}\n"
        f"print([m for m in {HEAVY!r} if m in sys.modules])\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
