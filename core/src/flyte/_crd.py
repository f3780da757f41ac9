"""Strict validation of custom resources against their operator's CRD (unknown fields are errors).

The API server prunes unknown fields silently; ``kubectl --validate=strict`` rejects them. A test
wants the strict behaviour, so that a typo in a manifest fails the test instead of vanishing in a
cluster. :func:`crd_errors` walks the CRD's ``openAPIV3Schema`` and reports

* properties the schema does not list (unless the object has
  ``x-kubernetes-preserve-unknown-fields: true`` or ``additionalProperties``),
* everything a JSON-schema validator reports (types, enums, required, minimum, ...), with
  ``x-kubernetes-int-or-string: true`` meaning "an int or a string",
* ``null`` values (the schemas are not nullable; emitted objects must have none),
* a wrong ``apiVersion`` or ``kind``, and a ``metadata`` without a name or with non-string
  labels or annotations.

``jsonschema`` (the core distribution's ``testing`` extra) is imported only when a validation runs.
"""

from __future__ import annotations

import copy
import os
from functools import lru_cache
from pathlib import Path
from typing import Any, Dict, List, Mapping, Optional, Union

from flyte.errors import FlyteError, TypeValidationError, ValidationError

__all__ = ["CRDSource", "CRDValidationError", "crd_errors", "crd_schema", "validate_custom_resource"]

CRDSource = Union[str, "os.PathLike[str]", Mapping[str, Any]]
"""A CRD: the path of its YAML (or JSON) file, or the parsed ``CustomResourceDefinition``."""


class CRDValidationError(FlyteError, AssertionError):
    """A manifest does not conform to its CRD; ``errors`` lists every problem with its path.

    An ``AssertionError`` too, so pytest reports it as a failed check.
    """

    def __init__(self, errors: List[str], crd: str = "its CRD"):
        self.errors = errors
        super().__init__(f"manifest does not match {crd}:\n  " + "\n  ".join(errors))


@lru_cache(maxsize=None)
def _load_file(path: str) -> Dict[str, Any]:
    import yaml

    with open(path, encoding="utf-8") as f:
        crd = yaml.safe_load(f)
    if not isinstance(crd, dict):
        raise ValidationError("crd", path, "a file holding one CustomResourceDefinition")
    return crd


def _load(crd: CRDSource) -> Dict[str, Any]:
    if isinstance(crd, Mapping):
        return dict(crd)
    if isinstance(crd, (str, os.PathLike)):
        path = Path(crd)
        if not path.is_file():
            raise ValidationError("crd", str(crd), "the path of a CRD file (YAML or JSON) or a CRD dict")
        return _load_file(str(path.resolve()))
    raise TypeValidationError("crd", crd, "a path to a CRD file or a CRD dict", owner="validate_custom_resource")


def _crd_name(crd: CRDSource) -> str:
    if isinstance(crd, Mapping):
        return f"CRD {crd.get('metadata', {}).get('name', '?')}"
    return f"CRD {Path(crd).name}"


def crd_schema(crd: CRDSource, version: Optional[str] = None) -> Dict[str, Any]:
    """The ``openAPIV3Schema`` of ``version`` (default: the storage version) of a CRD."""
    data = _load(crd)
    try:
        versions = data["spec"]["versions"]
    except (KeyError, TypeError):
        raise ValidationError("crd", _crd_name(crd), "a CustomResourceDefinition with spec.versions") from None
    if version is None:
        chosen = next((v for v in versions if v.get("storage")), versions[0])
    else:
        matches = [v for v in versions if v.get("name") == version]
        if not matches:
            raise ValidationError(
                "version", version, f"a version of {_crd_name(crd)}: {[v.get('name') for v in versions]}"
            )
        chosen = matches[0]
    return chosen["schema"]["openAPIV3Schema"]


def _to_json_schema(node: Any) -> Any:
    """Translate the structural-schema extensions into plain JSON-schema keywords."""
    if isinstance(node, list):
        return [_to_json_schema(n) for n in node]
    if not isinstance(node, dict):
        return node
    out = {k: _to_json_schema(v) for k, v in node.items() if not k.startswith("x-kubernetes-")}
    if node.get("x-kubernetes-int-or-string"):
        out.pop("type", None)
        out["anyOf"] = [{"type": "integer"}, {"type": "string"}]
    return out


def _unknown_fields(value: Any, schema: Mapping[str, Any], path: str, errors: List[str]) -> None:
    if value is None:
        errors.append(f"{path or '<root>'}: null value (emit no nulls)")
        return
    if isinstance(value, dict):
        if schema.get("x-kubernetes-preserve-unknown-fields"):
            return
        props = schema.get("properties")
        extra = schema.get("additionalProperties")
        for key, item in value.items():
            where = f"{path}.{key}" if path else key
            if where == "metadata":
                continue  # an ObjectMeta the CRD leaves open; checked in crd_errors
            if props is not None and key in props:
                _unknown_fields(item, props[key], where, errors)
            elif isinstance(extra, dict):
                _unknown_fields(item, extra, where, errors)
            elif extra is True:
                continue
            elif props is not None or schema.get("type") == "object":
                errors.append(f"{where}: unknown field (the schema lists {sorted(props or [])})")
    elif isinstance(value, list):
        items = schema.get("items")
        if isinstance(items, dict):
            for i, item in enumerate(value):
                _unknown_fields(item, items, f"{path}[{i}]", errors)


def crd_errors(manifest: Mapping[str, Any], crd: CRDSource, version: Optional[str] = None) -> List[str]:
    """Every problem of ``manifest`` against ``crd`` (empty when it is valid). The version
    defaults to the one the manifest's ``apiVersion`` names."""
    try:
        import jsonschema
    except ImportError:
        raise ImportError(
            "validating custom resources needs jsonschema: install the core distribution's 'testing' extra "
            "(or pip install 'jsonschema>=4.20')"
        ) from None

    if not isinstance(manifest, Mapping):
        raise TypeValidationError("manifest", manifest, "a Kubernetes object as a dict", owner="validate_custom_resource")
    if version is None:
        api_version = manifest.get("apiVersion", "")
        version = str(api_version).rpartition("/")[2] or None
    schema = crd_schema(crd, version)
    if version is None:
        version = next((v["name"] for v in _load(crd)["spec"]["versions"] if v.get("storage")), None)
    errors: List[str] = []
    data = _load(crd)
    group = data["spec"]["group"]
    kind = data["spec"]["names"]["kind"]
    if manifest.get("apiVersion") != f"{group}/{version}":
        errors.append(f"apiVersion: {manifest.get('apiVersion')!r}, expected {group}/{version}")
    if manifest.get("kind") != kind:
        errors.append(f"kind: {manifest.get('kind')!r}, expected {kind}")
    # metadata is an ObjectMeta the CRD leaves open; check its common fields' types ourselves.
    meta = manifest.get("metadata")
    if not isinstance(meta, dict) or not isinstance(meta.get("name"), str) or not meta["name"]:
        errors.append("metadata.name: required (a non-empty string)")
    else:
        for key in ("labels", "annotations"):
            if key in meta and not all(isinstance(v, str) for v in (meta[key] or {}).values()):
                errors.append(f"metadata.{key}: values must be strings")
    _unknown_fields(manifest, schema, "", errors)
    validator = jsonschema.Draft7Validator(_to_json_schema(copy.deepcopy(schema)))
    for err in sorted(validator.iter_errors(dict(manifest)), key=lambda e: [str(p) for p in e.absolute_path]):
        where = ".".join(str(p) for p in err.absolute_path) or "<root>"
        errors.append(f"{where}: {err.message}")
    return errors


def validate_custom_resource(manifest: Mapping[str, Any], crd: CRDSource, version: Optional[str] = None) -> None:
    """Check ``manifest`` strictly against ``crd`` (a CRD file path or the CRD as a dict).

    Raises :class:`CRDValidationError` listing every problem (unknown fields, nulls, schema
    violations, a wrong ``apiVersion``/``kind``, a nameless ``metadata``) with its path.
    """
    errors = crd_errors(manifest, crd, version)
    if errors:
        raise CRDValidationError(errors, _crd_name(crd))
