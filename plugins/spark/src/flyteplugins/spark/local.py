"""Spark driven from this process: ``local[N]`` on this machine, or a driver on a standalone master.

One driver JVM per process, owned by :func:`flyte.extend.runtime_owner` (``"spark"``): the
Spark tasks of the process share it, one after another or at the same time, and it stays up
``FLYTE_SPARK_IDLE_TIMEOUT`` seconds (default 60; ``0``: until the run ends) after the last
one. Sharing has rules:

* each task gets its own ``SparkSession.newSession()``: its runtime SQL settings, temp views
  and registered functions are its own;
* settings Spark fixes when the driver starts (the *static* ones: every ``spark.*`` key
  outside ``spark.sql.`` / ``spark.hadoop.``, plus the static SQL settings such as
  ``spark.sql.warehouse.dir``) and the master are the runtime's *shape*: a task whose static
  settings differ restarts the driver between tasks, and is an error naming both tasks while
  the other one runs (:class:`flyte.extend.RuntimeConflictError`);
* a driver on ``local[N]`` serves tasks asking for at most N cores.

The JVM is started by pyspark's own launcher, from the kit's supervisor thread, with its output
captured: nothing reaches the terminal but the driver's warnings and errors (logged by the
``flyteplugins.spark.driver`` logger, with secret values masked; the rest at DEBUG). It dies
with this process (its stdin is a pipe from us, and the kit's watchdog guards it), and
:meth:`SparkRuntime.stop` stops it by PID.
"""

from __future__ import annotations

import contextvars
import logging
import os
import subprocess
import sys
import threading
from dataclasses import dataclass, field
from typing import Any, Dict, List, Mapping, Optional, Tuple

import flyte
from flyte.extend import Lease, local_size, redact, runtime_owner, stop_pids

from flyteplugins.spark._session import SparkTaskSession, require_java, require_pyspark
from flyteplugins.spark.config import Spark

__all__ = [
    "OWNER",
    "STATIC_SQL_KEYS",
    "LocalSparkSession",
    "SparkRuntime",
    "SparkShape",
    "is_static",
    "open_driver_session",
    "split_settings",
]

logger = logging.getLogger("flyteplugins.spark")
driver_logger = logging.getLogger("flyteplugins.spark.driver")

OWNER = runtime_owner("spark")
"""The process-wide owner of the Spark driver (idle timeout: ``FLYTE_SPARK_IDLE_TIMEOUT``)."""

APP_NAME = "FlyteSpark"
"""``spark.app.name`` of a driver started here, unless ``spark_conf`` names one."""

# Spark SQL settings that Spark fixes at start-up (org.apache.spark.sql.internal.StaticSQLConf).
STATIC_SQL_KEYS = frozenset({
    "spark.sql.warehouse.dir",
    "spark.sql.catalogImplementation",
    "spark.sql.globalTempDatabase",
    "spark.sql.extensions",
    "spark.sql.queryExecutionListeners",
    "spark.sql.streaming.streamingQueryListeners",
    "spark.sql.ui.retainedExecutions",
    "spark.sql.broadcastExchange.maxThreadThreshold",
    "spark.sql.subquery.maxThreadThreshold",
    "spark.sql.resultQueryStage.maxThreadThreshold",
    "spark.sql.event.truncate.length",
    "spark.sql.cache.serializer",
    "spark.sql.sources.disabledJdbcConnProviderList",
    "spark.sql.legacy.sessionInitWithConfigDefaults",
    "spark.sql.defaultUrlStreamHandlerFactory.enabled",
    "spark.sql.streaming.ui.enabled",
    "spark.sql.streaming.ui.retainedProgressUpdates",
    "spark.sql.streaming.ui.retainedQueries",
    "spark.sql.metadataCacheTTLSeconds",
    "spark.sql.filesourceTableRelationCacheSize",
    "spark.sql.codegen.cache.maxEntries",
    "spark.sql.codegen.comments",
    "spark.sql.debug",
    "spark.sql.hive.thriftServer.singleSession",
    "spark.sql.artifact.isolation.enabled",
    "spark.sql.artifact.isolation.alwaysApplyClassloader",
    "spark.sql.connect.enrichError.enabled",
    "spark.sql.hive.metastore.version",
    "spark.sql.hive.metastore.jars",
    "spark.sql.hive.metastore.jars.path",
    "spark.sql.hive.metastore.sharedPrefixes",
    "spark.sql.hive.metastore.barrierPrefixes",
})

# Where a line of the driver's log says its level (log4j's default console pattern).
_LEVELS = (" ERROR ", " WARN ", " FATAL ")


def is_static(key: str) -> bool:
    """Whether Spark fixes ``key`` when the driver starts (see the module docs).

    Runtime settings are the SQL ones (``spark.sql.*`` but the static SQL settings) and Hadoop
    settings given per session (``spark.hadoop.*``); everything else, unknown keys included, is
    treated as static: applying it at start-up is always right, at run time often silently not.
    """
    if key in STATIC_SQL_KEYS or key.startswith("spark.sql.hive.metastore."):
        return True
    return not (key.startswith("spark.sql.") or key.startswith("spark.hadoop."))


def split_settings(config: Spark) -> Tuple[Dict[str, str], Dict[str, str]]:
    """``(static, runtime)`` settings of a task: ``spark_conf`` plus ``hadoop_conf`` as
    ``spark.hadoop.<key>`` (without ``spark.master`` / ``spark.remote``, which choose the target)."""
    static: Dict[str, str] = {}
    runtime: Dict[str, str] = {}
    settings = {f"spark.hadoop.{k}": v for k, v in (config.hadoop_conf or {}).items()}
    settings.update(config.spark_conf or {})
    for k, v in settings.items():
        if k in ("spark.master", "spark.remote"):
            continue
        (static if is_static(k) else runtime)[k] = v
    return static, runtime


@dataclass(frozen=True)
class SparkShape:
    """What a driver was started for: the master and the static settings.

    A driver on ``local[N]`` accepts a task asking for ``local[M]``, ``M <= N``, with the same
    static settings; otherwise master and settings must be equal.
    """

    master: str
    static: Tuple[Tuple[str, str], ...] = ()
    python: str = field(default=sys.executable)
    label: str = field(default="", compare=False)

    @staticmethod
    def cores(master: str) -> Optional[int]:
        """N of ``local[N]`` (``local``: 1; ``local[*]``: all of this machine's), None otherwise."""
        if master == "local":
            return 1
        if master.startswith("local["):
            n = master[6:-1].split(",")[0]
            return os.cpu_count() or 1 if n == "*" else int(n)
        return None

    def accepts(self, wanted: "SparkShape") -> bool:
        if (self.static, self.python) != (wanted.static, wanted.python):
            return False
        have, want = self.cores(self.master), self.cores(wanted.master)
        if have is not None and want is not None:
            return want <= have
        return self.master == wanted.master

    def describe(self) -> str:
        if self.master.startswith("sc://"):
            return f"a Spark Connect client of {self.master}"
        settings = ", ".join(f"{k}={v}" for k, v in self.static)
        return f"a Spark driver on {self.master}" + (f" with {settings}" if settings else "")


def _log_driver_line(line: str, sink: Optional[contextvars.Context]) -> None:
    # The driver's INFO chatter stays off the terminal; its warnings and errors do not. While a
    # task uses the driver they are written in that task's context, so the engine records them
    # in the task's log like the task's own output.
    if any(level in line for level in _LEVELS) or line.startswith(("Exception", "Error", "\tat ", "Caused by")):
        if sink is not None:
            sink.run(lambda: print(line, file=sys.stderr, flush=True))
        else:
            driver_logger.warning("%s", line)
    else:
        driver_logger.debug("%s", line)


class SparkRuntime:
    """A driver JVM and its ``SparkContext``; ``root`` is the session tasks' sessions derive from."""

    def __init__(self, shape: SparkShape, settings: Mapping[str, str]):
        pyspark = require_pyspark()
        require_java()
        from pyspark import SparkConf, SparkContext
        from pyspark.java_gateway import launch_gateway
        from pyspark.sql import SparkSession

        if SparkContext._active_spark_context is not None:  # type: ignore[attr-defined]
            raise RuntimeError("a SparkContext is already running in this process")  # adopted by the caller
        conf = SparkConf(loadDefaults=False)
        conf.setMaster(shape.master)
        conf.set("spark.app.name", APP_NAME)
        # The UI and its port are of no use to a task driver and cost a second at start-up.
        conf.set("spark.ui.enabled", "false")
        # A driver's INFO log would otherwise flood the task's output (it is DEBUG here).
        conf.set("spark.log.level", "WARN")
        for k, v in settings.items():
            conf.set(k, v)
        self.shape = shape
        self.sink: Optional[contextvars.Context] = None
        """The context of the task that last opened a session (its log gets the driver's warnings)."""
        self.pid: Optional[int] = None
        self._proc: Optional[subprocess.Popen] = None
        gateway = launch_gateway(
            conf, popen_kwargs={"stdout": subprocess.PIPE, "stderr": subprocess.STDOUT, "start_new_session": True}
        )
        self._proc = gateway.proc
        self.pid = self._proc.pid if self._proc is not None else None
        self._reader = threading.Thread(target=self._pump, name=f"flyte-spark-driver-{self.pid}", daemon=True)
        self._reader.start()
        try:
            self.context = SparkContext(conf=conf, gateway=gateway)
            # Python code in RDD functions and UDFs runs on the executors with this interpreter
            # (pyspark defaults to "python3" on PATH, which may be another Python).
            self.context.pythonExec = shape.python
            self.root = SparkSession(self.context)
        except BaseException:
            self._stop_gateway()
            raise
        self.version = pyspark.__version__
        self._spare: Optional[Any] = None
        self._spare_lock = threading.Lock()
        self._stopped = False

    # -- sessions -----------------------------------------------------------------------------
    def _build_session(self) -> Any:
        spark = self.root.newSession()
        # A session builds its state (analyzer, catalog view, SQL settings) on first use: a
        # few hundred milliseconds that a spare built in advance takes off the next task.
        spark._jsparkSession.sessionState()
        return spark

    def _refill(self) -> None:
        def build() -> None:
            try:
                spare = self._build_session()
            except Exception:  # the driver is stopping; the next task builds its own
                return
            with self._spare_lock:
                if self._spare is None and not self._stopped:
                    self._spare = spare

        threading.Thread(target=build, name="flyte-spark-spare-session", daemon=True).start()

    def new_session(self) -> Any:
        """A fresh ``newSession()`` for a task (built in advance while the previous task ran)."""
        with self._spare_lock:
            spare, self._spare = self._spare, None
        spark = spare if spare is not None else self._build_session()
        self._refill()
        return spark

    def _pump(self) -> None:
        proc = self._proc
        if proc is None or proc.stdout is None:
            return
        for raw in iter(proc.stdout.readline, b""):
            _log_driver_line(redact(raw.decode("utf-8", "replace").rstrip("\r\n")), self.sink)

    def alive(self) -> bool:
        """False once the driver exited (a task body calling ``spark.stop()`` stops it too)."""
        if self._proc is not None and self._proc.poll() is not None:
            return False
        return getattr(self.context, "_jsc", None) is not None

    def _stop_gateway(self) -> None:
        from pyspark import SparkContext

        gateway = SparkContext._gateway  # type: ignore[attr-defined]
        try:
            if gateway is not None:
                gateway.shutdown()
        except Exception:  # the JVM may be gone already
            pass
        SparkContext._gateway = None  # type: ignore[attr-defined]
        SparkContext._jvm = None  # type: ignore[attr-defined]
        if self._proc is not None:
            # EOF on its stdin makes the gateway JVM exit by itself, running its shutdown hooks
            # (which delete its temp folders with child processes of their own): signals now
            # would kill those mid-way. Only a JVM that does not exit in time is stopped by PID.
            try:
                self._proc.stdin.close()  # type: ignore[union-attr]
            except Exception:
                pass
            try:
                self._proc.wait(15.0)
            except subprocess.TimeoutExpired:
                logger.warning("the Spark driver (pid %s) did not exit after its gateway closed; stopping it", self._proc.pid)
            stop_pids([self._proc.pid], timeout=10.0, group=True, popen=self._proc)

    def stop(self) -> None:
        """Stop the context and the JVM (by PID, with its children)."""
        with self._spare_lock:
            self._stopped, self._spare = True, None
        try:
            if getattr(self.context, "_jsc", None) is not None:
                self.context.stop()
        except Exception as e:  # a dead JVM cannot stop cleanly; it is killed below either way
            logger.debug("stopping the SparkContext failed: %s", e)
        finally:
            self._stop_gateway()


class LocalSparkSession(SparkTaskSession):
    """A task's own ``newSession()`` of the process's driver; :meth:`stop` releases the lease."""

    def __init__(self, spark: Any, kind: str, lease: "Lease[SparkRuntime]", extra: Dict[str, Any]):
        super().__init__(spark, kind, extra)
        self.lease = lease
        self.sink: Optional[contextvars.Context] = None

    def release(self) -> None:
        runtime = self.lease.runtime
        if self.lease.owned and getattr(runtime, "sink", None) is self.sink:
            runtime.sink = None
        self.lease.release()


def task_user() -> str:
    """The running task attempt, in words, for conflict errors."""
    tctx = flyte.ctx()
    if tctx is None:
        return "a Spark task"
    return f"task {tctx.task_name} (action {tctx.action.name} of run {tctx.action.run_name})"


def local_master(resources: Any) -> str:
    """``local[N]`` with N the task's CPUs (from its ``Resources``), else ``local[*]``."""
    cpus = local_size(resources).cpus
    return f"local[{cpus}]" if cpus else "local[*]"


def _static_with_resources(static: Dict[str, str], resources: Any, master: str) -> Dict[str, str]:
    out = dict(static)
    memory = local_size(resources).memory
    if master.startswith("local") and memory and "spark.driver.memory" not in out:
        # A local driver is the whole of local Spark: the task's memory is its heap.
        out["spark.driver.memory"] = f"{max(1, memory // 2**20)}m"
    return out


def apply_runtime(spark: Any, runtime: Mapping[str, str]) -> None:
    """Set a task's runtime settings on its own session."""
    for k, v in runtime.items():
        spark.conf.set(k, v)


def open_driver_session(config: Spark, resources: Any, master: Optional[str], kind: str) -> LocalSparkSession:
    """A session of this process's driver for the running task: ``master`` (a ``spark://``
    URL) or, when None, ``local[N]``; the shared driver when its shape accepts the task."""
    static, runtime = split_settings(config)
    master = master or local_master(resources)
    static = _static_with_resources(static, resources, master)
    python = config.executor_path or sys.executable
    shape = SparkShape(master=master, static=tuple(sorted(static.items())), python=python)
    lease = OWNER.acquire(shape, lambda: SparkRuntime(shape, static), user=task_user(), adopt=_adopt_user_context)
    try:
        # An adopted runtime is the user's own session: derive from it directly.
        spark = lease.runtime.new_session() if lease.owned else lease.runtime.newSession()
        apply_runtime(spark, runtime)
    except BaseException:
        lease.release()
        raise
    extra = {"spark_master": spark.sparkContext.master, "spark_reused": lease.reused}
    session = LocalSparkSession(spark, kind, lease, extra)
    if lease.owned:
        session.sink = lease.runtime.sink = contextvars.copy_context()
    return session


def _adopt_user_context() -> Optional[Any]:
    # A SparkContext the program started itself is used and left running (its root session).
    pyspark = require_pyspark()
    context = pyspark.SparkContext._active_spark_context
    if context is None or getattr(context, "_jsc", None) is None:
        return None
    from pyspark.sql import SparkSession

    return SparkSession.getActiveSession() or SparkSession(context)


def running_session() -> Optional[Any]:
    """The root session of the process's running driver (for DataFrame decoding), else None."""
    runtime = OWNER.runtime
    if runtime is not None and runtime.alive():
        return runtime.root  # a driver's root session, or a Connect client's
    return None

