"""Typed inputs and outputs as the published SDK's programs use them: TypedDicts (checked by keys
and value types, carried like dataclasses), Literals holding enum members (decision 34), and the
async handle of ``File.open``."""

from __future__ import annotations

import enum
import logging
from typing import Literal, NotRequired, TypedDict

import pytest

import flyte
from flyte.errors import TypeValidationError
from flyte.io import File
from flyte.types import TypeEngine, check_value


class Color(enum.Enum):
    RED = "red"
    GREEN = "green"


class Point(TypedDict):
    x: int
    y: float


class Shape(TypedDict):
    name: str
    corners: list[Point]
    color: NotRequired[Color]


env = flyte.TaskEnvironment(name="typed_compat", cache="auto")


@env.task
async def scale(shape: Shape, k: int) -> Shape:
    return {"name": shape["name"], "corners": [{"x": p["x"] * k, "y": p["y"] * k} for p in shape["corners"]]}


@env.task
async def pick(c: Literal[Color.RED, "medium", 3]) -> str:
    return repr(c)


@env.task
async def pick_enum(c: Literal[Color.RED, Color.GREEN]) -> str:
    return repr(c)


@env.task
async def pick_text(c: Literal["red", "blue"]) -> str:
    return repr(c)


SQUARE: Shape = {"name": "sq", "corners": [{"x": 0, "y": 0.0}, {"x": 1, "y": 1}], "color": Color.GREEN}


def test_typeddict_checked_by_keys_and_value_types():
    assert check_value({"x": 1, "y": 2}, Point) == {"x": 1, "y": 2.0}  # int for float, coerced in a copy
    exact: Shape = {"name": "sq", "corners": [{"x": 0, "y": 0.0}], "color": Color.RED}
    assert check_value(exact, Shape) is exact  # nothing to coerce: the caller's dict itself
    assert check_value(SQUARE, Shape)["corners"][1] == {"x": 1, "y": 1.0} and SQUARE["corners"][1]["y"] == 1
    assert check_value({"name": "n", "corners": [], "color": "red"}, Shape)["color"] is Color.RED
    with pytest.raises(TypeError, match=r"missing required key\(s\) 'y'"):
        check_value({"x": 1}, Point)
    with pytest.raises(TypeError, match=r"Shape\['corners'\]: item \[0\]: Point\['x'\]: expected int, got str"):
        check_value({"name": "n", "corners": [{"x": "1", "y": 1.0}]}, Shape)
    with pytest.raises(TypeError, match="expected Point"):
        check_value([1, 2], Point)


def test_typeddict_unknown_key_is_dropped_with_a_warning(caplog):
    with caplog.at_level(logging.WARNING, logger="flyte.types"):
        assert check_value({"x": 1, "y": 1.0, "z": 9}, Point) == {"x": 1, "y": 1.0}
    assert "Point has no key 'z'" in caplog.text


async def test_typeddict_round_trips_through_literals_nested():
    lt = TypeEngine.to_literal_type(Shape)
    lit = await TypeEngine.to_literal(SQUARE, Shape, lt)
    back = await TypeEngine.to_python_value(lit, Shape)
    assert back == {"name": "sq", "corners": [{"x": 0, "y": 0.0}, {"x": 1, "y": 1.0}], "color": Color.GREEN}
    assert back["color"] is Color.GREEN and isinstance(back["corners"][1]["y"], float)


def test_typeddict_task_runs_cached_and_missing_key_is_a_clear_error():
    flyte.init()
    first = flyte.run(scale, shape=SQUARE, k=2).outputs()[0]
    assert first == {"name": "sq", "corners": [{"x": 0, "y": 0.0}, {"x": 2, "y": 2.0}]}
    assert flyte.run(scale, shape=SQUARE, k=2).outputs()[0] == first  # a cache hit decodes it again
    with pytest.raises(TypeValidationError) as ei:
        flyte.run(scale, shape={"name": "sq"}, k=2)
    text = str(ei.value)
    assert "input 'shape'" in text and "missing required key(s) 'corners'" in text


def test_literal_enum_members_compare_by_value(caplog):
    flyte.init()
    assert flyte.run(pick_enum, c="green").outputs()[0] == "<Color.GREEN: 'green'>"  # a value: its member
    assert flyte.run(pick_text, c=Color.RED).outputs()[0] == "'red'"  # a member: its value
    assert flyte.run(pick, c="red").outputs()[0] == "<Color.RED: 'red'>"
    assert flyte.run(pick, c=3).outputs()[0] == "3"
    with pytest.raises(TypeValidationError, match="expected one of \\['red', 'blue'\\], got 'x'"):
        flyte.run(pick_text, c="x")
    # A Literal mixing kinds is not checked by the published SDK: outside values pass, with a warning.
    with caplog.at_level(logging.WARNING, logger="flyte.types"):
        assert flyte.run(pick, c=Color.GREEN).outputs()[0] == "<Color.GREEN: 'green'>"
    assert "Color.GREEN" in caplog.text and "Literal[Color.RED, 'medium', 3]" in caplog.text


async def test_async_file_handle_reads_are_awaitable(tmp_path):
    src = tmp_path / "lines.txt"
    src.write_text("one\ntwo\nthree\n")
    f = await File.from_local(src)
    async with f.open("r") as fh:
        assert await fh.readline() == "one\n"
        assert await fh.readlines() == ["two\n", "three\n"]
    async with f.open("r") as fh:
        assert [line async for line in fh] == ["one\n", "two\n", "three\n"]
    async with f.open("rb") as fh:
        assert await fh.read(3) == b"one"
    out = File.new_remote("out.txt")
    async with out.open("w") as fh:
        await fh.writelines(["a\n", "b\n"])
    with out.open_sync("r") as fh:  # sync stays sync
        assert fh.readlines() == ["a\n", "b\n"]
