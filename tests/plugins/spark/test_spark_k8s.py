"""The SparkApplication mapping: expected dicts for the rules, strict validation against the
Spark operator's CRD, the published flyteidl2 description, and ``flyte deploy --dry-run``."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

import flyte
import flyte.errors
from flyte.extend import K8sSettings
from flyte.models import SerializationContext
from flyteplugins.spark import Spark
from flyteplugins.spark.k8s import DRIVER_CONTAINER, EXECUTOR_CONTAINER, spark_application, spark_application_for_task
from tests.crd_validation import CRDValidationError, validate_custom_resource

CRD = "sparkoperator.k8s.io_sparkapplications.yaml"
REPO = Path(__file__).resolve().parents[3]
VENV_BIN = Path(sys.executable).parent
COMMAND = ["flyte-execute", "--inputs", "{{.input}}", "--", "module", "m", "task", "t"]


def app(cfg: Spark, **kwargs) -> dict:
    kwargs.setdefault("name", "env.t")
    kwargs.setdefault("image", "img:1")
    kwargs.setdefault("command", COMMAND)
    kwargs.setdefault("settings", K8sSettings())
    manifest = spark_application(cfg, **kwargs)
    validate_custom_resource(manifest, CRD)
    return manifest


def container(template: dict, name: str) -> dict:
    return next(c for c in template["spec"]["containers"] if c["name"] == name)


def test_the_required_fields_and_the_entry_script():
    import pyspark

    m = app(Spark(spark_conf={"spark.sql.shuffle.partitions": "8"}, hadoop_conf={"fs.s3a.fast.upload": "true"}))
    spec = m["spec"]
    assert (m["apiVersion"], m["kind"]) == ("sparkoperator.k8s.io/v1beta2", "SparkApplication")
    assert spec["type"] == "Python" and spec["mode"] == "cluster"
    assert spec["sparkVersion"] == pyspark.__version__
    assert spec["mainApplicationFile"] == "local:///opt/venv/bin/flyte-spark-entrypoint.py"
    assert spec["arguments"] == COMMAND
    assert spec["restartPolicy"] == {"type": "Never"}
    assert spec["sparkConf"]["spark.sql.shuffle.partitions"] == "8"
    assert spec["sparkConf"]["spark.pyspark.python"] == "/opt/venv/bin/python"
    assert spec["sparkConf"]["spark.pyspark.driver.python"] == "/opt/venv/bin/python"
    assert spec["hadoopConf"] == {"fs.s3a.fast.upload": "true"}
    assert spec["driver"]["cores"] == 1 and spec["executor"]["cores"] == 1 and spec["executor"]["instances"] == 1
    assert container(spec["driver"]["template"], DRIVER_CONTAINER)["image"] == "img:1"
    assert container(spec["executor"]["template"], EXECUTOR_CONTAINER)["image"] == "img:1"


def test_applications_path_and_executor_path_win():
    spec = app(Spark(applications_path="local:///app/main.py", executor_path="/usr/bin/python3.11"))["spec"]
    assert spec["mainApplicationFile"] == "local:///app/main.py"
    assert spec["sparkConf"]["spark.pyspark.python"] == "/usr/bin/python3.11"


def test_spark_conf_wins_over_resources_which_size_the_rest():
    cfg = Spark(spark_conf={"spark.executor.cores": "3", "spark.executor.memory": "6g", "spark.executor.instances": "4"})
    spec = app(cfg, resources=flyte.Resources(cpu=("1", "2"), memory="3Gi"))["spec"]
    assert spec["executor"]["cores"] == 3 and spec["executor"]["memory"] == "6g" and spec["executor"]["instances"] == 4
    assert spec["driver"]["cores"] == 2 and spec["driver"]["memory"] == "3072m" and spec["driver"]["coreLimit"] == "2"


def test_gpus_go_to_the_executors_with_affinity():
    spec = app(Spark(), resources=flyte.Resources(cpu=2, memory="4Gi", gpu="A100:2"))["spec"]
    assert spec["executor"]["gpu"] == {"name": "nvidia.com/gpu", "quantity": 2}
    assert spec["sparkConf"]["spark.executor.resource.gpu.amount"] == "2"
    ex = spec["executor"]["template"]["spec"]
    assert container(spec["executor"]["template"], EXECUTOR_CONTAINER)["resources"]["limits"]["nvidia.com/gpu"] == 2 or \
        container(spec["executor"]["template"], EXECUTOR_CONTAINER)["resources"]["limits"]["nvidia.com/gpu"] == "2"
    assert "affinity" in ex and "tolerations" in ex
    drv = container(spec["driver"]["template"], DRIVER_CONTAINER)
    assert "nvidia.com/gpu" not in str(drv), "the driver got the executors' GPUs"
    assert "gpu" not in spec["driver"]


def test_pod_templates_merge_into_the_spark_containers():
    driver_pod = flyte.PodTemplate(
        pod_spec={"containers": [{"name": "primary", "env": [{"name": "A", "value": "1"}]}, {"name": "sidecar", "image": "s:1"}]},
        labels={"team": "data"},
    )
    spec = app(Spark(driver_pod=driver_pod))["spec"]
    names = [c["name"] for c in spec["driver"]["template"]["spec"]["containers"]]
    assert names == [DRIVER_CONTAINER, "sidecar"]
    assert {"name": "A", "value": "1"} in container(spec["driver"]["template"], DRIVER_CONTAINER)["env"]
    assert spec["driver"]["template"]["metadata"]["labels"]["team"] == "data"


def test_service_account_drives_the_driver():
    spec = app(Spark(), service_account="spark-jobs")["spec"]
    assert spec["driver"]["serviceAccount"] == spec["executor"]["serviceAccount"] == "spark-jobs"


@pytest.mark.parametrize(
    "conf, field",
    [
        ({"spark.executor.memory": "lots"}, "spark.executor.memory"),
        ({"spark.executor.resource.gpu.amount": "half"}, "spark.executor.resource.gpu.amount"),
    ],
)
def test_executor_settings_kubernetes_cannot_satisfy(conf, field):
    with pytest.raises(flyte.errors.ValidationError, match=field):
        app(Spark(spark_conf=conf))


def test_a_tpu_is_refused_for_executors():
    with pytest.raises(flyte.errors.ValidationError, match="resources.gpu"):
        app(Spark(), resources=flyte.Resources(gpu=flyte.TPU("V5P", "2x2x1")))


def test_a_null_or_unknown_field_fails_strict_validation():
    m = app(Spark())
    m["spec"]["driver"]["unknownField"] = 1
    with pytest.raises(CRDValidationError):
        validate_custom_resource(m, CRD)


def test_task_objects_and_custom_config():
    sys.path.insert(0, str(Path(__file__).parent))
    import spark_tasks

    sctx = SerializationContext(version="v1", project="p", domain="d")
    m = spark_application_for_task(spark_tasks.settings, sctx)
    validate_custom_resource(m, CRD)
    assert m["metadata"]["namespace"] == "p-d"
    assert m["spec"]["arguments"][0] == "flyte-execute"
    assert m["spec"]["sparkConf"]["spark.flyte.test.marker"] == "shared"
    custom = spark_tasks.settings.custom_config(sctx)
    assert custom.get("applicationType", "PYTHON") == "PYTHON"  # the enum default, omitted by MessageToDict
    assert custom["mainApplicationFile"] == "local:///opt/venv/bin/flyte-spark-entrypoint.py"
    assert custom["executorPath"] == "/opt/venv/bin/python"
    assert custom["sparkConf"]["spark.sql.shuffle.partitions"] == "3"
    assert custom["hadoopConf"] == {"fs.flyte.test.marker": "from-hadoop-conf"}
    assert spark_tasks.settings.task_type == "spark"


def test_deploy_dry_run_writes_valid_spark_applications(tmp_path: Path):
    out = tmp_path / "manifests"
    examples = sorted(str(p.relative_to(REPO)) for p in (REPO / "examples").glob("spark_*.py"))
    env = {**os.environ, "FLYTE_HOME": str(tmp_path), "PATH": f"{VENV_BIN}:{os.environ.get('PATH', '')}"}
    for example in examples:
        proc = subprocess.run(
            [str(VENV_BIN / "flyte"), "deploy", "--dry-run", "--all", "--output", str(out / Path(example).stem), example],
            cwd=REPO, env=env, capture_output=True, text=True, timeout=180,
        )
        assert proc.returncode == 0, proc.stdout + proc.stderr
    apps = [doc for path in out.rglob("*.yaml") for doc in yaml.safe_load_all(path.read_text()) if doc and doc.get("kind") == "SparkApplication"]
    assert len(apps) >= 3, f"SparkApplications written: {sorted(p.name for p in out.rglob('*'))}"
    for doc in apps:
        validate_custom_resource(doc, CRD)
        spec = doc["spec"]
        # The driver runs the entry script, which runs the task's container command.
        assert spec["mainApplicationFile"].endswith("/flyte-spark-entrypoint.py")
        assert spec["arguments"][0] == "flyte-execute"
    assert any(d["spec"]["executor"]["instances"] == 2 and d["spec"]["executor"]["memory"] == "1g" for d in apps)


def test_the_container_command_of_a_spark_application_runs_in_its_driver(tmp_path: Path):
    """What the driver pod runs: ``spark-submit <mainApplicationFile> <arguments>``. The entry
    script runs the task's container command inside the application's driver, and the task uses
    that application's session (master ``local[1]`` here) instead of starting its own."""
    sys.path.insert(0, str(Path(__file__).parent))
    import spark_tasks

    m = spark_application_for_task(spark_tasks.settings, SerializationContext(interpreter_path=sys.executable))
    script = m["spec"]["mainApplicationFile"].removeprefix("local://")
    assert Path(script).exists(), "pip did not install the entry script next to the interpreter"
    fill = {"{{.outputPrefix}}": str(tmp_path / "out"), "{{.rawOutputDataPrefix}}": str(tmp_path / "raw"),
            "{{.runName}}": "r1", "{{.actionName}}": "a0"}
    args = [fill.get(a, a) for a in m["spec"]["arguments"]]
    proc = subprocess.run(
        [str(VENV_BIN / "spark-submit"), "--master", "local[1]", "--conf", "spark.ui.enabled=false",
         "--conf", "spark.flyte.test.marker=from-spark-submit", script, *args],
        cwd=Path(__file__).parent,
        env={**os.environ, "PYSPARK_PYTHON": sys.executable, "SPARK_LOCAL_IP": "127.0.0.1",
             "PATH": f"{VENV_BIN}:{os.environ.get('PATH', '')}", "FLYTE_SPARK_MASTER": "spark://nowhere:7077"},
        capture_output=True, text=True, timeout=240,
    )
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-3000:]
    outputs = (tmp_path / "out" / "outputs.pb").read_bytes()
    # The in-driver path: the application's master and static settings, not FLYTE_SPARK_MASTER.
    assert b"in-driver" in outputs and b"local[1]" in outputs and b"from-spark-submit" in outputs
