"""Real ranks: gloo on CPU under torch's elastic agent, one node or several, at a rendezvous
endpoint, and as an operator's pod would run them. Nothing may outlive a task (checked by PID).

Each run starts an agent and its ranks (each importing torch), so the runs here are few and
each checks several points.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import List

import psutil
import pytest

import flyte
import flyte.errors
import torch_tasks
from flyte.extend import container_command
from flyte.models import SerializationContext
from flyte.testing import free_port, pid_alive
from flyteplugins.pytorch.task import TorchRendezvousUnreachableError
from tests.conftest import subprocess_env

HERE = Path(__file__).resolve().parent
BIN = Path(sys.executable).parent


def _pids(marker_dir: Path) -> List[int]:
    return sorted({int(p.name.split("-")[1]) for p in marker_dir.glob("pid-*")})


def _wait_for(predicate, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.2)


class _Store:
    def __init__(self, port: int, client):
        self.port = port
        self.client = client


@pytest.fixture(scope="module")
def store():
    """A c10d store served on 127.0.0.1 by ``python -m flyteplugins.pytorch.rendezvous`` (what one
    machine of a job runs), and a client of it."""
    import torch.distributed as dist
    from flyte.extend import start_child

    child = start_child("c10d store", [sys.executable, "-m", "flyteplugins.pytorch.rendezvous", "--host", "127.0.0.1",
                                       "--port", "0"])
    try:
        port = int(child.wait_for_line(r"c10d rendezvous listening on 127\.0\.0\.1:(\d+)", timeout=120).group(1))
        yield _Store(port, dist.TCPStore("127.0.0.1", port, is_master=False))
    finally:
        child.stop()


def test_two_ranks_all_reduce_with_inputs_env_and_prefixed_logs(no_leaked_processes, capfd):
    out = flyte.run(torch_tasks.all_reduce, x=1.5).outputs()[0]
    assert out["total"] == "4.5" and out["world"] == "2.0"  # 1.5 * 1 + 1.5 * 2: both ranks got x
    assert (out["RANK"], out["LOCAL_RANK"], out["WORLD_SIZE"], out["GROUP_RANK"]) == ("0", "0", "2", "0")
    assert out["MASTER_ADDR"] == "127.0.0.1" and out["MASTER_PORT"].isdigit()
    assert out["FLYTE_TORCH_TARGET"] == "local"
    assert int(out["pid"]) != os.getpid() and not pid_alive(int(out["pid"]))  # rank 0 was its own process
    printed = capfd.readouterr().out
    assert "[rank0]:rank 0 says hello" in printed and "[rank1]:rank 1 says hello" in printed


def test_a_failing_rank_after_its_restarts_names_rank_exception_and_last_lines(no_leaked_processes, tmp_path):
    with pytest.raises(flyte.errors.RuntimeUserError) as info:
        flyte.run(torch_tasks.rank_one_fails, marker_dir=str(tmp_path))
    text = str(info.value)
    assert "rank 1 failed" in text and "ValueError: rank one cannot go on" in text and "exit code 1" in text
    assert "| rank 1 before the failure" in text  # its last log lines
    rounds = {p.name.rsplit("-", 1)[1] for p in tmp_path.glob("pid-*")}
    assert rounds == {"0", "1"}  # max_restarts=1: the group was started twice
    assert len(_pids(tmp_path)) == 4 and not any(pid_alive(p) for p in _pids(tmp_path))


def test_timeout_stops_agent_and_ranks(no_leaked_processes, tmp_path):
    with pytest.raises(flyte.errors.TaskTimeoutError):
        flyte.run(torch_tasks.sleeps.override(timeout=6), marker_dir=str(tmp_path), seconds=120)
    assert not any(pid_alive(p) for p in _pids(tmp_path))


def test_two_local_nodes_meet_at_a_local_rendezvous_async_body_gpu_warning(no_leaked_processes):
    with pytest.warns(RuntimeWarning, match=r"asks for 1 GPU\(s\) per node but this machine has 0: its ranks run on CPU"):
        out = flyte.run(torch_tasks.nodes).outputs()[0]
    assert out["WORLD_SIZE"] == "2" and out["world"] == "2.0"  # nnodes "1:2" starts the maximum
    assert out["total"] == "3.0" and out["group_rank_sum"] == "1.0"  # group ranks 0 and 1
    assert out["FLYTE_TORCH_NODE_RANK"] in ("0", "1")


def test_unreachable_endpoint_is_a_fast_clear_error(monkeypatch, no_leaked_processes):
    endpoint = f"127.0.0.1:{free_port()}"
    monkeypatch.setenv("FLYTE_TORCH_RDZV_ENDPOINT", endpoint)
    started = time.monotonic()
    with pytest.raises(flyte.errors.RuntimeUserError) as info:
        flyte.run(torch_tasks.join)
    assert time.monotonic() - started < 60  # not the 60 s join timeout of the config, nor a hang
    assert endpoint in str(info.value) and "FLYTE_TORCH_RDZV_ENDPOINT" in str(info.value)
    cause = info.value if isinstance(info.value, TorchRendezvousUnreachableError) else info.value.__cause__
    assert isinstance(cause, TorchRendezvousUnreachableError), repr(info.value)


def test_two_processes_join_one_job_at_an_endpoint(store, tmp_path, no_leaked_processes):
    endpoint = f"127.0.0.1:{store.port}"
    procs = []
    for node in ("0", "1"):
        home = tmp_path / f"n{node}"
        home.mkdir()
        env = subprocess_env(home, FLYTE_TORCH_RDZV_ENDPOINT=endpoint, FLYTE_TORCH_NODE_RANK=node,
                             FLYTE_TORCH_IDLE_TIMEOUT="0")
        procs.append(subprocess.Popen([str(BIN / "flyte"), "run", "torch_tasks.py", "join"], cwd=HERE, env=env,
                                      stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True))
    outputs = [p.communicate(timeout=120)[0] for p in procs]
    for proc, text in zip(procs, outputs):
        assert proc.returncode == 0, text
        assert "joined: target endpoint world 2 group ranks 1" in text, text  # one job, group ranks 0 + 1
    # Each process returns its own node's first rank: one of them is rank 0.
    ranks = sorted(re.search(r'(?<![_A-Z])"RANK": "(\d+)"', t).group(1) for t in outputs)
    assert ranks == ["0", "1"], outputs
    assert store.client.num_keys() > 1  # they met at that store


def test_pytorchjob_container_command_joins_the_operators_job(store, tmp_path, no_leaked_processes):
    sctx = SerializationContext()
    command = container_command(torch_tasks.join, sctx)  # what the PyTorchJob's workers run
    from flyteplugins.pytorch.k8s import pytorch_job_for_task

    job = pytorch_job_for_task(torch_tasks.join, sctx)
    assert job["spec"]["pytorchReplicaSpecs"]["Worker"]["template"]["spec"]["containers"][0]["args"] == command
    args = [a.replace("{{.outputPrefix}}", str(tmp_path / "out")).replace("{{.rawOutputDataPrefix}}", str(tmp_path / "raw"))
            for a in command]
    args[0] = str(BIN / args[0])
    env = subprocess_env(tmp_path, PET_RDZV_ENDPOINT=f"127.0.0.1:{store.port}", PET_NNODES="1", PET_NPROC_PER_NODE="1",
                         PET_RDZV_BACKEND="c10d", PET_RDZV_ID="operator-job-1")
    proc = subprocess.run(args, cwd=HERE, env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "joined: target in-job world 1" in proc.stdout + proc.stderr
    assert (tmp_path / "out" / "outputs.pb").exists()


def test_ctrl_c_on_flyte_run_leaves_no_rank(tmp_path, no_leaked_processes):
    marker = tmp_path / "m"
    marker.mkdir()
    proc = subprocess.Popen(
        [str(BIN / "flyte"), "run", "torch_tasks.py", "sleeps", "--marker_dir", str(marker), "--seconds", "120"],
        cwd=HERE, env=subprocess_env(tmp_path, FLYTE_TORCH_IDLE_TIMEOUT="0"),
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    try:
        _wait_for(lambda: len(_pids(marker)) == 2 or proc.poll() is not None, 90, "both ranks to start")
        assert proc.poll() is None, proc.communicate()[0]
        tree = [c.pid for c in psutil.Process(proc.pid).children(recursive=True)]
        assert set(_pids(marker)) <= set(tree)
        proc.send_signal(signal.SIGINT)
        out, _ = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 130, out
    _wait_for(lambda: not any(pid_alive(p) for p in tree), 15, "the agent and ranks to be gone")
