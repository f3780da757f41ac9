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
from typing import Any, Dict, List, Optional

from flyte.errors import ClusterUnreachableError
from flyte.extend import probe_tcp

from flyteplugins.spark._session import SparkTaskSession, require_pyspark
from flyteplugins.spark.config import MASTER_ENV_VAR, REMOTE_ENV_VAR, Spark
from flyteplugins.spark.local import apply_runtime, split_settings

__all__ = [
    "CONNECT_TIMEOUT_S",
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


class ConnectSession(SparkTaskSession):
    """A Spark Connect session of its own for one task; ``stop`` ends it on the server."""

    def release(self) -> None:
        try:
            self.spark.stop()
        except Exception as e:  # the server may be gone; nothing of ours runs there
            logger.debug("stopping the Spark Connect session failed: %s", e)


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
    static, runtime = split_settings(config)
    spark = ConnectSparkSession.builder.remote(remote).create()
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
        spark.stop()
        raise
    if ignored:
        logger.warning(
            "the Spark Connect server at %s keeps its own values of these static settings, which a Connect client "
            "cannot change: %s (set them when starting the server)", remote, ", ".join(sorted(ignored)),
        )
    session = ConnectSession(spark, "connect", {"spark_remote": remote})
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
