"""Where the type engine finds the functions that fill its registry.

The type engine sits low in the layers and must not import the plugin framework that owns the
built-in type hook. The composition root (``flyte/__init__.py``) installs the loaders here when
``flyte`` is imported, before the engine module is loaded at all, so that ``import flyte`` does
not pay for the type system. :meth:`flyte.types.TypeEngine.set_loader` writes here too.
"""

from __future__ import annotations

from typing import Any, Callable, Optional

__all__ = ["BuiltinsLoader", "PluginsLoader", "builtins_loader", "install", "plugins_loader"]

#: ``load(engine)``: registers the transformers every process has.
BuiltinsLoader = Callable[[Any], None]
#: ``load()``: loads the type plugins installed in the environment.
PluginsLoader = Callable[[], None]

_builtins: Optional[BuiltinsLoader] = None
_plugins: Optional[PluginsLoader] = None


def install(load_builtins: Optional[BuiltinsLoader], *, load_plugins: Optional[PluginsLoader] = None) -> None:
    """Install the loaders (None removes one)."""
    global _builtins, _plugins
    _builtins, _plugins = load_builtins, load_plugins


def builtins_loader() -> Optional[BuiltinsLoader]:
    """The installed loader of built-in transformers, or None."""
    return _builtins


def plugins_loader() -> Optional[PluginsLoader]:
    """The installed loader of type plugins, or None."""
    return _plugins
