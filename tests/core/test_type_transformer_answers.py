"""The type system asks transformers about their types instead of importing their classes."""

from __future__ import annotations

from typing import Any, Iterator

import pytest

from flyte.types import TypeEngine, TypeTransformer, check_value


class Celsius:
    """A type defined above the type system, like ``File`` or a plugin's type."""

    def __init__(self, degrees: float):
        self.degrees = degrees


class CelsiusTransformer(TypeTransformer[Celsius]):
    def __init__(self) -> None:
        super().__init__("Celsius", Celsius)

    def value_checker(self, python_type: Any) -> Any:
        def check(v: Any) -> Any:
            if isinstance(v, Celsius):
                return v
            if isinstance(v, (int, float)) and not isinstance(v, bool):
                return Celsius(float(v))  # coerced, as the checker may
            raise TypeError(f"expected Celsius or a number, got {type(v).__qualname__}")

        return check

    def schema_match(self, schema: dict) -> bool:
        return schema.get("x-unit") == "celsius"


@pytest.fixture
def celsius() -> Iterator[CelsiusTransformer]:
    tr = CelsiusTransformer()
    TypeEngine.register(tr)
    yield tr
    TypeEngine._REGISTRY.pop(Celsius, None)
    TypeEngine._invalidate()
    from flyte.types import _check

    _check._cache.pop(Celsius, None)


def test_check_value_uses_the_transformers_checker(celsius):
    assert check_value(21.5, Celsius).degrees == 21.5
    c = Celsius(3)
    assert check_value(c, Celsius) is c
    with pytest.raises(TypeError, match="expected Celsius or a number, got str"):
        check_value("warm", Celsius)


def test_guessing_a_schema_gives_the_type_of_the_transformer_that_claims_it(celsius):
    from flyte.types._guess import type_from_schema

    unit = {"type": "object", "x-unit": "celsius", "properties": {"degrees": {"type": "number"}}}
    schema = {"type": "object", "title": "Reading", "properties": {"t": unit}, "required": ["t"]}
    reading = type_from_schema(schema, engine=TypeEngine)
    assert reading.__dataclass_fields__["t"].type is Celsius
    # Without an engine to ask, the schema is only a structure.
    assert type_from_schema(schema["properties"]["t"]) is not Celsius


def test_files_are_checked_and_guessed_through_their_transformer():
    from flyte.io import Dir, File
    from flyte.types._guess import type_from_schema

    assert check_value(File(path="a.txt"), File).path == "a.txt"
    with pytest.raises(TypeError, match=r"expected File, got Dir"):
        check_value(Dir(path="d"), File)
    assert type_from_schema(File._json_schema(), engine=TypeEngine) is File
    assert type_from_schema(Dir._json_schema(), engine=TypeEngine) is Dir
