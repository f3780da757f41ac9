"""``K8sSettings``: how accelerators, defaults and interruptible tasks map onto a cluster.

Clusters label their accelerator nodes differently (EKS, GKE, on-premises), name their device
resources after the device plugin they run, and taint spot nodes their own way. Everything the
Kubernetes mapping needs to know about the cluster is one frozen object, with defaults that match
the common managed clusters, overridable in the ``kubernetes:`` section of the config file::

    kubernetes:
      device_label_key: node.example.com/gpu
      device_values: {A100: a100-40g}
      mig_strategy: mixed
      default_memory: 2Gi
      interruptible_tolerations:
        - {key: spot, operator: Equal, value: "true", effect: NoSchedule}

Device model names map to node label values through one table (:data:`DEVICE_VALUES`), looked up
case-insensitively; a name not in it is lower-cased with spaces as ``-``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, fields, replace
from typing import Any, Dict, Literal, Mapping, Optional, Tuple

from flyte.errors import TypeValidationError, ValidationError

__all__ = [
    "DEFAULT_RESOURCE_NAMES",
    "DEVICE_VALUES",
    "K8sSettings",
    "MigStrategy",
    "check_label_value",
    "check_qualified_name",
    "current_settings",
]

MigStrategy = Literal["single", "mixed"]

DEVICE_VALUES: Dict[str, str] = {
    "a100": "nvidia-tesla-a100",
    "a100 80g": "nvidia-a100-80gb",
    "h100": "nvidia-h100",
    "h200": "nvidia-h200",
    "b200": "nvidia-b200",
    "t4": "nvidia-tesla-t4",
    "l4": "nvidia-l4",
    "l40s": "nvidia-l40s",
    "v100": "nvidia-tesla-v100",
    "v5p": "tpu-v5p-slice",
    "v6e": "tpu-v6e-slice",
    "a10": "nvidia-a10",
    "a10g": "nvidia-a10g",
    "rtx pro 6000": "nvidia-rtx-pro-6000",
    "gb10": "nvidia-gb10",
    "inf1": "aws-neuron-inf1",
    "inf2": "aws-neuron-inf2",
    "trn1": "aws-neuron-trn1",
    "trn1n": "aws-neuron-trn1n",
    "trn2": "aws-neuron-trn2",
    "trn2u": "aws-neuron-trn2u",
    **{m: f"amd-{m}" for m in (
        "mi100", "mi210", "mi250", "mi250x", "mi300a", "mi300x", "mi325x", "mi350x", "mi355x")},
    "gaudi1": "habana-gaudi-dl1",
}
"""Node label value of each accelerator model, keyed by the lower-cased model name."""

DEFAULT_RESOURCE_NAMES: Dict[str, str] = {
    "GPU": "nvidia.com/gpu",
    "TPU": "google.com/tpu",
    "NEURON": "aws.amazon.com/neuron",
    "AMD_GPU": "amd.com/gpu",
    "HABANA_GAUDI": "habana.ai/gaudi",
}
"""Extended resource name of each device class (what the cluster's device plugins advertise)."""

_DEVICE_CLASSES = tuple(DEFAULT_RESOURCE_NAMES)

# Kubernetes validation grammar (apimachinery): label values, qualified names (label keys,
# resource names), DNS-1123 subdomains.
_LABEL_VALUE_RE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")
_NAME_PART_RE = re.compile(r"^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$")
_DNS_SUBDOMAIN_RE = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
_TOLERATION_OPERATORS = ("Equal", "Exists")
_TOLERATION_EFFECTS = ("NoSchedule", "PreferNoSchedule", "NoExecute")
_SELECTOR_OPERATORS = ("In", "NotIn", "Exists", "DoesNotExist", "Gt", "Lt")


def check_label_value(field_name: str, value: Any, *, owner: Optional[str] = None) -> str:
    """Return ``value`` if Kubernetes accepts it as a label value (at most 63 characters of
    letters, digits, ``-``, ``_``, ``.``, starting and ending alphanumeric), else raise."""
    if not isinstance(value, str) or len(value) > 63 or not _LABEL_VALUE_RE.match(value):
        raise ValidationError(
            field_name, value,
            "a Kubernetes label value: at most 63 letters, digits, '-', '_' or '.', starting and ending "
            "with a letter or digit",
            owner=owner,
        )
    return value


def check_qualified_name(field_name: str, value: Any, *, owner: Optional[str] = None) -> str:
    """Return ``value`` if it is a Kubernetes qualified name (``[prefix/]name``, the form of label
    keys and resource names), else raise."""
    ok = isinstance(value, str) and value.count("/") <= 1
    if ok:
        prefix, _, name = value.rpartition("/")
        ok = bool(name) and len(name) <= 63 and bool(_NAME_PART_RE.match(name))
        if ok and prefix:
            ok = len(prefix) <= 253 and bool(_DNS_SUBDOMAIN_RE.match(prefix))
    if not ok:
        raise ValidationError(
            field_name, value,
            "a Kubernetes qualified name such as 'nvidia.com/gpu' or 'example.com/label' "
            "(optional DNS prefix and '/', then at most 63 letters, digits, '-', '_', '.')",
            owner=owner,
        )
    return value


def _str_map(key: str, value: Any) -> Dict[str, str]:
    if not isinstance(value, Mapping) or not all(isinstance(k, str) and isinstance(v, str) for k, v in value.items()):
        raise TypeValidationError(f"kubernetes.{key}", value, "a mapping of str to str")
    return dict(value)


def _toleration(key: str, value: Any) -> Dict[str, Any]:
    where = f"kubernetes.{key}"
    allowed = {"key", "operator", "value", "effect", "tolerationSeconds"}
    if not isinstance(value, Mapping) or not set(value) <= allowed:
        raise ValidationError(where, value, f"tolerations: mappings with keys among {sorted(allowed)}")
    tol = dict(value)
    if tol.get("operator", "Equal") not in _TOLERATION_OPERATORS:
        raise ValidationError(f"{where}.operator", tol.get("operator"), f"one of {list(_TOLERATION_OPERATORS)}")
    if "effect" in tol and tol["effect"] not in _TOLERATION_EFFECTS:
        raise ValidationError(f"{where}.effect", tol["effect"], f"one of {list(_TOLERATION_EFFECTS)}")
    if "key" in tol:
        check_qualified_name(f"{where}.key", tol["key"])
    if "value" in tol:
        check_label_value(f"{where}.value", tol["value"])
    return tol


def _requirement(key: str, value: Any) -> Dict[str, Any]:
    where = f"kubernetes.{key}"
    if not isinstance(value, Mapping) or not set(value) <= {"key", "operator", "values"} or "key" not in value:
        raise ValidationError(where, value, "node selector requirements: {key, operator, values}")
    req = dict(value)
    check_qualified_name(f"{where}.key", req["key"])
    if req.get("operator") not in _SELECTOR_OPERATORS:
        raise ValidationError(f"{where}.operator", req.get("operator"), f"one of {list(_SELECTOR_OPERATORS)}")
    values = req.get("values")
    if values is not None:
        if not isinstance(values, (list, tuple)) or not all(isinstance(v, str) for v in values):
            raise TypeValidationError(f"{where}.values", values, "a list of str")
        req["values"] = list(values)
    return req


@dataclass(frozen=True)
class K8sSettings:
    """The cluster-specific knobs of the Kubernetes mapping (see `docs/ARCHITECTURE.md ("Kubernetes mapping")`).

    Args:
        device_label_key: Node label naming the accelerator model of GPU, Neuron, AMD and Habana nodes.
        tpu_device_label_key: Node label naming the TPU generation of TPU nodes.
        partition_label_key: Node label naming the MIG partition size of a GPU node.
        tpu_partition_label_key: Node label naming the TPU slice topology.
        resource_names: Extended resource name per device class (``"GPU"``, ``"TPU"``, ``"NEURON"``,
            ``"AMD_GPU"``, ``"HABANA_GAUDI"``); classes not given keep their default.
        device_values: Extra or replacement entries of the device model -> node label value table
            (keys are matched case-insensitively).
        mig_strategy: ``"single"``: a MIG partition is requested as whole ``nvidia.com/gpu`` units on
            nodes labelled with the partition size. ``"mixed"``: as ``<mig_resource_prefix><partition>``
            (``nvidia.com/mig-1g.5gb``), the resource the device plugin advertises in mixed mode.
        mig_resource_prefix: Prefix of the per-partition resource names in the mixed strategy.
        default_cpu: CPU request (and limit) of a container that asks for none; None for no default.
        default_memory: Memory request (and limit) of a container that asks for none; None for no default.
        interruptible_node_selector: Node selector added to the pods of interruptible tasks.
        interruptible_tolerations: Tolerations added to the pods of interruptible tasks.
        interruptible_node_affinity: Node selector requirements (``{key, operator, values}``) added to
            every required node affinity term of interruptible tasks' pods.
    """

    device_label_key: str = "k8s.amazonaws.com/accelerator"
    tpu_device_label_key: str = "cloud.google.com/gke-tpu-accelerator"
    partition_label_key: str = "k8s.amazonaws.com/gpu-partition-size"
    tpu_partition_label_key: str = "cloud.google.com/gke-tpu-topology"
    resource_names: Dict[str, str] = field(default_factory=lambda: dict(DEFAULT_RESOURCE_NAMES))
    device_values: Dict[str, str] = field(default_factory=dict)
    mig_strategy: MigStrategy = "single"
    mig_resource_prefix: str = "nvidia.com/mig-"
    default_cpu: Optional[str] = "1"
    default_memory: Optional[str] = "1Gi"
    interruptible_node_selector: Dict[str, str] = field(default_factory=dict)
    interruptible_tolerations: Tuple[Dict[str, Any], ...] = ()
    interruptible_node_affinity: Tuple[Dict[str, Any], ...] = ()

    def __post_init__(self) -> None:
        for name in ("device_label_key", "tpu_device_label_key", "partition_label_key", "tpu_partition_label_key"):
            check_qualified_name(f"kubernetes.{name}", getattr(self, name))
        names = {**DEFAULT_RESOURCE_NAMES, **_str_map("resource_names", self.resource_names)}
        for cls, res in names.items():
            if cls not in _DEVICE_CLASSES:
                raise ValidationError("kubernetes.resource_names", cls, f"device classes among {list(_DEVICE_CLASSES)}")
            check_qualified_name(f"kubernetes.resource_names.{cls}", res)
        object.__setattr__(self, "resource_names", names)
        values = {k.strip().lower(): v for k, v in _str_map("device_values", self.device_values).items()}
        for k, v in values.items():
            check_label_value(f"kubernetes.device_values.{k}", v)
        object.__setattr__(self, "device_values", values)
        if self.mig_strategy not in ("single", "mixed"):
            raise ValidationError("kubernetes.mig_strategy", self.mig_strategy, "'single' or 'mixed'")
        if not isinstance(self.mig_resource_prefix, str) or not self.mig_resource_prefix.endswith("-"):
            raise ValidationError("kubernetes.mig_resource_prefix", self.mig_resource_prefix,
                                  "a resource name prefix ending with '-', e.g. 'nvidia.com/mig-'")
        check_qualified_name("kubernetes.mig_resource_prefix", self.mig_resource_prefix + "x")
        from flyte._quantity import canonical_quantity, validate_quantity

        for name in ("default_cpu", "default_memory"):
            value = getattr(self, name)
            if value is None:
                continue
            if isinstance(value, bool) or not isinstance(value, (str, int, float)):
                raise TypeValidationError(
                    f"kubernetes.{name}", value, "a quantity string such as '1' or '1Gi', or null"
                )
            validate_quantity(f"kubernetes.{name}", value)
            object.__setattr__(self, name, canonical_quantity(value))
        selector = _str_map("interruptible_node_selector", self.interruptible_node_selector)
        for k, v in selector.items():
            check_qualified_name("kubernetes.interruptible_node_selector", k)
            check_label_value(f"kubernetes.interruptible_node_selector.{k}", v)
        object.__setattr__(self, "interruptible_node_selector", selector)
        for name, check in (("interruptible_tolerations", _toleration), ("interruptible_node_affinity", _requirement)):
            items = getattr(self, name)
            if isinstance(items, Mapping) or not isinstance(items, (list, tuple)):
                raise TypeValidationError(f"kubernetes.{name}", items, "a list of mappings")
            object.__setattr__(self, name, tuple(check(name, item) for item in items))

    __hash__ = None  # type: ignore[assignment]  # holds dicts

    @classmethod
    def from_config(cls, config: Optional[Mapping[str, Any]]) -> "K8sSettings":
        """Settings from the ``kubernetes:`` section of the config (keys as the field names; ``-``
        may stand for ``_``). Unknown keys and bad values raise errors naming the key."""
        if config is None:
            return cls()
        if not isinstance(config, Mapping):
            raise TypeValidationError("kubernetes", config, "a mapping of settings")
        known = {f.name for f in fields(cls)}
        kwargs: Dict[str, Any] = {}
        for raw_key, value in config.items():
            key = str(raw_key).replace("-", "_")
            if key not in known:
                raise ValidationError(f"kubernetes.{raw_key}", value, f"a setting among {sorted(known)}")
            kwargs[key] = value
        return cls(**kwargs)

    @classmethod
    def coerce(cls, settings: "K8sSettings | Mapping[str, Any] | None", *, owner: Optional[str] = None) -> "K8sSettings":
        """``settings`` as a ``K8sSettings``: itself; a mapping read like the ``kubernetes:``
        section (:meth:`from_config`); None the configured settings of this process
        (:func:`current_settings`). Anything else raises ``TypeValidationError`` naming ``owner``."""
        if settings is None:
            return current_settings()
        if isinstance(settings, K8sSettings):
            return settings
        if isinstance(settings, Mapping):
            return cls.from_config(settings)
        raise TypeValidationError(
            "settings", settings, "a K8sSettings, a mapping of settings or None", owner=owner
        )

    def with_overrides(self, **changes: Any) -> "K8sSettings":
        """A copy with some settings replaced (validated like the constructor)."""
        return replace(self, **changes)

    # -- lookups -------------------------------------------------------------------------------

    def device_value(self, device: str) -> str:
        """The node label value of an accelerator model (``"A100"`` -> ``"nvidia-tesla-a100"``).

        Looked up case-insensitively in :attr:`device_values`, then :data:`DEVICE_VALUES`; any other
        name is lower-cased with spaces as ``-``.
        """
        key = device.strip().lower()
        return self.device_values.get(key) or DEVICE_VALUES.get(key) or "-".join(key.split())

    def resource_name(self, device_class: str) -> str:
        """The extended resource name of a device class (``"GPU"`` -> ``"nvidia.com/gpu"``)."""
        try:
            return self.resource_names[device_class]
        except KeyError:
            raise ValidationError("device_class", device_class, f"one of {list(self.resource_names)}") from None

    def labels_for(self, device_class: str) -> Tuple[str, str]:
        """The (device label key, partition label key) used for a device class."""
        if device_class == "TPU":
            return self.tpu_device_label_key, self.tpu_partition_label_key
        return self.device_label_key, self.partition_label_key

    def as_dict(self) -> Dict[str, Any]:
        """The settings as plain data, in the shape ``from_config`` reads."""
        out: Dict[str, Any] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            out[f.name] = [dict(v) for v in value] if isinstance(value, tuple) else (
                dict(value) if isinstance(value, dict) else value)
        return out


def current_settings() -> K8sSettings:
    """The settings of this process's configuration (``kubernetes:`` of the config file)."""
    from flyte._config import get_config

    return K8sSettings.from_config(get_config().k8s)

