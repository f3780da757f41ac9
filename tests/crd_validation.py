"""Strict validation of generated custom resources against the operators' own CRDs.

The API server prunes unknown fields silently; ``kubectl --validate=strict`` rejects them. Tests
want the strict behaviour, so a typo in a manifest fails a test instead of vanishing in a
cluster. :func:`validate_custom_resource` walks the CRD's ``openAPIV3Schema`` and reports

* properties the schema does not list (unless the object has
  ``x-kubernetes-preserve-unknown-fields: true`` or ``additionalProperties``),
* everything a JSON-schema validator reports (types, enums, required, minimum, ...), with
  ``x-kubernetes-int-or-string: true`` meaning "an int or a string",
* ``null`` values (the schemas are not nullable; emitted objects must have none).

Usage::

    from tests.crd_validation import validate_custom_resource
    validate_custom_resource(manifest, "ray.io_rayjobs.yaml")   # raises CRDValidationError
"""

from __future__ import annotations

import copy
from functools import lru_cache
from pathlib import Path
from typing import Any, Dict, List, Optional

__all__ = ["CRDS_DIR", "CRDValidationError", "crd_schema", "crd_errors", "validate_custom_resource"]

CRDS_DIR = Path(__file__).parent / "schemas" / "crds"


class CRDValidationError(AssertionError):
    """A manifest does not conform to its CRD; ``errors`` lists every problem with its path."""

    def __init__(self, errors: List[str]):
        self.errors = errors
        super().__init__("manifest does not match its CRD:\n  " + "\n  ".join(errors))


@lru_cache(maxsize=None)
def _load(crd_file: str) -> Dict[str, Any]:
    import yaml

    path = Path(crd_file)
    if not path.is_absolute():
        path = CRDS_DIR / crd_file
    with open(path) as f:
        return yaml.safe_load(f)


def crd_schema(crd_file: str, version: Optional[str] = None) -> Dict[str, Any]:
    """The ``openAPIV3Schema`` of ``version`` (default: the storage version) of a CRD file."""
    crd = _load(crd_file)
    versions = crd["spec"]["versions"]
    if version is None:
        chosen = next((v for v in versions if v.get("storage")), versions[0])
    else:
        matches = [v for v in versions if v["name"] == version]
        if not matches:
            raise KeyError(f"{crd_file} has no version {version!r}; it has {[v['name'] for v in versions]}")
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


def _unknown_fields(value: Any, schema: Dict[str, Any], path: str, errors: List[str]) -> None:
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


def crd_errors(manifest: Dict[str, Any], crd_file: str, version: Optional[str] = None) -> List[str]:
    """Every problem of ``manifest`` against the CRD (empty when it is valid)."""
    import jsonschema

    if version is None:
        api_version = manifest.get("apiVersion", "")
        version = api_version.rpartition("/")[2] or None
    schema = crd_schema(crd_file, version)
    errors: List[str] = []
    crd = _load(crd_file)
    group = crd["spec"]["group"]
    kind = crd["spec"]["names"]["kind"]
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
    for err in sorted(validator.iter_errors(manifest), key=lambda e: list(e.absolute_path)):
        where = ".".join(str(p) for p in err.absolute_path) or "<root>"
        errors.append(f"{where}: {err.message}")
    return errors


def validate_custom_resource(manifest: Dict[str, Any], crd_file: str, version: Optional[str] = None) -> None:
    """Raise :class:`CRDValidationError` listing every problem of ``manifest`` against ``crd_file``
    (a file name in ``tests/schemas/crds/`` or a path); the version defaults to the manifest's."""
    errors = crd_errors(manifest, crd_file, version)
    if errors:
        raise CRDValidationError(errors)
