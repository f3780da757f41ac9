"""Existing-cluster targets against a real ``ray start --head`` on 127.0.0.1."""

from __future__ import annotations

import re
import subprocess
import time

import pytest
import ray

import flyte
import flyte.errors
import ray_tasks
from conftest import REPO, VENV_BIN, RayHead, child_pids, free_port, subprocess_env
from flyteplugins.ray.cluster import RayClusterUnreachableError, RayJobFailedError


def test_ray_client_runs_body_here(ray_head: RayHead, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("FLYTE_RAY_ADDRESS", ray_head.client_address)
    before = child_pids(exclude=ray_head.pid)
    out = flyte.run(ray_tasks.fan_out, n=20).outputs()[0]
    assert out["sum"] == str(sum(i * i for i in range(20)))
    assert out["target"] == "client"
    assert out["address"] == ray_head.client_address
    assert float(out["cpus"]) == 2.0  # the cluster's size, not the task's Resources
    assert out["mark"] == "from-runtime-env"
    assert not ray.is_initialized(), "the client connection outlived the task"
    # Nothing was started on this machine for the task (the head is not our child).
    assert child_pids(exclude=ray_head.pid) - before == set()


def test_jobs_api_submits_the_container_command(ray_head: RayHead, monkeypatch: pytest.MonkeyPatch, capfd):
    monkeypatch.setenv("FLYTE_RAY_ADDRESS", ray_head.jobs_address)
    out = flyte.run(ray_tasks.fan_out, n=10).outputs()[0]
    assert out["sum"] == str(sum(i * i for i in range(10)))
    # Inside the job the task drives the job's own cluster.
    assert out["target"] == "job-driver"
    assert float(out["cpus"]) == 2.0
    assert out["mark"] == "from-runtime-env"
    assert not ray.is_initialized()


def test_jobs_api_failure_reports_the_task_error(ray_head: RayHead):
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("FLYTE_RAY_ADDRESS", ray_head.jobs_address)
        with pytest.raises(flyte.errors.RuntimeUserError, match="boom 7") as info:
            flyte.run(ray_tasks.fails, n=7)
    cause = info.value
    assert isinstance(cause, RayJobFailedError) or isinstance(cause.__cause__, RayJobFailedError)


@pytest.mark.parametrize("scheme", ["ray", "http"])
def test_unreachable_address_fails_fast_naming_it(scheme: str, monkeypatch: pytest.MonkeyPatch):
    address = f"{scheme}://127.0.0.1:{free_port()}"
    monkeypatch.setenv("FLYTE_RAY_ADDRESS", address)
    start = time.monotonic()
    with pytest.raises(RayClusterUnreachableError, match=re.escape(address)) as info:
        flyte.run(ray_tasks.fan_out, n=1)
    # One "cluster unreachable" error for every engine, naming the address.
    assert isinstance(info.value, flyte.errors.ClusterUnreachableError)
    assert info.value.address == address
    assert time.monotonic() - start < 10
    assert not ray.is_initialized()


@pytest.mark.parametrize("via", ["client", "jobs"])
def test_example_runs_with_flyte_run_against_the_cluster(via: str, ray_head: RayHead, tmp_path):
    address = ray_head.client_address if via == "client" else ray_head.jobs_address
    env = subprocess_env(FLYTE_RAY_ADDRESS=address, FLYTE_HOME=str(tmp_path))
    proc = subprocess.run(
        [str(VENV_BIN / "flyte"), "run", "examples/ray_fanout.py", "main", "--n", "10"],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=120,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "285" in proc.stdout
    # The body's print: here for the client, streamed from the job's logs for the Jobs API.
    assert "hello from a Ray worker" in proc.stdout + proc.stderr
    assert ("(job-driver)" in proc.stdout + proc.stderr) == (via == "jobs")
