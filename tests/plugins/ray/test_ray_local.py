"""The local target: a real Ray runtime started for the task and stopped after it."""

from __future__ import annotations

import pytest

import flyte
import flyte.errors

from conftest import child_pids, wait_no_new_children

ray = pytest.importorskip("ray")

import ray_tasks  # noqa: E402  (after the skip: it imports flyteplugins.ray)


@pytest.fixture(autouse=True)
def no_ray_left() -> None:
    """Every test starts and ends with no Ray in this process."""
    assert not ray.is_initialized()
    yield
    if ray.is_initialized():
        ray.shutdown()
        pytest.fail("a test left Ray initialized")


def test_fan_out_sized_by_resources_and_stopped_after():
    before = child_pids()
    run = flyte.run(ray_tasks.fan_out, n=50)
    out = run.outputs()[0]
    assert out["sum"] == str(sum(i * i for i in range(50)))
    # Resources(cpu=1) sizes the node, not the machine's core count.
    assert float(out["cpus"]) == 1.0
    assert out["mark"] == "from-runtime-env"
    assert out["target"] == "local"
    assert out["address"].startswith("127.0.0.1:") or ":" in out["address"]
    assert not ray.is_initialized()
    assert wait_no_new_children(before) == set(), "Ray processes outlived the run"


def test_failure_and_timeout_still_stop_ray():
    before = child_pids()
    with pytest.raises(flyte.errors.RuntimeUserError, match="boom 3"):
        flyte.run(ray_tasks.fails, n=3)
    assert not ray.is_initialized()
    assert wait_no_new_children(before) == set()

    with pytest.raises(flyte.errors.TaskTimeoutError):
        flyte.run(ray_tasks.sleeps.override(timeout=2), seconds=30)
    assert not ray.is_initialized()
    assert wait_no_new_children(before) == set()


def test_ray_already_initialized_is_reused_and_left_running():
    ray.init(address="local", num_cpus=2, object_store_memory=100 * 1024 * 1024, include_dashboard=False)
    try:
        address = ray.get_runtime_context().gcs_address
        out = flyte.run(ray_tasks.fan_out, n=5).outputs()[0]
        assert out["sum"] == "30"
        assert out["address"] == address
        assert float(out["cpus"]) == 2.0  # the user's Ray, not one sized by the task
        assert ray.is_initialized(), "the user's Ray was shut down by the task"
        assert ray.get_runtime_context().gcs_address == address
    finally:
        ray.shutdown()


def test_per_replica_nodes(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("FLYTE_RAY_LOCAL_NODES", "per-replica")
    before = child_pids()
    # replicas=2 in ray_tasks.config: a head plus two worker nodes.
    assert flyte.run(ray_tasks.node_count, groups=["workers"]).outputs()[0] == 3
    assert not ray.is_initialized()
    assert wait_no_new_children(before) == set()


def test_bad_local_nodes_mode(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("FLYTE_RAY_LOCAL_NODES", "many")
    with pytest.raises(flyte.errors.ValidationError, match="FLYTE_RAY_LOCAL_NODES.*many"):
        flyte.run(ray_tasks.node_count, groups=[])
