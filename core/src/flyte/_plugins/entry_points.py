"""A fast listing of installed entry points.

``importlib.metadata`` costs about 15 ms to import (it pulls in the e-mail parser) and parses
every distribution's metadata. flyte only needs the ``entry_points.txt`` of distributions on
``sys.path``, so it reads those files directly: the same data, found the same way (first
distribution on ``sys.path`` wins), in a fraction of the time. The objects returned have the
attributes flyte uses of ``importlib.metadata.EntryPoint``: ``name``, ``value``, ``group``,
``module``, ``attr``, ``dist.name`` and ``load()``.
"""

from __future__ import annotations

import importlib
import os
import sys
from dataclasses import dataclass, field
from typing import Any, Dict, Iterator, List, Optional, Tuple

__all__ = ["Distribution", "EntryPoint", "entry_point_name", "scan_entry_points"]


def entry_point_name(config_type: type) -> str:
    """The ``flyte.plugins.tasks`` entry-point name that serves ``config_type``: ``module.QualName``."""
    return f"{config_type.__module__}.{config_type.__qualname__}"


@dataclass(frozen=True)
class Distribution:
    """The installed distribution declaring an entry point."""

    name: str
    path: str = field(default="", compare=False)


@dataclass(frozen=True)
class EntryPoint:
    """One entry point: ``name = module:attr`` in ``group``, declared by ``dist``."""

    name: str
    value: str
    group: str
    dist: Optional[Distribution] = field(default=None, compare=False)

    @property
    def module(self) -> str:
        return self.value.partition(":")[0].strip()

    @property
    def attr(self) -> str:
        return self.value.partition(":")[2].split("[")[0].strip()

    def load(self) -> Any:
        """Import the module and return the named attribute (or the module itself)."""
        obj: Any = importlib.import_module(self.module)
        for part in filter(None, self.attr.split(".")):
            obj = getattr(obj, part)
        return obj


def _dist_name(folder: str, path: str) -> str:
    meta = os.path.join(path, "METADATA" if folder.endswith(".dist-info") else "PKG-INFO")
    try:
        with open(meta, encoding="utf-8") as f:
            for line in f:
                if line.startswith("Name:"):
                    return line[5:].strip()
                if not line.strip():
                    break
    except OSError:
        pass
    return folder.rsplit(".", 1)[0].split("-", 1)[0]


def _parse(text: str) -> Iterator[Tuple[str, str, str]]:
    group = None
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("[") and line.endswith("]"):
            group = line[1:-1].strip()
            continue
        if group is None or "=" not in line:
            continue
        name, _, value = line.partition("=")
        yield group, name.strip(), value.strip()


def scan_entry_points(paths: Optional[List[str]] = None) -> Dict[str, List[EntryPoint]]:
    """Every entry point of the distributions on ``paths`` (default ``sys.path``), by group.

    A distribution found twice (an editable install and a wheel) counts once: the first on the
    path wins, as it does for imports.
    """
    groups: Dict[str, List[EntryPoint]] = {}
    seen: set = set()
    for base in paths if paths is not None else sys.path:
        base = base or os.getcwd()
        try:
            entries = sorted(os.listdir(base))
        except OSError:  # missing directory, zip file
            continue
        for folder in entries:
            if not folder.endswith((".dist-info", ".egg-info")):
                continue
            path = os.path.join(base, folder)
            ep_file = os.path.join(path, "entry_points.txt")
            if not os.path.isfile(ep_file):
                continue
            name = _dist_name(folder, path)
            key = name.lower().replace("_", "-").replace(".", "-")
            if key in seen:
                continue
            seen.add(key)
            try:
                with open(ep_file, encoding="utf-8") as f:
                    text = f.read()
            except OSError:
                continue
            dist = Distribution(name=name, path=path)
            for group, ep_name, value in _parse(text):
                groups.setdefault(group, []).append(EntryPoint(ep_name, value, group, dist))
    return groups
