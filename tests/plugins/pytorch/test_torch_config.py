"""Elastic and RunPolicy: the published fields and defaults, validation, task types, targets."""

from __future__ import annotations

import dataclasses

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import flyte
from flyte.errors import ValidationError
from flyteplugins.pytorch import Elastic, RunPolicy
from flyteplugins.pytorch.config import parse_nnodes
from flyteplugins.pytorch.task import IN_JOB_ENV_VARS, TorchFunctionTask, launch_plan

PROPERTY = settings(max_examples=50, deadline=None)


def test_published_fields_and_defaults():
    defaults = {f.name: (f.default if f.default is not dataclasses.MISSING else f.default_factory())
                for f in dataclasses.fields(Elastic) if f.name not in ("nnodes", "nproc_per_node")}
    assert defaults == {
        "rdzv_backend": "c10d", "run_policy": None, "monitor_interval": 3, "max_restarts": 3,
        "rdzv_configs": {"timeout": 900, "join_timeout": 900}, "nccl_heartbeat_timeout_sec": 300,
        "nccl_async_error_handling": False, "nccl_collective_timeout_sec": None, "nccl_enable_monitoring": True,
    }
    assert [f.name for f in dataclasses.fields(RunPolicy)] == [
        "clean_pod_policy", "ttl_seconds_after_finished", "active_deadline_seconds", "backoff_limit"]
    assert RunPolicy() == RunPolicy(None, None, None, None)
    with pytest.raises(TypeError):
        Elastic()  # type: ignore[call-arg]  # nnodes and nproc_per_node are required


@pytest.mark.parametrize("nnodes, expected", [(1, (1, 1)), (3, (3, 3)), ("2", (2, 2)), ("1:2", (1, 2)), ("2:4", (2, 4))])
def test_nnodes_forms(nnodes, expected):
    assert parse_nnodes(nnodes) == expected
    cfg = Elastic(nnodes=nnodes, nproc_per_node=1)
    assert (cfg.min_nodes, cfg.max_nodes) == expected


@pytest.mark.parametrize("nnodes", ["3:2", "a:b", "0", 0, -1, "1:2:3", "", True, 1.5])
def test_bad_nnodes_names_field_value_and_forms(nnodes):
    with pytest.raises((ValidationError, TypeError)) as info:
        Elastic(nnodes=nnodes, nproc_per_node=1)
    text = str(info.value)
    assert "nnodes" in text and repr(nnodes) in text and "min:max" in text


@PROPERTY
@given(st.integers(max_value=0) | st.sampled_from([True, 1.0, "2", None]))
def test_bad_nproc_per_node_is_one_clear_error(value):
    with pytest.raises((ValidationError, TypeError)) as info:
        Elastic(nnodes=1, nproc_per_node=value)
    text = str(info.value)
    assert "nproc_per_node" in text and repr(value) in text and "int >= 1" in text


@PROPERTY
@given(
    low=st.integers(1, 64), extra=st.integers(0, 64), nproc=st.integers(1, 512), restarts=st.integers(0, 100),
    interval=st.integers(1, 60), as_range=st.booleans(),
)
def test_good_elastic_values_round_trip(low, extra, nproc, restarts, interval, as_range):
    nnodes = f"{low}:{low + extra}" if as_range else low
    cfg = Elastic(nnodes=nnodes, nproc_per_node=nproc, max_restarts=restarts, monitor_interval=interval)
    assert dataclasses.replace(cfg) == cfg
    assert (cfg.min_nodes, cfg.max_nodes) == ((low, low + extra) if as_range else (low, low))
    assert (cfg.nproc_per_node, cfg.max_restarts, cfg.monitor_interval) == (nproc, restarts, interval)


@PROPERTY
@given(st.text(max_size=8).filter(lambda s: s not in ("None", "all", "Running")))
def test_bad_clean_pod_policy_names_the_allowed_values(value):
    with pytest.raises(ValidationError) as info:
        RunPolicy(clean_pod_policy=value)
    text = str(info.value)
    assert "clean_pod_policy" in text and repr(value) in text and "'None', 'all', 'Running'" in text


@PROPERTY
@given(
    policy=st.sampled_from([None, "None", "all", "Running"]), ttl=st.none() | st.integers(0, 10**6),
    deadline=st.none() | st.integers(1, 10**6), backoff=st.none() | st.integers(0, 100),
)
def test_good_run_policies_round_trip(policy, ttl, deadline, backoff):
    rp = RunPolicy(policy, ttl, deadline, backoff)
    assert dataclasses.astuple(rp) == (policy, ttl, deadline, backoff)
    assert rp.crd_clean_pod_policy == {None: "None", "None": "None", "all": "All", "Running": "Running"}[policy]


@pytest.mark.parametrize("field, value", [
    ("active_deadline_seconds", 0), ("backoff_limit", -1), ("ttl_seconds_after_finished", -5),
    ("backoff_limit", "3"),
])
def test_bad_run_policy_numbers(field, value):
    with pytest.raises((ValidationError, TypeError)) as info:
        RunPolicy(**{field: value})
    assert field in str(info.value) and repr(value) in str(info.value)


@pytest.mark.parametrize("kwargs, field", [
    ({"rdzv_backend": "zookeeper"}, "rdzv_backend"), ({"max_restarts": -1}, "max_restarts"),
    ({"monitor_interval": 0}, "monitor_interval"), ({"rdzv_configs": {"join_timeout": -1}}, "join_timeout"),
    ({"run_policy": {"backoff_limit": 1}}, "run_policy"),
])
def test_other_bad_values(kwargs, field):
    with pytest.raises((ValidationError, TypeError)) as info:
        Elastic(nnodes=1, nproc_per_node=1, **kwargs)
    assert field in str(info.value)


@pytest.mark.parametrize("nnodes, task_type", [(1, "python-task"), (2, "pytorch"), ("1:2", "pytorch")])
def test_task_type_as_published(nnodes, task_type):
    env = flyte.TaskEnvironment(name=f"tt_{task_type.replace('-', '_')}_{str(nnodes).replace(':', '_')}",
                                plugin_config=Elastic(nnodes=nnodes, nproc_per_node=2))

    @env.task
    def f() -> int:
        return 1

    assert isinstance(f, TorchFunctionTask)
    assert f.task_type == task_type


def test_custom_config_is_the_flyteidl_pytorch_job():
    env = flyte.TaskEnvironment(name="cc", plugin_config=Elastic(
        nnodes="2:4", nproc_per_node=8, max_restarts=2, run_policy=RunPolicy("all", 60, 3600, 2)))

    @env.task
    def f() -> int:
        return 1

    assert f.custom_config(None) == {
        "workerReplicas": {"replicas": 4},
        "runPolicy": {"cleanPodPolicy": "CLEANPOD_POLICY_ALL", "ttlSecondsAfterFinished": 60,
                      "activeDeadlineSeconds": 3600, "backoffLimit": 2},
        "elasticConfig": {"rdzvBackend": "c10d", "minReplicas": 2, "maxReplicas": 4, "nprocPerNode": 8, "maxRestarts": 2},
    }


# -- targets ---------------------------------------------------------------------------------------
def _task(nnodes=2):
    env = flyte.TaskEnvironment(name=f"tg{str(nnodes).replace(':', '_')}", plugin_config=Elastic(nnodes=nnodes, nproc_per_node=1))

    @env.task
    def f() -> int:
        return 1

    return f


def test_local_target_starts_every_node_here():
    t = _task("1:3")
    assert t.target() == ("local", None)
    plan = launch_plan(t.plugin_config, t.name, "local", None, "t")
    assert (plan.nodes, plan.min_nodes, plan.max_nodes, plan.node_ranks) == (3, 1, 3, [0, 1, 2])


def test_endpoint_target_and_a_shared_rendezvous_id(monkeypatch):
    t = _task()
    monkeypatch.setenv("FLYTE_TORCH_RDZV_ENDPOINT", "10.0.0.5:29400")
    assert t.target() == ("endpoint", "10.0.0.5:29400")
    a = launch_plan(t.plugin_config, t.name, "endpoint", "10.0.0.5:29400", "t")
    b = launch_plan(t.plugin_config, t.name, "endpoint", "10.0.0.5:29400", "t")
    assert a.run_id == b.run_id and a.run_id.startswith("flyte-")  # two processes agree, nothing set
    assert a.run_id != launch_plan(t.plugin_config, t.name, "endpoint", "10.0.0.6:29400", "t").run_id
    assert a.rdzv_configs["is_host"] is False and a.nodes == 1
    monkeypatch.setenv("FLYTE_TORCH_RDZV_ID", "job-7")
    assert launch_plan(t.plugin_config, t.name, "endpoint", "10.0.0.5:29400", "t").run_id == "job-7"


@pytest.mark.parametrize("value", ["2", "-1", "x"])
def test_node_rank_outside_the_job_is_an_error(monkeypatch, value):
    t = _task(2)
    monkeypatch.setenv("FLYTE_TORCH_NODE_RANK", value)
    with pytest.raises(ValidationError) as info:
        launch_plan(t.plugin_config, t.name, "endpoint", "h:1", "t")
    assert "FLYTE_TORCH_NODE_RANK" in str(info.value) and repr(value) in str(info.value) and "0 to 1" in str(info.value)


def test_bad_endpoint_is_an_error(monkeypatch):
    monkeypatch.setenv("FLYTE_TORCH_RDZV_ENDPOINT", "c10d://nowhere")
    with pytest.raises(ValidationError) as info:
        _task().target()
    assert "FLYTE_TORCH_RDZV_ENDPOINT" in str(info.value) and "host:port" in str(info.value)


def test_operator_environment_is_the_in_job_target(monkeypatch):
    t = _task("1:4")
    monkeypatch.setenv("FLYTE_TORCH_RDZV_ENDPOINT", "ignored:1")
    env = {"PET_RDZV_ENDPOINT": "job-worker-0:23456", "PET_NNODES": "2:4", "PET_NPROC_PER_NODE": "3",
           "PET_RDZV_BACKEND": "c10d", "PET_MAX_RESTARTS": "5"}
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    assert t.target() == ("in-job", None)
    plan = launch_plan(t.plugin_config, t.name, "in-job", None, "t")
    assert (plan.rdzv_endpoint, plan.min_nodes, plan.max_nodes, plan.nproc_per_node, plan.max_restarts, plan.nodes) == (
        "job-worker-0:23456", 2, 4, 3, 5, 1)
    assert "is_host" not in plan.rdzv_configs  # the operator's worker-0 hosts the store
    assert set(IN_JOB_ENV_VARS) >= {"PET_RDZV_ENDPOINT", "MASTER_ADDR"}


def test_launch_settings_reach_the_agent():
    cfg = Elastic(nnodes=1, nproc_per_node=3, max_restarts=2, monitor_interval=7,
                  rdzv_configs={"timeout": 30, "join_timeout": 40})
    plan = launch_plan(cfg, "t", "local", None, "t")
    assert (plan.nproc_per_node, plan.max_restarts, plan.monitor_interval) == (3, 2, 7)
    assert plan.rdzv_configs == {"timeout": 30, "join_timeout": 40} and plan.rdzv_endpoint == "127.0.0.1:0"


def test_torch_missing_is_a_clear_error(monkeypatch):
    import sys

    from flyteplugins.pytorch._session import check_torch
    from flyteplugins.pytorch.task import TorchNotInstalledError

    monkeypatch.setitem(sys.modules, "torch", None)  # what an environment without torch shows importlib
    with pytest.raises(TorchNotInstalledError) as info:
        check_torch()
    assert "torch" in str(info.value) and "pip install" in str(info.value) and "whl/cpu" in str(info.value)
    assert isinstance(info.value, ImportError)
