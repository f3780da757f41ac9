"""Plain data for structured values: dataclasses, pydantic models, tuples and untyped dicts.

Structured values travel as msgpack bytes (a ``Binary`` literal tagged ``"msgpack"``) of their
*plain* form: dicts, lists, strings, numbers, booleans and None. The plain form is the one a JSON
encoder would produce (enums by value, datetimes as ISO strings, timedeltas as seconds, files as
``{"path", "name", "format", "hash"}``), so that any consumer can read it without Python types.

``to_plain`` is driven by the value; ``from_plain`` by the expected type, which restores the
nested types (dataclasses in lists, enums, datetimes, files) exactly.
"""

from __future__ import annotations

import dataclasses
import datetime
import enum
import sys
import types
import typing
from typing import Any, Dict

from flyte.types._hints import TypeTransformerFailedError, _is_namedtuple, _is_pydantic_model, _is_typeddict, _strip_annotated

__all__ = ["decode_msgpack", "encode_msgpack", "from_plain", "json_schema", "to_plain"]

_NoneType = type(None)
_hints_cache: Dict[Any, Dict[str, Any]] = {}


def type_hints(cls: Any) -> Dict[str, Any]:
    """``typing.get_type_hints`` of ``cls``, cached (it is slow and the answer never changes)."""
    try:
        return _hints_cache[cls]
    except KeyError:
        pass
    try:
        hints = typing.get_type_hints(cls, include_extras=True)
    except Exception:  # unresolvable forward references: fall back to the raw annotations
        hints = dict(getattr(cls, "__annotations__", {}))
    _hints_cache[cls] = hints
    return hints


_typeddict_cache: Dict[Any, tuple] = {}


def typeddict_keys(cls: Any) -> tuple:
    """``(types by key, required keys)`` of a TypedDict class, ``Required``/``NotRequired`` unwrapped."""
    try:
        return _typeddict_cache[cls]
    except KeyError:
        pass
    hints: Dict[str, Any] = {}
    required = set(getattr(cls, "__required_keys__", ()))
    for key, tp in type_hints(cls).items():
        tp = _strip_annotated(tp)
        # Required[...] / NotRequired[...] (typing or typing_extensions) wrap the value's type.
        # Under `from __future__ import annotations` the class cannot see them (its annotations
        # are strings), so the resolved hint decides.
        while getattr(typing.get_origin(tp), "_name", None) in ("Required", "NotRequired", "ReadOnly"):
            marker = typing.get_origin(tp)._name
            if marker == "NotRequired":
                required.discard(key)
            elif marker == "Required":
                required.add(key)
            tp = _strip_annotated(typing.get_args(tp)[0])
        hints[key] = tp
    entry = (hints, frozenset(required))
    _typeddict_cache[cls] = entry
    return entry


def _is_file_like(obj_type: Any) -> bool:
    return isinstance(obj_type, type) and hasattr(obj_type, "_deserialize") and hasattr(obj_type, "_serialize")


def to_plain(value: Any, tp: Any = Any) -> Any:
    """The plain (JSON-like) form of ``value``; ``tp`` only decides int -> float coercion."""
    if value is None or isinstance(value, (str, bool)):
        return value
    if isinstance(value, int):
        return float(value) if tp is float else value
    if isinstance(value, float):
        return value
    if isinstance(value, enum.Enum):
        return to_plain(value.value)
    if isinstance(value, datetime.datetime):
        return value.isoformat()
    if isinstance(value, datetime.date):
        return value.isoformat()
    if isinstance(value, datetime.timedelta):
        return value.total_seconds()
    if isinstance(value, (bytes, bytearray)):
        return bytes(value)
    cls = type(value)
    if _is_file_like(cls):
        return value._serialize()
    if dataclasses.is_dataclass(value):
        hints = type_hints(cls)
        return {
            f.name: to_plain(getattr(value, f.name), hints.get(f.name, Any))
            for f in dataclasses.fields(value)
        }
    if _is_pydantic_model(cls):
        return value.model_dump(mode="json")
    if _is_namedtuple(cls):
        hints = type_hints(cls)
        return {name: to_plain(getattr(value, name), hints.get(name, Any)) for name in cls._fields}
    tp = _strip_annotated(tp)
    args = typing.get_args(tp)
    if isinstance(value, (list, tuple, set, frozenset)):
        if typing.get_origin(tp) is tuple and args and args[-1] is not Ellipsis and len(args) == len(value):
            return [to_plain(v, a) for v, a in zip(value, args)]
        elem = args[0] if args else Any
        return [to_plain(v, elem) for v in value]
    if isinstance(value, dict):
        if _is_typeddict(tp):
            hints = typeddict_keys(tp)[0]
            return {to_plain(k): to_plain(v, hints.get(k, Any)) for k, v in value.items()}
        vt = args[1] if len(args) == 2 else Any
        return {to_plain(k): to_plain(v, vt) for k, v in value.items()}
    raise TypeTransformerFailedError(
        f"Cannot serialize value of type {cls.__qualname__} inside a structured value: "
        "use a supported type (primitives, containers, dataclasses, pydantic models, File/Dir)"
    )


def _fail(data: Any, tp: Any) -> TypeTransformerFailedError:
    return TypeTransformerFailedError(f"cannot read {data!r} as {tp}")


def from_plain(data: Any, tp: Any, lenient: bool = False) -> Any:
    """Rebuild a value of type ``tp`` from its plain form.

    ``lenient`` accepts integral floats for ints (data that went through a JSON ``Struct``,
    where every number is a float).
    """
    tp = _strip_annotated(tp)
    if tp is Any or tp is object or isinstance(tp, (typing.TypeVar, str, typing.ForwardRef)):
        return data
    origin = typing.get_origin(tp)
    if origin is typing.Union or origin is types.UnionType:
        args = typing.get_args(tp)
        if data is None and _NoneType in args:
            return None
        errors = []
        for a in args:
            if a is _NoneType:
                continue
            try:
                return from_plain(data, a, lenient)
            except (TypeError, ValueError, KeyError) as e:
                errors.append(str(e))
        raise TypeTransformerFailedError(f"cannot read {data!r} as any of {tp}: {'; '.join(errors)}")
    if tp is _NoneType or tp is None:
        if data is not None:
            raise _fail(data, tp)
        return None
    if origin is typing.Literal:
        choices = typing.get_args(tp)
        if data in choices:
            return data
        for choice in choices:  # an enum choice travels as its value
            if isinstance(choice, enum.Enum) and type(choice.value) is type(data) and choice.value == data:
                return choice
        raise _fail(data, tp)
    if tp is bool:
        if isinstance(data, bool):
            return data
        raise _fail(data, tp)
    if tp is int:
        if isinstance(data, int) and not isinstance(data, bool):
            return data
        if lenient and isinstance(data, float) and data.is_integer():
            return int(data)
        raise _fail(data, tp)
    if tp is float:
        if isinstance(data, (int, float)) and not isinstance(data, bool):
            return float(data)
        raise _fail(data, tp)
    if tp is str:
        if isinstance(data, str):
            return data
        raise _fail(data, tp)
    if tp is bytes:
        if isinstance(data, (bytes, bytearray)):
            return bytes(data)
        raise _fail(data, tp)
    if tp is datetime.datetime:
        return data if isinstance(data, datetime.datetime) else datetime.datetime.fromisoformat(data)
    if tp is datetime.date:
        return data if isinstance(data, datetime.date) else datetime.date.fromisoformat(data)
    if tp is datetime.timedelta:
        return data if isinstance(data, datetime.timedelta) else datetime.timedelta(seconds=data)
    if origin in (list, set, frozenset) or tp in (list, set, frozenset):
        if not isinstance(data, (list, tuple)):
            raise _fail(data, tp)
        args = typing.get_args(tp)
        elem = args[0] if args else Any
        items = [from_plain(v, elem, lenient) for v in data]
        return items if (origin or tp) is list else (origin or tp)(items)
    if origin is tuple or tp is tuple:
        if not isinstance(data, (list, tuple)):
            raise _fail(data, tp)
        args = typing.get_args(tp)
        if not args or args[-1] is Ellipsis:
            elem = args[0] if args else Any
            return tuple(from_plain(v, elem, lenient) for v in data)
        if len(args) != len(data):
            raise _fail(data, tp)
        return tuple(from_plain(v, a, lenient) for v, a in zip(data, args))
    if origin is dict or tp is dict:
        if not isinstance(data, dict):
            raise _fail(data, tp)
        args = typing.get_args(tp)
        kt, vt = args if len(args) == 2 else (Any, Any)
        return {_key(k, kt, lenient): from_plain(v, vt, lenient) for k, v in data.items()}
    cls = origin if origin is not None else tp
    if isinstance(cls, type):
        if issubclass(cls, enum.Enum):
            if isinstance(data, cls):
                return data
            try:
                return cls(data)
            except ValueError:
                if isinstance(data, str) and data in cls.__members__:
                    return cls[data]
                raise
        if _is_file_like(cls):
            if isinstance(data, cls):
                return data
            if not isinstance(data, dict):
                raise _fail(data, tp)
            return tp._deserialize(data) if origin is not None else cls._deserialize(data)
        if dataclasses.is_dataclass(cls):
            return _dataclass_from_plain(data, cls, lenient)
        if _is_typeddict(cls):
            return _typeddict_from_plain(data, cls, lenient)
        if _is_pydantic_model(cls):
            return data if isinstance(data, cls) else cls.model_validate(data)
        if _is_namedtuple(cls):
            hints = type_hints(cls)
            if isinstance(data, dict):
                return cls(**{k: from_plain(v, hints.get(k, Any), lenient) for k, v in data.items()})
            return cls(*(from_plain(v, hints.get(n, Any), lenient) for v, n in zip(data, cls._fields)))
        if isinstance(data, cls):
            return data
    raise _fail(data, tp)


def _key(k: Any, kt: Any, lenient: bool) -> Any:
    if kt is int and isinstance(k, str):
        return int(k)
    return from_plain(k, kt, lenient)


def _dataclass_from_plain(data: Any, cls: Any, lenient: bool) -> Any:
    if isinstance(data, cls):
        return data
    if not isinstance(data, dict):
        raise _fail(data, cls)
    hints = type_hints(cls)
    init_kwargs = {}
    late = {}
    for f in dataclasses.fields(cls):
        if f.name not in data:
            continue
        value = from_plain(data[f.name], hints.get(f.name, Any), lenient)
        if f.init:
            init_kwargs[f.name] = value
        else:
            late[f.name] = value
    obj = cls(**init_kwargs)
    for k, v in late.items():
        object.__setattr__(obj, k, v)
    return obj


def _typeddict_from_plain(data: Any, cls: Any, lenient: bool) -> Dict[str, Any]:
    if not isinstance(data, dict):
        raise _fail(data, cls)
    hints, required = typeddict_keys(cls)
    missing = sorted(required - set(data))
    if missing:
        raise TypeTransformerFailedError(f"{cls.__name__}: missing required key(s) {', '.join(map(repr, missing))}")
    return {k: from_plain(v, hints.get(k, Any), lenient) for k, v in data.items()}


def encode_msgpack(value: Any, tp: Any = Any) -> bytes:
    """msgpack bytes of the plain form of ``value``."""
    import msgpack

    return msgpack.packb(to_plain(value, tp), use_bin_type=True)


def decode_msgpack(raw: bytes, tp: Any) -> Any:
    """Rebuild a value of type ``tp`` from msgpack bytes."""
    import msgpack

    return from_plain(msgpack.unpackb(raw, raw=False, strict_map_key=False), tp)


# ---------------------------------------------------------------------------------------------
# JSON schema (carried in the literal type so that consumers can see the structure)
# ---------------------------------------------------------------------------------------------

_SIMPLE_SCHEMAS: Dict[Any, Dict[str, Any]] = {
    int: {"type": "integer"},
    float: {"type": "number"},
    str: {"type": "string"},
    bool: {"type": "boolean"},
    bytes: {"type": "string", "format": "binary"},
    _NoneType: {"type": "null"},
    datetime.datetime: {"type": "string", "format": "date-time"},
    datetime.date: {"type": "string", "format": "date"},
    datetime.timedelta: {"type": "number"},
}


def json_schema(tp: Any, _seen: tuple = ()) -> Dict[str, Any]:
    """A JSON schema of ``tp`` (draft 2020-12 vocabulary), good enough to rebuild a similar type."""
    tp = _strip_annotated(tp)
    if tp in _SIMPLE_SCHEMAS:
        return dict(_SIMPLE_SCHEMAS[tp])
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if origin is typing.Union or origin is types.UnionType:
        return {"anyOf": [json_schema(a, _seen) for a in args]}
    if origin is typing.Literal:
        return {"enum": [to_plain(a) for a in args]}
    if origin in (list, set, frozenset) or tp in (list, set, frozenset):
        return {"type": "array", "items": json_schema(args[0], _seen) if args else {}}
    if origin is tuple or tp is tuple:
        if not args or args[-1] is Ellipsis:
            return {"type": "array", "items": json_schema(args[0], _seen) if args else {}}
        return {
            "type": "array",
            "prefixItems": [json_schema(a, _seen) for a in args],
            "minItems": len(args),
            "maxItems": len(args),
        }
    if origin is dict or tp is dict:
        out: Dict[str, Any] = {"type": "object"}
        if len(args) == 2:
            out["additionalProperties"] = json_schema(args[1], _seen)
        return out
    cls = origin if origin is not None else tp
    if not isinstance(cls, type):
        return {}
    if issubclass(cls, enum.Enum):
        return {"enum": [to_plain(m.value) for m in cls]}
    if hasattr(cls, "_json_schema"):
        return cls._json_schema()
    if _is_pydantic_model(cls):
        try:
            return cls.model_json_schema()
        except Exception:  # a field type pydantic cannot describe: the schema is informative only
            return {"title": cls.__name__, "type": "object"}
    if cls in _seen:  # recursive structures: stop at the second visit
        return {"title": cls.__name__, "type": "object"}
    if _is_typeddict(cls):
        hints, required_keys = typeddict_keys(cls)
        return {
            "title": cls.__name__,
            "type": "object",
            "properties": {k: json_schema(t, _seen + (cls,)) for k, t in hints.items()},
            "required": [k for k in hints if k in required_keys],
            "additionalProperties": False,
        }
    if dataclasses.is_dataclass(cls) or _is_namedtuple(cls):
        hints = type_hints(cls)
        props: Dict[str, Any] = {}
        required = []
        if dataclasses.is_dataclass(cls):
            for f in dataclasses.fields(cls):
                s = json_schema(hints.get(f.name, Any), _seen + (cls,))
                if f.default is not dataclasses.MISSING:
                    try:
                        s["default"] = to_plain(f.default)
                    except TypeError:
                        pass
                elif f.default_factory is dataclasses.MISSING:
                    required.append(f.name)
                props[f.name] = s
        else:
            defaults = getattr(cls, "_field_defaults", {})
            for name in cls._fields:
                props[name] = json_schema(hints.get(name, Any), _seen + (cls,))
                if name not in defaults:
                    required.append(name)
        return {
            "title": cls.__name__,
            "type": "object",
            "properties": props,
            "required": required,
            "additionalProperties": False,
        }
    return {}


def pydantic_loaded() -> bool:
    """True when the user's program imported pydantic."""
    return "pydantic" in sys.modules
