"""Import an optional engine module, or say which package to install."""

from __future__ import annotations

import importlib
from types import ModuleType
from typing import Optional, Type

from flyte.errors import PluginError

__all__ = ["MissingModuleError", "require_module"]


class MissingModuleError(PluginError, ImportError):
    """A module a plugin needs cannot be imported; the message names the pip package to install."""

    def __init__(self, module: str, install: str, cause: BaseException, purpose: str = ""):
        self.module = module
        self.install = install
        what = purpose or f"this needs the {module!r} module"
        super().__init__(f"{what}, which cannot be imported here ({cause}); install it with: pip install {install}")


def require_module(
    name: str,
    install: str,
    *,
    purpose: str = "",
    error: Optional[Type[MissingModuleError]] = None,
) -> ModuleType:
    """``importlib.import_module(name)``, or a :class:`MissingModuleError` naming ``install``.

    ``purpose`` starts the message ("Ray tasks need the 'ray' package"); ``error`` is a subclass
    of :class:`MissingModuleError` to raise instead (a plugin's own, for its users' ``except``).
    """
    try:
        return importlib.import_module(name)
    except ImportError as e:
        raise (error or MissingModuleError)(name, install, e, purpose) from e
