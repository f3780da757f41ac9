"""The local target: a real Spark driver on this machine, shared by the Spark tasks of the process.

One driver serves the module (kept warm, stopped by the module's teardown, which checks by
PID that no JVM is left); the last tests restart it with other static settings and stop it at
the end of a run (``FLYTE_SPARK_IDLE_TIMEOUT=0``).
"""

from __future__ import annotations

import os
import sys

import pytest

import flyte
import flyte.errors
import flyte.extend
import spark_tasks
from flyte.testing import pid_alive
from flyteplugins.spark.local import OWNER, SparkShape, is_static, split_settings


def _jvm_pids(before: set) -> set:
    from flyte.testing import child_pids

    out = set()
    for pid in child_pids() - before:
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                if b"java" in f.read():
                    out.add(pid)
        except OSError:
            pass
    return out


@pytest.fixture(scope="module", autouse=True)
def warm_driver():
    """One driver for the module's tests (idle timeout 600 s), stopped and checked at the end."""
    from flyte.testing import child_pids, wait_no_new_children

    before = child_pids()
    saved = os.environ.get("FLYTE_SPARK_IDLE_TIMEOUT")
    os.environ["FLYTE_SPARK_IDLE_TIMEOUT"] = "600"
    try:
        yield before
    finally:
        os.environ["FLYTE_SPARK_IDLE_TIMEOUT"] = saved or "0"
        flyte.extend.stop_runtimes()
        assert OWNER.runtime is None
        assert wait_no_new_children(before) == set(), "a Spark JVM outlived stop_runtimes()"


def test_settings_resources_and_shared_driver(warm_driver):
    first = flyte.run(spark_tasks.settings).outputs()[0]
    assert first["master"] == "local[2]"  # Resources(cpu=2), not the machine's cores
    assert first["shuffle"] == "3"  # a runtime setting, on the task's session
    assert first["marker"] == "shared"  # a static setting, applied at start-up (the published plugin drops it)
    assert first["hadoop"] == "from-hadoop-conf"  # hadoop_conf as spark.hadoop.*
    assert first["target"] == "local"
    assert first["app"] == "FlyteSpark"
    jvm = int(first["pid"])
    assert jvm in _jvm_pids(warm_driver)
    starts = OWNER.starts
    # Another task, another runtime setting, fewer cores: the same driver, its own session.
    other = flyte.run(spark_tasks.other_settings).outputs()[0]
    assert other == {"shuffle": "7", "master": "local[2]"}
    assert OWNER.starts == starts
    assert flyte.run(spark_tasks.settings).outputs()[0]["pid"] == str(jvm)


def test_filtered_count():
    assert flyte.run(spark_tasks.filtered_count, n=100_000).outputs()[0] == len(range(0, 100_000, 7))


def test_each_task_has_its_own_session():
    out = flyte.run(spark_tasks.isolation).outputs()[0]
    assert "only_mine" in out["made"]
    assert out["seen"] == ["3"], "a temp view or runtime setting of one task leaked into the next"


def test_dataframe_between_tasks_as_parquet():
    n = 1000
    assert flyte.run(spark_tasks.frame_between_tasks, n=n).outputs()[0] == sum(i * i for i in range(n))


def test_udf_and_rdd_run_with_this_interpreter():
    versions = flyte.run(spark_tasks.udf_versions, n=20).outputs()[0]
    assert set(versions) == {"%d.%d.%d" % sys.version_info[:3]}


def test_timeout_and_failure_release_the_driver():
    with pytest.raises(flyte.errors.TaskTimeoutError):
        flyte.run(spark_tasks.sleeps.override(timeout=2), seconds=30)
    assert OWNER.users == []
    with pytest.raises(flyte.errors.RuntimeUserError, match="spark boom 3"):
        flyte.run(spark_tasks.fails, n=3)
    assert OWNER.users == []
    assert OWNER.runtime is not None and OWNER.runtime.alive()


def test_static_settings_conflict_while_in_use():
    out = flyte.run(spark_tasks.conflicting).outputs()[0]
    assert out[0] == "int: 1"
    assert out[1].startswith("RuntimeConflictError") or "RuntimeConflictError" in out[1], out[1]
    # Names both tasks and both shapes.
    assert "restarted" in out[1] and "conflicting" in out[1] and "spark.driver.memory=640m" in out[1], out[1]


def test_static_settings_restart_the_driver_between_tasks(warm_driver):
    before = flyte.run(spark_tasks.settings).outputs()[0]
    old = int(before["pid"])
    after = flyte.run(spark_tasks.restarted).outputs()[0]
    assert after["memory"] == "640m"
    assert int(after["pid"]) != old
    assert not pid_alive(old), "the driver of the other static settings was not stopped"


def test_idle_timeout_zero_stops_the_driver_at_the_end_of_the_run(monkeypatch, warm_driver):
    monkeypatch.setenv("FLYTE_SPARK_IDLE_TIMEOUT", "0")
    pid = int(flyte.run(spark_tasks.restarted).outputs()[0]["pid"])
    assert OWNER.runtime is None
    assert not pid_alive(pid)
    assert _jvm_pids(warm_driver) == set()


def test_java_missing_is_a_clear_error(monkeypatch, tmp_path):
    from flyteplugins.spark._session import JavaNotFoundError, require_java

    monkeypatch.setenv("JAVA_HOME", str(tmp_path))
    with pytest.raises(JavaNotFoundError, match="JAVA_HOME.*no executable bin/java.*Java 17"):
        require_java()
    monkeypatch.delenv("JAVA_HOME")
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(JavaNotFoundError, match="Java was not found"):
        require_java()


def test_static_and_runtime_settings_are_told_apart():
    assert is_static("spark.driver.memory") and is_static("spark.jars") and is_static("spark.sql.warehouse.dir")
    assert not is_static("spark.sql.shuffle.partitions") and not is_static("spark.hadoop.fs.s3a.endpoint")
    static, runtime = split_settings(spark_tasks.config)
    assert "spark.flyte.test.marker" in static and runtime["spark.hadoop.fs.flyte.test.marker"] == "from-hadoop-conf"
    big = SparkShape("local[4]", (("a", "1"),), "py")
    assert big.accepts(SparkShape("local[2]", (("a", "1"),), "py"))
    assert not big.accepts(SparkShape("local[8]", (("a", "1"),), "py"))
    assert not big.accepts(SparkShape("local[2]", (("a", "2"),), "py"))
