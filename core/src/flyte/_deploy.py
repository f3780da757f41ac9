"""``flyte.deploy``: describe environments and their tasks to a cluster.

Deploying serializes every task of the given environments, and of the environments they
depend on (``depends_on``, followed transitively), into flyteidl2 ``TaskSpec``s. With
``dryrun=True`` nothing is sent anywhere: the returned :class:`Deployment` objects hold the
serialized tasks, and :func:`write_dry_run` writes them (``.pb``, ``.json``) with their
Kubernetes manifests (``.yaml``) to a folder. This SDK talks to no control plane, so a
deployment without ``dryrun`` is an error that says so.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Dict, List, Optional, Tuple

from flyte.errors import DeploymentError, TypeValidationError, ValidationError
from flyte.syncify import syncify

if TYPE_CHECKING:
    from flyteidl2.core import tasks_pb2
    from flyteidl2.task import task_definition_pb2

    from flyte._environment import Environment
    from flyte._task import TaskTemplate
    from flyte.models import SerializationContext

__all__ = [
    "DeployedAppEnvironment",
    "DeployedTask",
    "DeployedTaskEnvironment",
    "Deployment",
    "DeploymentPlan",
    "deploy",
    "plan_deploy",
    "write_dry_run",
]

logger = logging.getLogger("flyte")

NO_CLUSTER_MESSAGE = (
    "deploying needs a Flyte cluster and none is configured for this SDK; "
    "use a dry run (flyte deploy --dry-run, flyte.deploy(..., dryrun=True)) to write the specs and manifests"
)


@dataclass
class DeploymentPlan:
    """The environments one deployment covers (the given ones and their dependencies), by name."""

    envs: Dict[str, "Environment"]
    version: Optional[str] = None


@dataclass
class DeployedTask:
    """One serialized task: its ``TaskSpec`` (``deployed_task``) and the task it came from."""

    deployed_task: "task_definition_pb2.TaskSpec"
    task: "TaskTemplate"
    deployed_triggers: List[Any] = field(default_factory=list)
    # The task's Kubernetes objects (a Pod, or a plugin's custom resources), built with the spec
    # so that a task Kubernetes cannot run fails the deploy before anything is written.
    manifests: List[Dict[str, Any]] = field(default_factory=list)

    @property
    def template(self) -> "tasks_pb2.TaskTemplate":
        """The flyteidl2 ``TaskTemplate`` of the task."""
        return self.deployed_task.task_template

    def get_name(self) -> str:
        """The task's fully qualified name."""
        return self.template.id.name

    def summary_repr(self) -> str:
        return f"DeployedTask(name={self.get_name()}, version={self.template.id.version})"

    def table_repr(self) -> List[Tuple[str, str]]:
        """``(column, value)`` pairs describing the task for tables."""
        image = self.template.container.image if self.template.HasField("container") else _pod_image(self.template)
        return [
            ("type", "task"),
            ("name", self.get_name()),
            ("task type", self.template.type),
            ("version", self.template.id.version),
            ("image", image),
        ]


@dataclass
class DeployedTaskEnvironment:
    """An environment and its serialized tasks."""

    env: "Environment"
    deployed_entities: List[DeployedTask]

    def get_name(self) -> str:
        """The environment's name."""
        return self.env.name

    def summary_repr(self) -> str:
        tasks = ", ".join(e.summary_repr() for e in self.deployed_entities)
        return f"Deployment(env=[{self.env.name}], entities=[{tasks}])"

    def table_repr(self) -> List[List[Tuple[str, str]]]:
        return [e.table_repr() for e in self.deployed_entities]

    def env_repr(self) -> List[Tuple[str, str]]:
        from flyte._image import Image

        image = self.env.image
        shown = str(image or "")
        if isinstance(image, Image):
            try:
                shown = image.uri
            except Exception:  # a reference name: resolved by configuration at deploy time
                shown = repr(image)
        return [("environment", self.env.name), ("image", shown)]


@dataclass
class DeployedAppEnvironment(DeployedTaskEnvironment):
    """An app environment and its Kubernetes objects (Deployment, Service, HorizontalPodAutoscaler)."""

    manifests: List[Dict[str, Any]] = field(default_factory=list)

    def env_repr(self) -> List[Tuple[str, str]]:
        return [*super().env_repr(), ("kubernetes", ", ".join(m["kind"] for m in self.manifests))]


@dataclass(frozen=True)
class Deployment:
    """The result of deploying one plan: environments by name, the version, the context used."""

    envs: Dict[str, DeployedTaskEnvironment]
    version: str = ""
    dryrun: bool = True
    serialization_context: Optional["SerializationContext"] = None

    @property
    def tasks(self) -> List[DeployedTask]:
        """Every serialized task of the deployment."""
        return [t for env in self.envs.values() for t in env.deployed_entities]

    def summary_repr(self) -> str:
        return f"Deployment(envs=[{', '.join(e.summary_repr() for e in self.envs.values())}])"

    def table_repr(self) -> List[List[Tuple[str, str]]]:
        return [row for env in self.envs.values() for row in env.table_repr()]

    def env_repr(self) -> List[List[Tuple[str, str]]]:
        return [env.env_repr() for env in self.envs.values()]


# ------------------------------------------------------------------------------------------
# Planning
# ------------------------------------------------------------------------------------------
def _discover(found: Dict[str, "Environment"], env: "Environment") -> None:
    from flyte._environment import MAX_DEPLOYED_NAME

    if len(env.name) > MAX_DEPLOYED_NAME:  # fine locally (a warning), impossible in a cluster
        raise ValidationError(
            "name",
            env.name,
            f"an environment name of at most {MAX_DEPLOYED_NAME} characters to deploy it (got {len(env.name)}): "
            "it names Kubernetes objects, whose names cannot be longer",
            owner="flyte.deploy",
        )
    seen = found.get(env.name)
    if seen is not None:
        if seen is not env:
            raise ValidationError(
                "name", env.name, "a name used by one environment only (two environments share it)", owner="flyte.deploy"
            )
        return
    found[env.name] = env
    for dep in env.depends_on:
        _discover(found, dep)


def plan_deploy(*envs: "Environment", version: Optional[str] = None) -> List[DeploymentPlan]:
    """Group ``envs`` with their dependencies: one plan per given environment not already covered."""
    from flyte._environment import Environment

    plans: List[DeploymentPlan] = []
    covered: Dict[str, "Environment"] = {}
    for env in envs:
        if not isinstance(env, Environment):
            raise TypeValidationError("envs", env, "flyte environments (TaskEnvironment)", owner="flyte.deploy")
        if env.name in covered:
            if covered[env.name] is not env:
                raise ValidationError(
                    "name", env.name, "a name used by one environment only (two environments share it)", owner="flyte.deploy"
                )
            continue
        found: Dict[str, "Environment"] = {}
        _discover(found, env)
        for name, e in found.items():
            if name in covered and covered[name] is not e:
                raise ValidationError(
                    "name", name, "a name used by one environment only (two environments share it)", owner="flyte.deploy"
                )
        covered.update(found)
        plans.append(DeploymentPlan(envs=found, version=version))
    return plans


def _env_tasks(env: "Environment") -> List["TaskTemplate"]:
    tasks = getattr(env, "tasks", None)
    return list(tasks.values()) if isinstance(tasks, dict) else []


def _compute_version(plan: DeploymentPlan) -> str:
    """A version that changes whenever the code or the image of a task in the plan changes."""
    from flyte._serialize.idl import image_uri

    h = hashlib.sha256(b"flyte-deploy-v1\0")
    files: Dict[str, bytes] = {}
    for env_name in sorted(plan.envs):
        for task in sorted(_env_tasks(plan.envs[env_name]), key=lambda t: t.name):
            h.update(task.name.encode() + b"\0" + image_uri(task).encode() + b"\0")
            src = task.source_file
            if src and src not in files:
                try:
                    files[src] = Path(src).read_bytes()
                except OSError:
                    files[src] = b""
    for src in sorted(files):
        h.update(hashlib.sha256(files[src]).digest())
    return h.hexdigest()[:32]


async def _apply(plan: DeploymentPlan, dryrun: bool) -> Deployment:
    from flyte._config import get_config
    from flyte._serialize.idl import serialize_task_spec
    from flyte.models import SerializationContext

    cfg = get_config()
    version = plan.version or _compute_version(plan)
    sctx = SerializationContext(
        version=version,
        project=cfg.project,
        domain=cfg.domain,
        org=cfg.org,
        root_dir=cfg.root_dir,
    )
    envs: Dict[str, DeployedTaskEnvironment] = {}
    for name, env in plan.envs.items():
        deployed = []
        for task in _env_tasks(env):
            spec = await serialize_task_spec(task, sctx)
            deployed.append(DeployedTask(deployed_task=spec, task=task, manifests=_task_manifests(task, sctx)))
        from flyte.app import AppEnvironment

        if isinstance(env, AppEnvironment):  # an app has no tasks: its manifests are its own
            from flyte._serialize.k8s.app import app_manifests

            envs[name] = DeployedAppEnvironment(env=env, deployed_entities=deployed, manifests=app_manifests(env, sctx))
            continue
        envs[name] = DeployedTaskEnvironment(env=env, deployed_entities=deployed)
    return Deployment(envs=envs, version=version, dryrun=dryrun, serialization_context=sctx)


@syncify
async def deploy(
    *envs: "Environment",
    dryrun: bool = False,
    version: Optional[str] = None,
    interactive_mode: Optional[bool] = None,
    copy_style: str = "loaded_modules",
    dry_run: Optional[bool] = None,
) -> List[Deployment]:
    """Deploy the given environments and those they depend on.

    Args:
        envs: The environments to deploy (their ``depends_on`` are deployed with them).
        dryrun: Serialize every task and return the result without sending it anywhere.
        version: Version of the deployment; by default a hash of the tasks' code and images.
        interactive_mode: Accepted for compatibility; code bundles are not built here.
        copy_style: Accepted for compatibility; code bundles are not built here.
        dry_run: Same as ``dryrun`` (the spelling of later SDK versions).

    Returns:
        One :class:`Deployment` per group of environments, holding every serialized task.

    Raises:
        flyte.errors.DeploymentError: without a dry run, since no control plane is configured.
        flyte.errors.ValidationError: a task cannot be serialized (the message names the task and
            the field).
    """
    dry = bool(dryrun or dry_run)
    plans = plan_deploy(*envs, version=version)
    deployments = [await _apply(plan, dry) for plan in plans]
    if not dry:
        raise DeploymentError(NO_CLUSTER_MESSAGE)
    return deployments


# ------------------------------------------------------------------------------------------
# Dry-run output
# ------------------------------------------------------------------------------------------
def _task_manifests(task: "TaskTemplate", sctx: "SerializationContext") -> List[Dict[str, Any]]:
    """The task's Kubernetes objects (settings from the configuration's ``kubernetes`` section)."""
    from flyte._serialize import k8s

    return list(k8s.task_manifests(task, sctx))


def _pod_image(template: Any) -> str:
    """The primary container's image of a task serialized as a pod (a task with a pod template)."""
    if not template.HasField("k8s_pod"):
        return ""
    from google.protobuf.json_format import MessageToDict

    spec = MessageToDict(template.k8s_pod.pod_spec)
    primary = template.config.get("primary_container_name", "")
    containers = spec.get("containers") or []
    for c in containers:
        if c.get("name") == primary:
            return c.get("image", "")
    return containers[0].get("image", "") if containers else ""


def write_dry_run(deployments: List[Deployment], output_dir: Any) -> List[Path]:
    """Write every task of ``deployments`` into ``output_dir``; return the files written.

    For each task: ``<task name>.pb`` (the flyteidl2 ``TaskTemplate``), ``<task name>.json`` (the
    same, readable) and ``<task name>.yaml`` (its Kubernetes manifests, one YAML document each).
    For each app: ``<app name>.yaml`` (its Deployment, Service and HorizontalPodAutoscaler).
    """
    from google.protobuf.json_format import MessageToJson

    out = Path(output_dir)
    out.mkdir(parents=True, exist_ok=True)
    written: List[Path] = []
    import yaml

    for d in deployments:
        for t in d.tasks:
            name = t.get_name()
            pb = out / f"{name}.pb"
            pb.write_bytes(t.template.SerializeToString(deterministic=True))
            js = out / f"{name}.json"
            js.write_text(MessageToJson(t.template, indent=2, sort_keys=True) + "\n")
            ym = out / f"{name}.yaml"
            ym.write_text(yaml.safe_dump_all(t.manifests, sort_keys=False))
            written += [pb, js, ym]
        for env in d.envs.values():
            if isinstance(env, DeployedAppEnvironment):  # <app name>.yaml: its Deployment, Service (, HPA)
                ym = out / f"{env.get_name()}.yaml"
                ym.write_text(yaml.safe_dump_all(env.manifests, sort_keys=False))
                written.append(ym)
    return written
