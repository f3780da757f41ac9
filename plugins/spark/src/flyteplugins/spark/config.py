"""What a Spark task asks for: Spark and Hadoop settings, interpreter, main file, pod templates.

Pure data. Users import :class:`Spark` at module level, so this module imports nothing heavy
(no ``pyspark``); every check runs when the object is built and raises
:class:`flyte.errors.ValidationError` / :class:`flyte.errors.TypeValidationError` naming the
field, the bad value and what is allowed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Dict, Mapping, Optional

from flyte import PodTemplate
from flyte.errors import TypeValidationError, ValidationError

__all__ = [
    "MASTER_ENV_VAR",
    "REMOTE_ENV_VAR",
    "Spark",
    "check_master",
    "check_remote",
]

MASTER_ENV_VAR = "FLYTE_SPARK_MASTER"
"""Environment variable naming a Spark master (``spark://host:7077``) when ``spark_conf`` has none."""

REMOTE_ENV_VAR = "FLYTE_SPARK_REMOTE"
"""Environment variable naming a Spark Connect server (``sc://host:15002``) when ``spark_conf`` has none."""

MASTER_FORMS = "'spark://host:port' (a standalone master), 'local', 'local[N]' or 'local[*]'"
REMOTE_FORMS = "'sc://host[:port][/;param=value...]' (a Spark Connect server)"

_OWNER = "Spark"


def check_master(value: Any, field: str = "spark_conf['spark.master']", owner: str = _OWNER) -> Optional[str]:
    """``value`` stripped (None when empty) when it is a master this plugin can drive, else a
    :class:`ValidationError` naming ``field``, the value and the allowed forms.

    Allowed: ``spark://host:port`` (one or more comma-separated ``host:port`` for a standalone
    master with standby masters), ``local``, ``local[N]``, ``local[*]``, ``local[N,F]``.
    Kubernetes (``k8s://``) and YARN masters are for ``spark-submit``, not for a session opened
    by a task: on Kubernetes the task itself becomes a ``SparkApplication``.
    """
    import re

    if value is None:
        return None
    if not isinstance(value, str):
        raise TypeValidationError(field, value, f"a str: {MASTER_FORMS}", owner=owner)
    text = value.strip()
    if not text:
        return None
    if re.fullmatch(r"local(\[(\*|[1-9]\d*)(,[1-9]\d*)?\])?", text):
        return text
    m = re.fullmatch(r"spark://(.+)", text)
    if m:
        hosts = m.group(1).rstrip("/").split(",")
        if all(re.fullmatch(r"[A-Za-z0-9._\-\[\]:]+:\d{1,5}", h) and 0 < int(h.rsplit(":", 1)[1]) < 65536 for h in hosts):
            return text.rstrip("/")
    raise ValidationError(field, value, MASTER_FORMS, owner=owner)


def check_remote(value: Any, field: str = "spark_conf['spark.remote']", owner: str = _OWNER) -> Optional[str]:
    """``value`` stripped (None when empty) when it is a Spark Connect URL, else a
    :class:`ValidationError` naming ``field``, the value and the allowed form."""
    import re

    if value is None:
        return None
    if not isinstance(value, str):
        raise TypeValidationError(field, value, f"a str: {REMOTE_FORMS}", owner=owner)
    text = value.strip()
    if not text:
        return None
    m = re.fullmatch(r"sc://([A-Za-z0-9._\-]+|\[[0-9A-Fa-f:]+\])(:(\d{1,5}))?(/.*)?", text)
    if m and (m.group(3) is None or 0 < int(m.group(3)) < 65536):
        return text
    raise ValidationError(field, value, REMOTE_FORMS, owner=owner)


def _check_str_map(field: str, value: Any) -> Dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise TypeValidationError(field, value, "a dict of str to str", owner=_OWNER)
    out: Dict[str, str] = {}
    for k, v in value.items():
        if not isinstance(k, str) or not k.strip():
            raise TypeValidationError(f"{field} key", k, "a non-empty str such as 'spark.executor.memory'", owner=_OWNER)
        if not isinstance(v, str):
            # Spark settings are strings; a number written as one would be accepted by Spark
            # but silently differ between targets (1 vs "1g"), so say it.
            raise TypeValidationError(f"{field}[{k!r}]", v, f"a str (write it as {str(v)!r}?)", owner=_OWNER)
        out[k] = v
    return out


def _check_path(field: str, value: Any) -> None:
    if value is not None and (not isinstance(value, str) or not value.strip()):
        raise ValidationError(field, value, "a non-empty path, or None", owner=_OWNER)


@dataclass
class Spark:
    """A Spark task's settings: pass it as ``TaskEnvironment(plugin_config=Spark(...))``.

    The task body reads its ``pyspark.sql.SparkSession`` as ``flyte.ctx().data["spark_session"]``.
    Where it runs follows from the settings, so moving a task from a laptop to a cluster changes
    no code: ``spark_conf["spark.remote"]`` (or ``FLYTE_SPARK_REMOTE``) is a Spark Connect
    server; ``spark_conf["spark.master"]`` (or ``FLYTE_SPARK_MASTER``) a standalone master;
    neither: Spark on this machine (``local[N]``, N from the task's ``Resources``, else all
    cores); inside a Spark driver (a ``SparkApplication``, ``spark-submit``): that application's
    session. On Kubernetes the task becomes a ``SparkApplication`` of the Spark operator.

    Args:
        spark_conf: Spark settings (str to str), applied on every target.
        hadoop_conf: Hadoop settings (str to str), applied as ``spark.hadoop.<key>``.
        executor_path: The Python interpreter of the executors (and of the driver on
            Kubernetes); default: this interpreter here, the image's on Kubernetes.
        applications_path: The main application file of the ``SparkApplication`` (default: the
            plugin's entry script, which runs the task's container command).
        driver_pod: Pod template of the driver (container ``spark-kubernetes-driver``).
        executor_pod: Pod template of the executors (container ``spark-kubernetes-executor``).
    """

    spark_conf: Optional[Dict[str, str]] = None
    hadoop_conf: Optional[Dict[str, str]] = None
    executor_path: Optional[str] = None
    applications_path: Optional[str] = None
    driver_pod: Optional[PodTemplate] = None
    executor_pod: Optional[PodTemplate] = None

    def __post_init__(self) -> None:
        # Like the published plugin: None becomes an empty dict, so code may write to them.
        self.spark_conf = _check_str_map("spark_conf", self.spark_conf)
        self.hadoop_conf = _check_str_map("hadoop_conf", self.hadoop_conf)
        _check_path("executor_path", self.executor_path)
        _check_path("applications_path", self.applications_path)
        for name in ("driver_pod", "executor_pod"):
            value = getattr(self, name)
            if value is not None and not isinstance(value, PodTemplate):
                raise TypeValidationError(name, value, PodTemplate, owner=_OWNER)
        master = check_master(self.spark_conf.get("spark.master"))
        remote = check_remote(self.spark_conf.get("spark.remote"))
        if master is not None and remote is not None:
            raise ValidationError(
                "spark_conf['spark.remote']",
                remote,
                f"unset when spark_conf['spark.master'] is set ({master!r}): a session is either a driver "
                "on a master or a Spark Connect client, not both",
                owner=_OWNER,
            )
        for key in ("spark.executor.instances", "spark.executor.cores", "spark.driver.cores"):
            value = self.spark_conf.get(key)
            if value is not None and not (value.strip().isdigit() and int(value) >= 1):
                raise ValidationError(f"spark_conf[{key!r}]", value, "a whole number >= 1, as a str", owner=_OWNER)

    @property
    def master(self) -> Optional[str]:
        """``spark_conf["spark.master"]``, validated (None when unset)."""
        return check_master((self.spark_conf or {}).get("spark.master"))

    @property
    def remote(self) -> Optional[str]:
        """``spark_conf["spark.remote"]``, validated (None when unset)."""
        return check_remote((self.spark_conf or {}).get("spark.remote"))
