"""What every module of the type system shares: the conversion failure and type-hint predicates.

The lowest module of :mod:`flyte.types`: it imports only :mod:`flyte.errors`, so the plain-data codec
(:mod:`flyte.types._plain`), the transformer base (:mod:`flyte.types._transformer`) and the
engine can all raise the same error and read hints the same way.
"""

from __future__ import annotations

import sys
import types
import typing
from typing import Any

from flyte.errors import FlyteError

__all__ = ["TypeTransformerFailedError"]


class TypeTransformerFailedError(FlyteError, TypeError, ValueError):
    """A value could not be converted to or from a literal by a transformer.

    Under flyte's one root; still a ``TypeError`` and a ``ValueError`` as in the published SDK, but
    no longer an ``AssertionError`` (a failed conversion is bad data, not a broken invariant).
    """


def _strip_annotated(t: Any) -> Any:
    while typing.get_origin(t) is typing.Annotated:
        t = typing.get_args(t)[0]
    return t


def _is_union(t: Any) -> bool:
    origin = typing.get_origin(t)
    return origin is typing.Union or origin is types.UnionType


def _is_pydantic_model(t: Any) -> bool:
    # Only look at pydantic when the user already imported it: never pay for its import here.
    pyd = sys.modules.get("pydantic")
    return pyd is not None and isinstance(t, type) and issubclass(t, pyd.BaseModel)


def _is_typeddict(t: Any) -> bool:
    """A ``TypedDict`` class (from ``typing`` or ``typing_extensions``): a dict checked by its keys."""
    if not isinstance(t, type) or not issubclass(t, dict) or t is dict:
        return False
    if typing.is_typeddict(t):
        return True
    ext = sys.modules.get("typing_extensions")
    return bool(ext is not None and ext.is_typeddict(t))


def _is_namedtuple(t: Any) -> bool:
    return isinstance(t, type) and issubclass(t, tuple) and hasattr(t, "_fields")
