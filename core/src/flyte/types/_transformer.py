"""The extension point of the type system: :class:`TypeTransformer`.

A transformer converts between one family of Python types and flyteidl2 ``Literal`` /
``LiteralType`` protos. Besides converting, it answers the questions the rest of the type system
asks about its types, so that the engine's checker, type guesser and task boundary never need to
know the concrete classes (``File``, ``DataFrame``, a plugin's types) that live above them:

* :meth:`TypeTransformer.value_checker`: a fast validator for values of a type (``check_value``);
* :meth:`TypeTransformer.schema_match`: whether a JSON schema describes the type (guessing);
* ``local_roundtrip``: whether values must move through literals at local task boundaries.

Protos are imported inside functions only: ``import flyte`` must not pay for protobuf.
"""

from __future__ import annotations

import types
import typing
from typing import TYPE_CHECKING, Any, Callable, Generic, Optional, Type, TypeVar

# The hint predicates are re-exported: transformers in this package and in io read them here.
from flyte.types._hints import (  # noqa: F401
    TypeTransformerFailedError,
    _is_namedtuple,
    _is_pydantic_model,
    _is_union,
    _strip_annotated,
)

if TYPE_CHECKING:
    from flyteidl2.core.literals_pb2 import Binary, Literal
    from flyteidl2.core.types_pb2 import LiteralType

__all__ = ["Checker", "TypeTransformer", "TypeTransformerFailedError"]

T = TypeVar("T")

#: A compiled value check: returns the value (possibly coerced) or raises ``TypeError``.
Checker = Callable[[Any], Any]


class TypeTransformer(Generic[T]):
    """Converts one family of Python types to and from flyteidl2 literals.

    Subclass it, implement :meth:`get_literal_type`, :meth:`to_literal` and
    :meth:`to_python_value` (both coroutines), and register an instance with
    ``TypeEngine.register``. Set the class attribute ``local_roundtrip = True`` when values must be
    converted even on the local engine (because conversion moves data, like uploading a file).
    """

    #: Whether the local engine must round-trip values of this type through literals at task
    #: boundaries (e.g. to upload files to the run's raw data path).
    local_roundtrip: bool = False

    def __init__(self, name: str, t: Type[T], enable_type_assertions: bool = True):
        self._t = t
        self._name = name
        self._type_assertions_enabled = enable_type_assertions

    @property
    def name(self) -> str:
        """A short name, also used as the union variant tag of this transformer's types."""
        return self._name

    @property
    def python_type(self) -> Type[T]:
        """The Python type this transformer is registered for."""
        return self._t

    @property
    def type_assertions_enabled(self) -> bool:
        """Whether :meth:`assert_type` runs before conversions."""
        return self._type_assertions_enabled

    def isinstance_generic(self, obj: Any, generic_alias: Any) -> None:
        """Check ``obj`` against the origin of a parametrized alias such as ``list[int]``."""
        origin = typing.get_origin(generic_alias)
        if origin is not None and isinstance(origin, type) and not isinstance(obj, origin):
            raise TypeTransformerFailedError(f"Value '{obj}' is not of container type {origin}")

    def assert_type(self, t: Type[T], v: T) -> None:
        """Raise :class:`TypeTransformerFailedError` when ``v`` is not a ``t``."""
        if isinstance(t, types.GenericAlias) or typing.get_origin(t) is not None:
            return self.isinstance_generic(v, t)
        if isinstance(t, type) and not isinstance(v, t):
            raise TypeTransformerFailedError(f"Expected value of type {t} but got '{v}' of type {type(v)}")

    def get_literal_type(self, t: Type[T]) -> "LiteralType":
        """The ``LiteralType`` describing Python type ``t``."""
        raise NotImplementedError(f"{type(self).__name__}.get_literal_type")

    def guess_python_type(self, literal_type: "LiteralType") -> Type[T]:
        """A Python type for ``literal_type``; raise ``ValueError`` when this transformer cannot tell."""
        raise ValueError(f"{self.name} cannot guess a Python type from {literal_type}")

    async def to_literal(self, python_val: T, python_type: Type[T], expected: "LiteralType") -> "Literal":
        """Convert ``python_val`` (of ``python_type``) into a ``Literal`` of type ``expected``."""
        raise NotImplementedError(f"{type(self).__name__}.to_literal")

    async def to_python_value(self, lv: "Literal", expected_python_type: Type[T]) -> Optional[T]:
        """Convert literal ``lv`` back into a value of ``expected_python_type``."""
        raise NotImplementedError(f"{type(self).__name__}.to_python_value")

    def schema_match(self, schema: dict) -> bool:
        """Whether a JSON schema describes this transformer's type (used when guessing types).

        When guessing the Python type of a structured value from its schema, an object schema
        that some transformer claims becomes that transformer's ``python_type`` instead of a
        generated dataclass.
        """
        return False

    def value_checker(self, python_type: Any) -> Optional[Checker]:
        """A fast check of values of ``python_type`` at local task boundaries, or None.

        The checker returns the value (possibly coerced) or raises ``TypeError`` with a short
        reason. None (the default) lets :func:`flyte.types.check_value` check by the type's
        structure (``isinstance``, dataclass fields, ...). Called once per type: the result is
        cached.
        """
        return None

    def from_binary_idl(self, binary_idl_object: "Binary", expected_python_type: Type[T]) -> Optional[T]:
        """Decode a msgpack ``Binary`` literal into ``expected_python_type``."""
        from flyte.types._plain import decode_msgpack

        if binary_idl_object.tag != "msgpack":
            raise TypeTransformerFailedError(f"Unsupported binary format {binary_idl_object.tag!r}")
        return decode_msgpack(binary_idl_object.value, expected_python_type)

    def to_html(self, python_val: T, expected_python_type: Type[T]) -> str:
        """An HTML rendering of the value, for reports."""
        import html

        return f"<pre>{html.escape(str(python_val))}</pre>"

    def __repr__(self) -> str:
        return f"{self._name} Transforms ({self._t}) to Flyte native"


# Attributes of TypeTransformer that only this SDK defines: a transformer class that sets none
# of them (and inherits no transformer of ``flyte``) was written for the published SDK.
_SDK_ONLY_ATTRIBUTES = ("value_checker", "local_roundtrip", "schema_match")
_published_style: "dict[type, bool]" = {}


def written_for_published_sdk(tr: Any) -> bool:
    """Whether transformer ``tr`` comes from a plugin written for the published SDK.

    Such a transformer (``flyteplugins-pandera``, ``flyteplugins-omegaconf``) expects what the
    published local engine does: every value crosses a task boundary through ``to_literal`` and
    ``to_python_value`` (pandera validates there), and ``assert_type`` says which values are
    accepted. The engine gives it both (docs/ARCHITECTURE.md, decision 36); transformers of this
    SDK and of plugins built on it keep in-memory passing unless they set ``local_roundtrip``.
    """
    klass = type(tr)
    known = _published_style.get(klass)
    if known is not None:
        return known
    mro = klass.__mro__
    own = mro[: mro.index(TypeTransformer)] if TypeTransformer in mro else ()
    result = bool(own) and not any(
        k.__module__.partition(".")[0] == "flyte" or any(a in vars(k) for a in _SDK_ONLY_ATTRIBUTES) for k in own
    )
    _published_style[klass] = result
    return result
