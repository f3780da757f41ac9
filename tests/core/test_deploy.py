"""`flyte deploy --dry-run` and `deploy(dryrun=True)`, end to end.

For every example program: the dry run writes a TaskTemplate (.pb/.json) and Kubernetes
manifests (.yaml) per task; the protos parse back and match the tasks field by field; the
manifests validate; and the container command of a produced .pb, run as a local process with
inputs written to a file:// URI, gives the same outputs as ``flyte.run``.
"""

from __future__ import annotations

import asyncio
import importlib
import json
import subprocess
import textwrap
from pathlib import Path
from typing import Any, Dict, List

import kubernetes_validate
import pytest
import yaml
from flyteidl2.core import tasks_pb2
from google.protobuf.json_format import Parse

import flyte
from flyte._deploy import deploy
from flyte._serialize import io as fio
from flyte.errors import DeploymentError, ValidationError
from flyte.models import SerializationContext
from tests.conftest import REPO, subprocess_env

FLYTE = str(REPO / ".venv" / "bin" / "flyte")
K8S_VERSION = "1.30"

# example file -> (entry task attribute, inputs) for the examples whose container command the
# test runs; inputs are kept small so it runs quickly. Every other example is serialized and
# validated only (a Ray example would start a Ray cluster).
RUN_INPUTS: Dict[str, Any] = {
    "hello.py": ("main", {"n": 5}),
    "data_pipeline.py": ("pipeline", {"rows": 40}),
    "hyperparameter_sweep.py": ("sweep", {"trials": 6, "concurrency": 2, "steps": 20}),
    "report_builder.py": ("build", {"title": "Weekly", "owner": "ana"}),
    "resilient_service_call.py": ("main", {"calls": 2}),
}
EXAMPLE_FILES = sorted(p.name for p in (REPO / "examples").glob("*.py"))
CORE_KINDS = {"Pod", "ConfigMap", "Service", "Secret", "Deployment", "HorizontalPodAutoscaler"}


def test_the_plain_examples_are_all_run():
    assert set(RUN_INPUTS) <= set(EXAMPLE_FILES)


def validate_manifest(obj: Dict[str, Any]) -> None:
    """Core kinds with kubernetes-validate; custom resources against the project's CRD copies."""
    if obj["kind"] in CORE_KINDS:
        kubernetes_validate.validate(obj, K8S_VERSION, strict=True)
        return
    from tests.crd_validation import CRDS_DIR, validate_custom_resource

    group = obj["apiVersion"].split("/")[0]
    crd_file = CRDS_DIR / f"{group}_{obj['kind'].lower()}s.yaml"  # <group>_<plural>.yaml
    if crd_file.is_file():
        validate_custom_resource(obj, crd_file.name)
        return
    pytest.fail(f"no schema to validate a {obj['apiVersion']} {obj['kind']} against")


def flyte_cli(home: Path, *args: str, cwd: Path = REPO, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [FLYTE, *args], capture_output=True, text=True, timeout=120, cwd=cwd, env=subprocess_env(home, **env)
    )


def _resources(entries) -> Dict[str, str]:
    return {tasks_pb2.Resources.ResourceName.Name(e.name).lower(): e.value for e in entries}


def check_template_matches_task(t: tasks_pb2.TaskTemplate, task: Any) -> None:
    from flyte._cache import cache_from_request, compute_cache_version
    from flyte._retry import retries_from_request
    from flyte._serialize.k8s import resolve_image_uri
    from flyte._timeout import timeout_seconds
    from flyte.types import TypeEngine

    assert t.id.name == task.name
    assert t.type == task.task_type
    ins = {v.key: v.value.type for v in t.interface.inputs.variables}
    assert list(ins) == list(task.interface.inputs)
    for k, (tp, _) in task.interface.inputs.items():
        assert ins[k] == TypeEngine.to_literal_type(tp), k
    outs = {v.key: v.value.type for v in t.interface.outputs.variables}
    assert list(outs) == list(task.interface.outputs)
    for k, tp in task.interface.outputs.items():
        assert outs[k] == TypeEngine.to_literal_type(tp), k
    assert t.metadata.retries.retries == retries_from_request(task.retries).count
    expected_timeout = timeout_seconds(task.timeout)
    if expected_timeout is None:
        assert not t.metadata.HasField("timeout")
    else:
        assert t.metadata.timeout.seconds == int(expected_timeout)
    cache = cache_from_request(task.cache)
    assert t.metadata.discoverable == cache.is_enabled()
    if cache.is_enabled():
        assert t.metadata.discovery_version == compute_cache_version(task.cache, task.func, image=task.image)
    assert t.metadata.interruptible == task.interruptible
    c = t.container
    assert c.image == resolve_image_uri(task.image)
    assert {kv.key: kv.value for kv in c.env} == (task.env_vars or {})
    requests, limits = (task.resources.get_requests_and_limits() if task.resources else ({}, {}))
    assert _resources(c.resources.requests) == requests
    assert _resources(c.resources.limits) == limits
    custom = task.custom_config(SerializationContext())
    assert (t.HasField("custom") and bool(custom)) or (not t.HasField("custom") and not custom)
    secrets = [(s.key, s.env_var) for s in t.security_context.secrets]
    from flyte._secret import secrets_from_request

    assert secrets == [(s.key, s.as_env_var or "") for s in secrets_from_request(task.secrets)]


def substitute(args: List[str], inputs_uri: str, outputs_uri: str) -> List[str]:
    return [inputs_uri if a == "{{.input}}" else outputs_uri if a == "{{.outputPrefix}}" else a for a in args]


@pytest.mark.parametrize("file", EXAMPLE_FILES)
def test_example_dry_run_serializes_validates_and_runs_like_flyte_run(isolated_flyte_home, tmp_path, monkeypatch, file):
    monkeypatch.setenv("FLYTE_SECRET_API_TOKEN", "tok")
    out = tmp_path / "deploy"
    res = flyte_cli(isolated_flyte_home, "deploy", "--dry-run", "--all", "--output", str(out), f"examples/{file}", FLYTE_SECRET_API_TOKEN="tok")
    assert res.returncode == 0, res.stderr

    module = importlib.import_module(f"examples.{Path(file).stem}")
    envs = [v for v in vars(module).values() if isinstance(v, flyte.TaskEnvironment)]
    tasks = {t.name: t for e in envs for t in e.tasks.values()}
    from flyte.app import AppEnvironment

    apps = {v.name for v in vars(module).values() if isinstance(v, AppEnvironment)}
    assert tasks or apps
    assert sorted(p.name for p in out.iterdir()) == sorted(
        [f"{n}.{ext}" for n in tasks for ext in ("pb", "json", "yaml")] + [f"{a}.yaml" for a in apps]
    )
    for app in apps:  # an app's Deployment, Service (and HorizontalPodAutoscaler)
        for m in yaml.safe_load_all((out / f"{app}.yaml").read_text()):
            validate_manifest(m)
    for name, task in tasks.items():
        t = tasks_pb2.TaskTemplate.FromString((out / f"{name}.pb").read_bytes())
        check_template_matches_task(t, task)
        # The readable form is the same message.
        assert Parse((out / f"{name}.json").read_text(), tasks_pb2.TaskTemplate()) == t
        manifests = list(yaml.safe_load_all((out / f"{name}.yaml").read_text()))
        assert manifests
        for m in manifests:
            validate_manifest(m)
        for pod in (m for m in manifests if m["kind"] == "Pod"):
            primary = pod["spec"]["containers"][0]
            assert primary["args"] == list(t.container.args) and primary["image"] == t.container.image

    if file not in RUN_INPUTS:
        return
    # The container command of the entry task, run as a local process, gives flyte.run's outputs.
    attr, inputs = RUN_INPUTS[file]
    task = getattr(module, attr)
    t = tasks_pb2.TaskTemplate.FromString((out / f"{task.name}.pb").read_bytes())
    types = {k: tp for k, (tp, _) in task.interface.inputs.items()}
    in_uri = asyncio.run(fio.write_inputs(f"file://{tmp_path}/io/inputs.pb", inputs, types))
    out_uri = f"file://{tmp_path}/io/out"
    args = substitute(list(t.container.args), in_uri, out_uri)
    assert args[0] == "flyte-execute"
    proc = subprocess.run(
        [str(REPO / ".venv" / "bin" / args[0]), *args[1:]],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=REPO,
        env=subprocess_env(isolated_flyte_home, FLYTE_SECRET_API_TOKEN="tok"),
    )
    assert proc.returncode == 0, proc.stderr
    got = asyncio.run(fio.read_outputs(out_uri, dict(task.interface.outputs)))
    expected = flyte.run(task, **inputs).outputs().named_outputs
    assert got == expected


# ---------------------------------------------------------------------------------------------
# flyte.deploy in-process
# ---------------------------------------------------------------------------------------------
PROGRAM = textwrap.dedent(
    """
    import flyte

    base = flyte.TaskEnvironment(name="base")
    unused = flyte.TaskEnvironment(name="unused")
    front = flyte.TaskEnvironment(name="front", depends_on=[base], env_vars={"LEVEL": "front"})


    @base.task
    async def leaf(x: int) -> int:
        return x + 1


    @front.task(retries=1)
    async def top(x: int) -> int:
        return await leaf(x) * 2


    @unused.task
    async def idle() -> None:
        return None
    """
)


@pytest.fixture
def program(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    pkg = tmp_path / "proj"
    pkg.mkdir()
    (pkg / "deployable.py").write_text(PROGRAM)
    monkeypatch.syspath_prepend(str(pkg))
    monkeypatch.chdir(pkg)
    import sys

    sys.modules.pop("deployable", None)
    mod = importlib.import_module("deployable")
    yield mod
    sys.modules.pop("deployable", None)


def test_deploy_dryrun_follows_depends_on(program):
    deployments = deploy(program.front, dryrun=True, version="v1")
    assert len(deployments) == 1
    d = deployments[0]
    assert sorted(d.envs) == ["base", "front"]  # depends_on followed, unrelated env left out
    assert d.version == "v1" and d.dryrun is True
    names = sorted(t.get_name() for t in d.tasks)
    assert names == ["base.leaf", "front.top"]
    top = next(t for t in d.tasks if t.get_name() == "front.top")
    assert top.template.id.version == "v1"
    assert top.template.metadata.retries.retries == 1
    assert top.deployed_task.environment.name == "front" and top.deployed_task.short_name == "top"
    assert {kv.key: kv.value for kv in top.template.container.env} == {"LEVEL": "front"}
    assert "front" in d.summary_repr() and "base.leaf" in d.summary_repr()


def test_deploy_groups_and_dedupes_environments(program):
    deployments = deploy(program.front, program.base, program.unused, dry_run=True)
    assert [sorted(d.envs) for d in deployments] == [["base", "front"], ["unused"]]
    # Without an explicit version it is a hash of the code and images: stable across calls.
    again = deploy(program.front, dryrun=True)
    assert deployments[0].version == again[0].version and len(again[0].version) == 32


def test_deploy_aio(program):
    deployments = asyncio.run(deploy.aio(program.base, dryrun=True))
    assert [t.get_name() for t in deployments[0].tasks] == ["base.leaf"]


def test_deploy_without_dry_run_needs_a_cluster(program):
    with pytest.raises(DeploymentError, match="needs a Flyte cluster.*dry"):
        deploy(program.base)


def test_duplicate_environment_names_are_an_error(program):
    other = flyte.TaskEnvironment(name="base")
    with pytest.raises(ValidationError, match="base"):
        deploy(program.front, other, dryrun=True)


def test_write_dry_run_files(program, tmp_path):
    from flyte._deploy import write_dry_run

    deployments = deploy(program.front, dryrun=True, version="v9")
    written = write_dry_run(deployments, tmp_path / "out")
    assert sorted(p.name for p in written) == sorted(
        f"{n}.{e}" for n in ("base.leaf", "front.top") for e in ("pb", "json", "yaml")
    )
    t = tasks_pb2.TaskTemplate.FromString((tmp_path / "out" / "front.top.pb").read_bytes())
    assert t == deployments[0].envs["front"].deployed_entities[0].template
    assert json.loads((tmp_path / "out" / "front.top.json").read_text())["id"]["version"] == "v9"
    pod = yaml.safe_load((tmp_path / "out" / "front.top.yaml").read_text())
    assert pod["kind"] == "Pod" and pod["spec"]["containers"][0]["args"][-4:] == ["module", "deployable", "task", "top"]


# ---------------------------------------------------------------------------------------------
# The CLI
# ---------------------------------------------------------------------------------------------
@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    (root / "pkg" / "sub").mkdir(parents=True)
    (root / "pkg" / "deployable.py").write_text(PROGRAM)
    (root / "pkg" / "sub" / "more.py").write_text(
        textwrap.dedent(
            """
            import flyte
            extra = flyte.TaskEnvironment(name="extra", image="python:3.12-slim")

            @extra.task
            def shout(s: str) -> str:
                return s.upper()
            """
        )
    )
    (root / "pkg" / "broken_ref.py").write_text(
        textwrap.dedent(
            """
            import flyte
            refd = flyte.TaskEnvironment(name="refd", image=flyte.Image.from_ref_name("missing"))

            @refd.task
            def uses_ref() -> int:
                return 1
            """
        )
    )
    (root / "pkg" / "bad_import.py").write_text("import module_that_does_not_exist\n")
    return root


def test_cli_named_environment_with_its_dependencies(isolated_flyte_home, project):
    out = project / "out"
    res = flyte_cli(isolated_flyte_home, "deploy", "--dry-run", "--output", str(out), "pkg/deployable.py", "front", cwd=project)
    assert res.returncode == 0, res.stderr
    assert sorted(p.name for p in out.glob("*.pb")) == ["base.leaf.pb", "front.top.pb"]
    t = tasks_pb2.TaskTemplate.FromString((out / "front.top.pb").read_bytes())
    # Module names are relative to the root directory, as a container imports them.
    assert list(t.container.args)[-4:] == ["module", "pkg.deployable", "task", "top"]
    assert "front.top" in res.stdout


def test_cli_recursive_loads_every_file(isolated_flyte_home, project):
    out = project / "out"
    args = ["deploy", "--dry-run", "--recursive", "--image", "missing=ghcr.io/acme/x:1", "--output", str(out), "pkg"]
    # A file that fails to import stops the deploy unless -i says to go on without it.
    res = flyte_cli(isolated_flyte_home, *args, cwd=project)
    assert res.returncode == 1 and "bad_import.py" in res.stderr and "--ignore-load-errors" in res.stderr
    assert not out.exists()
    res = flyte_cli(isolated_flyte_home, *args[:1], "-i", *args[1:], cwd=project)
    assert res.returncode == 0, res.stderr
    names = sorted(p.stem for p in out.glob("*.pb"))
    assert names == ["base.leaf", "extra.shout", "front.top", "refd.uses_ref", "unused.idle"]
    t = tasks_pb2.TaskTemplate.FromString((out / "extra.shout.pb").read_bytes())
    assert list(t.container.args)[-4:] == ["module", "pkg.sub.more", "task", "shout"]
    assert t.container.image == "python:3.12-slim"


def test_cli_validation_error_names_task_and_field(isolated_flyte_home, project):
    res = flyte_cli(isolated_flyte_home, "deploy", "--dry-run", "pkg/broken_ref.py", "refd", cwd=project)
    assert res.returncode == 1
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error:")
    assert "refd.uses_ref" in lines[0] and "image" in lines[0] and "missing" in lines[0]


def test_cli_image_option_resolves_reference_names(isolated_flyte_home, project):
    out = project / "out"
    res = flyte_cli(
        isolated_flyte_home, "deploy", "--dry-run", "--image", "missing=ghcr.io/acme/x:1", "--output", str(out),
        "pkg/broken_ref.py", "refd", cwd=project,
    )
    assert res.returncode == 0, res.stderr
    t = tasks_pb2.TaskTemplate.FromString((out / "refd.uses_ref.pb").read_bytes())
    assert t.container.image == "ghcr.io/acme/x:1"


def test_cli_without_dry_run_fails_in_one_line(isolated_flyte_home, project):
    res = flyte_cli(isolated_flyte_home, "deploy", "pkg/deployable.py", "base", cwd=project)
    assert res.returncode == 1
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and "needs a Flyte cluster" in lines[0] and "--dry-run" in lines[0]


def test_cli_usage_errors(isolated_flyte_home, project):
    res = flyte_cli(isolated_flyte_home, "deploy", "--dry-run", "pkg/deployable.py", "nope", cwd=project)
    assert res.returncode == 2 and "nope" in res.stderr and "front" in res.stderr
    res = flyte_cli(isolated_flyte_home, "deploy", "--dry-run", "pkg", cwd=project)
    assert res.returncode == 2 and "--recursive" in res.stderr
    res = flyte_cli(isolated_flyte_home, "deploy", "--output", "x", "pkg/deployable.py", "base", cwd=project)
    assert res.returncode == 2 and "--dry-run" in res.stderr
    res = flyte_cli(isolated_flyte_home, "deploy", "--dry-run", "pkg/deployable.py", cwd=project)
    assert res.returncode == 2 and "front" in res.stdout  # lists the environments to choose from


def test_a_task_kubernetes_cannot_run_fails_before_any_file_is_written(isolated_flyte_home, tmp_path):
    prog = tmp_path / "tpu_prog.py"
    prog.write_text(
        textwrap.dedent(
            """
            import flyte
            env = flyte.TaskEnvironment(name="big-tpu", resources=flyte.Resources(gpu=flyte.TPU("V5P", "2x2x2")))

            @env.task
            def train() -> int:
                return 1
            """
        )
    )
    out = tmp_path / "out"
    res = flyte_cli(isolated_flyte_home, "deploy", "--dry-run", "--all", "--output", str(out), str(prog), cwd=tmp_path)
    assert res.returncode == 1
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and "2x2x2" in lines[0] and "single-host" in lines[0] and "big-tpu.train" in lines[0]
    assert not out.exists() or not any(out.iterdir())
