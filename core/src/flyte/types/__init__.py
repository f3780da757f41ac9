"""The type system: converting Python values to flyteidl2 literals and back.

* :class:`TypeEngine` finds the :class:`TypeTransformer` of a Python type and converts values
  and literal maps (task inputs and outputs).
* :class:`TypeTransformer` is the extension point: subclass it for a new type and register an
  instance with ``TypeEngine.register``.
* :func:`check_value` and :func:`convert_boundary` are what the local engine runs at every task
  call; :func:`hash_inputs` gives cache keys.

Values of types without a transformer are pickled (:class:`FlytePickle`).
"""

from __future__ import annotations

from typing import Any

from flyte.types._transformer import TypeTransformer, TypeTransformerFailedError
from flyte.types._type_engine import TypeEngine

__all__ = [
    "FlytePickle",
    "TypeEngine",
    "TypeTransformer",
    "TypeTransformerFailedError",
    "check_value",
    "convert_boundary",
    "hash_inputs",
    "needs_roundtrip",
    "register_builtin_transformers",
]

_LAZY = {
    "FlytePickle": "flyte.types._pickle",
    "check_value": "flyte.types._check",
    "convert_boundary": "flyte.types._boundary",
    "hash_inputs": "flyte.types._boundary",
    "needs_roundtrip": "flyte.types._boundary",
    "register_builtin_transformers": "flyte.types._builtins",
}


def __getattr__(name: str) -> Any:
    # The checker and boundary modules are imported on first use, keeping `import flyte.types`
    # down to the engine's own module.
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list:
    return sorted(__all__)
