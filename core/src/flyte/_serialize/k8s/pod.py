"""Generic pod helpers: names, container resources, pod spec edits and checks.

Every function here is pure: it takes values (resources, devices, secrets, a pod spec dict) and
returns new plain dicts in Kubernetes' camelCase wire form, never mutating its arguments, never
emitting ``None`` values or a ``creationTimestamp``. The rules are those of `docs/ARCHITECTURE.md ("Kubernetes mapping")`:

* :func:`container_resources`: requests and limits (rules 1, 2, 3, 5);
* :func:`device_scheduling` (from :mod:`flyte._serialize.devices`): node affinity and tolerations of a
  device (rule 2); :func:`add_node_affinity` / :func:`add_tolerations` put them in a pod spec;
* :func:`apply_shm`: shared memory (rule 4); :func:`apply_secrets`, :func:`env_list`: secrets as
  references and environment variables (rule 7);
* :func:`merge_pod_template`: the user's pod template as the base of the pod (rule 6);
* :func:`check_no_nulls`, :func:`check_no_secret_values`: what every emitted object must pass.
"""

from __future__ import annotations

import copy
import hashlib
import re
from typing import TYPE_CHECKING, Any, Dict, Iterable, List, Mapping, Optional, Sequence, Tuple

from flyte._pod import PRIMARY_CONTAINER_DEFAULT_NAME
from flyte._serialize.devices import device_resources, device_scheduling, tpu_host_count  # noqa: F401 (re-exported)
from flyte._serialize.k8s_settings import K8sSettings
from flyte.errors import TypeValidationError, ValidationError

if TYPE_CHECKING:
    from flyte._resources import Resources
    from flyte._secret import Secret

__all__ = [
    "SECRETS_VOLUME_NAME",
    "SHM_MOUNT_PATH",
    "SHM_VOLUME_NAME",
    "add_node_affinity",
    "add_tolerations",
    "apply_secrets",
    "apply_shm",
    "check_no_nulls",
    "check_no_secret_values",
    "container_resources",
    "device_resources",
    "device_scheduling",
    "dns_label",
    "env_list",
    "finalize_container_resources",
    "find_container",
    "label_value",
    "merge_pod_template",
    "resolve_image_uri",
    "secret_k8s_name",
    "task_container_name",
    "tpu_host_count",
]

SHM_VOLUME_NAME = "flyte-shm"
SHM_MOUNT_PATH = "/dev/shm"
SECRETS_VOLUME_NAME = "flyte-secrets"
# Secret values shorter than this are too likely to occur by chance ("1", "true") to be scanned for.
_MIN_SCANNED_SECRET = 6


# ---------------------------------------------------------------------------------------------
# Names
# ---------------------------------------------------------------------------------------------


def _short_hash(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:8]


def dns_label(name: str, max_length: int = 63, *, dns1035: bool = False) -> str:
    """A DNS-1123 label made from ``name`` (pod and container names): lower-case letters, digits and
    ``-``, starting and ending alphanumeric, at most ``max_length`` characters. Every other character
    becomes ``-``; a name that must be shortened keeps a hash of the original, so it stays unique.

    ``dns1035=True`` also makes it start with a letter (a DNS-1035 label, what Services and many
    operators' custom resources require): a name starting with a digit gets the prefix ``r-``.
    """
    if max_length < 10:
        raise ValidationError("max_length", max_length, "at least 10 (room for a hash)", owner="dns_label")
    text = re.sub(r"[^a-z0-9]+", "-", str(name).lower()).strip("-") or "task"
    if len(text) > max_length:
        text = f"{text[: max_length - 9].rstrip('-')}-{_short_hash(str(name))}"
    if dns1035 and not text[0].isalpha():
        return dns_label(f"r-{name}", max_length)
    return text


def label_value(value: str) -> str:
    """``value`` made into a valid label value (shortened with a hash past 63 characters)."""
    text = re.sub(r"[^A-Za-z0-9._-]+", "-", str(value)).strip("-._")
    if len(text) > 63:
        text = f"{text[:54].rstrip('-._')}-{_short_hash(str(value))}"
    return text


def secret_k8s_name(secret: "Secret") -> str:
    """The name of the Kubernetes ``Secret`` holding ``secret``: its group, or its key when it has no
    group, lower-cased with ``_`` and ``/`` as ``-`` (Secret names are DNS subdomains)."""
    raw = secret.group or secret.key
    name = re.sub(r"[_/]+", "-", raw.lower()).strip("-.")
    if not re.match(r"^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$", name) or len(name) > 253:
        raise ValidationError(
            "secrets", raw, "a group (or key) that makes a Kubernetes Secret name: letters, digits, '-', '.', '_'"
        )
    return name


# ---------------------------------------------------------------------------------------------
# Resources (rules 1, 2, 3, 5)
# ---------------------------------------------------------------------------------------------


def _check_quantity(field: str, value: Any, owner: Optional[str]) -> None:
    from flyte._quantity import validate_quantity

    if isinstance(value, bool):
        raise ValidationError(field, value, "a Kubernetes quantity such as '1', '500m' or '1Gi'", owner=owner)
    validate_quantity(field, value, owner=owner)


def container_resources(
    resources: Optional["Resources"],
    settings: Optional[K8sSettings] = None,
    *,
    owner: Optional[str] = None,
    apply_defaults: bool = True,
    multi_host: bool = False,
) -> Dict[str, Dict[str, str]]:
    """The ``resources`` of a container: ``{"requests": {...}, "limits": {...}}`` (empty ones omitted).

    * a single value (``cpu="2"``) is a request, a tuple (``("1", "2")``) a request and a limit;
    * a missing limit is the request, a missing request the limit;
    * with ``apply_defaults``, cpu and memory the task does not give get ``settings.default_cpu`` /
      ``default_memory`` as request and limit;
    * zero quantities are dropped (zero means "not set"); quantities are re-checked, so a value
      Kubernetes would reject raises a ``ValidationError`` naming the field;
    * ``disk`` becomes ``ephemeral-storage``;
    * an accelerator goes into both, under its class's resource name (:func:`device_resources`;
      ``multi_host`` is passed on to it).
    """
    settings = settings or K8sSettings()
    from flyte._resources import Resources

    if resources is not None and not isinstance(resources, Resources):
        raise TypeValidationError("resources", resources, "a flyte.Resources", owner=owner)
    requests: Dict[str, str] = {}
    limits: Dict[str, str] = {}
    device = None
    if resources is not None:
        for name in ("cpu", "memory", "disk"):
            value = getattr(resources, name)
            for v in value if isinstance(value, tuple) else (value,):
                if v is not None:
                    _check_quantity(f"resources.{name}", v, owner)
        requests, limits = resources.get_requests_and_limits()
        device = resources.get_device()
    return finalize_container_resources(
        {"requests": requests, "limits": limits}, settings, owner=owner, apply_defaults=apply_defaults,
        extra=device_resources(device, settings, owner=owner, multi_host=multi_host),
    )


def finalize_container_resources(
    resources: Optional[Mapping[str, Mapping[str, Any]]],
    settings: Optional[K8sSettings] = None,
    *,
    owner: Optional[str] = None,
    apply_defaults: bool = True,
    extra: Optional[Mapping[str, str]] = None,
) -> Dict[str, Dict[str, str]]:
    """Complete a container's ``resources`` dict: add ``extra`` (accelerators) to requests and limits,
    fill a missing limit with the request and a missing request with the limit, add the default cpu
    and memory where neither is given, drop zeros, and check every request is at most its limit.

    Used after a task's resources were merged into a pod template, so that the template's values
    count as given and are not replaced by defaults.
    """
    from flyte._quantity import canonical_quantity, compare_quantities, parse_quantity

    settings = settings or K8sSettings()
    src = resources or {}
    requests: Dict[str, str] = {}
    limits: Dict[str, str] = {}
    for section, target in (("requests", requests), ("limits", limits)):
        for name, value in (src.get(section) or {}).items():
            _check_quantity(f"resources.{section}.{name}", value, owner)
            if parse_quantity(value) != 0:
                target[name] = canonical_quantity(value)
    for name, count in (extra or {}).items():
        requests[name] = limits[name] = str(count)
    for name in list(dict.fromkeys([*requests, *limits])):
        requests.setdefault(name, limits.get(name, ""))
        limits.setdefault(name, requests[name])
    if apply_defaults:
        for name, default in (("cpu", settings.default_cpu), ("memory", settings.default_memory)):
            if default is not None and name not in requests:
                requests[name] = limits[name] = default
    for name, req in requests.items():
        if compare_quantities(req, limits[name]) > 0:
            raise ValidationError(
                f"resources.{name}", (req, limits[name]), "a request that is at most the limit", owner=owner
            )
    out: Dict[str, Dict[str, str]] = {}
    if requests:
        out["requests"] = requests
    if limits:
        out["limits"] = limits
    return out


# ---------------------------------------------------------------------------------------------
# Pod spec edits
# ---------------------------------------------------------------------------------------------


def find_container(pod_spec: Mapping[str, Any], name: str) -> Optional[Dict[str, Any]]:
    """The container called ``name`` in ``pod_spec["containers"]``, or None."""
    for c in pod_spec.get("containers") or []:
        if c.get("name") == name:
            return c
    return None


def _container_or_fail(spec: Dict[str, Any], name: str) -> Dict[str, Any]:
    container = find_container(spec, name)
    if container is None:
        names = [c.get("name") for c in spec.get("containers") or []]
        raise ValidationError("container_name", name, f"one of the pod's containers {names}")
    return container


def _merge_by(items: Iterable[Mapping[str, Any]], new: Iterable[Mapping[str, Any]], key: str) -> List[Dict[str, Any]]:
    """``items`` with each entry of ``new`` replacing the one with the same ``key`` (or appended)."""
    out = [copy.deepcopy(dict(i)) for i in items]
    index = {i.get(key): n for n, i in enumerate(out) if i.get(key) is not None}
    for item in new:
        k = item.get(key)
        if k in index:
            out[index[k]] = copy.deepcopy(dict(item))
        else:
            index[k] = len(out)
            out.append(copy.deepcopy(dict(item)))
    return out


def apply_shm(pod_spec: Mapping[str, Any], container_name: str, shm: Optional[str]) -> Dict[str, Any]:
    """``pod_spec`` with shared memory for the container ``container_name`` (rule 4).

    ``shm`` is a size (``"16Gi"``: an in-memory ``emptyDir`` volume ``flyte-shm`` with that
    ``sizeLimit`` mounted at ``/dev/shm``), ``"auto"`` or ``""`` (the same without a size limit), or
    None (no change).
    """
    spec = copy.deepcopy(dict(pod_spec))
    if shm is None:
        return spec
    empty_dir: Dict[str, Any] = {"medium": "Memory"}
    if shm not in ("", "auto"):
        from flyte._quantity import canonical_quantity

        _check_quantity("resources.shm", shm, None)
        empty_dir["sizeLimit"] = canonical_quantity(shm)
    spec["volumes"] = _merge_by(spec.get("volumes") or [], [{"name": SHM_VOLUME_NAME, "emptyDir": empty_dir}], "name")
    container = _container_or_fail(spec, container_name)
    container["volumeMounts"] = _merge_by(
        container.get("volumeMounts") or [], [{"name": SHM_VOLUME_NAME, "mountPath": SHM_MOUNT_PATH}], "name"
    )
    return spec


def env_list(env_vars: Optional[Mapping[str, str]]) -> List[Dict[str, str]]:
    """Environment variables as Kubernetes ``env`` entries, ``[{"name": ..., "value": ...}]``."""
    out = []
    for name, value in (env_vars or {}).items():
        if not isinstance(name, str) or not isinstance(value, str):
            raise TypeValidationError(f"env_vars[{name!r}]", value, "str names and str values")
        out.append({"name": name, "value": value})
    return out


def apply_secrets(pod_spec: Mapping[str, Any], container_name: str, secrets: Any) -> Dict[str, Any]:
    """``pod_spec`` with the task's secrets as references, never values (rule 7).

    A secret read as an environment variable becomes ``env[].valueFrom.secretKeyRef`` (``name``: the
    Kubernetes Secret, see :func:`secret_k8s_name`; ``key``: the secret's key). Secrets mounted as
    files share one projected volume ``flyte-secrets``, read-only at ``/etc/flyte/secrets``, each at
    ``<group>/<key>`` (or ``<key>``), the layout the task-side resolver reads (``FLYTE_SECRETS_DIR``).
    """
    from flyte._secret import SECRETS_MOUNT_PATH, secrets_from_request

    spec = copy.deepcopy(dict(pod_spec))
    items = secrets_from_request(secrets)
    if not items:
        return spec
    container = _container_or_fail(spec, container_name)
    env: List[Dict[str, Any]] = []
    sources: List[Dict[str, Any]] = []
    for s in items:
        ref = {"name": secret_k8s_name(s), "key": s.key}
        if s.as_env_var:
            env.append({"name": s.as_env_var, "valueFrom": {"secretKeyRef": ref}})
        if s.mount is not None:
            path = f"{s.group}/{s.key}" if s.group else s.key
            sources.append({"secret": {"name": ref["name"], "items": [{"key": s.key, "path": path}]}})
    if sources:
        env.append({"name": "FLYTE_SECRETS_DIR", "value": SECRETS_MOUNT_PATH})
        spec["volumes"] = _merge_by(
            spec.get("volumes") or [], [{"name": SECRETS_VOLUME_NAME, "projected": {"sources": sources}}], "name"
        )
        container["volumeMounts"] = _merge_by(
            container.get("volumeMounts") or [],
            [{"name": SECRETS_VOLUME_NAME, "mountPath": SECRETS_MOUNT_PATH, "readOnly": True}], "name",
        )
    container["env"] = _merge_by(container.get("env") or [], env, "name")
    return spec


def add_node_affinity(pod_spec: Mapping[str, Any], requirements: Sequence[Mapping[str, Any]]) -> Dict[str, Any]:
    """``pod_spec`` with ``requirements`` added to every required node selector term (a term is
    created when there is none). Terms are OR-ed by Kubernetes, so adding to each keeps them all
    restricted to matching nodes."""
    spec = copy.deepcopy(dict(pod_spec))
    if not requirements:
        return spec
    node = spec.setdefault("affinity", {}).setdefault("nodeAffinity", {})
    required = node.setdefault("requiredDuringSchedulingIgnoredDuringExecution", {})
    terms = required.get("nodeSelectorTerms") or [{}]
    for term in terms:
        exprs = term.setdefault("matchExpressions", [])
        for req in requirements:
            if dict(req) not in exprs:
                exprs.append(copy.deepcopy(dict(req)))
    required["nodeSelectorTerms"] = terms
    return spec


def add_tolerations(pod_spec: Mapping[str, Any], tolerations: Sequence[Mapping[str, Any]]) -> Dict[str, Any]:
    """``pod_spec`` with ``tolerations`` appended (those already present are not repeated)."""
    spec = copy.deepcopy(dict(pod_spec))
    if not tolerations:
        return spec
    current = spec.setdefault("tolerations", [])
    for t in tolerations:
        if dict(t) not in current:
            current.append(copy.deepcopy(dict(t)))
    return spec


def merge_pod_template(
    user_pod_spec: Optional[Mapping[str, Any]], container_name: str, container: Mapping[str, Any]
) -> Dict[str, Any]:
    """The user's pod spec with ``container`` merged into its container ``container_name`` (rule 6).

    The user's spec is the base: sidecars, volumes, tolerations, every field is kept. The container
    called ``container_name`` is added when absent; when present, the task's fields win field by
    field: ``image``; ``args`` (with the user's ``command`` dropped, since the task owns the
    entrypoint); ``env``, ``volumeMounts`` and ``ports`` merged by name; ``resources`` merged per
    resource name. Fields the task does not set keep the user's values.
    """
    spec = copy.deepcopy(dict(user_pod_spec or {}))
    task = copy.deepcopy(dict(container))
    task["name"] = container_name
    containers = spec.setdefault("containers", [])
    target = find_container(spec, container_name)
    if target is None:
        containers.append(task)
        return spec
    for key, value in task.items():
        if key in ("env", "volumeMounts", "ports", "volumeDevices"):
            target[key] = _merge_by(target.get(key) or [], value, "name")
        elif key == "resources":
            merged = dict(target.get("resources") or {})
            for section, entries in value.items():
                if isinstance(entries, Mapping):
                    merged[section] = {**(merged.get(section) or {}), **entries}
                else:
                    merged[section] = entries
            target["resources"] = merged
        elif key == "args" and "command" not in task:
            target.pop("command", None)
            target["args"] = value
        else:
            target[key] = value
    return spec


# ---------------------------------------------------------------------------------------------
# Checks
# ---------------------------------------------------------------------------------------------


def _walk(obj: Any, path: str) -> Iterable[Tuple[str, Any]]:
    yield path, obj
    if isinstance(obj, Mapping):
        for k, v in obj.items():
            yield from _walk(v, f"{path}.{k}" if path else str(k))
            yield f"{path}.{k}<key>" if path else f"{k}<key>", k
    elif isinstance(obj, (list, tuple)):
        for i, v in enumerate(obj):
            yield from _walk(v, f"{path}[{i}]")


def check_no_nulls(obj: Any, *, owner: Optional[str] = None) -> Any:
    """Return ``obj`` after checking it holds no ``None`` and no ``creationTimestamp`` anywhere
    (strict schemas reject both); raise a ``ValidationError`` naming the path otherwise."""
    for path, value in _walk(obj, ""):
        if value is None:
            raise ValidationError(path, None, "a value: Kubernetes objects may not contain nulls", owner=owner)
        if path.endswith(".creationTimestamp") or path == "creationTimestamp":
            raise ValidationError(path, value, "no creationTimestamp in emitted objects", owner=owner)
    return obj


def check_no_secret_values(obj: Any, secrets: Any, *, owner: Optional[str] = None) -> Any:
    """Return ``obj`` after checking that no value of ``secrets`` known on this machine appears in it.

    Each secret is resolved the way a local run would (environment, ``FLYTE_SECRETS_DIR``); secrets
    that are not available here cannot leak and are skipped. The error names the path and the secret,
    never the value.
    """
    from flyte._secret import SecretNotFoundError, resolve_secret_locally, secrets_from_request

    known: List[Tuple[str, str]] = []
    for s in secrets_from_request(secrets):
        try:
            value = resolve_secret_locally(s)
        except SecretNotFoundError:
            continue
        if len(value) >= _MIN_SCANNED_SECRET:
            known.append((f"{s.group}/{s.key}" if s.group else s.key, value))
    if not known:
        return obj
    for path, value in _walk(obj, ""):
        if not isinstance(value, str):
            continue
        for name, secret_value in known:
            if secret_value in value:
                raise ValidationError(
                    path, f"<value of secret {name!r}>",
                    f"no secret values in manifests: request the secret with secrets={name!r} "
                    "(it is injected as a reference), not as a literal value",
                    owner=owner,
                )
    return obj


# ---------------------------------------------------------------------------------------------
# Tasks
# ---------------------------------------------------------------------------------------------


def resolve_image_uri(image: Any, *, owner: Optional[str] = None) -> str:
    """The image URI a task's container runs: an ``Image``'s deterministic ``uri``; ``"auto"`` (or
    None) the configured ``images.default`` else the default image; a reference name
    (``Image.from_ref_name``) the configured ``images.<name>``; a string as given."""
    from flyte._image import Image
    from flyte._config import get_config

    images = get_config().images
    if image is None or image == "auto":
        configured = images.get("default")
        return configured if configured else Image.from_debian_base().uri
    if isinstance(image, str):
        if not image.strip() or any(c.isspace() for c in image):
            raise ValidationError("image", image, "an image reference such as 'python:3.12-slim'", owner=owner)
        return image
    if isinstance(image, Image):
        ref = image._ref_name
        if ref is not None and not image.base_image:
            if ref in images:
                return images[ref]
            raise ValidationError(
                "image", f"Image.from_ref_name({ref!r})", f"a name configured under images: {ref} in the config",
                owner=owner,
            )
        return image.uri
    raise TypeValidationError("image", image, "a flyte.Image, an image URI, or 'auto'", owner=owner)


def task_container_name(task: Any) -> str:
    """The container a task runs in: its pod template's ``primary_container_name``, else ``"primary"``."""
    from flyte._pod import PodTemplate

    template = getattr(task, "pod_template", None)
    if isinstance(template, PodTemplate):
        return template.primary_container_name
    return PRIMARY_CONTAINER_DEFAULT_NAME
