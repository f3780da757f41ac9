"""``lazy_module``: a module object that imports the real module on first attribute access.

Plugins use it for heavy runtimes (``ray = lazy_module("ray")``) so that importing the plugin,
and so ``import flyte``, stays light.
"""

from __future__ import annotations

import importlib
import sys
import types
from typing import Any

__all__ = ["lazy_module"]


class _LazyModule(types.ModuleType):
    """Stands in for a module until one of its attributes is read."""

    def __init__(self, fullname: str) -> None:
        super().__init__(fullname)
        self.__dict__["_lazy_fullname"] = fullname

    def _load(self) -> types.ModuleType:
        name = self.__dict__["_lazy_fullname"]
        try:
            module = importlib.import_module(name)
        except ImportError as e:
            raise ImportError(f"module {name!r} is needed here but is not installed: {e}") from e
        self.__dict__.update(module.__dict__)
        return module

    def __getattr__(self, item: str) -> Any:
        return getattr(self._load(), item)

    def __dir__(self) -> list:
        return dir(self._load())

    def __repr__(self) -> str:
        return f"<lazy module {self.__dict__['_lazy_fullname']!r}>"


def lazy_module(fullname: str) -> types.ModuleType:
    """The module ``fullname`` if already imported, else a proxy importing it on first use.

    A missing module is reported (``ImportError`` naming it) when first used, not here.
    """
    existing = sys.modules.get(fullname)
    if existing is not None:
        return existing
    return _LazyModule(fullname)
