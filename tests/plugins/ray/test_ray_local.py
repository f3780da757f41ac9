"""The local target: a real Ray runtime, shared by the Ray tasks of the process.

The conftest sets ``FLYTE_RAY_IDLE_TIMEOUT=0`` (Ray stops when each run ends); the tests of
the warm Ray set their own.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time

import pytest
import ray

import flyte
import flyte.errors
import flyte.extend
import ray_tasks
from conftest import REPO, child_pids, subprocess_env, wait_no_new_children
from flyte.testing import pid_alive
from flyteplugins.ray._process import OWNER


def _gcs_pids() -> set:
    """PIDs of the GCS servers among this process's descendants (one per local Ray)."""
    out = set()
    for pid in child_pids():
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                if b"gcs_server" in f.read():
                    out.add(pid)
        except OSError:
            pass
    return out


def _is_host_port_of(address: str, pids: set) -> None:
    """``address`` is 127.0.0.1:<port> and that port is a listening socket (the started GCS)."""
    import socket

    host, _, port = address.rpartition(":")
    assert host in ("127.0.0.1", "localhost") or host.count(".") == 3, address
    assert port.isdigit() and 0 < int(port) < 65536, address
    with socket.create_connection((host, int(port)), timeout=5):
        pass
    assert pids, "no GCS server process was started"


@pytest.fixture(autouse=True)
def no_ray_left() -> None:
    """Every test starts and ends with no Ray in this process."""
    assert not ray.is_initialized()
    yield
    if ray.is_initialized():
        ray.shutdown()
        pytest.fail("a test left Ray initialized")


def _ray_sessions() -> set:
    ray_tmp = os.path.join(os.environ["RAY_TMPDIR"], "ray")
    return {n for n in os.listdir(ray_tmp) if n.startswith("session_")} if os.path.isdir(ray_tmp) else set()


def test_fan_out_sized_by_resources_and_stopped_after():
    before = child_pids()
    sessions = _ray_sessions()  # a `ray start` head of another module may have its own
    run = flyte.run(ray_tasks.fan_out, n=50)
    out = run.outputs()[0]
    assert out["sum"] == str(sum(i * i for i in range(50)))
    # Resources(cpu=1) sizes the node, not the machine's core count.
    assert float(out["cpus"]) == 1.0
    assert out["mark"] == "from-runtime-env"
    assert out["target"] == "local"
    # The address the body sees is the GCS this Ray runs: host:port, as the driver knows it.
    assert re.fullmatch(r"(127\.0\.0\.1|[\w.-]+):\d{2,5}", out["address"]), out["address"]
    assert out["address"] == out["gcs"]
    assert not ray.is_initialized()
    assert wait_no_new_children(before) == set(), "Ray processes outlived the run"
    # Nor its session folder (logs, sockets) under Ray's temp dir.
    left = _ray_sessions() - sessions
    assert not left, f"Ray session folders left under $RAY_TMPDIR/ray: {sorted(left)}"


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


@pytest.fixture
def warm(monkeypatch: pytest.MonkeyPatch):
    """A warm local Ray (idle timeout 120 s), stopped by PID-checked teardown after the test."""
    monkeypatch.setenv("FLYTE_RAY_IDLE_TIMEOUT", "120")
    before = child_pids()
    yield before
    flyte.extend.stop_runtimes()
    assert not ray.is_initialized()
    assert wait_no_new_children(before) == set(), "the warm Ray outlived stop_runtimes()"


def test_two_sequential_runs_share_one_ray(warm):
    first = flyte.run(ray_tasks.gcs_address).outputs()[0]
    gcs = _gcs_pids() - warm
    assert len(gcs) == 1
    _is_host_port_of(first, gcs)
    assert ray.is_initialized(), "the Ray started for the first run did not stay up"
    second = flyte.run(ray_tasks.fan_out, n=10).outputs()[0]
    assert second["address"] == first
    assert _gcs_pids() - warm == gcs, "the second run started another Ray"
    assert second["mark"] == "from-runtime-env"


def test_sequential_tasks_of_one_run_share_one_ray():
    # FLYTE_RAY_IDLE_TIMEOUT=0: shared within the run, stopped when it ends.
    before = child_pids()
    starts = OWNER.starts
    addresses = flyte.run(ray_tasks.sequential_ray_tasks, n=3).outputs()[0]
    assert len(set(addresses)) == 1, addresses
    assert OWNER.starts == starts + 1
    assert not ray.is_initialized()
    assert wait_no_new_children(before) == set()


def test_idle_ray_stops_after_the_timeout(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("FLYTE_RAY_IDLE_TIMEOUT", "1")
    before = child_pids()
    flyte.run(ray_tasks.gcs_address)
    assert ray.is_initialized() and OWNER.runtime is not None, "Ray stopped before its idle timeout"
    assert wait_no_new_children(before, timeout=60) == set(), "the idle Ray was not stopped"
    assert not ray.is_initialized()
    assert OWNER.runtime is None


def test_bad_idle_timeout_names_the_variable(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("FLYTE_RAY_IDLE_TIMEOUT", "soon")
    with pytest.raises(flyte.errors.ValidationError, match="FLYTE_RAY_IDLE_TIMEOUT.*soon"):
        flyte.run(ray_tasks.gcs_address)
    assert not ray.is_initialized()


def test_other_runtime_env_restarts_ray_between_tasks(warm):
    first = flyte.run(ray_tasks.gcs_address).outputs()[0]
    gcs = _gcs_pids() - warm
    other = flyte.run(ray_tasks.other_runtime_env, seconds=0).outputs()[0]
    assert other != first
    assert (_gcs_pids() - warm).isdisjoint(gcs), "the first Ray was not stopped before the restart"


def test_incompatible_tasks_at_once_is_an_error_naming_both(warm):
    message = flyte.run(ray_tasks.conflicting_ray_tasks).outputs()[0]
    assert "RuntimeConflictError" in message, message
    assert "holds_ray" in message and "other_runtime_env" in message, message


def test_per_replica_layout_change_restarts_the_nodes(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("FLYTE_RAY_LOCAL_NODES", "per-replica")
    before = child_pids()
    starts = OWNER.starts
    # One worker replica (a head + 1), then two (a head + 2), in one run.
    assert flyte.run(ray_tasks.two_layouts).outputs()[0] == [2, 3]
    assert OWNER.starts == starts + 2
    assert not ray.is_initialized()
    assert wait_no_new_children(before) == set()


_KILLED_PARENT = """
import sys
sys.path.insert(0, {tests!r})
import flyte, flyte.testing, ray_tasks
flyte.init()
flyte.run(ray_tasks.fan_out, n=5)
print("PIDS", " ".join(map(str, sorted(flyte.testing.child_pids()))), flush=True)
import time
time.sleep(600)
"""


def test_sigkill_of_the_parent_leaves_no_ray_process(tmp_path):
    # A parent keeps its Ray warm; SIGKILL gives it no chance to stop it: the kernel must.
    env = subprocess_env(FLYTE_RAY_IDLE_TIMEOUT="600", FLYTE_HOME=str(tmp_path))
    code = _KILLED_PARENT.format(tests=os.path.dirname(os.path.abspath(__file__)))
    proc = subprocess.Popen([sys.executable, "-c", code], cwd=REPO, env=env, stdout=subprocess.PIPE, text=True)
    pids: list = []
    try:
        for line in proc.stdout:
            if line.startswith("PIDS"):
                pids = [int(p) for p in line.split()[1:]]
                break
        assert pids, "the parent printed no PIDs (did its Ray task fail?)"
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(10)
        deadline = time.monotonic() + 60
        while any(pid_alive(p) for p in pids) and time.monotonic() < deadline:
            time.sleep(0.2)
        left = [p for p in pids if pid_alive(p)]
        assert left == [], f"Ray processes outlived their SIGKILLed parent: {left}"
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
        for p in pids:  # never leave them behind, even when the test failed
            if pid_alive(p):
                os.kill(p, signal.SIGKILL)
