"""Which distribution provides ``flyte``, and the check plugins run before they use it.

Core is installed as the distribution ``flyte-sdk-core``; its import package is ``flyte``, the
same as the published SDK's (distribution ``flyte``). A plugin that depended on ``flyte`` would
let an installer fetch the published SDK and run on it, so every plugin depends on
``flyte-sdk-core`` with a version range and calls :func:`require_core` when it is first used.

The installed distributions are read from the ``*.dist-info`` / ``*.egg-info`` folders on
``sys.path`` directly: ``importlib.metadata`` costs more to import than this whole check.
"""

from __future__ import annotations

import os
import re
import sys
import warnings
from typing import Dict, List, Optional, Tuple

from flyte._version import __version__
from flyte.errors import DistributionConflictWarning, PluginError, ValidationError

__all__ = ["CORE_DISTRIBUTION", "PUBLISHED_CORE_DISTRIBUTION", "installed_version", "require_core"]

CORE_DISTRIBUTION = "flyte-sdk-core"
"""The distribution name of this core (its import package is ``flyte``)."""

PUBLISHED_CORE_DISTRIBUTION = "flyte"
"""The published SDK's distribution, which installs the same import package ``flyte``."""

_CLAUSE = re.compile(r"^\s*(==|!=|>=|<=|>|<)\s*([0-9]+(?:\.[0-9]+)*)\s*$")
_META_DIR = re.compile(r"^(?P<name>[A-Za-z0-9][A-Za-z0-9._]*?)(?:-(?P<version>[^-]+?))?\.(?:dist|egg)-info$")


def _normalize(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _release(version: str) -> Tuple[int, ...]:
    """The numeric release of a version (``"0.1.0rc1"`` -> ``(0, 1, 0)``), zeros dropped at the end."""
    m = re.match(r"^\s*v?([0-9]+(?:\.[0-9]+)*)", version)
    parts = [int(p) for p in m.group(1).split(".")] if m else [0]
    while len(parts) > 1 and parts[-1] == 0:
        parts.pop()
    return tuple(parts)


def _parse_spec(spec: str, plugin: str) -> List[Tuple[str, Tuple[int, ...]]]:
    clauses = []
    for part in spec.split(","):
        m = _CLAUSE.match(part)
        if not m:
            raise ValidationError(
                "spec", spec, "comma-separated clauses such as '>=0.1,<0.2' (==, !=, >=, <=, >, < and a numeric version)",
                owner=f"require_core({plugin!r})",
            )
        clauses.append((m.group(1), _release(m.group(2))))
    return clauses


def _satisfies(version: str, clauses: List[Tuple[str, Tuple[int, ...]]]) -> bool:
    v = _release(version)
    checks = {
        "==": lambda b: v == b,
        "!=": lambda b: v != b,
        ">=": lambda b: v >= b,
        "<=": lambda b: v <= b,
        ">": lambda b: v > b,
        "<": lambda b: v < b,
    }
    return all(checks[op](bound) for op, bound in clauses)


def _read_version(folder: str) -> Optional[str]:
    for meta in ("METADATA", "PKG-INFO"):
        try:
            with open(os.path.join(folder, meta), encoding="utf-8") as fh:
                for line in fh:
                    if line.startswith("Version:"):
                        return line.split(":", 1)[1].strip()
                    if not line.strip():
                        break  # the headers end at the first blank line
        except OSError:
            continue
    return None


def _installed() -> Dict[str, Tuple[str, str]]:
    """normalized distribution name -> (version, metadata folder), first on ``sys.path`` wins."""
    found: Dict[str, Tuple[str, str]] = {}
    for entry in sys.path:
        try:
            names = os.listdir(entry or ".")
        except OSError:
            continue
        for name in names:
            m = _META_DIR.match(name)
            if not m:
                continue
            dist = _normalize(m.group("name"))
            if dist in found:
                continue
            folder = os.path.join(entry or ".", name)
            version = m.group("version") or _read_version(folder) or "unknown"
            found[dist] = (version, folder)
    return found


def installed_version(distribution: str) -> Optional[str]:
    """The version of ``distribution`` installed on ``sys.path``, or None when it is not installed."""
    hit = _installed().get(_normalize(distribution))
    return hit[0] if hit else None


def require_core(plugin: str, spec: str, *, package: Optional[str] = None) -> None:
    """Check, before plugin ``plugin`` uses flyte, that this core is the one it was built for.

    Args:
        plugin: The plugin's distribution name, for the messages (``"flyte-plugin-ray"``).
        spec: The versions of ``flyte-sdk-core`` the plugin works with, such as ``">=0.1,<0.2"``
            (the range its ``pyproject.toml`` declares).
        package: The plugin's import package (``"flyteplugins.ray"``). When the published
            distribution of that import package (``flyteplugins-ray``) is installed as well, the
            two share one folder and a :class:`~flyte.errors.DistributionConflictWarning` names both.

    Raises:
        flyte.errors.PluginError: this core's version is outside ``spec``; the message names the
            plugin, the range and the installed core.
        flyte.errors.ValidationError: ``spec`` is not a version range.

    A plugin calls it once, when first used (its hook module or its task class), inside a
    ``try``/``except ImportError`` around ``from flyte.extend import require_core``: under the
    published SDK that import is what fails, and the plugin then names both distributions itself.
    The published SDK installed next to this core gives a
    :class:`~flyte.errors.DistributionConflictWarning` too (both install files into ``flyte/``).
    """
    clauses = _parse_spec(spec, plugin)
    if not _satisfies(__version__, clauses):
        raise PluginError(
            f"{plugin} needs {CORE_DISTRIBUTION}{spec.replace(' ', '')}, but the flyte imported from "
            f"{os.path.dirname(os.path.abspath(__file__))} is {CORE_DISTRIBUTION} {__version__}; "
            f"install a core in that range (pip install ./core from a checkout of a matching version)"
        )
    installed = _installed()
    published = installed.get(PUBLISHED_CORE_DISTRIBUTION)
    if published is not None:
        warnings.warn(
            f"{plugin}: both {CORE_DISTRIBUTION} {__version__} and {PUBLISHED_CORE_DISTRIBUTION} "
            f"{published[0]} (the published SDK, {published[1]}) are installed; both install the import "
            f"package flyte, so one has overwritten the other's files. Keep one: pip uninstall -y "
            f"{PUBLISHED_CORE_DISTRIBUTION} {CORE_DISTRIBUTION} && pip install ./core (this project's checkout)",
            DistributionConflictWarning,
            stacklevel=2,
        )
    if package:
        other = _normalize(package)
        hit = installed.get(other)
        if hit is not None and other != _normalize(plugin):
            warnings.warn(
                f"{package} is installed twice: by {plugin} and by {other} {hit[0]} (the published "
                f"plugin, {hit[1]}); both install into the folder {package.replace('.', '/')}, so which "
                f"files run depends on install order. Keep one: pip uninstall -y {other} (to use "
                f"{plugin}), or pip uninstall -y {plugin} (to use {other}, installed with --no-deps)",
                DistributionConflictWarning,
                stacklevel=2,
            )
