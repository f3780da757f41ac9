"""Apps as Kubernetes objects: Deployment + Service (+ HorizontalPodAutoscaler), validated strictly,
and written by flyte deploy --dry-run beside the task manifests."""

from __future__ import annotations

import logging
import subprocess
import textwrap
from pathlib import Path

import kubernetes_validate
import pytest
import yaml

import flyte
import flyte.app
from flyte._serialize.k8s.app import app_manifests
from flyte.models import SerializationContext
from tests.conftest import REPO, subprocess_env

K8S_VERSION = "1.30"  # the version the pod tests pin
FLYTE = str(REPO / ".venv" / "bin" / "flyte")


def validate(objs):
    for o in objs:
        kubernetes_validate.validate(o, K8S_VERSION, strict=True)


def sctx(root=REPO):
    return SerializationContext(project="proj", domain="dev", version="v1", root_dir=str(root))


def by_kind(objs):
    return {o["kind"]: o for o in objs}


def test_a_fixed_app_is_a_deployment_and_a_service():
    env = flyte.app.AppEnvironment(
        name="web", command=["python", "-m", "http.server", "9000"], port=9000, image="ghcr.io/acme/web:1",
        scaling=flyte.app.Scaling(replicas=2), env_vars={"MODE": "prod"},
        secrets=[flyte.Secret("db-password", as_env_var="DB_PASSWORD")],
        resources=flyte.Resources(cpu=("1", "2"), memory="1Gi", gpu="A100:1"),
    )
    objs = app_manifests(env, sctx())
    validate(objs)
    kinds = by_kind(objs)
    assert set(kinds) == {"Deployment", "Service"}
    dep, svc = kinds["Deployment"], kinds["Service"]
    labels = {"app.kubernetes.io/name": "web", "app.kubernetes.io/instance": "web"}
    assert dep["metadata"]["name"] == svc["metadata"]["name"] == "web"
    assert dep["metadata"]["namespace"] == "proj-dev"
    assert dep["spec"]["selector"]["matchLabels"] == labels == svc["spec"]["selector"]
    pod_labels = dep["spec"]["template"]["metadata"]["labels"]
    assert labels.items() <= pod_labels.items()
    assert dep["spec"]["replicas"] == 2
    (c,) = dep["spec"]["template"]["spec"]["containers"]
    assert c["name"] == "app" and c["image"] == "ghcr.io/acme/web:1"
    assert c["command"] == ["python", "-m", "http.server", "9000"]
    assert c["ports"] == [{"name": "http", "containerPort": 9000, "protocol": "TCP"}]
    assert c["readinessProbe"]["tcpSocket"]["port"] == "http" and c["livenessProbe"]["tcpSocket"]["port"] == "http"
    assert c["resources"]["requests"]["cpu"] == "1" and c["resources"]["limits"]["cpu"] == "2"
    assert c["resources"]["limits"]["nvidia.com/gpu"] == 1 or c["resources"]["limits"]["nvidia.com/gpu"] == "1"
    env_by_name = {e["name"]: e for e in c["env"]}
    assert env_by_name["MODE"]["value"] == "prod"
    assert "secretKeyRef" in env_by_name["DB_PASSWORD"]["valueFrom"] and "value" not in env_by_name["DB_PASSWORD"]
    affinity = dep["spec"]["template"]["spec"]["affinity"]["nodeAffinity"]
    assert "nvidia-tesla-a100" in str(affinity)
    assert svc["spec"]["type"] == "ClusterIP"
    assert svc["spec"]["ports"] == [{"name": "http", "port": 80, "targetPort": "http", "protocol": "TCP"}]
    assert dep["metadata"]["annotations"]["flyte.org/requires-auth"] == "true"


def test_a_range_adds_an_hpa_and_zero_min_is_a_warning(caplog):
    env = flyte.app.AppEnvironment(
        name="burst", command="serve", image="ghcr.io/acme/b:1",
        scaling=flyte.app.Scaling(replicas=(0, 5), metric=flyte.app.Scaling.RequestRate(20), scaledown_after=7200),
        timeouts=flyte.app.Timeouts(request=30),
    )
    with caplog.at_level(logging.WARNING, logger="flyte"):
        objs = app_manifests(env, sctx())
    validate(objs)
    kinds = by_kind(objs)
    assert kinds["Deployment"]["spec"]["replicas"] == 1
    hpa = kinds["HorizontalPodAutoscaler"]
    assert hpa["apiVersion"] == "autoscaling/v2"
    assert hpa["spec"]["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment", "name": "burst"}
    assert (hpa["spec"]["minReplicas"], hpa["spec"]["maxReplicas"]) == (1, 5)
    assert hpa["spec"]["behavior"]["scaleDown"]["stabilizationWindowSeconds"] == 3600
    notes = kinds["Deployment"]["metadata"]["annotations"]
    assert notes["flyte.org/scaling-metric"] == "request-rate=20" and notes["flyte.org/request-timeout-seconds"] == "30"
    text = caplog.text
    assert "cannot scale to zero" in text and "RequestRate" in text and "scaledown_after" in text


def test_no_hpa_when_min_equals_max_and_port_zero_is_8080():
    env = flyte.app.AppEnvironment(name="one", command="serve", port=flyte.app.Port(0, name="h2c"), scaling=flyte.app.Scaling(replicas=(1, 1)), image="x/y:1")
    objs = app_manifests(env, sctx())
    validate(objs)
    assert [o["kind"] for o in objs] == ["Deployment", "Service"]
    (c,) = objs[0]["spec"]["template"]["spec"]["containers"]
    assert c["ports"][0] == {"name": "h2c", "containerPort": 8080, "protocol": "TCP"}
    assert objs[1]["spec"]["ports"][0]["targetPort"] == "h2c"


def test_a_server_app_runs_flyte_serve_on_its_file(tmp_path):
    src = tmp_path / "apps" / "srv.py"
    src.parent.mkdir()
    src.write_text(textwrap.dedent("""
        import flyte.app
        env = flyte.app.AppEnvironment(name="srv", port=8000, image="x/y:1")

        @env.server
        async def run():
            pass
    """))
    from flyte._loader import load_file

    module = load_file(src, tmp_path)
    objs = app_manifests(module.env, sctx(tmp_path))
    validate(objs)
    (c,) = objs[0]["spec"]["template"]["spec"]["containers"]
    assert c["args"] == ["flyte", "serve", "--local", "--host", "0.0.0.0", "--port", "8000", "--root-dir", ".", "apps/srv.py", "srv"]
    assert "command" not in c


def test_a_secret_value_never_reaches_a_manifest(monkeypatch):
    from flyte._redact import note_secret_values

    env = flyte.app.AppEnvironment(name="leak", command=["serve", "--token", "s3cr3t-value"], image="x/y:1", secrets=["tok"])
    monkeypatch.setenv("TOK", "s3cr3t-value")
    note_secret_values(["s3cr3t-value"])
    with pytest.raises(flyte.errors.ValidationError, match="secret"):
        app_manifests(env, sctx())


def test_deploy_dry_run_writes_apps_beside_tasks(isolated_flyte_home, tmp_path):
    pytest.importorskip("flyteplugins.app", reason="the example is a FastAPI app: it needs the app plugin")
    out = tmp_path / "out"
    res = subprocess.run(
        [FLYTE, "deploy", "--dry-run", "--all", "--output", str(out), "examples/app_predict.py"],
        capture_output=True, text=True, timeout=120, cwd=REPO, env=subprocess_env(isolated_flyte_home),
    )
    assert res.returncode == 0, res.stderr
    assert "app predict-api" in res.stdout and "HorizontalPodAutoscaler" in res.stdout
    files = sorted(p.name for p in out.iterdir())
    assert "predict-api.yaml" in files and "scoring.score.yaml" in files
    objs = list(yaml.safe_load_all((out / "predict-api.yaml").read_text()))
    validate(objs)
    assert [o["kind"] for o in objs] == ["Deployment", "Service", "HorizontalPodAutoscaler"]
    c = objs[0]["spec"]["template"]["spec"]["containers"][0]
    assert c["args"][-2:] == ["examples/app_predict.py", "predict-api"]
