"""Existing clusters: a real standalone master with a worker, and a real Spark Connect server,
each started once on 127.0.0.1 (conftest) and stopped by PID; bad or unreachable addresses."""

from __future__ import annotations

import sys
import time

import pytest

import flyte
import flyte.errors
import flyte.extend
import spark_tasks
from flyte.testing import free_port
from flyteplugins.spark.local import OWNER


@pytest.fixture
def no_driver_left():
    from flyte.testing import child_pids, wait_no_new_children

    before = child_pids(exclude=0)
    yield
    assert OWNER.runtime is None
    # The master, worker and Connect server are session fixtures: only what the test started counts.
    assert wait_no_new_children(before) == set(), "a Spark driver outlived the run"


def test_a_driver_on_the_standalone_master(standalone, monkeypatch, no_driver_left):
    monkeypatch.setenv("FLYTE_SPARK_MASTER", standalone.url)
    monkeypatch.setenv("FLYTE_SPARK_IDLE_TIMEOUT", "600")  # one driver for both runs, stopped below
    try:
        out = flyte.run(spark_tasks.master_app).outputs()[0]
        assert out["master"] == standalone.url
        assert out["count"] == "500"
        # Python code ran on the cluster's executors with this interpreter's version.
        assert out["versions"] == "%d.%d.%d" % sys.version_info[:3]
        state = standalone.state()
        apps = {a["id"]: a for a in state.get("activeapps", []) + state.get("completedapps", [])}
        assert out["app_id"] in apps and apps[out["app_id"]]["name"] == "FlyteSpark"
        # A DataFrame between two tasks on the master (the same driver: the second run reuses it).
        starts = OWNER.starts
        assert flyte.run(spark_tasks.frame_between_tasks, n=200).outputs()[0] == sum(i * i for i in range(200))
        assert OWNER.starts == starts
    finally:
        flyte.extend.stop_runtimes()


def test_a_connect_session(connect_server, monkeypatch, caplog, no_driver_left):
    monkeypatch.setenv("FLYTE_SPARK_REMOTE", connect_server.url)
    with caplog.at_level("WARNING", logger="flyteplugins.spark"):
        out = flyte.run(spark_tasks.connect_probe).outputs()[0]
    assert out["module"].startswith("pyspark.sql.connect")
    assert out["shuffle"] == "3"  # the runtime setting, set on the Connect session
    assert out["count"] == "250" and out["target"] == "connect"
    # The static settings a Connect client cannot change are named in one warning.
    warned = [r.getMessage() for r in caplog.records if "static settings" in r.getMessage()]
    assert warned and "spark.ui.showConsoleProgress" in warned[0] and connect_server.url in warned[0]


def test_a_dataframe_between_tasks_on_connect(connect_server, monkeypatch, no_driver_left):
    monkeypatch.setenv("FLYTE_SPARK_REMOTE", connect_server.url)
    assert flyte.run(spark_tasks.connect_frames, n=100).outputs()[0] == sum(i * i for i in range(100))


@pytest.mark.parametrize("var, scheme", [("FLYTE_SPARK_MASTER", "spark"), ("FLYTE_SPARK_REMOTE", "sc")])
def test_an_unreachable_address_fails_fast_naming_it(var, scheme, monkeypatch):
    address = f"{scheme}://127.0.0.1:{free_port()}"
    monkeypatch.setenv(var, address)
    started = time.monotonic()
    with pytest.raises(flyte.errors.ClusterUnreachableError) as e:
        flyte.run(spark_tasks.filtered_count, n=10)
    assert address in str(e.value) and var in str(e.value)
    assert time.monotonic() - started < 60  # not Spark's minutes of retries
    assert OWNER.runtime is None


def test_a_malformed_master_url_is_a_validation_error(monkeypatch):
    monkeypatch.setenv("FLYTE_SPARK_MASTER", "spark:/127.0.0.1:7077")
    with pytest.raises(flyte.errors.ValidationError, match="FLYTE_SPARK_MASTER.*spark://host:port"):
        flyte.run(spark_tasks.filtered_count, n=10)
