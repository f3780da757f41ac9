"""A type transformer for ``fractions.Fraction``: stored as the exact string ``"n/d"``."""

from __future__ import annotations

from fractions import Fraction
from typing import Optional, Type

from flyte.extend import TypeEngine, TypeTransformer


class FractionTransformer(TypeTransformer[Fraction]):
    """``Fraction(3, 4)`` <-> the string literal ``"3/4"`` (a float would lose exactness)."""

    def __init__(self) -> None:
        super().__init__("Fraction", Fraction)

    def get_literal_type(self, t: Type[Fraction]):
        from flyteidl2.core import types_pb2

        return types_pb2.LiteralType(simple=types_pb2.SimpleType.STRING)

    async def to_literal(self, python_val: Fraction, python_type: Type[Fraction], expected):
        from flyteidl2.core import literals_pb2

        if not isinstance(python_val, Fraction):
            raise TypeError(f"FractionTransformer: value {python_val!r} of type {type(python_val).__name__} is not a Fraction")
        text = f"{python_val.numerator}/{python_val.denominator}"
        return literals_pb2.Literal(scalar=literals_pb2.Scalar(primitive=literals_pb2.Primitive(string_value=text)))

    async def to_python_value(self, lv, expected_python_type: Type[Fraction]) -> Optional[Fraction]:
        text = lv.scalar.primitive.string_value
        try:
            return Fraction(text)
        except ValueError as e:
            raise TypeError(f"FractionTransformer: literal {text!r} is not a fraction 'n/d'") from e

    def guess_python_type(self, literal_type) -> Type[Fraction]:
        return Fraction


def register_fraction_transformer() -> None:
    """Entry point of group ``flyte.plugins.types``: register the transformer once."""
    if Fraction not in TypeEngine.get_available_transformers():
        TypeEngine.register(FractionTransformer())
