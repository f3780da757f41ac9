"""``PodTemplate``: a user-supplied Kubernetes pod spec that a task's container is merged into.

The ``kubernetes`` client is imported only inside the methods that need it, so defining a
template-free task never loads it.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Dict, Mapping, Optional

from flyte.errors import TypeValidationError, ValidationError

if TYPE_CHECKING:
    from kubernetes.client import V1PodSpec

__all__ = ["PRIMARY_CONTAINER_DEFAULT_NAME", "PodTemplate"]

PRIMARY_CONTAINER_DEFAULT_NAME = "primary"
"""Name of the container that runs the task when a template does not name another one."""

# Kubernetes container names are DNS-1123 labels.
_MAX_NAME = 63


def _check_str_map(field: str, value: Any, owner: str) -> Optional[Dict[str, str]]:
    if value is None:
        return None
    if not isinstance(value, Mapping):
        raise TypeValidationError(field, value, "a dict of str to str", owner=owner)
    for k, v in value.items():
        if not isinstance(k, str) or not isinstance(v, str):
            raise TypeValidationError(f"{field}[{k!r}]", v, "str keys and str values", owner=owner)
    return dict(value)


@dataclass(init=True, repr=True, eq=True)
class PodTemplate:
    """Custom pod specification for a task.

    The task's container (image, command, resources, env) is merged into the container named
    ``primary_container_name`` of ``pod_spec``, which is added when the spec has no such container;
    every other field of the spec (sidecars, volumes, tolerations, ...) is kept.

    Args:
        pod_spec: A ``kubernetes.client.V1PodSpec`` (or the same structure as a plain dict).
        primary_container_name: The container the task runs in. Defaults to ``"primary"``.
        labels: Labels for the pod.
        annotations: Annotations for the pod.
    """

    pod_spec: Optional["V1PodSpec"] = None
    primary_container_name: str = PRIMARY_CONTAINER_DEFAULT_NAME
    labels: Optional[Dict[str, str]] = None
    annotations: Optional[Dict[str, str]] = None

    def __post_init__(self) -> None:
        owner = "PodTemplate"
        name = self.primary_container_name
        if not isinstance(name, str) or not name or len(name) > _MAX_NAME:
            raise ValidationError(
                "primary_container_name", name, f"a non-empty container name of at most {_MAX_NAME} characters",
                owner=owner,
            )
        self.labels = _check_str_map("labels", self.labels, owner)
        self.annotations = _check_str_map("annotations", self.annotations, owner)
        spec = self.pod_spec
        if spec is not None and not isinstance(spec, dict) and not hasattr(spec, "to_dict"):
            raise TypeValidationError("pod_spec", spec, "a kubernetes.client.V1PodSpec or a dict", owner=owner)

    @classmethod
    def from_spec(
        cls,
        pod_spec: "V1PodSpec",
        *,
        primary_container_name: Optional[str] = None,
        labels: Optional[Dict[str, str]] = None,
        annotations: Optional[Dict[str, str]] = None,
    ) -> "PodTemplate":
        """Wrap a copy of an existing pod spec, working out which container is the primary one.

        The primary container is ``primary_container_name`` when given (it must exist), else the
        container named ``"primary"``, else the only container; a spec with several containers and
        none of them named ``"primary"`` needs ``primary_container_name``.
        """
        containers = _containers(pod_spec)
        names = [_get(c, "name") for c in containers]
        if primary_container_name is not None:
            if primary_container_name not in names:
                raise ValidationError(
                    "primary_container_name", primary_container_name, f"one of the spec's containers {names}",
                    owner="PodTemplate.from_spec",
                )
            chosen = primary_container_name
        elif PRIMARY_CONTAINER_DEFAULT_NAME in names:
            chosen = PRIMARY_CONTAINER_DEFAULT_NAME
        elif len(names) == 1 and names[0]:
            chosen = names[0]
        else:
            raise ValidationError(
                "primary_container_name", None,
                f"a container name: the spec has containers {names} and none is named "
                f"{PRIMARY_CONTAINER_DEFAULT_NAME!r}",
                owner="PodTemplate.from_spec",
            )
        return cls(
            pod_spec=copy.deepcopy(pod_spec),
            primary_container_name=chosen,
            labels=labels,
            annotations=annotations,
        )

    def pod_spec_dict(self) -> Dict[str, Any]:
        """The pod spec as a plain dict in Kubernetes' camelCase wire form (``{}`` when unset).

        Null fields are dropped, so the dict can be merged and emitted as is.
        """
        spec = self.pod_spec
        if spec is None:
            return {}
        if isinstance(spec, dict):
            return copy.deepcopy(spec)
        from kubernetes.client import ApiClient

        return ApiClient().sanitize_for_serialization(spec)


def _containers(spec: Any) -> list:
    return list(_get(spec, "containers") or [])


def _get(obj: Any, key: str) -> Any:
    return obj.get(key) if isinstance(obj, dict) else getattr(obj, key, None)
