"""Fixtures of the Spark plugin tests: Spark's environment, a real standalone master with one
worker, and a real Spark Connect server, each started once and stopped by PID.

The local driver stops at the end of each run (``FLYTE_SPARK_IDLE_TIMEOUT=0``) unless a module
keeps one warm for its tests and stops it itself.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import pytest

import flyte.testing as _testing
from flyte.extend import ChildProcess, start_child

VENV_BIN = Path(sys.executable).parent

SPARK_ENV = {
    "FLYTE_SPARK_IDLE_TIMEOUT": "0",
    # Spark binds the driver to the host's name otherwise, which may not resolve here.
    "SPARK_LOCAL_IP": "127.0.0.1",
    "SPARK_LOCAL_HOSTNAME": "localhost",
}


@pytest.fixture(scope="module", autouse=True)
def spark_environment() -> Iterator[Path]:
    """Spark's switches and a scratch dir (Spark's work and local dirs) for one test module.

    Module-scoped like the servers below: the suite's leak check runs at the end of each module.
    """
    root = Path(tempfile.mkdtemp(prefix="flyte-spark-tests-"))
    saved = {k: os.environ.get(k) for k in (*SPARK_ENV, "SPARK_LOCAL_DIRS", "SPARK_WORKER_DIR")}
    os.environ.update(SPARK_ENV)
    os.environ["SPARK_LOCAL_DIRS"] = str(root / "local")
    os.environ["SPARK_WORKER_DIR"] = str(root / "work")
    try:
        yield root
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(autouse=True)
def no_spark_address(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests choose their target explicitly; an address in the caller's shell must not leak in."""
    for var in ("FLYTE_SPARK_MASTER", "FLYTE_SPARK_REMOTE", "PYSPARK_GATEWAY_PORT", "SPARK_REMOTE", "SPARK_CONNECT_MODE_ENABLED"):
        monkeypatch.delenv(var, raising=False)


child_pids = _testing.child_pids
wait_no_new_children = _testing.wait_no_new_children
free_port = _testing.free_port


def spark_home() -> str:
    """The Spark distribution inside the pip package (its launch scripts look for ``python3``
    on PATH to find it otherwise, which may be another Python)."""
    import pyspark

    return str(Path(pyspark.__file__).parent)


def spark_class(*args: str) -> list:
    return [str(VENV_BIN / "spark-class"), *args]


@dataclass
class Standalone:
    """A standalone master and one worker on 127.0.0.1."""

    url: str
    ui_port: int
    master: ChildProcess
    worker: ChildProcess

    def state(self) -> dict:
        with urllib.request.urlopen(f"http://127.0.0.1:{self.ui_port}/json/", timeout=5) as r:
            return json.loads(r.read())


@pytest.fixture(scope="module")
def standalone(spark_environment: Path) -> Iterator[Standalone]:
    """``spark-class ...deploy.master.Master`` and ``...deploy.worker.Worker`` from the pip package."""
    port, ui_port, worker_ui = free_port(), free_port(), free_port()
    env = {**os.environ, "SPARK_HOME": spark_home(), "SPARK_NO_DAEMONIZE": "1", "SPARK_MASTER_OPTS": "-Dspark.ui.showConsoleProgress=false"}
    master = start_child(
        "Spark master",
        spark_class("org.apache.spark.deploy.master.Master", "--host", "127.0.0.1", "--port", str(port),
                    "--webui-port", str(ui_port)),
        env=env,
    )
    worker = None
    try:
        master.wait_for_port(port, timeout=90)
        url = f"spark://127.0.0.1:{port}"
        worker = start_child(
            "Spark worker",
            spark_class("org.apache.spark.deploy.worker.Worker", url, "--host", "127.0.0.1", "--cores", "2",
                        "--memory", "1g", "--webui-port", str(worker_ui), "--work-dir", str(spark_environment / "work")),
            env=env,
        )
        worker.wait_for_line(r"Successfully registered with master", timeout=90)
        yield Standalone(url, ui_port, master, worker)
    finally:
        pids = [p.pid for p in (worker, master) if p is not None]
        for proc in (worker, master):
            if proc is not None:
                proc.stop()
        assert not any(_testing.pid_alive(p) for p in pids), "the standalone master or worker outlived its stop"


@dataclass
class ConnectServer:
    url: str
    server: ChildProcess


@pytest.fixture(scope="module")
def connect_server(spark_environment: Path) -> Iterator[ConnectServer]:
    """``spark-submit --class ...SparkConnectServer`` (the jar ships in the pip package) on 127.0.0.1."""
    port = free_port()
    server = start_child(
        "Spark Connect server",
        [str(VENV_BIN / "spark-submit"), "--class", "org.apache.spark.sql.connect.service.SparkConnectServer",
         "--master", "local[2]", "--conf", f"spark.connect.grpc.binding.port={port}",
         "--conf", "spark.connect.grpc.binding.address=127.0.0.1", "--conf", "spark.ui.enabled=false",
         "--conf", f"spark.pyspark.python={sys.executable}", "spark-internal"],
        env={**os.environ, "SPARK_HOME": spark_home(), "PYSPARK_PYTHON": sys.executable},
    )
    try:
        server.wait_for_port(port, timeout=120)
        yield ConnectServer(f"sc://127.0.0.1:{port}", server)
    finally:
        pid = server.pid
        server.stop()
        assert not _testing.pid_alive(pid), "the Connect server outlived its stop"
