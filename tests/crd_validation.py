"""The project's copies of the operators' CRDs, and the strict validator of ``flyte.testing``.

``validate_custom_resource(manifest, "ray.io_rayjobs.yaml")`` accepts a file name in
``tests/schemas/crds/`` (or any path, or a CRD dict) and raises ``CRDValidationError``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, List, Mapping, Optional, Union

from flyte import testing

__all__ = ["CRDS_DIR", "CRDValidationError", "crd_errors", "validate_custom_resource"]

CRDS_DIR = Path(__file__).parent / "schemas" / "crds"
CRDValidationError = testing.CRDValidationError


def _crd(crd: Union[str, Path, Mapping[str, Any]]) -> Union[Path, Mapping[str, Any]]:
    if isinstance(crd, Mapping):
        return crd
    path = Path(crd)
    return path if path.is_absolute() else CRDS_DIR / path


def crd_errors(manifest: Mapping[str, Any], crd: Union[str, Path, Mapping[str, Any]], version: Optional[str] = None) -> List[str]:
    """Every problem of ``manifest`` against the CRD (empty when valid)."""
    return testing.crd_errors(manifest, _crd(crd), version)


def validate_custom_resource(manifest: Mapping[str, Any], crd: Union[str, Path, Mapping[str, Any]], version: Optional[str] = None) -> None:
    """Raise ``CRDValidationError`` listing every problem of ``manifest`` against the CRD."""
    testing.validate_custom_resource(manifest, _crd(crd), version)
