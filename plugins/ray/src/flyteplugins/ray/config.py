"""What a Ray task asks for: the cluster shape, autoscaling, runtime env and where to run.

Pure data. Users import these at module level, so this module imports nothing heavy (no
``ray``, no protobuf); every check runs when an object is built and raises
:class:`flyte.errors.ValidationError` / :class:`flyte.errors.TypeValidationError` naming the
field, the bad value and what is allowed.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, Dict, List, Mapping, Optional, Union

from flyte import PodTemplate, Resources
from flyte.errors import TypeValidationError, ValidationError

__all__ = [
    "ADDRESS_ENV_VAR",
    "AutoscalerOptionsConfig",
    "HeadNodeConfig",
    "RayJobConfig",
    "WorkerNodeConfig",
]

logger = logging.getLogger("flyteplugins.ray")

ADDRESS_ENV_VAR = "FLYTE_RAY_ADDRESS"
"""Environment variable giving the address of an existing cluster when the config has none."""

# Values Ray accepts as ``ray start`` parameters once written as strings.
_START_PARAM_SCALARS = (str, int, float, bool)


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _check_optional_type(field: str, value: Any, expected: Any, owner: str) -> None:
    if value is not None and not isinstance(value, expected):
        raise TypeValidationError(field, value, expected, owner=owner)


def _check_start_params(value: Any, owner: str) -> None:
    if value is None:
        return
    if not isinstance(value, Mapping):
        raise TypeValidationError("ray_start_params", value, "a dict of ray start option -> value", owner=owner)
    for k, v in value.items():
        if not isinstance(k, str) or not k:
            raise TypeValidationError("ray_start_params key", k, "a non-empty str such as 'num-cpus'", owner=owner)
        if not isinstance(v, _START_PARAM_SCALARS):
            raise TypeValidationError(f"ray_start_params[{k!r}]", v, "a str (or int, float, bool)", owner=owner)


def _check_node_resources(requests: Any, limits: Any, pod_template: Any, owner: str) -> None:
    _check_optional_type("requests", requests, Resources, owner)
    _check_optional_type("limits", limits, Resources, owner)
    _check_optional_type("pod_template", pod_template, PodTemplate, owner)


def start_param_str(value: Any) -> str:
    """A ``ray start`` parameter value as the string KubeRay expects (``True`` -> ``"true"``)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


@dataclass
class AutoscalerOptionsConfig:
    """Options of the Ray autoscaler sidecar (used with ``RayJobConfig(enable_autoscaling=True)``).

    Args:
        upscaling_mode: How fast to add nodes: an ``AutoscalerOptionsConfig.UpscalingMode``
            value (``DEFAULT``, ``AGGRESSIVE``, ``CONSERVATIVE``) or its name as a string
            (``"Default"``, ``"Aggressive"``, ``"Conservative"``). None: the autoscaler's default.
        idle_timeout_seconds: Seconds an idle worker waits before it is removed (> 0).
        image: Container image of the autoscaler sidecar (None: the Ray image).
        env: Environment variables of the autoscaler container.
        resources: CPU and memory of the autoscaler container; a ``(request, limit)`` tuple sets
            both. The sidecar cannot use accelerators.
    """

    class UpscalingMode:
        """Upscaling modes, numbered like the flyteidl2 ``AutoscalerOptions.UpscalingMode`` enum."""

        UNSPECIFIED = 0
        DEFAULT = 1
        AGGRESSIVE = 2
        CONSERVATIVE = 3

    upscaling_mode: Optional[Union[int, str]] = None
    idle_timeout_seconds: Optional[int] = None
    image: Optional[str] = None
    env: Optional[Dict[str, str]] = None
    resources: Optional[Resources] = None

    def __post_init__(self) -> None:
        owner = "AutoscalerOptionsConfig"
        if self.upscaling_mode is not None:
            upscaling_mode_name(self.upscaling_mode)  # validates
        if self.idle_timeout_seconds is not None and (
            not _is_int(self.idle_timeout_seconds) or self.idle_timeout_seconds <= 0
        ):
            raise ValidationError(
                "idle_timeout_seconds", self.idle_timeout_seconds, "a whole number of seconds > 0, or None", owner=owner
            )
        if self.image is not None and (not isinstance(self.image, str) or not self.image.strip()):
            raise ValidationError("image", self.image, "a non-empty image name, or None", owner=owner)
        if self.env is not None:
            if not isinstance(self.env, Mapping):
                raise TypeValidationError("env", self.env, "a dict of str to str", owner=owner)
            for k, v in self.env.items():
                if not isinstance(k, str) or not isinstance(v, str):
                    raise TypeValidationError(f"env[{k!r}]", v, "str keys and str values", owner=owner)
        _check_optional_type("resources", self.resources, Resources, owner)
        if self.resources is not None and self.resources.get_device() is not None:
            raise ValidationError(
                "resources.gpu",
                self.resources.gpu,
                "no accelerator: the autoscaler sidecar only takes cpu and memory",
                owner=owner,
            )


_UPSCALING_NAMES = {
    AutoscalerOptionsConfig.UpscalingMode.DEFAULT: "Default",
    AutoscalerOptionsConfig.UpscalingMode.AGGRESSIVE: "Aggressive",
    AutoscalerOptionsConfig.UpscalingMode.CONSERVATIVE: "Conservative",
}


def upscaling_mode_name(mode: Union[int, str, None]) -> Optional[str]:
    """The KubeRay spelling of an upscaling mode (``"Default"``, ...), None when unspecified."""
    if mode is None:
        return None
    if _is_int(mode):
        if mode == AutoscalerOptionsConfig.UpscalingMode.UNSPECIFIED:
            return None
        if mode in _UPSCALING_NAMES:
            return _UPSCALING_NAMES[mode]
    elif isinstance(mode, str):
        for name in _UPSCALING_NAMES.values():
            if mode.strip().lower() == name.lower():
                return name
    raise ValidationError(
        "upscaling_mode",
        mode,
        "an AutoscalerOptionsConfig.UpscalingMode value (DEFAULT=1, AGGRESSIVE=2, CONSERVATIVE=3) "
        "or 'Default', 'Aggressive', 'Conservative'",
        owner="AutoscalerOptionsConfig",
    )


def upscaling_mode_number(mode: Union[int, str, None]) -> int:
    """The flyteidl2 enum number of an upscaling mode (0 when unspecified)."""
    name = upscaling_mode_name(mode)
    if name is None:
        return AutoscalerOptionsConfig.UpscalingMode.UNSPECIFIED
    return {v: k for k, v in _UPSCALING_NAMES.items()}[name]


@dataclass
class HeadNodeConfig:
    """The Ray head node.

    Args:
        ray_start_params: Extra ``ray start`` options (``{"num-cpus": "0"}``); the dashboard
            and usage-stats defaults are added when absent.
        pod_template: Base pod of the head; its container ``ray-head`` receives the Ray
            container (image, command, resources).
        requests: Resources requested by the head container.
        limits: Resource limits of the head container.
    """

    ray_start_params: Optional[Dict[str, str]] = None
    pod_template: Optional[PodTemplate] = None
    requests: Optional[Resources] = None
    limits: Optional[Resources] = None

    def __post_init__(self) -> None:
        owner = "HeadNodeConfig"
        _check_start_params(self.ray_start_params, owner)
        _check_node_resources(self.requests, self.limits, self.pod_template, owner)


@dataclass
class WorkerNodeConfig:
    """A group of identical Ray worker nodes.

    Args:
        group_name: Name of the group (unique within a job).
        replicas: Number of workers to start (>= 0).
        min_replicas: Fewest workers the autoscaler may scale down to (default: ``replicas``).
        max_replicas: Most workers the autoscaler may scale up to (default: ``replicas``).
        ray_start_params: Extra ``ray start`` options of the workers.
        pod_template: Base pod of the workers; its container ``ray-worker`` receives the Ray
            container.
        requests: Resources requested by each worker container (accelerators included).
        limits: Resource limits of each worker container.
    """

    group_name: str
    replicas: int
    min_replicas: Optional[int] = None
    max_replicas: Optional[int] = None
    ray_start_params: Optional[Dict[str, str]] = None
    pod_template: Optional[PodTemplate] = None
    requests: Optional[Resources] = None
    limits: Optional[Resources] = None

    def __post_init__(self) -> None:
        owner = f"WorkerNodeConfig({self.group_name!r})"
        if not isinstance(self.group_name, str) or not self.group_name.strip():
            raise ValidationError("group_name", self.group_name, "a non-empty name", owner="WorkerNodeConfig")
        for name in ("replicas", "min_replicas", "max_replicas"):
            value = getattr(self, name)
            if value is None and name != "replicas":
                continue
            if not _is_int(value) or value < 0:
                raise ValidationError(name, value, "a whole number >= 0", owner=owner)
        lo, hi = self.min_replicas, self.max_replicas
        if lo is not None and hi is not None and lo > hi:
            raise ValidationError(
                "min_replicas", lo, f"at most max_replicas ({hi})", owner=owner
            )
        if lo is not None and self.replicas < lo:
            raise ValidationError("replicas", self.replicas, f"between min_replicas ({lo}) and max_replicas", owner=owner)
        if hi is not None and self.replicas > hi:
            raise ValidationError("replicas", self.replicas, f"at most max_replicas ({hi})", owner=owner)
        _check_start_params(self.ray_start_params, owner)
        _check_node_resources(self.requests, self.limits, self.pod_template, owner)

    @property
    def effective_min_replicas(self) -> int:
        """``minReplicas`` as KubeRay gets it: ``min_replicas``, else ``replicas``."""
        return self.replicas if self.min_replicas is None else min(self.min_replicas, self.replicas)

    @property
    def effective_max_replicas(self) -> int:
        """``maxReplicas`` as KubeRay gets it: ``max_replicas``, else ``replicas``."""
        return self.replicas if self.max_replicas is None else max(self.max_replicas, self.replicas)


_ADDRESS_FORMS = "'ray://host:10001' (Ray Client), 'http(s)://host:8265' (Jobs API), 'host:6379' (GCS) or 'auto'"


ADDRESS_SCHEMES = {"ray": "client", "http": "jobs", "https": "jobs"}
"""URL schemes of Ray addresses and the target each means; a bare ``host:port`` (or ``auto``) is
a plain driver connection."""


def check_address(address: Any, field: str = "address", owner: str = "RayJobConfig") -> Optional[str]:
    """``address`` stripped, or None when empty; a ValidationError when it has no known form."""
    from flyte.extend import check_address as check

    return check(
        address, field=field, owner=owner, schemes=ADDRESS_SCHEMES, bare="driver", words=("auto",),
        allowed=_ADDRESS_FORMS,
    )


@dataclass
class RayJobConfig:
    """A Ray task's cluster: pass it as ``TaskEnvironment(plugin_config=RayJobConfig(...))``.

    Where the task runs follows from the address: none (and no ``FLYTE_RAY_ADDRESS``) starts
    Ray on this machine for the task; ``ray://host:10001`` runs the task body here as a Ray
    Client driver of that cluster; ``http://host:8265`` submits the task to that cluster
    through the Ray Jobs API; on Kubernetes the task becomes a KubeRay ``RayJob``.

    Args:
        worker_node_config: The worker groups.
        head_node_config: The head node (None: defaults).
        enable_autoscaling: Let the Ray autoscaler resize worker groups between their
            ``min_replicas`` and ``max_replicas``.
        autoscaler_options: Options of the autoscaler (with ``enable_autoscaling``).
        runtime_env: Ray runtime environment of the job (``env_vars``, ``working_dir``,
            ``py_modules``, ...).
        address: An existing cluster to run on (see above).
        shutdown_after_job_finishes: Delete the Kubernetes Ray cluster when the job finishes.
        ttl_seconds_after_finished: Seconds to keep the finished cluster before deleting it.
    """

    worker_node_config: List[WorkerNodeConfig]
    head_node_config: Optional[HeadNodeConfig] = None
    enable_autoscaling: bool = False
    autoscaler_options: Optional[AutoscalerOptionsConfig] = None
    runtime_env: Optional[dict] = None
    address: Optional[str] = None
    shutdown_after_job_finishes: bool = False
    ttl_seconds_after_finished: Optional[int] = None

    def __post_init__(self) -> None:
        owner = "RayJobConfig"
        workers = self.worker_node_config
        if isinstance(workers, WorkerNodeConfig):
            raise TypeValidationError(
                "worker_node_config", workers, "a list of WorkerNodeConfig (wrap the single group in [...])", owner=owner
            )
        if not isinstance(workers, (list, tuple)):
            raise TypeValidationError("worker_node_config", workers, "a list of WorkerNodeConfig", owner=owner)
        seen: Dict[str, int] = {}
        for i, w in enumerate(workers):
            if not isinstance(w, WorkerNodeConfig):
                raise TypeValidationError(f"worker_node_config[{i}]", w, WorkerNodeConfig, owner=owner)
            if w.group_name in seen:
                raise ValidationError(
                    f"worker_node_config[{i}].group_name", w.group_name, "a group name not used by another worker group",
                    owner=owner,
                )
            seen[w.group_name] = i
        _check_optional_type("head_node_config", self.head_node_config, HeadNodeConfig, owner)
        for name in ("enable_autoscaling", "shutdown_after_job_finishes"):
            if not isinstance(getattr(self, name), bool):
                raise TypeValidationError(name, getattr(self, name), bool, owner=owner)
        _check_optional_type("autoscaler_options", self.autoscaler_options, AutoscalerOptionsConfig, owner)
        if self.autoscaler_options is not None and not self.enable_autoscaling:
            # Accepted (programs written for other SDKs set it this way), but KubeRay ignores it.
            logger.warning("RayJobConfig.autoscaler_options is ignored unless enable_autoscaling=True")
        if self.runtime_env is not None and not isinstance(self.runtime_env, Mapping):
            raise TypeValidationError("runtime_env", self.runtime_env, "a dict (Ray runtime environment)", owner=owner)
        check_address(self.address)
        ttl = self.ttl_seconds_after_finished
        if ttl is not None and (not _is_int(ttl) or ttl < 0):
            raise ValidationError("ttl_seconds_after_finished", ttl, "a whole number of seconds >= 0, or None", owner=owner)
