"""Spark tasks on an existing cluster: a standalone master, a Spark Connect server, or the
Spark application the task runs in.

* ``spark://host:7077`` (``spark_conf["spark.master"]`` or ``FLYTE_SPARK_MASTER``): this
  process's driver (:mod:`flyteplugins.spark.local`) runs on that master, its executors there;
  Python functions of RDDs and UDFs run on them with this interpreter (``executor_path``
  names another one that the workers have).
* ``sc://host:15002`` (``spark_conf["spark.remote"]`` or ``FLYTE_SPARK_REMOTE``): the task gets
  its own Spark Connect session on that server; runtime settings are set on it, static ones
  (which a Connect client cannot change) are reported in one warning naming them.
* Inside a Spark driver (the task is the main program of a ``SparkApplication`` or runs under
  ``spark-submit``, which hands the program its JVM through ``PYSPARK_GATEWAY_PORT``): the task
  gets a ``newSession()`` of that application's session and never starts a master of its own.

Each address is probed with a plain TCP connection first (:func:`flyte.extend.probe_tcp`), so an
unreachable master or server is an error naming it within seconds, not a hang in Spark's retries.
"""

from __future__ import annotations

import logging
import os
import sys
import threading
from typing import Any, Dict, List, Optional

from flyte.errors import ClusterUnreachableError
from flyte.extend import probe_tcp

from flyteplugins.spark._session import SparkTaskSession, require_pyspark
from flyteplugins.spark.config import MASTER_ENV_VAR, REMOTE_ENV_VAR, Spark
from flyteplugins.spark.local import apply_runtime, split_settings

__all__ = [
    "CONNECT_TIMEOUT_S",
    "ConnectClient",
    "ConnectSession",
    "InDriverSession",
    "SparkClusterUnreachableError",
    "open_connect_session",
    "open_in_driver_session",
    "probe",
]

logger = logging.getLogger("flyteplugins.spark")

CONNECT_TIMEOUT_S = float(os.environ.get("FLYTE_SPARK_CONNECT_TIMEOUT", "5"))
"""Seconds to wait for a master or Connect server to accept a connection."""

DEFAULT_PORTS = {"spark": 7077, "sc": 15002}


class SparkClusterUnreachableError(ClusterUnreachableError):
    """The Spark master or Spark Connect server given to a task does not answer."""

    def __init__(self, address: str, reason: str, hint: str):
        super().__init__(address, reason, hint=hint, code="SparkClusterUnreachable")
        what = "Spark Connect server" if address.startswith("sc://") else "Spark master"
        self.args = (f"cannot reach the {what} at {address}: {reason}. Check the address ({hint}) and that it is running",)


async def probe(address: str, timeout: float = CONNECT_TIMEOUT_S) -> None:
    """Raise :class:`SparkClusterUnreachableError` unless every host of ``address`` (a
    ``spark://`` URL may list standby masters) accepts a TCP connection within ``timeout``."""
    connect = address.startswith("sc://")
    hint = f"spark_conf['spark.remote'] or {REMOTE_ENV_VAR}" if connect else f"spark_conf['spark.master'] or {MASTER_ENV_VAR}"
    if connect:
        # sc://host:port/;token=...: the parameters are no part of the address to probe.
        targets = [address.split("/;", 1)[0].rstrip("/")]
    else:
        targets = [f"spark://{h}" for h in address[len("spark://"):].split(",")]
    errors: List[str] = []
    for target in targets:
        try:
            await probe_tcp(target, DEFAULT_PORTS, timeout=timeout, hint=hint)
            return
        except ClusterUnreachableError as e:
            errors.append(e.reason)
    raise SparkClusterUnreachableError(address, "; ".join(errors), hint)


class ConnectClient:
    """This process's Spark Connect client of one server, owned like a local driver
    (:data:`flyteplugins.spark.local.OWNER`, idle timeout ``FLYTE_SPARK_IDLE_TIMEOUT``).

    Each task gets a session of its own on the server. A finished task's session is closed
    later, not in its ``post``: its outputs (a DataFrame is a plan on that session) are
    written after ``post``. Closed are the oldest beyond :data:`KEEP_FINISHED`, and all of
    them when the client stops (idle timeout, end of run, exit).
    """

    KEEP_FINISHED = 8

    def __init__(self, remote: str):
        from pyspark.sql.connect.session import SparkSession as ConnectSparkSession

        self.remote = remote
        self._builder = ConnectSparkSession.builder
        self._lock = threading.Lock()
        self._finished: List[Any] = []
        self._open: List[Any] = []
        self.root = self.create()
        """A session for reading task inputs before a task has its own."""

    def create(self) -> Any:
        spark = self._builder.remote(self.remote).create()
        with self._lock:
            self._open.append(spark)
        return spark

    def finished(self, spark: Any) -> None:
        with self._lock:
            self._finished.append(spark)
            old, self._finished = self._finished[: -self.KEEP_FINISHED], self._finished[-self.KEEP_FINISHED:]
        for session in old:
            self._close(session)

    def _close(self, spark: Any) -> None:
        with self._lock:
            if spark in self._open:
                self._open.remove(spark)
        try:
            spark.stop()
        except Exception as e:  # the server may be gone; nothing of ours runs there
            logger.debug("closing a Spark Connect session failed: %s", e)

    def alive(self) -> bool:
        return True

    def stop(self) -> None:
        with self._lock:
            sessions, self._finished = list(self._open), []
        for spark in sessions:
            self._close(spark)


class ConnectSession(SparkTaskSession):
    """A task's own Spark Connect session; ``stop`` hands it back to the client (see above)."""

    def __init__(self, spark: Any, lease: Any, extra: Dict[str, Any]):
        super().__init__(spark, "connect", extra)
        self.lease = lease

    def release(self) -> None:
        try:
            if self.lease.owned:
                self.lease.runtime.finished(self.spark)
        finally:
            self.lease.release()


class InDriverSession(SparkTaskSession):
    """A task inside a Spark driver: a ``newSession()`` of the application's; the application
    itself stops at its end, not here."""


def open_connect_session(config: Spark, remote: str) -> ConnectSession:
    """A new Spark Connect session on ``remote`` with the task's settings (blocking)."""
    require_pyspark()
    try:
        from pyspark.sql.connect.session import SparkSession as ConnectSparkSession
    except ImportError as e:  # the Connect client's own dependencies (grpcio, ...)
        from flyteplugins.spark._session import PySparkNotInstalledError

        raise PySparkNotInstalledError("pyspark.sql.connect", "flyte-plugin-spark", e,
                                       "Spark Connect needs the Connect client of pyspark (grpcio, grpcio-status, "
                                       "googleapis-common-protos, zstandard)") from e
    from flyteplugins.spark.local import OWNER, SparkShape, task_user

    static, runtime = split_settings(config)
    shape = SparkShape(master=remote, python=config.executor_path or sys.executable, label="Spark Connect")
    lease = OWNER.acquire(shape, lambda: ConnectClient(remote), user=task_user())
    try:
        spark = lease.runtime.create()
    except BaseException:
        lease.release()
        raise
    ignored: List[str] = []
    try:
        for k, v in {**static, **runtime}.items():
            try:
                spark.conf.set(k, v)
            except Exception as e:
                # The server refuses what it fixed when it started (spark.driver.memory, jars...).
                if "CANNOT_MODIFY" in str(e) or "static" in str(e).lower() or "Cannot modify" in str(e):
                    ignored.append(k)
                else:
                    raise
    except BaseException:
        lease.runtime.finished(spark)
        lease.release()
        raise
    if ignored:
        logger.warning(
            "the Spark Connect server at %s keeps its own values of these static settings, which a Connect client "
            "cannot change: %s (set them when starting the server)", remote, ", ".join(sorted(ignored)),
        )
    session = ConnectSession(spark, lease, {"spark_remote": remote, "spark_reused": lease.reused})
    session.ignored = sorted(ignored)
    return session


def open_in_driver_session(config: Spark) -> InDriverSession:
    """A session of the Spark application this process is the driver of (blocking)."""
    require_pyspark()
    from pyspark.sql import SparkSession

    static, runtime = split_settings(config)
    # spark-submit applied the static settings when it started the application (the
    # SparkApplication's sparkConf); getOrCreate connects to that JVM, never a new master.
    root = SparkSession.builder.getOrCreate()
    spark = root.newSession()
    apply_runtime(spark, runtime)
    data: Dict[str, Any] = {"spark_master": spark.sparkContext.master}
    return InDriverSession(spark, "in-driver", data)


def remote_from(config: Spark) -> Optional[str]:
    """The Connect URL of a task: ``spark_conf["spark.remote"]``, else ``FLYTE_SPARK_REMOTE``."""
    from flyteplugins.spark.config import check_remote

    return config.remote or check_remote(os.environ.get(REMOTE_ENV_VAR), field=REMOTE_ENV_VAR, owner="environment")
