"""RayJobConfig and friends: the published names and defaults, validation, registration, targets."""

from __future__ import annotations

import dataclasses
import importlib.metadata as md
import subprocess
import sys

import pytest

import flyte
import flyte.errors
from flyteplugins.ray import AutoscalerOptionsConfig, HeadNodeConfig, RayJobConfig, WorkerNodeConfig
from flyteplugins.ray.task import RayFunctionTask, target_address


def _defaults(cls) -> dict:
    out = {}
    for f in dataclasses.fields(cls):
        if f.default is not dataclasses.MISSING:
            out[f.name] = f.default
        else:
            out[f.name] = "<required>"
    return out


def test_public_names_fields_and_defaults():
    import flyteplugins.ray as pkg

    assert sorted(pkg.__all__) == ["AutoscalerOptionsConfig", "HeadNodeConfig", "RayJobConfig", "WorkerNodeConfig"]
    assert _defaults(RayJobConfig) == {
        "worker_node_config": "<required>",
        "head_node_config": None,
        "enable_autoscaling": False,
        "autoscaler_options": None,
        "runtime_env": None,
        "address": None,
        "shutdown_after_job_finishes": False,
        "ttl_seconds_after_finished": None,
    }
    assert _defaults(WorkerNodeConfig) == {
        "group_name": "<required>",
        "replicas": "<required>",
        "min_replicas": None,
        "max_replicas": None,
        "ray_start_params": None,
        "pod_template": None,
        "requests": None,
        "limits": None,
    }
    assert _defaults(HeadNodeConfig) == {"ray_start_params": None, "pod_template": None, "requests": None, "limits": None}
    assert _defaults(AutoscalerOptionsConfig) == {
        "upscaling_mode": None, "idle_timeout_seconds": None, "image": None, "env": None, "resources": None,
    }
    modes = AutoscalerOptionsConfig.UpscalingMode
    assert (modes.UNSPECIFIED, modes.DEFAULT, modes.AGGRESSIVE, modes.CONSERVATIVE) == (0, 1, 2, 3)
    # Positional use, as programs written for the published plugin do.
    w = WorkerNodeConfig("g", 3)
    assert (w.group_name, w.replicas) == ("g", 3)


@pytest.mark.parametrize(
    "kwargs, field, value",
    [
        ({"replicas": -1}, "replicas", "-1"),
        ({"replicas": 2, "min_replicas": -1}, "min_replicas", "-1"),
        ({"replicas": 2, "min_replicas": 3, "max_replicas": 1}, "min_replicas", "3"),
        ({"replicas": 5, "max_replicas": 4}, "replicas", "5"),
        ({"replicas": 1, "min_replicas": 2, "max_replicas": 4}, "replicas", "1"),
        ({"replicas": 1.5}, "replicas", "1.5"),
        ({"replicas": True}, "replicas", "True"),
    ],
)
def test_worker_replicas_validation(kwargs, field, value):
    with pytest.raises(flyte.errors.ValidationError) as info:
        WorkerNodeConfig(group_name="g", **kwargs)
    msg = str(info.value)
    assert field in msg and value in msg


def test_worker_group_name_and_start_params():
    with pytest.raises(flyte.errors.ValidationError, match="group_name"):
        WorkerNodeConfig(group_name="", replicas=1)
    with pytest.raises(flyte.errors.TypeValidationError, match="ray_start_params"):
        WorkerNodeConfig(group_name="g", replicas=1, ray_start_params={"num-cpus": [1]})
    with pytest.raises(flyte.errors.TypeValidationError, match="requests"):
        WorkerNodeConfig(group_name="g", replicas=1, requests={"cpu": 1})


@pytest.mark.parametrize(
    "kwargs, field",
    [
        ({"upscaling_mode": "Fast"}, "upscaling_mode"),
        ({"upscaling_mode": 9}, "upscaling_mode"),
        ({"idle_timeout_seconds": 0}, "idle_timeout_seconds"),
        ({"idle_timeout_seconds": -5}, "idle_timeout_seconds"),
        ({"image": " "}, "image"),
        ({"resources": flyte.Resources(cpu=1, gpu=1)}, "resources.gpu"),
    ],
)
def test_autoscaler_options_validation(kwargs, field):
    with pytest.raises(flyte.errors.ValidationError, match=field.replace(".", r"\.")):
        AutoscalerOptionsConfig(**kwargs)


def test_autoscaler_modes_by_name_or_number():
    from flyteplugins.ray.config import upscaling_mode_name

    assert upscaling_mode_name("aggressive") == "Aggressive"
    assert upscaling_mode_name(AutoscalerOptionsConfig.UpscalingMode.CONSERVATIVE) == "Conservative"
    assert upscaling_mode_name(AutoscalerOptionsConfig.UpscalingMode.UNSPECIFIED) is None


@pytest.mark.parametrize(
    "kwargs, field",
    [
        ({"worker_node_config": WorkerNodeConfig("g", 1)}, "worker_node_config"),
        ({"worker_node_config": [{"group_name": "g"}]}, "worker_node_config[0]"),
        ({"worker_node_config": [WorkerNodeConfig("g", 1), WorkerNodeConfig("g", 2)]}, "group_name"),
        ({"worker_node_config": [], "address": "redis://x:1"}, "address"),
        ({"worker_node_config": [], "address": "nohostport"}, "address"),
        ({"worker_node_config": [], "ttl_seconds_after_finished": -1}, "ttl_seconds_after_finished"),
        ({"worker_node_config": [], "runtime_env": "pip"}, "runtime_env"),
        ({"worker_node_config": [], "enable_autoscaling": "yes"}, "enable_autoscaling"),
    ],
)
def test_job_config_validation(kwargs, field):
    with pytest.raises((flyte.errors.ValidationError, flyte.errors.TypeValidationError)) as info:
        RayJobConfig(**kwargs)
    assert field in str(info.value)


def test_entry_point_names_the_config_class_and_resolves():
    eps = [ep for ep in md.entry_points(group="flyte.plugins.tasks") if ep.value == "flyteplugins.ray._hooks"]
    assert [ep.name for ep in eps] == ["flyteplugins.ray.config.RayJobConfig"]
    from flyte._plugins.registry import entry_point_name
    from flyte._plugins.resolve import resolve_task_class

    # The re-exported name is the same class, so both spellings find the entry point.
    assert entry_point_name(RayJobConfig) == "flyteplugins.ray.config.RayJobConfig"
    assert resolve_task_class(RayJobConfig(worker_node_config=[])) is RayFunctionTask
    env = flyte.TaskEnvironment(name="ray_cfg_env", plugin_config=RayJobConfig(worker_node_config=[]))

    @env.task
    def t() -> int:
        return 1

    assert isinstance(t, RayFunctionTask) and t.task_type == "ray"


def test_import_is_light_and_ray_missing_is_a_clear_error():
    code = r"""
import sys
import flyteplugins.ray
assert "ray" not in sys.modules, "importing the plugin imported ray"
import flyte
from flyteplugins.ray import RayJobConfig
env = flyte.TaskEnvironment(name="no_ray", plugin_config=RayJobConfig(worker_node_config=[]))

@env.task
def t() -> int:
    return 1

assert "ray" not in sys.modules, "defining a Ray task imported ray"
sys.modules["ray"] = None  # as if Ray were not installed
try:
    flyte.run(t)
except Exception as e:
    print("ERROR:", type(e).__name__, e)
"""
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert "ERROR:" in proc.stdout and "pip install flyte-plugin-ray" in proc.stdout


def _task(cfg: RayJobConfig, **kwargs) -> RayFunctionTask:
    from flyte.models import NativeInterface

    def f() -> int:
        return 1

    return RayFunctionTask(name="m.f", interface=NativeInterface.from_callable(f), func=f, plugin_config=cfg, **kwargs)


@pytest.mark.parametrize(
    "cfg_kwargs, policy_kwargs, field",
    [
        ({"shutdown_after_job_finishes": True}, {"replicas": 1}, "shutdown_after_job_finishes"),
        ({"ttl_seconds_after_finished": 60}, {"replicas": 1}, "ttl_seconds_after_finished"),
        ({}, {"replicas": 2}, "reusable.replicas"),
        ({}, {"replicas": 1, "concurrency": 4}, "reusable.concurrency"),
    ],
)
def test_reusable_conflicts(cfg_kwargs, policy_kwargs, field):
    cfg = RayJobConfig(worker_node_config=[], **cfg_kwargs)
    with pytest.raises(flyte.errors.ValidationError, match=field.replace(".", r"\.")):
        _task(cfg, reusable=flyte.ReusePolicy(**policy_kwargs))
    # And the same through override() on an existing task.
    with pytest.raises(flyte.errors.ValidationError, match=field.replace(".", r"\.")):
        _task(cfg).override(reusable=flyte.ReusePolicy(**policy_kwargs))
    assert _task(RayJobConfig(worker_node_config=[]), reusable=flyte.ReusePolicy(replicas=1)).reusable is not None


def test_target_selection(monkeypatch: pytest.MonkeyPatch):
    cfg = RayJobConfig(worker_node_config=[])
    assert target_address(cfg) == ("local", None)
    monkeypatch.setenv("FLYTE_RAY_ADDRESS", "ray://head:10001")
    assert target_address(cfg) == ("client", "ray://head:10001")
    # The config's own address wins over the environment.
    assert target_address(RayJobConfig(worker_node_config=[], address="http://h:8265")) == ("jobs", "http://h:8265")
    assert target_address(RayJobConfig(worker_node_config=[], address="h:6379")) == ("driver", "h:6379")
    monkeypatch.setenv("FLYTE_RAY_ADDRESS", "ftp://x")
    with pytest.raises(flyte.errors.ValidationError, match="FLYTE_RAY_ADDRESS"):
        target_address(cfg)
    # Inside a Ray job the task drives the job's own cluster, whatever the address says.
    monkeypatch.setenv("RAY_JOB_CONFIG_JSON_ENV_VAR", "{}")
    assert target_address(RayJobConfig(worker_node_config=[], address="http://h:8265")) == ("job-driver", None)


def test_node_size_from_resources():
    from flyteplugins.ray.local import node_size

    assert node_size(None).init_kwargs() == {}
    size = node_size(flyte.Resources(cpu=("500m", "2.5"), memory="1Gi", gpu="A100:2"))
    assert size.init_kwargs() == {
        "num_cpus": 3, "num_gpus": 2, "_memory": 1024**3, "object_store_memory": int(1024**3 * 0.3),
    }
    assert node_size(flyte.Resources(gpu=flyte.Neuron("Inf2"))).resources == {"neuron_cores": 1.0}


def test_one_process_drives_one_ray_target_at_a_time():
    """Another Ray target while a task holds a connection is an error naming both."""
    from flyte.extend import RuntimeConflictError
    from flyteplugins.ray import cluster, local
    from flyteplugins.ray._process import OWNER, RayShape
    from flyteplugins.ray.config import RayJobConfig

    class Held:  # stands for a live Ray Client connection held by another task
        def alive(self) -> bool:
            return True

        def stop(self) -> None:
            pass

    lease = OWNER.acquire(RayShape("client", "ray://10.0.0.1:10001"), Held, user="task holder")
    try:
        with pytest.raises(RuntimeConflictError, match=r"local Ray.*task holder.*ray://10\.0\.0\.1:10001"):
            local.start_local(RayJobConfig(worker_node_config=[]), None)
        with pytest.raises(RuntimeConflictError, match=r"ray://10\.0\.0\.2:10001.*ray://10\.0\.0\.1:10001"):
            cluster._connect("ray://10.0.0.2:10001", None, "client")
    finally:
        lease.release()
        OWNER.stop(force=True)
