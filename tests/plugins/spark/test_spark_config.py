"""The ``Spark`` config: the published constructor, validation (one clear error naming the field,
the value and what is allowed), and where a task runs from its settings."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import flyte
import flyte.errors
from flyteplugins.spark import Spark
from flyteplugins.spark.task import target_of

KEYS = st.text(alphabet="abcdefghijklmnopqrstuvwxyz.", min_size=1, max_size=20).filter(
    lambda k: k.strip(".") and k not in ("spark.master", "spark.remote") and not k.startswith(("spark.executor.", "spark.driver."))
)
VALUES = st.text(max_size=20)
CONF = st.dictionaries(KEYS, VALUES, max_size=5)
NOT_STR = st.one_of(st.integers(), st.floats(allow_nan=False), st.booleans(), st.lists(st.integers(), max_size=2))


def test_the_published_constructor():
    cfg = Spark(spark_conf=None, hadoop_conf=None, executor_path=None, applications_path=None, driver_pod=None, executor_pod=None)
    assert cfg.spark_conf == {} and cfg.hadoop_conf == {}  # like the published plugin, code may add to them
    assert Spark().spark_conf == {}


@settings(max_examples=50, deadline=None)
@given(spark_conf=CONF, hadoop_conf=CONF, path=st.one_of(st.none(), st.text(min_size=1, max_size=10).filter(str.strip)))
def test_good_values_round_trip(spark_conf, hadoop_conf, path):
    cfg = Spark(spark_conf=dict(spark_conf), hadoop_conf=dict(hadoop_conf), executor_path=path, applications_path=path)
    assert cfg.spark_conf == spark_conf and cfg.hadoop_conf == hadoop_conf
    assert (cfg.executor_path, cfg.applications_path) == (path, path)
    assert Spark(**{k: getattr(cfg, k) for k in ("spark_conf", "hadoop_conf", "executor_path", "applications_path")}) == cfg


@settings(max_examples=50, deadline=None)
@given(field=st.sampled_from(["spark_conf", "hadoop_conf"]), key=KEYS, value=NOT_STR)
def test_a_value_that_is_not_a_string_names_the_field_and_value(field, key, value):
    with pytest.raises(flyte.errors.TypeValidationError) as e:
        Spark(**{field: {key: value}})
    text = str(e.value)
    assert f"{field}[{key!r}]" in text and repr(value)[:10] in text and "a str" in text


@settings(max_examples=30, deadline=None)
@given(value=st.one_of(NOT_STR, st.text(max_size=5).filter(lambda t: not t.strip() and t != "")))
def test_bad_paths(value):
    for field in ("executor_path", "applications_path"):
        with pytest.raises(flyte.errors.ValidationError, match=field):
            Spark(**{field: value})


@settings(max_examples=50, deadline=None)
@given(host=st.from_regex(r"[a-z][a-z0-9]{0,8}", fullmatch=True), port=st.integers(1, 65535))
def test_good_addresses(host, port):
    assert Spark(spark_conf={"spark.master": f"spark://{host}:{port}"}).master == f"spark://{host}:{port}"
    assert Spark(spark_conf={"spark.remote": f"sc://{host}:{port}"}).remote == f"sc://{host}:{port}"


@pytest.mark.parametrize(
    "conf, field, allowed",
    [
        ({"spark.master": "spark://host"}, "spark.master", "spark://host:port"),
        ({"spark.master": "yarn"}, "spark.master", "local\\[N\\]"),
        ({"spark.master": "spark://h:99999"}, "spark.master", "spark://host:port"),
        ({"spark.remote": "http://h:15002"}, "spark.remote", "sc://host"),
        ({"spark.master": "spark://a:7077", "spark.remote": "sc://b:15002"}, "spark.remote", "not both"),
        ({"spark.executor.instances": "0"}, "spark.executor.instances", "whole number >= 1"),
        ({"spark.executor.cores": "1.5"}, "spark.executor.cores", "whole number >= 1"),
    ],
)
def test_bad_settings(conf, field, allowed):
    with pytest.raises(flyte.errors.ValidationError, match=allowed) as e:
        Spark(spark_conf=conf)
    assert field in str(e.value) and "Spark" in str(e.value)


def test_bad_pod_template():
    with pytest.raises(flyte.errors.TypeValidationError, match="driver_pod"):
        Spark(driver_pod={"containers": []})


def test_targets(monkeypatch):
    assert target_of(Spark()) == ("local", None)
    assert target_of(Spark(spark_conf={"spark.master": "local[3]"})) == ("local", "local[3]")
    monkeypatch.setenv("FLYTE_SPARK_MASTER", "spark://m:7077")
    assert target_of(Spark()) == ("standalone", "spark://m:7077")
    assert target_of(Spark(spark_conf={"spark.remote": "sc://c:15002"})) == ("connect", "sc://c:15002")
    monkeypatch.setenv("FLYTE_SPARK_REMOTE", "sc://c:15002")
    with pytest.raises(flyte.errors.ValidationError, match="FLYTE_SPARK_REMOTE.*not both"):
        target_of(Spark())
    monkeypatch.delenv("FLYTE_SPARK_MASTER")
    assert target_of(Spark()) == ("connect", "sc://c:15002")
    monkeypatch.setenv("FLYTE_SPARK_REMOTE", "sc:/broken")
    with pytest.raises(flyte.errors.ValidationError, match="FLYTE_SPARK_REMOTE"):
        target_of(Spark())
    monkeypatch.setenv("PYSPARK_GATEWAY_PORT", "4242")  # inside a Spark driver: always its session
    assert target_of(Spark(spark_conf={"spark.master": "spark://m:7077"})) == ("in-driver", None)


def test_the_task_type_and_the_session_key():
    env = flyte.TaskEnvironment(name="cfg_t", plugin_config=Spark())

    @env.task
    def f() -> int:
        return flyte.ctx().data["spark_session"].range(1).count()

    assert f.task_type == "spark"
    assert type(f).__name__ == "PysparkFunctionTask"


def test_importing_the_plugin_imports_no_pyspark():
    import subprocess
    import sys

    code = (
        "import sys, flyteplugins.spark, flyteplugins.spark.task, flyteplugins.spark.config\n"
        "from flyteplugins.spark import Spark\n"
        "import flyte\n"
        "env = flyte.TaskEnvironment(name='x', plugin_config=Spark())\n"
        "print([m for m in ('pyspark', 'pandas', 'pyarrow', 'py4j', 'grpc') if m in sys.modules])\n"
    )
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip() == "[]"


def test_the_dataframe_handlers_register_lazily_by_type_name():
    import subprocess
    import sys

    code = (
        "import sys, flyte\n"
        "from flyte.types import TypeEngine\n"
        "flyte.init()\n"
        "assert 'pyspark' not in sys.modules, 'loading the type plugins imported pyspark'\n"
        "import pyspark.sql\n"
        "from flyte.io.extend import DataFrameTransformerEngine as E\n"
        "lt = TypeEngine.to_literal_type(pyspark.sql.DataFrame)\n"
        "print(lt.structured_dataset_type.format, type(E.get_encoder(pyspark.sql.DataFrame, 'file', 'parquet')).__name__)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "parquet SparkToParquetEncoder"


def test_pyspark_missing_is_a_clear_error(monkeypatch):
    import sys

    from flyteplugins.spark._session import PySparkNotInstalledError, require_pyspark

    monkeypatch.setitem(sys.modules, "pyspark", None)  # what an environment without pyspark imports
    with pytest.raises(PySparkNotInstalledError, match="Spark tasks need the 'pyspark' package.*pip install flyte-plugin-spark"):
        require_pyspark()
