"""Fixtures of the Ray plugin tests: Ray's environment, and a real ``ray start --head`` cluster.

The local Ray stops at the end of each run here (``FLYTE_RAY_IDLE_TIMEOUT=0``).

Ray keeps sockets and logs under its temp dir, whose paths must stay under 108 characters,
so the temp dir is a short one under /tmp, removed at the end of the session.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, Iterator, Set

import pytest

import flyte.testing as _testing

REPO = Path(__file__).resolve().parents[3]
VENV_BIN = Path(sys.executable).parent

RAY_ENV = {
    "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0",
    "RAY_AUTH_MODE": "disabled",
    "RAY_USAGE_STATS_ENABLED": "0",
    # Tests check that nothing outlives a run: the local Ray stops when each run ends (tests of
    # the warm Ray set their own timeout).
    "FLYTE_RAY_IDLE_TIMEOUT": "0",
}


@pytest.fixture(scope="session", autouse=True)
def ray_environment() -> Iterator[Path]:
    """Ray's switches, and HOME / RAY_TMPDIR in a short temp dir, for the whole session."""
    root = Path(tempfile.mkdtemp(prefix="r", dir="/tmp"))
    saved = {k: os.environ.get(k) for k in (*RAY_ENV, "HOME", "RAY_TMPDIR")}
    os.environ.update(RAY_ENV)
    os.environ["HOME"] = str(root / "h")
    os.environ["RAY_TMPDIR"] = str(root / "t")
    (root / "h").mkdir()
    (root / "t").mkdir()
    try:
        yield root
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
        if os.environ.get("FLYTE_RAY_TEST_KEEP_TMP") != "1":  # keep Ray's logs to debug a failure
            shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(autouse=True)
def no_ray_address(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests choose their target explicitly; an address in the caller's shell must not leak in."""
    for var in ("FLYTE_RAY_ADDRESS", "RAY_ADDRESS", "FLYTE_RAY_LOCAL_NODES", "RAY_JOB_CONFIG_JSON_ENV_VAR"):
        monkeypatch.delenv(var, raising=False)


# The process helpers every plugin's tests use, from flyte.testing (by PID, through /proc).
child_pids = _testing.child_pids
wait_no_new_children = _testing.wait_no_new_children
free_port = _testing.free_port


@dataclass
class RayHead:
    """A running ``ray start --head`` on 127.0.0.1."""

    gcs_address: str
    client_address: str
    jobs_address: str
    pid: int


def _wait_port(port: int, proc: subprocess.Popen, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"ray start exited early with code {proc.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.3)
    raise RuntimeError(f"port {port} did not open within {timeout}s")


def _wait_jobs_api(address: str, timeout: float) -> None:
    import urllib.request

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"{address}/api/version", timeout=2) as r:
                if r.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.5)
    raise RuntimeError(f"the Jobs API at {address} did not answer within {timeout}s")


def _stop(proc: subprocess.Popen, timeout: float = 20.0) -> None:
    """TERM the process group of ``ray start`` (its own children), then KILL after ``timeout``."""
    if proc.poll() is None:
        try:
            os.killpg(proc.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            pass
    try:
        os.killpg(proc.pid, signal.SIGKILL)  # stragglers of the group, if any
    except ProcessLookupError:
        pass
    proc.wait(5)


@pytest.fixture(scope="module")
def ray_head(ray_environment: Path) -> Iterator[RayHead]:
    """A real Ray head node on 127.0.0.1 (GCS, Ray Client server, dashboard with the Jobs API),
    started with this venv on PATH (so jobs find ``flyte-execute``) and stopped by PID."""
    gcs, client, dashboard = free_port(), free_port(), free_port()
    env = dict(os.environ)
    env["PATH"] = f"{VENV_BIN}{os.pathsep}{env.get('PATH', '')}"
    env.pop("RAY_ADDRESS", None)
    env.pop("FLYTE_RAY_ADDRESS", None)
    log = open(ray_environment / f"head-{gcs}.log", "wb")
    proc = subprocess.Popen(
        [
            str(VENV_BIN / "ray"), "start", "--head", "--block",
            f"--port={gcs}", f"--ray-client-server-port={client}", f"--dashboard-port={dashboard}",
            "--include-dashboard=true", "--node-ip-address=127.0.0.1", "--num-cpus=2",
            f"--object-store-memory={200 * 1024 * 1024}", "--disable-usage-stats",
            # Ray's agents default to fixed ports (52365, ...): another Ray on this machine would
            # hold them and leave the Jobs API without an agent. Free ports keep heads apart.
            f"--dashboard-agent-listen-port={free_port()}", f"--dashboard-agent-grpc-port={free_port()}",
            f"--runtime-env-agent-port={free_port()}", f"--metrics-export-port={free_port()}",
        ],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,  # its own process group, so stopping it reaches its children
    )
    try:
        _wait_port(gcs, proc, 60)
        _wait_port(client, proc, 60)
        _wait_jobs_api(f"http://127.0.0.1:{dashboard}", 60)
        yield RayHead(
            gcs_address=f"127.0.0.1:{gcs}",
            client_address=f"ray://127.0.0.1:{client}",
            jobs_address=f"http://127.0.0.1:{dashboard}",
            pid=proc.pid,
        )
    finally:
        _stop(proc)
        log.close()


def subprocess_env(**extra: str) -> Dict[str, str]:
    """This process's environment (Ray's switches included) plus ``extra``, venv first on PATH."""
    env = dict(os.environ)
    env["PATH"] = f"{VENV_BIN}{os.pathsep}{env.get('PATH', '')}"
    env.update(extra)
    return env
