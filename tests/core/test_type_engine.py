"""The type engine: literal types, round trips, literal maps, boundary checks, cache-key hashing."""

from __future__ import annotations

import dataclasses
import datetime
import enum
import subprocess
import sys
import typing
from pathlib import Path
from typing import Any, Dict, List, Literal, NamedTuple, Optional, Tuple, Union

import pytest
from flyteidl2.core import literals_pb2, types_pb2

import flyte.errors
from flyte.io import Dir, File
from flyte.types import (
    TypeEngine,
    TypeTransformer,
    TypeTransformerFailedError,
    check_value,
    convert_boundary,
    hash_inputs,
    needs_roundtrip,
)


class Color(enum.Enum):
    RED = "red"
    GREEN = "green"


@dataclasses.dataclass
class Inner:
    a: int
    b: Optional[str] = None


@dataclasses.dataclass
class Outer:
    x: int
    items: List[Inner]
    by_name: Dict[str, float]
    pair: Tuple[int, str]
    when: datetime.datetime
    color: Color = Color.RED
    maybe: Optional[Inner] = None


@dataclasses.dataclass
class WithFile:
    label: str
    f: File


class Point(NamedTuple):
    x: int
    y: str


S = types_pb2.SimpleType

ROUND_TRIPS = [
    (7, int, "simple", S.INTEGER),
    (2.5, float, "simple", S.FLOAT),
    ("hi", str, "simple", S.STRING),
    (True, bool, "simple", S.BOOLEAN),
    (b"\x00raw", bytes, "simple", S.BINARY),
    (None, type(None), "simple", S.NONE),
    (datetime.datetime(2024, 1, 2, 3, 4, 5, tzinfo=datetime.timezone.utc), datetime.datetime, "simple", S.DATETIME),
    (datetime.date(2024, 1, 2), datetime.date, "simple", S.DATETIME),
    (datetime.timedelta(seconds=90), datetime.timedelta, "simple", S.DURATION),
    (Color.GREEN, Color, "enum_type", None),
    ([1, 2, 3], List[int], "collection_type", None),
    ([[1], [2, 3]], list[list[int]], "collection_type", None),
    ({"a": 1}, Dict[str, int], "map_value_type", None),
    ({"a": [1, 2]}, dict[str, list[int]], "map_value_type", None),
    ({"a": [1, {"b": None}]}, dict, "simple", S.STRUCT),
    ({1: "one"}, Dict[int, str], "simple", S.STRUCT),
    ((1, "a"), Tuple[int, str], "simple", S.STRUCT),
    ((1, 2, 3), tuple[int, ...], "collection_type", None),
    (None, Optional[int], "union_type", None),
    (3, Optional[int], "union_type", None),
    ("x", Union[int, str], "union_type", None),
    (4, int | None, "union_type", None),
    ("b", Literal["a", "b"], "enum_type", None),
    (2, Literal[1, 2], "simple", S.INTEGER),
    (Point(1, "p"), Point, "simple", S.STRUCT),
    (Inner(1, "z"), Inner, "simple", S.STRUCT),
    (
        Outer(1, [Inner(2)], {"k": 1.5}, (3, "q"), datetime.datetime(2024, 5, 1, 12), Color.GREEN, Inner(9)),
        Outer,
        "simple",
        S.STRUCT,
    ),
    ([Inner(1), Inner(2, "b")], List[Inner], "collection_type", None),
    (None, Optional[Outer], "union_type", None),
    (Inner(5), Optional[Inner], "union_type", None),
    ({"k": [Inner(1)]}, Dict[str, List[Inner]], "map_value_type", None),
]


@pytest.mark.parametrize(("value", "tp", "kind", "simple"), ROUND_TRIPS, ids=[repr(c[1]) for c in ROUND_TRIPS])
async def test_round_trip_and_literal_type(value: Any, tp: Any, kind: str, simple: Any) -> None:
    lt = TypeEngine.to_literal_type(tp)
    assert lt.WhichOneof("type") == kind
    if simple is not None:
        assert lt.simple == simple
    lv = await TypeEngine.to_literal(value, tp, lt)
    back = await TypeEngine.to_python_value(lv, tp)
    assert back == value
    assert type(back) is type(value)


async def test_literal_map_helpers_round_trip_everything() -> None:
    values = {f"v{i}": c[0] for i, c in enumerate(ROUND_TRIPS)}
    hints = {f"v{i}": c[1] for i, c in enumerate(ROUND_TRIPS)}
    lm = await TypeEngine.dict_to_literal_map(values, hints)
    assert isinstance(lm, literals_pb2.LiteralMap)
    parsed = literals_pb2.LiteralMap()
    parsed.ParseFromString(lm.SerializeToString())  # survives the wire
    back = await TypeEngine.literal_map_to_kwargs(parsed, hints)
    assert back == values


async def test_literal_map_to_kwargs_leaves_missing_names_to_defaults_and_rejects_unknown() -> None:
    lm = await TypeEngine.dict_to_literal_map({"a": 1}, {"a": int})
    assert await TypeEngine.literal_map_to_kwargs(lm, {"a": int, "b": str}) == {"a": 1}
    with pytest.raises(ValueError, match="unknown names"):
        await TypeEngine.literal_map_to_kwargs(lm, {"b": str})


async def test_literal_map_to_kwargs_names_the_failing_input() -> None:
    lm = await TypeEngine.dict_to_literal_map({"a": "text"}, {"a": str})
    with pytest.raises(TypeTransformerFailedError, match="'a'"):
        await TypeEngine.literal_map_to_kwargs(lm, {"a": int})


def test_enum_literal_type_lists_member_names_and_literal_lists_values() -> None:
    assert list(TypeEngine.to_literal_type(Color).enum_type.values) == ["RED", "GREEN"]
    assert list(TypeEngine.to_literal_type(Literal["low", "high"]).enum_type.values) == ["low", "high"]


async def test_enum_travels_by_name_and_reads_values_too() -> None:
    lv = await TypeEngine.to_literal(Color.GREEN, Color, TypeEngine.to_literal_type(Color))
    assert lv.scalar.primitive.string_value == "GREEN"
    by_value = literals_pb2.Literal(scalar=literals_pb2.Scalar(primitive=literals_pb2.Primitive(string_value="red")))
    assert await TypeEngine.to_python_value(by_value, Color) is Color.RED


async def test_dataclass_is_msgpack_with_json_schema() -> None:
    import msgpack

    lt = TypeEngine.to_literal_type(Outer)
    schema = dict(lt.metadata)
    assert schema["title"] == "Outer"
    assert set(schema["properties"]) == {"x", "items", "by_name", "pair", "when", "color", "maybe"}
    assert lt.annotation.annotations["cache-key-metadata"]["serialization-format"] == "msgpack"
    value = Outer(1, [Inner(2)], {"k": 1.0}, (3, "q"), datetime.datetime(2024, 1, 1))
    lv = await TypeEngine.to_literal(value, Outer, lt)
    assert lv.scalar.binary.tag == "msgpack"
    plain = msgpack.unpackb(lv.scalar.binary.value)
    # The plain form a JSON reader expects: enum by value, datetime ISO, tuple as list.
    assert plain["color"] == "red"
    assert plain["when"] == "2024-01-01T00:00:00"
    assert plain["pair"] == [3, "q"]
    assert plain["items"] == [{"a": 2, "b": None}]


async def test_dataclass_reads_json_struct_literals() -> None:
    from google.protobuf import struct_pb2

    s = struct_pb2.Struct()
    s.update({"a": 3, "b": "x"})  # every number in a Struct is a float
    lv = literals_pb2.Literal(scalar=literals_pb2.Scalar(generic=s))
    assert await TypeEngine.to_python_value(lv, Inner) == Inner(3, "x")


async def test_pydantic_model_round_trip_with_nested_types(tmp_path: Path) -> None:
    import pydantic  # core's `pydantic` extra, installed for the tests (requirements-dev.txt, tox)

    class Model(pydantic.BaseModel):
        n: int
        inner: Inner
        tags: List[str] = []
        f: Optional[File] = None

    src = tmp_path / "m.txt"
    src.write_text("model data")
    value = Model(n=1, inner=Inner(2, "b"), tags=["t"], f=File(path=str(src)))
    lt = TypeEngine.to_literal_type(Model)
    assert lt.simple == S.STRUCT and lt.structure.tag == "Pydantic Transformer"
    lv = await TypeEngine.to_literal(value, Model, lt)
    assert lv.scalar.binary.tag == "msgpack"
    back = await TypeEngine.to_python_value(lv, Model)
    assert back.n == 1 and back.inner == Inner(2, "b") and back.tags == ["t"]
    # The nested local file was uploaded to the raw data path on the way in.
    assert back.f.path != str(src)
    with back.f.open_sync("rb") as fh:
        assert fh.read() == b"model data"


def test_union_variants_are_tagged_with_transformer_names() -> None:
    lt = TypeEngine.to_literal_type(Optional[Inner])
    tags = [v.structure.tag for v in lt.union_type.variants]
    assert tags == ["Object-Dataclass-Transformer", "none"]


async def test_union_picks_variant_by_tag_for_same_shaped_variants() -> None:
    @dataclasses.dataclass
    class A:
        v: int

    @dataclasses.dataclass
    class B:
        v: int
        extra: str = "b"

    tp = Union[A, B]
    lv = await TypeEngine.to_literal(B(1), tp, TypeEngine.to_literal_type(tp))
    assert await TypeEngine.to_python_value(lv, tp) == B(1)


async def test_optional_literal_read_as_its_inner_type() -> None:
    lv = await TypeEngine.to_literal(5, Optional[int], TypeEngine.to_literal_type(Optional[int]))
    assert await TypeEngine.to_python_value(lv, int) == 5


async def test_any_and_unknown_types_are_pickled() -> None:
    class Custom:
        def __init__(self, v: int):
            self.v = v

    lt = TypeEngine.to_literal_type(Any)
    assert [v.structure.tag for v in lt.union_type.variants] == ["FlytePickle", "FlytePickle"]
    lv = await TypeEngine.to_literal({1, 2}, Any, lt)
    assert lv.scalar.binary.value and not lv.scalar.binary.tag
    assert await TypeEngine.to_python_value(lv, Any) == {1, 2}
    assert TypeEngine.get_transformer(Custom).name == "FlytePickle"


async def test_unpicklable_value_fails_with_transformer_error() -> None:
    import threading

    with pytest.raises(TypeTransformerFailedError, match="pickle"):
        await TypeEngine.to_literal(threading.Lock(), Any, TypeEngine.to_literal_type(Any))


async def test_wrong_value_for_type_is_rejected() -> None:
    with pytest.raises(TypeTransformerFailedError):
        await TypeEngine.to_literal("x", int, TypeEngine.to_literal_type(int))
    with pytest.raises(TypeTransformerFailedError):
        await TypeEngine.to_literal(1.5, Optional[int], TypeEngine.to_literal_type(Optional[int]))


@pytest.mark.parametrize(
    "tp",
    [int, float, str, bool, datetime.timedelta, List[int], Dict[str, float], Optional[int], Union[int, str], File, Dir],
)
def test_guess_python_type_inverts_literal_type(tp: Any) -> None:
    assert TypeEngine.guess_python_type(TypeEngine.to_literal_type(tp)) == tp


def test_guess_python_type_rebuilds_dataclass_from_schema() -> None:
    guessed = TypeEngine.guess_python_type(TypeEngine.to_literal_type(Inner))
    assert dataclasses.is_dataclass(guessed)
    hints = typing.get_type_hints(guessed)
    assert hints["a"] is int and hints["b"] == Optional[str]


# -- third-party transformers ------------------------------------------------------------------


class Celsius:
    def __init__(self, degrees: float):
        self.degrees = degrees

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Celsius) and other.degrees == self.degrees


class CelsiusTransformer(TypeTransformer[Celsius]):
    """Written like a plugin for the published SDK."""

    def __init__(self) -> None:
        super().__init__(name="Celsius", t=Celsius)

    def get_literal_type(self, t: Any) -> types_pb2.LiteralType:
        return types_pb2.LiteralType(simple=types_pb2.SimpleType.FLOAT)

    async def to_literal(self, python_val: Celsius, python_type: Any, expected: Any) -> literals_pb2.Literal:
        return literals_pb2.Literal(
            scalar=literals_pb2.Scalar(primitive=literals_pb2.Primitive(float_value=python_val.degrees))
        )

    async def to_python_value(self, lv: literals_pb2.Literal, expected_python_type: Any) -> Celsius:
        return Celsius(lv.scalar.primitive.float_value)


@pytest.fixture
def clean_engine() -> typing.Iterator[type]:
    saved = dict(TypeEngine._REGISTRY)
    TypeEngine.get_transformer(int)  # built-ins registered before the snapshot is restored
    yield TypeEngine
    TypeEngine._REGISTRY.clear()
    TypeEngine._REGISTRY.update(saved)
    TypeEngine._invalidate()


async def test_registered_plugin_transformer_is_used(clean_engine: Any) -> None:
    tr = CelsiusTransformer()
    TypeEngine.register(tr)
    assert TypeEngine.get_transformer(Celsius) is tr
    assert TypeEngine.get_transformer(List[Celsius]).name == "Typed List"
    value = [Celsius(21.5), Celsius(-3.0)]
    lm = await TypeEngine.dict_to_literal_map({"temps": value}, {"temps": List[Celsius]})
    assert await TypeEngine.literal_map_to_kwargs(lm, {"temps": List[Celsius]}) == {"temps": value}
    with pytest.raises(ValueError, match="already registered"):
        TypeEngine.register(CelsiusTransformer())


async def test_subclass_of_registered_type_uses_its_transformer(clean_engine: Any) -> None:
    class Kelvinish(Celsius):
        pass

    TypeEngine.register(CelsiusTransformer())
    assert TypeEngine.get_transformer(Kelvinish).name == "Celsius"


def test_local_roundtrip_opt_in_drives_needs_roundtrip(clean_engine: Any) -> None:
    class Marker:
        pass

    class MarkerTransformer(CelsiusTransformer):
        local_roundtrip = True

        def __init__(self) -> None:
            TypeTransformer.__init__(self, "Marker", Marker)

    assert needs_roundtrip(Marker) is False  # pickled: passed by reference locally
    TypeEngine.register(MarkerTransformer())
    assert needs_roundtrip(Marker) is True
    assert needs_roundtrip(Optional[List[Marker]]) is True


@pytest.mark.parametrize(
    ("tp", "expected"),
    [
        (int, False),
        (List[int], False),
        (Inner, False),
        (File, True),
        (Dir, True),
        (Optional[File], True),
        (Dict[str, List[File]], True),
        (WithFile, True),
        (Tuple[int, File], True),
    ],
)
def test_needs_roundtrip(tp: Any, expected: bool) -> None:
    assert needs_roundtrip(tp) is expected


def test_lazy_import_transformers_is_callable_twice() -> None:
    TypeEngine.lazy_import_transformers()
    TypeEngine.lazy_import_transformers()
    assert int in TypeEngine.get_available_transformers()


# -- check_value -------------------------------------------------------------------------------

ACCEPT = [
    (1, int, 1),
    (1, float, 1.0),
    (1.5, float, 1.5),
    ("s", str, "s"),
    (False, bool, False),
    (None, Optional[int], None),
    (2, Optional[int], 2),
    ("a", Union[int, str], "a"),
    ([1, 2], List[int], [1, 2]),
    ([1, 2], List[float], [1.0, 2.0]),
    ({"a": 1}, Dict[str, int], {"a": 1}),
    ((1, "x"), Tuple[int, str], (1, "x")),
    ((1, 2), Tuple[int, ...], (1, 2)),
    ("a", Literal["a", "b"], "a"),
    (Color.RED, Color, Color.RED),
    ("red", Color, Color.RED),
    ("GREEN", Color, Color.GREEN),
    (Inner(1), Inner, Inner(1)),
    (object(), Any, None),
    ({"any": object}, dict, None),
    (datetime.datetime(2024, 1, 1), datetime.datetime, None),
]


@pytest.mark.parametrize(("value", "tp", "out"), ACCEPT, ids=[f"{c[1]}-{i}" for i, c in enumerate(ACCEPT)])
def test_check_value_accepts(value: Any, tp: Any, out: Any) -> None:
    result = check_value(value, tp)
    if out is None:
        assert result is value
    else:
        assert result == out and type(result) is type(out)


REJECT = [
    (True, int, "expected int, got bool"),
    ("1", int, "expected int, got str"),
    (True, float, "expected float, got bool"),
    (1, str, "expected str, got int"),
    (1, bool, "expected bool, got int"),
    (1.5, Optional[int], "expected"),
    ([1, "x"], List[int], "item [1]: expected int, got str"),
    ({"a": "x"}, Dict[str, int], "['a']: expected int, got str"),
    ({1: 1}, Dict[str, int], "key 1: expected str"),
    ((1,), Tuple[int, str], "2 items"),
    ("c", Literal["a", "b"], "one of"),
    (1, Literal[True], "one of"),
    ("blue", Color, "expected Color"),
    (Inner("x"), Inner, "field 'a': expected int, got str"),
    ({"a": 1}, Inner, "expected Inner, got dict"),
    ("/tmp/x", File, "expected File"),
    ([1], Tuple[int, ...], "expected"),
]


@pytest.mark.parametrize(("value", "tp", "reason"), REJECT, ids=[f"{c[1]}-{i}" for i, c in enumerate(REJECT)])
def test_check_value_rejects_with_reason(value: Any, tp: Any, reason: str) -> None:
    with pytest.raises(TypeError) as info:
        check_value(value, tp)
    assert reason in str(info.value)


def test_check_value_handles_recursive_dataclasses() -> None:
    @dataclasses.dataclass
    class Node:
        value: int
        children: List["Node"]

    Node.__annotations__["children"] = List[Node]  # resolve the local forward reference
    tree = Node(1, [Node(2, []), Node(3, [Node(4, [])])])
    assert check_value(tree, Node) is tree
    with pytest.raises(TypeError, match="field 'value'"):
        check_value(Node(1, [Node("bad", [])]), Node)  # type: ignore[arg-type]


# -- convert_boundary ------------------------------------------------------------------------


async def test_convert_boundary_error_names_task_input_and_types() -> None:
    with pytest.raises(flyte.errors.TypeValidationError) as info:
        await convert_boundary({"x": "abc"}, {"x": int}, owner="task my_task", direction="input")
    msg = str(info.value)
    assert "task my_task" in msg and "input 'x'" in msg and "str" in msg and "expected int" in msg
    assert isinstance(info.value, TypeError)


async def test_convert_boundary_output_direction_in_message() -> None:
    with pytest.raises(flyte.errors.TypeValidationError, match="output 'o0'"):
        await convert_boundary({"o0": [1, None]}, {"o0": List[int]}, owner="task t", direction="output")


async def test_convert_boundary_coerces_and_passes_plain_values_by_reference() -> None:
    payload = [Inner(1)]
    out = await convert_boundary(
        {"f": 3, "items": payload}, {"f": float, "items": List[Inner]}, owner="t", direction="input"
    )
    assert out["f"] == 3.0 and type(out["f"]) is float
    assert out["items"] is payload


async def test_convert_boundary_uploads_local_files_to_raw_data_path(tmp_path: Path, isolated_flyte_home: Path) -> None:
    src = tmp_path / "in.txt"
    src.write_text("payload")
    value = WithFile("l", File(path=str(src)))
    out = await convert_boundary({"w": value, "fs": [File(path=str(src))]}, {"w": WithFile, "fs": List[File]}, owner="t", direction="output")
    raw = str(isolated_flyte_home / "data")
    assert out["w"].f.path.startswith(raw) and out["fs"][0].path.startswith(raw)
    assert Path(out["w"].f.path).read_text() == "payload"
    # Already in the raw data path: crossing another boundary does not copy again.
    again = await convert_boundary({"w": out["w"]}, {"w": WithFile}, owner="t", direction="input")
    assert again["w"].f.path == out["w"].f.path


# -- hash_inputs -------------------------------------------------------------------------------


async def test_hash_inputs_is_stable_and_sensitive() -> None:
    types_ = {"a": int, "b": Dict[str, List[int]], "c": Inner}
    v1 = {"a": 1, "b": {"x": [1, 2], "y": [3]}, "c": Inner(1, "q")}
    v2 = {"c": Inner(1, "q"), "b": {"y": [3], "x": [1, 2]}, "a": 1}  # same values, other order
    h1 = await hash_inputs(v1, types_, set())
    assert h1 == await hash_inputs(v2, types_, set())
    assert len(h1) == 64
    assert h1 != await hash_inputs({**v1, "a": 2}, types_, set())
    assert await hash_inputs({**v1, "a": 2}, types_, {"a"}) == await hash_inputs(v1, types_, {"a"})


async def test_hash_inputs_identifies_local_files_by_content(tmp_path: Path) -> None:
    p1, p2, p3 = tmp_path / "one.txt", tmp_path / "two.txt", tmp_path / "three.txt"
    p1.write_text("same")
    p2.write_text("same")
    p3.write_text("different")
    h = lambda f: hash_inputs({"f": f}, {"f": File}, set())  # noqa: E731
    assert await h(File(path=str(p1), name="x")) == await h(File(path=str(p2), name="x"))
    assert await h(File(path=str(p1), name="x")) != await h(File(path=str(p3), name="x"))
    uploaded = await File.from_local(p1)
    # Nested in a dataclass too, and with no upload while hashing.
    k1 = await hash_inputs({"w": WithFile("l", File(path=str(p1), name="n"))}, {"w": WithFile}, set())
    k2 = await hash_inputs({"w": WithFile("l", File(path=uploaded.path, name="n"))}, {"w": WithFile}, set())
    assert k1 == k2
    assert await h(File.from_existing_remote("s3://b/k", file_cache_key="abc")) == await h(
        File.from_existing_remote("s3://b/other", file_cache_key="abc")
    )


async def test_hash_inputs_identifies_directories_by_content(tmp_path: Path) -> None:
    for name in ("d1", "d2"):
        (tmp_path / name / "sub").mkdir(parents=True)
        (tmp_path / name / "sub" / "f.txt").write_text("x")
    h = lambda p: hash_inputs({"d": Dir(path=str(p), name="d")}, {"d": Dir}, set())  # noqa: E731
    assert await h(tmp_path / "d1") == await h(tmp_path / "d2")
    (tmp_path / "d2" / "sub" / "f.txt").write_text("y")
    assert await h(tmp_path / "d1") != await h(tmp_path / "d2")


# -- import weight -----------------------------------------------------------------------------


def test_import_flyte_types_loads_no_heavy_module() -> None:
    code = (
        "import sys, flyte.types, flyte.io, flyte.storage\n"
        "heavy = [m for m in ('google.protobuf', 'flyteidl2', 'fsspec', 'msgpack', 'pydantic', 'asyncio') "
        "if m in sys.modules]\n"
        "print(','.join(heavy))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def test_cache_keys_ignore_dict_order_and_set_order_across_processes(tmp_path):
    import subprocess
    import sys

    prog = tmp_path / "keys.py"
    prog.write_text(
        "import asyncio\n"
        "from dataclasses import dataclass\n"
        "from flyte.types import hash_inputs\n"
        "@dataclass\n"
        "class D:\n"
        "    m: dict\n"
        "async def main():\n"
        "    a = await hash_inputs({'x': {'a': 1, 'b': 2}}, {'x': dict})\n"
        "    b = await hash_inputs({'x': {'b': 2, 'a': 1}}, {'x': dict})\n"
        "    c = await hash_inputs({'x': D({'a': 1, 'b': 2})}, {'x': D})\n"
        "    d = await hash_inputs({'x': D({'b': 2, 'a': 1})}, {'x': D})\n"
        "    s = await hash_inputs({'x': {'q', 'w', 'e', 'r', 't', 'y'}}, {'x': set[str]})\n"
        "    assert a == b and c == d\n"
        "    print(s)\n"
        "asyncio.run(main())\n"
    )
    keys = set()
    for seed in ("1", "2", "3"):
        env = {**__import__("os").environ, "PYTHONHASHSEED": seed}
        out = subprocess.run([sys.executable, str(prog)], capture_output=True, text=True, env=env, check=True)
        keys.add(out.stdout.strip())
    assert len(keys) == 1


async def test_union_keeps_the_exact_variant_type():
    from typing import Union

    t = Union[float, int]
    for v in (3, 3.5):
        lit = await TypeEngine.to_literal(v, t, TypeEngine.to_literal_type(t))
        back = await TypeEngine.to_python_value(lit, t)
        assert back == v and type(back) is type(v)


async def test_an_untagged_binary_for_bytes_is_refused_and_never_unpickled(tmp_path) -> None:
    import pickle

    marker = tmp_path / "ran"

    class Boom:
        def __reduce__(self):
            return (marker.write_text, ("code ran",))

    lv = literals_pb2.Literal(scalar=literals_pb2.Scalar(binary=literals_pb2.Binary(value=pickle.dumps(Boom()), tag="")))
    with pytest.raises(flyte.errors.FlyteError, match="allowed tags are 'bytes' and 'msgpack'"):
        await TypeEngine.to_python_value(lv, bytes)
    assert not marker.exists()
    tagged = literals_pb2.Literal(scalar=literals_pb2.Scalar(binary=literals_pb2.Binary(value=b"\x00\x01", tag="bytes")))
    assert await TypeEngine.to_python_value(tagged, bytes) == b"\x00\x01"
