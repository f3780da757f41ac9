"""Transformers for Python's own types: primitives, datetimes, enums, containers, unions, Literal.

They are registered by :func:`register_builtin_transformers`, which the plugin framework's
built-in type hook calls (``flyte._plugins.builtin``), exactly like a third-party type plugin
registers its transformers. The transformers of ``flyte.io`` (files, directories, dataframes)
live with their classes, one layer up, and are registered by the same hook.
"""

from __future__ import annotations

import datetime
import enum
import typing
from typing import TYPE_CHECKING, Any, Callable, Dict, List, Optional, Type

from flyte.types._transformer import TypeTransformer, TypeTransformerFailedError, _strip_annotated
from flyte.types._type_engine import TypeEngine

if TYPE_CHECKING:
    from flyteidl2.core.literals_pb2 import Literal
    from flyteidl2.core.types_pb2 import LiteralType

__all__ = ["register_builtin_transformers"]

_NoneType = type(None)


def _primitive(**kw: Any) -> "Literal":
    from flyteidl2.core import literals_pb2

    return literals_pb2.Literal(scalar=literals_pb2.Scalar(primitive=literals_pb2.Primitive(**kw)))


def _simple_type(name: str) -> "LiteralType":
    from flyteidl2.core import types_pb2

    return types_pb2.LiteralType(simple=types_pb2.SimpleType.Value(name))


class SimpleTransformer(TypeTransformer):
    """A type stored as one primitive (or void) scalar."""

    def __init__(
        self,
        name: str,
        t: Type,
        simple: str,
        to_lit: Callable[[Any], "Literal"],
        from_lit: Callable[["Literal"], Any],
        accepts: Optional[tuple] = None,
    ):
        super().__init__(name, t)
        self._simple = simple
        self._to_lit = to_lit
        self._from_lit = from_lit
        self._accepts = accepts or (t,)

    def get_literal_type(self, t: Type) -> "LiteralType":
        return _simple_type(self._simple)

    def assert_type(self, t: Type, v: Any) -> None:
        if not isinstance(v, self._accepts) or (isinstance(v, bool) and bool not in self._accepts):
            raise TypeTransformerFailedError(f"Expected value of type {self._t.__name__} but got {v!r} of type {type(v).__name__}")

    async def to_literal(self, python_val: Any, python_type: Type, expected: "LiteralType") -> "Literal":
        self.assert_type(python_type, python_val)
        return self._to_lit(python_val)

    async def to_python_value(self, lv: "Literal", expected_python_type: Type) -> Any:
        try:
            return self._from_lit(lv)
        except (AttributeError, ValueError) as e:
            raise TypeTransformerFailedError(f"Cannot read {lv} as {self._t.__name__}: {e}") from e

    def guess_python_type(self, literal_type: "LiteralType") -> Type:
        from flyteidl2.core import types_pb2

        if literal_type.WhichOneof("type") == "simple" and literal_type.simple == types_pb2.SimpleType.Value(self._simple):
            return self._t
        raise ValueError(f"{self.name} cannot guess a type from {literal_type}")


def _prim_value(lv: "Literal", field: str) -> Any:
    if not lv.HasField("scalar") or not lv.scalar.HasField("primitive"):
        raise ValueError("not a primitive literal")
    p = lv.scalar.primitive
    which = p.WhichOneof("value")
    if which != field:
        raise ValueError(f"primitive holds {which}, not {field}")
    return getattr(p, field)


def _int_to(v: int) -> "Literal":
    # The literal holds an int64; protobuf's own error ("Value out of range") names nothing.
    from flyte.types._check import INT64_MAX, INT64_MIN, _int_in_range

    if not INT64_MIN <= v <= INT64_MAX:
        try:
            _int_in_range(v)
        except TypeError as e:
            raise TypeTransformerFailedError(str(e)) from None
    return _primitive(integer=v)


def _float_from(lv: "Literal") -> float:
    p = lv.scalar.primitive
    if p.WhichOneof("value") == "integer":
        return float(p.integer)
    return float(_prim_value(lv, "float_value"))


def _datetime_to(v: datetime.datetime) -> "Literal":
    from google.protobuf.timestamp_pb2 import Timestamp

    ts = Timestamp()
    ts.FromDatetime(v.astimezone(datetime.timezone.utc) if v.tzinfo else v)
    return _primitive(datetime=ts)


def _datetime_from(lv: "Literal") -> datetime.datetime:
    return _prim_value(lv, "datetime").ToDatetime(tzinfo=datetime.timezone.utc)


def _date_to(v: datetime.date) -> "Literal":
    return _datetime_to(datetime.datetime(v.year, v.month, v.day))


def _duration_to(v: datetime.timedelta) -> "Literal":
    from google.protobuf.duration_pb2 import Duration

    d = Duration()
    d.FromTimedelta(v)
    return _primitive(duration=d)


def _none_to(v: Any) -> "Literal":
    from flyteidl2.core import literals_pb2

    return literals_pb2.Literal(scalar=literals_pb2.Scalar(none_type=literals_pb2.Void()))


def _none_from(lv: "Literal") -> None:
    return None


class BytesTransformer(TypeTransformer[bytes]):
    """``bytes`` as a ``Binary`` scalar tagged ``"bytes"`` (``"msgpack"`` is read too; never a pickle)."""

    def __init__(self) -> None:
        super().__init__("bytes", bytes)

    def get_literal_type(self, t: Type) -> "LiteralType":
        return _simple_type("BINARY")

    async def to_literal(self, python_val: bytes, python_type: Type, expected: "LiteralType") -> "Literal":
        from flyteidl2.core import literals_pb2

        if not isinstance(python_val, (bytes, bytearray, memoryview)):
            raise TypeTransformerFailedError(f"Expected bytes but got {type(python_val).__name__}")
        return literals_pb2.Literal(
            scalar=literals_pb2.Scalar(binary=literals_pb2.Binary(value=bytes(python_val), tag="bytes"))
        )

    async def to_python_value(self, lv: "Literal", expected_python_type: Type) -> bytes:
        if not lv.scalar.HasField("binary"):
            raise TypeTransformerFailedError(f"Expected a binary literal for bytes, got {lv}")
        b = lv.scalar.binary
        if b.tag == "bytes":
            return b.value
        if b.tag == "msgpack":
            import msgpack

            return bytes(msgpack.unpackb(b.value))
        # Any other tag (an untagged binary is how some SDKs send pickles) would have to be
        # unpickled, and data never runs code unless its type is declared as pickled.
        raise TypeTransformerFailedError(
            f"a binary literal tagged {b.tag!r} cannot be read as bytes: allowed tags are 'bytes' and 'msgpack' "
            "(pickled data is read only for a type declared as pickled)"
        )

    def guess_python_type(self, literal_type: "LiteralType") -> Type:
        from flyteidl2.core import types_pb2

        if literal_type.WhichOneof("type") == "simple" and literal_type.simple == types_pb2.SimpleType.BINARY:
            return bytes
        raise ValueError(f"bytes cannot guess a type from {literal_type}")


class EnumTransformer(TypeTransformer[enum.Enum]):
    """Enums travel by member *name*; the literal type lists the names."""

    def __init__(self) -> None:
        super().__init__("DefaultEnumTransformer", enum.Enum)

    def get_literal_type(self, t: Type) -> "LiteralType":
        from flyteidl2.core import types_pb2

        t = _strip_annotated(t)
        names = [m.name for m in t]
        if not names:
            raise TypeTransformerFailedError(f"Enum {t.__name__} has no members")
        return types_pb2.LiteralType(enum_type=types_pb2.EnumType(values=names))

    def assert_type(self, t: Type, v: Any) -> None:
        t = _strip_annotated(t)
        if isinstance(v, enum.Enum):
            if not isinstance(v, t):
                raise TypeTransformerFailedError(f"Value {v} is not a member of {t.__name__}")
            return
        if v not in t.__members__ and v not in {m.value for m in t}:
            raise TypeTransformerFailedError(f"Value {v!r} is not in Enum {t.__name__}")

    async def to_literal(self, python_val: Any, python_type: Type, expected: "LiteralType") -> "Literal":
        t = _strip_annotated(python_type)
        if isinstance(python_val, enum.Enum):
            name = python_val.name
        elif isinstance(python_val, str) and python_val in t.__members__:
            name = python_val
        else:
            try:
                name = t(python_val).name
            except ValueError as e:
                raise TypeTransformerFailedError(f"Value {python_val!r} is not in Enum {t.__name__}") from e
        return _primitive(string_value=name)

    async def to_python_value(self, lv: "Literal", expected_python_type: Type) -> Any:
        t = _strip_annotated(expected_python_type)
        raw = lv.scalar.primitive.string_value
        if raw in t.__members__:
            return t[raw]
        try:
            return t(raw)
        except ValueError as e:
            raise TypeTransformerFailedError(f"{raw!r} is neither a name nor a value of {t.__name__}") from e

    def guess_python_type(self, literal_type: "LiteralType") -> Type:
        if literal_type.HasField("enum_type"):
            return enum.Enum("DynamicEnum", {v: v for v in literal_type.enum_type.values})  # type: ignore[return-value]
        raise ValueError(f"Enum transformer cannot reverse {literal_type}")


class LiteralTypeTransformer(TypeTransformer[Any]):
    """``typing.Literal[...]``: string choices are an enum type; other choices use their value type.

    A Literal mixing kinds (``Literal[Color.RED, "medium", 3]``) travels as the msgpack of its
    plain value (an enum member by its value) and comes back as the choice with that value
    (decision 34).
    """

    def __init__(self) -> None:
        super().__init__("Literal", typing.Literal)  # type: ignore[arg-type]

    @staticmethod
    def _base(t: Any) -> Any:
        values = typing.get_args(_strip_annotated(t))
        kinds = {type(v) for v in values}
        if len(kinds) != 1:
            return None
        return kinds.pop()

    def get_literal_type(self, t: Type) -> "LiteralType":
        from flyteidl2.core import types_pb2

        values = typing.get_args(_strip_annotated(t))
        base = self._base(t)
        if base is str:
            return types_pb2.LiteralType(enum_type=types_pb2.EnumType(values=list(values)))
        if base is None:
            from flyte.types._plain import json_schema

            return _struct_literal_type(json_schema(t), self.name)
        return TypeEngine.to_literal_type(base)

    def assert_type(self, t: Type, v: Any) -> None:
        values = typing.get_args(_strip_annotated(t))
        if self._base(t) is None:  # mixed kinds: checked, with a warning, at the task boundary
            return
        if not any(v == x and type(v) is type(x) for x in values):
            raise TypeTransformerFailedError(f"Value {v!r} is not one of {list(values)}")

    async def to_literal(self, python_val: Any, python_type: Type, expected: "LiteralType") -> "Literal":
        self.assert_type(python_type, python_val)
        base = self._base(python_type)
        if base is None:
            import msgpack

            from flyte.types._plain import to_plain

            return _msgpack_literal(msgpack.packb(to_plain(python_val), use_bin_type=True))
        if base is str:
            return _primitive(string_value=python_val)
        return await TypeEngine.to_literal(python_val, base, expected)

    async def to_python_value(self, lv: "Literal", expected_python_type: Type) -> Any:
        base = self._base(expected_python_type)
        if base is None:
            data, _ = _plain_of_literal(lv)
            for choice in typing.get_args(_strip_annotated(expected_python_type)):
                plain = choice.value if isinstance(choice, enum.Enum) else choice
                if type(plain) is type(data) and plain == data:
                    return choice
            return data
        if base is str:
            value: Any = lv.scalar.primitive.string_value
        else:
            value = await TypeEngine.to_python_value(lv, base)
        self.assert_type(expected_python_type, value)
        return value


class ListTransformer(TypeTransformer[list]):
    """``list[T]`` as a collection literal of ``T``."""

    def __init__(self) -> None:
        super().__init__("Typed List", list)

    @staticmethod
    def elem_type(t: Any) -> Any:
        args = typing.get_args(_strip_annotated(t))
        return args[0] if args else Any

    def get_literal_type(self, t: Type) -> "LiteralType":
        from flyteidl2.core import types_pb2

        return types_pb2.LiteralType(collection_type=TypeEngine.to_literal_type(self.elem_type(t)))

    async def to_literal(self, python_val: Any, python_type: Type, expected: "LiteralType") -> "Literal":
        from flyteidl2.core import literals_pb2

        if not isinstance(python_val, (list, tuple)):
            raise TypeTransformerFailedError(f"Expected a list but got {type(python_val).__name__}")
        elem = self.elem_type(python_type)
        sub = expected.collection_type if expected.HasField("collection_type") else TypeEngine.to_literal_type(elem)
        lits = await _convert_many([(v, elem) for v in python_val], sub)
        return literals_pb2.Literal(collection=literals_pb2.LiteralCollection(literals=lits))

    async def to_python_value(self, lv: "Literal", expected_python_type: Type) -> list:
        if not lv.HasField("collection"):
            raise TypeTransformerFailedError(f"Expected a collection literal, got {lv.WhichOneof('value')}")
        elem = self.elem_type(expected_python_type)
        return await _read_many(list(lv.collection.literals), elem)

    def guess_python_type(self, literal_type: "LiteralType") -> Type:
        if literal_type.HasField("collection_type"):
            return typing.List[TypeEngine.guess_python_type(literal_type.collection_type)]  # type: ignore[misc]
        raise ValueError(f"List transformer cannot reverse {literal_type}")


async def _convert_many(pairs: List[tuple], lt: "LiteralType") -> List["Literal"]:
    import asyncio

    from flyte.types._boundary import needs_roundtrip

    if pairs and needs_roundtrip(pairs[0][1]):
        return list(await asyncio.gather(*(TypeEngine.to_literal(v, t, lt) for v, t in pairs)))
    return [await TypeEngine.to_literal(v, t, lt) for v, t in pairs]


async def _read_many(lits: List["Literal"], t: Any) -> list:
    import asyncio

    from flyte.types._boundary import needs_roundtrip

    if lits and needs_roundtrip(t):
        return list(await asyncio.gather(*(TypeEngine.to_python_value(lv, t) for lv in lits)))
    return [await TypeEngine.to_python_value(lv, t) for lv in lits]


def _struct_literal_type(schema: Dict[str, Any], tag: str) -> "LiteralType":
    from flyteidl2.core import types_pb2
    from google.protobuf import struct_pb2

    meta = struct_pb2.Struct()
    if schema:
        meta.update(_json_safe(schema))
    ann = struct_pb2.Struct()
    ann.update({"cache-key-metadata": {"serialization-format": "msgpack"}})
    return types_pb2.LiteralType(
        simple=types_pb2.SimpleType.STRUCT,
        metadata=meta,
        annotation=types_pb2.TypeAnnotation(annotations=ann),
        structure=types_pb2.TypeStructure(tag=tag),
    )


def _json_safe(obj: Any) -> Any:
    if isinstance(obj, dict):
        return {str(k): _json_safe(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_json_safe(v) for v in obj]
    if obj is None or isinstance(obj, (str, bool, int, float)):
        return obj
    return str(obj)


def _msgpack_literal(raw: bytes) -> "Literal":
    from flyteidl2.core import literals_pb2

    return literals_pb2.Literal(scalar=literals_pb2.Scalar(binary=literals_pb2.Binary(value=raw, tag="msgpack")))


def _plain_of_literal(lv: "Literal") -> tuple:
    """(plain data, lenient) read from a msgpack binary or a JSON ``Struct`` literal."""
    if lv.HasField("scalar") and lv.scalar.HasField("binary"):
        if lv.scalar.binary.tag != "msgpack":
            raise TypeTransformerFailedError(f"Unsupported binary format {lv.scalar.binary.tag!r}")
        import msgpack

        return msgpack.unpackb(lv.scalar.binary.value, raw=False, strict_map_key=False), False
    if lv.HasField("scalar") and lv.scalar.HasField("generic"):
        from google.protobuf.json_format import MessageToDict

        return MessageToDict(lv.scalar.generic), True
    raise TypeTransformerFailedError(f"Expected a msgpack binary or struct literal, got {lv}")


class DictTransformer(TypeTransformer[dict]):
    """``dict[str, T]`` as a map literal; any other dict as msgpack bytes of its plain form."""

    def __init__(self) -> None:
        super().__init__("Typed Dict", dict)

    @staticmethod
    def typed_value(t: Any) -> Optional[Any]:
        args = typing.get_args(_strip_annotated(t))
        if len(args) == 2 and args[0] is str:
            return args[1]
        return None

    def get_literal_type(self, t: Type) -> "LiteralType":
        from flyteidl2.core import types_pb2

        vt = self.typed_value(t)
        if vt is not None:
            return types_pb2.LiteralType(map_value_type=TypeEngine.to_literal_type(vt))
        return _struct_literal_type({}, "")

    async def to_literal(self, python_val: Any, python_type: Type, expected: "LiteralType") -> "Literal":
        from flyteidl2.core import literals_pb2

        if not isinstance(python_val, dict):
            raise TypeTransformerFailedError(f"Expected a dict but got {type(python_val).__name__}")
        vt = self.typed_value(python_type)
        if vt is not None and expected.HasField("map_value_type"):
            keys = list(python_val)
            for k in keys:
                if not isinstance(k, str):
                    raise TypeTransformerFailedError(f"dict[str, ...] key {k!r} is not a str")
            lits = await _convert_many([(python_val[k], vt) for k in keys], expected.map_value_type)
            return literals_pb2.Literal(map=literals_pb2.LiteralMap(literals=dict(zip(keys, lits))))
        from flyte.types._plain import encode_msgpack

        try:
            return _msgpack_literal(encode_msgpack(python_val, python_type))
        except (TypeError, ValueError) as e:
            raise TypeTransformerFailedError(f"Cannot serialize dict: {e}") from e

    async def to_python_value(self, lv: "Literal", expected_python_type: Type) -> dict:
        vt = self.typed_value(expected_python_type)
        if lv.HasField("map"):
            keys = list(lv.map.literals)
            values = await _read_many([lv.map.literals[k] for k in keys], vt if vt is not None else Any)
            return dict(zip(keys, values))
        from flyte.types._plain import from_plain

        data, lenient = _plain_of_literal(lv)
        return from_plain(data, expected_python_type, lenient)

    def guess_python_type(self, literal_type: "LiteralType") -> Type:
        from flyteidl2.core import types_pb2

        if literal_type.HasField("map_value_type"):
            return typing.Dict[str, TypeEngine.guess_python_type(literal_type.map_value_type)]  # type: ignore[misc]
        if literal_type.WhichOneof("type") == "simple" and literal_type.simple == types_pb2.SimpleType.STRUCT:
            return dict
        raise ValueError(f"Dict transformer cannot reverse {literal_type}")


class StructTransformer(TypeTransformer[Any]):
    """Structured values (dataclasses, pydantic models, NamedTuples, fixed tuples) as msgpack.

    The literal type is ``STRUCT`` with the value's JSON schema as metadata. Files and
    directories nested anywhere inside are uploaded before the value is serialized.
    """

    def __init__(self, name: str, t: Any, title_prefix: str = ""):
        super().__init__(name, t)
        self._title_prefix = title_prefix

    def _schema(self, t: Any) -> Dict[str, Any]:
        from flyte.types._plain import json_schema

        return json_schema(t)

    def get_literal_type(self, t: Type) -> "LiteralType":
        return _struct_literal_type(self._schema(t), self.name)

    def assert_type(self, t: Type, v: Any) -> None:
        cls = typing.get_origin(_strip_annotated(t)) or _strip_annotated(t)
        if isinstance(cls, type) and not isinstance(v, cls):
            raise TypeTransformerFailedError(f"Expected value of type {cls.__name__} but got {type(v).__name__}")

    def _plain(self, python_val: Any, python_type: Any) -> Any:
        from flyte.types._plain import to_plain

        return to_plain(python_val, python_type)

    async def to_literal(self, python_val: Any, python_type: Type, expected: "LiteralType") -> "Literal":
        import msgpack

        from flyte.types._nested import uploads_for

        self.assert_type(python_type, python_val)
        async with uploads_for(python_val):
            try:
                plain = self._plain(python_val, python_type)
            except (TypeError, ValueError) as e:
                raise TypeTransformerFailedError(f"Cannot serialize {type(python_val).__name__}: {e}") from e
        return _msgpack_literal(msgpack.packb(plain, use_bin_type=True))

    def _rebuild(self, data: Any, t: Any, lenient: bool) -> Any:
        from flyte.types._plain import from_plain

        return from_plain(data, t, lenient)

    async def to_python_value(self, lv: "Literal", expected_python_type: Type) -> Any:
        data, lenient = _plain_of_literal(lv)
        try:
            return self._rebuild(data, expected_python_type, lenient)
        except (TypeError, ValueError, KeyError) as e:
            raise TypeTransformerFailedError(f"Cannot read literal as {expected_python_type}: {e}") from e

    def guess_python_type(self, literal_type: "LiteralType") -> Type:
        from flyte.types._guess import type_from_schema

        if literal_type.HasField("metadata") and literal_type.metadata.fields:
            from google.protobuf.json_format import MessageToDict

            return type_from_schema(MessageToDict(literal_type.metadata), engine=TypeEngine)
        return dict


class TypedDictTransformer(StructTransformer):
    """A ``TypedDict`` as msgpack of its plain dict, like a dataclass: its keys and their types
    are checked (required keys present, no unknown keys), nested TypedDicts included."""

    def __init__(self) -> None:
        super().__init__("TypedDict Transformer", dict)

    def assert_type(self, t: Type, v: Any) -> None:
        from flyte.types._check import check_value

        try:
            check_value(v, _strip_annotated(t))
        except TypeError as e:
            raise TypeTransformerFailedError(str(e)) from None


class TupleTransformer(StructTransformer):
    """``tuple[A, B]`` as msgpack ``{"item_0": a, "item_1": b}``; ``tuple[T, ...]`` as a collection."""

    def __init__(self) -> None:
        super().__init__("Typed Tuple", tuple)

    @staticmethod
    def _variadic(t: Any) -> bool:
        args = typing.get_args(_strip_annotated(t))
        return not args or args[-1] is Ellipsis

    def _schema(self, t: Any) -> Dict[str, Any]:
        from flyte.types._plain import json_schema

        args = typing.get_args(_strip_annotated(t))
        names = [f"item_{i}" for i in range(len(args))]
        return {
            "title": "TupleWrapper_tuple",
            "type": "object",
            "properties": {n: json_schema(a) for n, a in zip(names, args)},
            "required": names,
        }

    def get_literal_type(self, t: Type) -> "LiteralType":
        if self._variadic(t):
            from flyteidl2.core import types_pb2

            args = typing.get_args(_strip_annotated(t))
            return types_pb2.LiteralType(collection_type=TypeEngine.to_literal_type(args[0] if args else Any))
        return super().get_literal_type(t)

    def assert_type(self, t: Type, v: Any) -> None:
        if not isinstance(v, tuple):
            raise TypeTransformerFailedError(f"Expected a tuple but got {type(v).__name__}")
        args = typing.get_args(_strip_annotated(t))
        if args and args[-1] is not Ellipsis and len(args) != len(v):
            raise TypeTransformerFailedError(f"Expected a tuple of {len(args)} items but got {len(v)}")

    async def to_literal(self, python_val: Any, python_type: Type, expected: "LiteralType") -> "Literal":
        if self._variadic(python_type):
            self.assert_type(python_type, python_val)
            args = typing.get_args(_strip_annotated(python_type))
            return await TypeEngine.to_literal(list(python_val), typing.List[args[0] if args else Any], expected)  # type: ignore[misc]
        return await super().to_literal(python_val, python_type, expected)

    def _plain(self, python_val: Any, python_type: Any) -> Any:
        from flyte.types._plain import to_plain

        args = typing.get_args(_strip_annotated(python_type))
        return {f"item_{i}": to_plain(v, a) for i, (v, a) in enumerate(zip(python_val, args))}

    def _rebuild(self, data: Any, t: Any, lenient: bool) -> Any:
        from flyte.types._plain import from_plain

        args = typing.get_args(_strip_annotated(t))
        if isinstance(data, dict):
            data = [data[f"item_{i}"] for i in range(len(args))]
        return from_plain(data, t, lenient)

    async def to_python_value(self, lv: "Literal", expected_python_type: Type) -> Any:
        if self._variadic(expected_python_type):
            args = typing.get_args(_strip_annotated(expected_python_type))
            return tuple(await TypeEngine.to_python_value(lv, typing.List[args[0] if args else Any]))  # type: ignore[misc]
        return await super().to_python_value(lv, expected_python_type)


class NamedTupleTransformer(StructTransformer):
    """NamedTuples as msgpack maps of their fields."""

    def __init__(self) -> None:
        super().__init__("NamedTuple", tuple)

    def _schema(self, t: Any) -> Dict[str, Any]:
        schema = super()._schema(t)
        schema["title"] = f"NamedTupleWrapper_{_strip_annotated(t).__name__}"
        return schema


class UnionTransformer(TypeTransformer[Any]):
    """``Optional[T]`` / ``Union[...]``: a union literal whose type names the variant used.

    Each variant's literal type carries ``structure.tag`` = its transformer's name, so the
    reader picks the right variant even when two variants share a literal shape.
    """

    def __init__(self) -> None:
        super().__init__("Typed Union", typing.Union)  # type: ignore[arg-type]

    @staticmethod
    def _variant_type(t: Any) -> "LiteralType":
        from flyteidl2.core import types_pb2

        lt = TypeEngine.to_literal_type(t)
        tagged = types_pb2.LiteralType()
        tagged.CopyFrom(lt)
        tagged.structure.tag = TypeEngine.get_transformer(t).name
        return tagged

    def get_literal_type(self, t: Type) -> "LiteralType":
        from flyteidl2.core import types_pb2

        args = typing.get_args(_strip_annotated(t))
        return types_pb2.LiteralType(union_type=types_pb2.UnionType(variants=[self._variant_type(a) for a in args]))

    def assert_type(self, t: Type, v: Any) -> None:
        from flyte.types._check import check_value

        try:
            check_value(v, _strip_annotated(t))
        except TypeError as e:
            raise TypeTransformerFailedError(str(e)) from e

    async def to_literal(self, python_val: Any, python_type: Type, expected: "LiteralType") -> "Literal":
        from flyteidl2.core import literals_pb2

        from flyte.types._check import check_value

        args = typing.get_args(_strip_annotated(python_type))
        # A variant of the value's exact type first: 3 in Union[float, int] stays an int.
        exact = [a for a in args if isinstance(a, type) and type(python_val) is a]
        for a in [*exact, *(a for a in args if a not in exact)]:
            try:
                check_value(python_val, a)
            except TypeError:
                continue
            vt = self._variant_type(a)
            inner = await TypeEngine.to_literal(python_val, a, vt)
            return literals_pb2.Literal(scalar=literals_pb2.Scalar(union=literals_pb2.Union(value=inner, type=vt)))
        raise TypeTransformerFailedError(f"Value {python_val!r} of type {type(python_val).__name__} matches no variant of {python_type}")

    async def to_python_value(self, lv: "Literal", expected_python_type: Type) -> Any:
        args = typing.get_args(_strip_annotated(expected_python_type))
        if lv.HasField("scalar") and lv.scalar.HasField("union"):
            inner = lv.scalar.union.value
            tag = lv.scalar.union.type.structure.tag
            candidates = [a for a in args if TypeEngine.get_transformer(a).name == tag] if tag else []
            if len(candidates) > 1:  # same transformer: prefer the identical literal type
                exact = [a for a in candidates if self._variant_type(a) == lv.scalar.union.type]
                candidates = exact + [a for a in candidates if a not in exact]
            order = candidates or list(args)
        else:
            inner = lv
            order = list(args)
        errors = []
        for a in order:
            try:
                return await TypeEngine.to_python_value(inner, a)
            except Exception as e:  # try the next variant
                errors.append(f"{a}: {e}")
        raise TypeTransformerFailedError(f"Cannot read literal as {expected_python_type}: {'; '.join(errors)}")

    def guess_python_type(self, literal_type: "LiteralType") -> Type:
        if literal_type.HasField("union_type"):
            variants = tuple(TypeEngine.guess_python_type(v) for v in literal_type.union_type.variants)
            return typing.Union[variants]  # type: ignore[return-value]
        raise ValueError(f"Union transformer cannot reverse {literal_type}")


def _make_simple() -> List[TypeTransformer]:
    return [
        SimpleTransformer("int", int, "INTEGER", _int_to, lambda lv: _prim_value(lv, "integer")),
        SimpleTransformer(
            "float", float, "FLOAT", lambda v: _primitive(float_value=float(v)), _float_from, accepts=(float, int)
        ),
        SimpleTransformer(
            "str", str, "STRING", lambda v: _primitive(string_value=v), lambda lv: _prim_value(lv, "string_value")
        ),
        SimpleTransformer(
            "bool", bool, "BOOLEAN", lambda v: _primitive(boolean=v), lambda lv: _prim_value(lv, "boolean")
        ),
        SimpleTransformer("datetime", datetime.datetime, "DATETIME", _datetime_to, _datetime_from),
        SimpleTransformer(
            "date", datetime.date, "DATETIME", _date_to, lambda lv: _datetime_from(lv).date()
        ),
        SimpleTransformer(
            "timedelta",
            datetime.timedelta,
            "DURATION",
            _duration_to,
            lambda lv: _prim_value(lv, "duration").ToTimedelta(),
        ),
        SimpleTransformer("none", _NoneType, "NONE", _none_to, _none_from, accepts=(_NoneType,)),
    ]


def register_builtin_transformers(engine: Any = None) -> None:
    """Register the transformers of Python's own types with ``engine`` (the :class:`TypeEngine` class).

    Safe to call more than once: the second call does nothing. ``File``, ``Dir`` and
    ``DataFrame`` are registered by :func:`flyte.io._register.register_io_transformers`; the
    built-in type hook calls both.
    """
    engine = engine or TypeEngine
    with engine.lazy_import_lock:
        if engine._builtins_loaded:
            return
        engine._builtins_loaded = True
        from flyte.types._pickle import FlytePickle, FlytePickleTransformer

        simple = _make_simple()
        for tr in simple:
            engine.register(tr)
        engine.register_additional_type(simple[-1], None)
        engine.register(BytesTransformer())
        engine.register(ListTransformer())
        engine.register(DictTransformer())

        pickle_tr = FlytePickleTransformer()
        engine.register(pickle_tr, additional_types=[typing.Any, object])
        engine._PICKLE_TRANSFORMER = pickle_tr
        assert FlytePickle in engine._REGISTRY

        union = UnionTransformer()
        engine.register_additional_type(union, typing.Union)  # type: ignore[arg-type]
        engine._UNION_TRANSFORMER = union
        engine._LITERAL_TRANSFORMER = LiteralTypeTransformer()
        engine._ENUM_TRANSFORMER = EnumTransformer()
        engine.register_additional_type(engine._ENUM_TRANSFORMER, enum.Enum)
        engine._DATACLASS_TRANSFORMER = StructTransformer("Object-Dataclass-Transformer", object)
        engine._PYDANTIC_TRANSFORMER = StructTransformer("Pydantic Transformer", object)
        engine._TUPLE_TRANSFORMER = TupleTransformer()
        engine._NAMEDTUPLE_TRANSFORMER = NamedTupleTransformer()
        engine._TYPEDDICT_TRANSFORMER = TypedDictTransformer()
        engine._invalidate()
