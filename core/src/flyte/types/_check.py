"""Fast validation of Python values against type hints, run at every local task boundary.

``check_value`` compiles a checker per type hint once (cached by the hint object) and then costs
one dict lookup plus the checker call. A checker returns the value, possibly coerced (an ``int``
given for a ``float`` becomes a ``float``; an enum value or name becomes the member), or raises
``TypeError`` with a short reason.
"""

from __future__ import annotations

import collections.abc
import dataclasses
import datetime
import enum
import numbers
import types
import typing
from typing import Any, Callable, Dict

from flyte.types._hints import _is_namedtuple, _is_pydantic_model, _is_typeddict
from flyte.types._type_engine import TypeEngine

__all__ = ["check_value", "compile_checker", "type_name"]

Checker = Callable[[Any], Any]
_NoneType = type(None)
_cache: Dict[Any, Checker] = {}
# Hashing a typing alias (Optional[int], list[int]) rehashes its arguments on every call; keying
# by identity first makes the lookup cost the same for every hint. The entry keeps the hint alive,
# so its id cannot be reused while the entry exists.
_by_id: Dict[int, tuple] = {}


def type_name(tp: Any) -> str:
    """A short readable name of a type hint: ``int``, ``list[int]``, ``Optional[MyData]``."""
    if isinstance(tp, type) and not typing.get_args(tp):
        return tp.__qualname__
    return repr(tp).replace("typing.", "").replace("NoneType", "None")


def _got(v: Any) -> str:
    return type(v).__qualname__


def check_value(value: Any, python_type: Any) -> Any:
    """Return ``value`` (coerced where the type allows) if it matches ``python_type``, else raise ``TypeError``."""
    if type(python_type) is type:  # plain classes hash by identity already: fastest path
        fn = _cache.get(python_type)
        if fn is not None:
            return fn(value)
    else:
        entry = _by_id.get(id(python_type))
        if entry is not None and entry[0] is python_type:
            return entry[1](value)
    try:
        fn = compile_checker(python_type)
    except TypeError:  # unhashable hint (e.g. Annotated with a dict): compile every time
        return _compile(python_type)(value)
    _by_id[id(python_type)] = (python_type, fn)
    return fn(value)


def compile_checker(python_type: Any) -> Checker:
    """The (cached) checker function of ``python_type``."""
    try:
        return _cache[python_type]
    except KeyError:
        pass
    # Recursive dataclasses refer to themselves: a forwarding stub breaks the cycle.
    slot: list = []

    def forward(v: Any) -> Any:
        return slot[0](v)

    _cache[python_type] = forward
    try:
        fn = _compile(python_type)
    except BaseException:
        del _cache[python_type]
        raise
    slot.append(fn)
    _cache[python_type] = fn
    return fn


def _sub(tp: Any) -> Checker:
    try:
        return compile_checker(tp)
    except TypeError:
        return _compile(tp)


def _accept(v: Any) -> Any:
    return v


def _exact(cls: type, name: str) -> Checker:
    def check(v: Any) -> Any:
        if isinstance(v, cls):
            return v
        raise TypeError(f"expected {name}, got {_got(v)}")

    return check


# An int travels as a 64-bit integer literal: anything wider cannot be carried.
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1


def _int_in_range(v: int) -> int:
    if INT64_MIN <= v <= INT64_MAX:
        return v
    # A TypeError like every check's: unions try their next member, containers name the item.
    raise TypeError(
        f"{v if len(str(v)) <= 40 else str(v)[:18] + '...' + str(v)[-18:]} is out of range for int: "
        f"an int input or output is a 64-bit integer, from {INT64_MIN} to {INT64_MAX} (use str or float for larger numbers)"
    )


def _check_int(v: Any) -> Any:
    if type(v) is int:
        return v if INT64_MIN <= v <= INT64_MAX else _int_in_range(v)
    if isinstance(v, bool):
        raise TypeError("expected int, got bool")
    if isinstance(v, int):
        return _int_in_range(v)
    if isinstance(v, numbers.Integral):  # numpy integers
        return int(v)
    raise TypeError(f"expected int, got {_got(v)}")


def _check_float(v: Any) -> Any:
    if type(v) is float:
        return v
    if isinstance(v, bool):
        raise TypeError("expected float, got bool")
    if isinstance(v, (int, float)):
        return float(v)
    if isinstance(v, numbers.Real):  # numpy floats and ints
        return float(v)
    raise TypeError(f"expected float, got {_got(v)}")


def _check_str(v: Any) -> Any:
    if type(v) is str or isinstance(v, str):
        return v
    raise TypeError(f"expected str, got {_got(v)}")


def _check_bool(v: Any) -> Any:
    if v is True or v is False:
        return v
    if type(v).__name__ == "bool_":  # numpy.bool_
        return bool(v)
    raise TypeError(f"expected bool, got {_got(v)}")


def _check_none(v: Any) -> Any:
    if v is None:
        return v
    raise TypeError(f"expected None, got {_got(v)}")


def _check_bytes(v: Any) -> Any:
    if isinstance(v, bytes):
        return v
    if isinstance(v, (bytearray, memoryview)):
        return bytes(v)
    raise TypeError(f"expected bytes, got {_got(v)}")


def _check_datetime(v: Any) -> Any:
    if isinstance(v, datetime.datetime):
        return v
    raise TypeError(f"expected datetime, got {_got(v)}")


_SIMPLE: Dict[Any, Checker] = {
    int: _check_int,
    float: _check_float,
    str: _check_str,
    bool: _check_bool,
    _NoneType: _check_none,
    None: _check_none,
    bytes: _check_bytes,
    datetime.datetime: _check_datetime,
    datetime.date: _exact(datetime.date, "date"),
    datetime.timedelta: _exact(datetime.timedelta, "timedelta"),
    Any: _accept,
    object: _accept,
}

# Checkers that may return a different object than they were given; containers of checkers that
# never do can skip rebuilding.
_COERCING = {_check_int, _check_float, _check_bool, _check_bytes}


def _compile(tp: Any) -> Checker:
    simple = _SIMPLE.get(tp) if _hashable(tp) else None
    if simple is not None:
        return simple
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if origin is typing.Annotated:
        return _sub(args[0])
    if origin is typing.Union or origin is types.UnionType:
        return _union(tp, args)
    if origin is typing.Literal:
        return _literal(tp, args)
    if origin is typing.ClassVar or origin is typing.Final:
        return _sub(args[0]) if args else _accept
    if isinstance(tp, (typing.TypeVar, str, typing.ForwardRef)) or tp is typing.Any:
        return _accept
    if origin in (list, set, frozenset, collections.abc.Sequence) or tp in (list, set, frozenset):
        return _sequence(tp, origin or tp, args)
    if origin is tuple or tp is tuple:
        return _tuple(tp, args)
    if origin is dict or tp is dict:
        return _dict(tp, args)
    cls = origin if origin is not None else tp
    if not isinstance(cls, type):
        return _accept
    if issubclass(cls, enum.Enum):
        return _enum(cls)
    if _is_typeddict(cls):  # before the transformers: dict's would run isinstance on it
        return _typeddict(cls)
    claimed = _transformer_checker(cls)
    if claimed is not None:
        return claimed
    if dataclasses.is_dataclass(cls):
        return _dataclass(cls)
    if _is_namedtuple(cls) or _is_pydantic_model(cls):
        return _exact(cls, cls.__qualname__)
    return _exact(cls, type_name(tp))


def _hashable(tp: Any) -> bool:
    try:
        hash(tp)
    except TypeError:
        return False
    return True


def _transformer_checker(cls: type) -> Any:
    """The checker of the transformer registered for ``cls`` or a base, if it offers one.

    Types defined above the type system (``File``, ``DataFrame``, a plugin's types) say how
    their values are checked through their transformer (``value_checker``), so this module
    never imports them.
    """
    TypeEngine._ensure_builtins()
    reg = TypeEngine._REGISTRY
    for base in cls.__mro__:
        if base is object:
            break
        tr = reg.get(base)
        if tr is not None:
            checker = tr.value_checker(cls)
            if checker is None and _checks_by_assert_type(tr):
                checker = _assert_type_checker(tr, cls)
            return checker
    return None


def _checks_by_assert_type(tr: Any) -> bool:
    """Whether a plugin's transformer says what it accepts only through ``assert_type``.

    Transformers written for the published SDK (``flyteplugins-pandera``: a
    ``pandera.typing.DataFrame[Schema]`` accepts a plain ``pandas.DataFrame``) define
    ``assert_type`` and no ``value_checker``; their values are checked by it. The transformers of
    ``flyte`` itself keep the structural checks of this module.
    """
    from flyte.types._transformer import TypeTransformer, written_for_published_sdk

    return written_for_published_sdk(tr) and type(tr).assert_type is not TypeTransformer.assert_type


def _assert_type_checker(tr: Any, cls: type) -> Checker:
    from flyte.types._transformer import TypeTransformerFailedError

    def check(v: Any) -> Any:
        try:
            tr.assert_type(cls, v)
        except (TypeTransformerFailedError, TypeError, ValueError) as e:
            raise TypeError(str(e) or f"expected {cls.__qualname__}, got {_got(v)}") from None
        return v

    return check


def _union(tp: Any, args: tuple) -> Checker:
    allows_none = _NoneType in args
    others = [a for a in args if a is not _NoneType]
    checkers = [_sub(a) for a in others]
    name = type_name(tp)
    # Exact-type fast path: a value whose class is one of the variants needs no trial and error.
    exact: Dict[type, Checker] = {}
    for a, c in zip(others, checkers):
        if isinstance(a, type) and a in (int, str, float, bool, bytes):
            exact[a] = c
    if len(checkers) == 1:
        only = checkers[0]

        def check_optional(v: Any) -> Any:
            if v is None:
                return v
            try:
                return only(v)
            except TypeError as e:
                raise TypeError(f"expected {name}: {e}") from None

        return check_optional if allows_none else only

    def check(v: Any) -> Any:
        if v is None and allows_none:
            return v
        fast = exact.get(type(v))
        if fast is not None:
            return fast(v)
        for c in checkers:
            try:
                return c(v)
            except TypeError:
                pass
        raise TypeError(f"expected {name}, got {_got(v)}")

    return check


def _literal(tp: Any, args: tuple) -> Checker:
    """A choice of a ``Literal`` (decision 34 of docs/ARCHITECTURE.md).

    An enum member and its value are the same choice, both ways: ``Color.RED`` is accepted for
    ``Literal["red"]`` and ``"red"`` for ``Literal[Color.RED]``; the body gets the choice as the
    Literal writes it. A value outside a Literal whose choices are all of one kind is an error.
    A Literal mixing kinds (``Literal[Color.RED, "medium", 3]``) is carried unchecked by the
    published SDK, so a value outside it is accepted with a warning.
    """
    allowed = [(type(a), a) for a in args]
    try:
        # Pairs with the type keep True from matching 1 and 1 from matching 1.0.
        allowed_set = frozenset(allowed)
    except TypeError:
        allowed_set = frozenset()
    # value of each enum choice -> the choice; each plain choice keyed by (type, value).
    by_enum_value = {}
    for a in args:
        if isinstance(a, enum.Enum):
            try:
                by_enum_value[(type(a.value), a.value)] = a
            except TypeError:
                pass
    kinds = {type(a.value) if isinstance(a, enum.Enum) else type(a) for a in args}
    lenient = len(kinds) > 1
    shown = [f"{type(a).__name__}.{a.name}" if isinstance(a, enum.Enum) else repr(a) for a in args]
    warned: set = set()

    def check(v: Any) -> Any:
        try:
            if (type(v), v) in allowed_set:
                return v
        except TypeError:  # unhashable value
            pass
        tv = type(v)
        for t, a in allowed:
            if tv is t and v == a:
                return v
            if isinstance(a, enum.Enum) and v is a:
                return v
        key = (type(v.value), v.value) if isinstance(v, enum.Enum) else (tv, v)
        try:
            if key in allowed_set:  # an enum member given for its value
                return key[1]
            hit = by_enum_value.get(key)
        except TypeError:
            hit = None
        if hit is not None:  # a value given for its enum member
            return hit
        if lenient:
            mark = repr(v)
            if mark not in warned:
                warned.add(mark)
                import logging

                logging.getLogger("flyte.types").warning(
                    "%r is not one of the choices of Literal[%s]; accepted because the published SDK does not "
                    "check a Literal that mixes kinds of values",
                    v,
                    ", ".join(shown),
                )
            return v
        raise TypeError(f"expected one of [{', '.join(shown)}], got {v!r}")

    return check


def _enum(cls: type) -> Checker:
    by_value = {}
    for m in cls:  # type: ignore[attr-defined]
        try:
            by_value[m.value] = m
        except TypeError:  # unhashable values: only members and names are accepted
            pass
    names = cls.__members__  # type: ignore[attr-defined]
    label = cls.__qualname__

    def check(v: Any) -> Any:
        if isinstance(v, cls):
            return v
        if isinstance(v, enum.Enum):
            raise TypeError(f"expected {label}, got {_got(v)}")
        try:
            hit = by_value.get(v)
        except TypeError:
            hit = None
        if hit is not None:
            return hit
        if isinstance(v, str) and v in names:
            return names[v]
        raise TypeError(f"expected {label}, got {v!r}")

    return check


def _sequence(tp: Any, container: Any, args: tuple) -> Checker:
    if container is collections.abc.Sequence:
        container_types: tuple = (list, tuple)
        rebuild: Any = None
    else:
        container_types = (container,)
        rebuild = container
    label = type_name(tp)
    if not args or args[0] is Any:

        def check_plain(v: Any) -> Any:
            if isinstance(v, container_types):
                return v
            raise TypeError(f"expected {label}, got {_got(v)}")

        return check_plain
    elem = _sub(args[0])
    coercing = elem not in _SIMPLE.values() or elem in _COERCING

    def check(v: Any) -> Any:
        if not isinstance(v, container_types):
            raise TypeError(f"expected {label}, got {_got(v)}")
        out = []
        changed = False
        for i, x in enumerate(v):
            try:
                y = elem(x)
            except TypeError as e:
                raise TypeError(f"item [{i}]: {e}") from None
            changed = changed or y is not x
            out.append(y)
        if not changed:
            return v
        return out if rebuild in (list, None) else rebuild(out)

    if not coercing:
        # Keep the element index in the message without paying for try/except per element.
        def check_simple(v: Any) -> Any:
            if not isinstance(v, container_types):
                raise TypeError(f"expected {label}, got {_got(v)}")
            for i, x in enumerate(v):
                try:
                    elem(x)
                except TypeError as e:
                    raise TypeError(f"item [{i}]: {e}") from None
            return v

        return check_simple
    return check


def _tuple(tp: Any, args: tuple) -> Checker:
    label = type_name(tp)
    if not args or args == ((),):
        if args == ((),):

            def check_empty(v: Any) -> Any:
                if isinstance(v, tuple) and not v:
                    return v
                raise TypeError(f"expected an empty tuple, got {v!r}")

            return check_empty
        return _exact(tuple, "tuple")
    if args[-1] is Ellipsis:
        elem = _sub(args[0])

        def check_var(v: Any) -> Any:
            if not isinstance(v, tuple):
                raise TypeError(f"expected {label}, got {_got(v)}")
            out = []
            for i, x in enumerate(v):
                try:
                    out.append(elem(x))
                except TypeError as e:
                    raise TypeError(f"item [{i}]: {e}") from None
            return v if all(a is b for a, b in zip(out, v)) else tuple(out)

        return check_var
    elems = [_sub(a) for a in args]
    n = len(elems)

    def check(v: Any) -> Any:
        if not isinstance(v, tuple):
            raise TypeError(f"expected {label}, got {_got(v)}")
        if len(v) != n:
            raise TypeError(f"expected {label} ({n} items), got {len(v)} items")
        out = []
        changed = False
        for i, (c, x) in enumerate(zip(elems, v)):
            try:
                y = c(x)
            except TypeError as e:
                raise TypeError(f"item [{i}]: {e}") from None
            changed = changed or y is not x
            out.append(y)
        if not changed:
            return v
        return tuple(out)

    return check


def _dict(tp: Any, args: tuple) -> Checker:
    label = type_name(tp)
    if len(args) != 2 or (args[0] is Any and args[1] is Any):

        def check_plain(v: Any) -> Any:
            if isinstance(v, dict):
                return v
            raise TypeError(f"expected {label}, got {_got(v)}")

        return check_plain
    kc, vc = _sub(args[0]), _sub(args[1])
    key_is_str = kc is _check_str
    vcoerce = vc not in _SIMPLE.values() or vc in _COERCING

    def check(v: Any) -> Any:
        if not isinstance(v, dict):
            raise TypeError(f"expected {label}, got {_got(v)}")
        out = {} if vcoerce else None
        changed = False
        for k, x in v.items():
            if key_is_str:
                if type(k) is not str and not isinstance(k, str):
                    raise TypeError(f"key {k!r}: expected str, got {_got(k)}")
            else:
                try:
                    kc(k)
                except TypeError as e:
                    raise TypeError(f"key {k!r}: {e}") from None
            try:
                y = vc(x)
            except TypeError as e:
                raise TypeError(f"[{k!r}]: {e}") from None
            if out is not None:
                changed = changed or y is not x
                out[k] = y
        if out is None or not changed:
            return v
        return out

    return check


def _typeddict(cls: type) -> Checker:
    """A dict with the TypedDict's keys: required ones present, each value its type.

    A key the TypedDict does not declare is dropped with a warning (the published SDK drops it
    silently), so programs written for it keep running and a typo is still reported.
    """
    from flyte.types._plain import typeddict_keys

    hints, required = typeddict_keys(cls)
    checkers = {k: _sub(t) for k, t in hints.items()}
    label = cls.__qualname__
    warned: set = set()

    def check(v: Any) -> Any:
        if not isinstance(v, dict):
            raise TypeError(f"expected {label} (a dict), got {_got(v)}")
        missing = [k for k in hints if k in required and k not in v]
        if missing:
            raise TypeError(f"{label}: missing required key(s) {', '.join(map(repr, missing))}")
        out = None
        for k, x in v.items():
            c = checkers.get(k)
            if c is None:
                if k not in warned:
                    warned.add(k)
                    import logging

                    logging.getLogger("flyte.types").warning(
                        "%s has no key %r (keys: %s): the key is dropped", label, k, ", ".join(map(repr, hints)) or "none"
                    )
                out = {kk: vv for kk, vv in (out or v).items() if kk != k}
                continue
            try:
                y = c(x)
            except TypeError as e:
                raise TypeError(f"{label}[{k!r}]: {e}") from None
            if y is not x:  # coerced (an int for a float, a value for an enum): copy, never mutate
                out = dict(v) if out is None else out
                out[k] = y
        return v if out is None else out

    return check


def _dataclass(cls: type) -> Checker:
    from flyte.types._plain import type_hints

    hints = type_hints(cls)
    fields = [(f.name, _sub(hints.get(f.name, Any))) for f in dataclasses.fields(cls)]
    # Fields typed Any need no check: skip them entirely.
    fields = [(n, c) for n, c in fields if c is not _accept]
    label = cls.__qualname__

    def check(v: Any) -> Any:
        if not isinstance(v, cls):
            raise TypeError(f"expected {label}, got {_got(v)}")
        # Fields are validated but not rewritten: coercing would mean mutating the caller's object.
        for name, c in fields:
            try:
                c(getattr(v, name))
            except TypeError as e:
                raise TypeError(f"field {name!r}: {e}") from None
        return v

    return check
