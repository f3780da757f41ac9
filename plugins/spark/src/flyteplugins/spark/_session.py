"""What ``pre`` hands to ``execute`` and ``post``: a Spark session opened for one task attempt.

Each target (Spark driven from this process, on this machine or on a standalone master; a
Spark Connect client; the driver of a Spark application) is a :class:`SparkTaskSession`, an
:class:`flyte.extend.EngineSession` whose ``data`` holds ``spark_session`` for the task body.
"""

from __future__ import annotations

import os
import shutil
from typing import Any, List

from flyte.errors import PluginError
from flyte.extend import EngineSession, MissingModuleError, require_module

__all__ = ["JavaNotFoundError", "PySparkNotInstalledError", "SparkTaskSession", "require_java", "require_pyspark"]


class PySparkNotInstalledError(MissingModuleError):
    """``pyspark`` is not importable in this environment."""


class JavaNotFoundError(PluginError, RuntimeError):
    """No Java runtime to start a Spark driver with (neither ``JAVA_HOME`` nor ``java`` on ``PATH``)."""


def require_pyspark() -> Any:
    """The ``pyspark`` module, or :class:`PySparkNotInstalledError` telling how to install it."""
    return require_module(
        "pyspark", install="flyte-plugin-spark", purpose="Spark tasks need the 'pyspark' package",
        error=PySparkNotInstalledError,
    )


def require_java() -> str:
    """The ``java`` executable a Spark driver starts with, or :class:`JavaNotFoundError`.

    Spark's launcher takes ``$JAVA_HOME/bin/java`` when ``JAVA_HOME`` is set, else ``java`` on
    ``PATH``; without either it exits with a shell message that pyspark reports as "Java gateway
    process exited", which does not say what is missing.
    """
    home = os.environ.get("JAVA_HOME", "").strip()
    if home:
        java = os.path.join(home, "bin", "java")
        if os.access(java, os.X_OK):
            return java
        raise JavaNotFoundError(
            f"JAVA_HOME is {home!r}, which has no executable bin/java: Spark needs Java 17 or 21 "
            "(set JAVA_HOME to a JDK, or unset it to use the java on PATH)"
        )
    java = shutil.which("java")
    if java is None:
        raise JavaNotFoundError(
            "Java was not found (JAVA_HOME is unset and no 'java' on PATH): Spark needs Java 17 or 21 to start "
            "its driver; install one (e.g. apt-get install openjdk-17-jre-headless) or set JAVA_HOME"
        )
    return java


class SparkTaskSession(EngineSession):
    """A Spark session opened for one task attempt (``kind``: local, standalone, connect, in-driver).

    Attributes:
        spark: The task's ``pyspark.sql.SparkSession`` (also ``data["spark_session"]``).
        ignored: Settings the target could not apply (static ones on a Connect server).
    """

    kind: str = "?"

    def __init__(self, spark: Any, kind: str, extra: Any = None):
        super().__init__({"spark_session": spark, "spark_target": kind, **dict(extra or {})})
        self.spark = spark
        self.kind = kind
        self.ignored: List[str] = []
