"""What the local engine does with inputs and outputs at every task call.

:func:`convert_boundary` checks each value against its type hint and, only for types whose
values must move (files, directories, dataframes, and transformers that opt in with
``local_roundtrip = True``), converts it to a literal and back so the data lands in the run's
raw data path. Everything else is passed by reference: serializing an int at every call would
cost more than running the task.

:func:`hash_inputs` gives the cache key of a call's inputs.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from typing import Any, Dict, Iterable, Literal, Optional, Set

from flyte.types._check import check_value, type_name
from flyte.types._hints import _is_namedtuple, _is_pydantic_model
from flyte.types._type_engine import TypeEngine

__all__ = ["convert_boundary", "hash_inputs", "needs_roundtrip"]

# Keyed by identity (the entry keeps the hint alive): hashing typing aliases is slow.
_roundtrip_cache: Dict[int, tuple] = {}


def needs_roundtrip(python_type: Any) -> bool:
    """Whether values of ``python_type`` must be converted through literals on the local engine."""
    entry = _roundtrip_cache.get(id(python_type))
    if entry is not None and entry[0] is python_type:
        return entry[1]
    result = _needs(python_type, set())
    _roundtrip_cache[id(python_type)] = (python_type, result)
    return result


def _needs(tp: Any, seen: Set[int]) -> bool:
    if tp is Any or tp is None or tp is type(None) or isinstance(tp, (str, typing.TypeVar, typing.ForwardRef)):
        return False
    if id(tp) in seen:
        return False
    seen.add(id(tp))
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if origin is typing.Annotated:
        return _needs(args[0], seen)
    if origin is typing.Literal:
        return False
    if origin is not None and (origin in (list, dict, tuple, set, frozenset) or origin is typing.Union or origin is types.UnionType):
        return any(_needs(a, seen) for a in args if a is not Ellipsis)
    cls = origin if origin is not None else tp
    if not isinstance(cls, type):
        return False
    if cls in (int, float, str, bool, bytes, list, dict, tuple, set):
        return False
    if dataclasses.is_dataclass(cls) and not _has_registered_base(cls):
        from flyte.types._plain import type_hints

        hints = type_hints(cls)
        return any(_needs(hints.get(f.name, Any), seen) for f in dataclasses.fields(cls))
    if _is_pydantic_model(cls):
        return any(_needs(f.annotation, seen) for f in cls.model_fields.values())
    if _is_namedtuple(cls):
        from flyte.types._plain import type_hints

        return any(_needs(t, seen) for t in type_hints(cls).values())
    tr = TypeEngine.get_transformer(tp)
    if getattr(tr, "local_roundtrip", False):
        return True
    # A transformer written for the published SDK converts at every boundary, as it expects.
    from flyte.types._transformer import written_for_published_sdk

    return written_for_published_sdk(tr)


def _has_registered_base(cls: type) -> bool:
    reg = TypeEngine._REGISTRY
    return any(b in reg for b in cls.__mro__ if b is not object)


async def convert_boundary(
    values: Dict[str, Any],
    types: Dict[str, Any],  # noqa: A002 - mirrors the interface mapping
    *,
    owner: str,
    direction: Literal["input", "output"],
) -> Dict[str, Any]:
    """Check and (where needed) materialize the named values crossing a task boundary.

    Raises :class:`flyte.errors.TypeValidationError` naming ``owner`` (the task), the input or
    output name, the value's type and the expected type. Returns a new dict with the values the
    task (or its caller) must see: coerced where the type allows (``int`` for ``float``), files
    and dataframes moved to the run's raw data path.
    """
    out: Dict[str, Any] = {}
    pending = None
    for name, value in values.items():
        tp = types.get(name, Any)
        try:
            checked = check_value(value, tp)
        except TypeError as e:
            from flyte.errors import TypeValidationError

            raise TypeValidationError(
                f"{direction} {name!r}", value, type_name(tp), owner=owner, detail=str(e)
            ) from None
        out[name] = checked
        if needs_roundtrip(tp):
            if pending is None:
                pending = []
            pending.append(name)
    if pending:
        import asyncio

        async def roundtrip(name: str) -> Any:
            tp = types.get(name, Any)
            try:
                lit = await TypeEngine.to_literal(out[name], tp, TypeEngine.to_literal_type(tp))
                return await TypeEngine.to_python_value(lit, tp)
            except Exception as e:
                from flyte.errors import RuntimeDataValidationError

                raise RuntimeDataValidationError(f"{direction} {name!r}", e, owner) from e

        results = await asyncio.gather(*(roundtrip(n) for n in pending))
        out.update(zip(pending, results))
    return out


async def hash_inputs(values: Dict[str, Any], types: Dict[str, Any], ignored: Optional[Iterable[str]] = None) -> str:  # noqa: A002
    """A stable hex digest of the inputs' literal form, for cache keys.

    Inputs named in ``ignored`` are left out. Local files and directories count by content (and
    files with a ``hash`` by that hash), not by path, so the same data gives the same key.
    """
    import hashlib

    from flyteidl2.core import literals_pb2

    from flyte.types._nested import hashing_mode

    skip = set(ignored or ())
    lits: Dict[str, Any] = {}
    with hashing_mode():
        for name in sorted(values):
            if name in skip:
                continue
            tp = types.get(name, type(values[name]))
            lit = await TypeEngine.to_literal(_canonical_value(values[name]), tp, TypeEngine.to_literal_type(tp))
            _canonical_literal(lit)
            lits[name] = lit
    data = literals_pb2.LiteralMap(literals=lits).SerializeToString(deterministic=True)
    return hashlib.sha256(data).hexdigest()


# Equal inputs must give equal cache keys: dicts equal in another key order, and sets (whose
# order follows PYTHONHASHSEED, so changes between processes) are put in one canonical order.


def _order_key(v: Any) -> Any:
    return (type(v).__name__, repr(v))


class _SortedSet(set):
    def __iter__(self) -> Any:
        return iter(sorted(set.__iter__(self), key=_order_key))


class _SortedFrozenSet(frozenset):
    def __iter__(self) -> Any:
        return iter(sorted(frozenset.__iter__(self), key=_order_key))


def _canonical_value(v: Any) -> Any:
    if isinstance(v, dict):
        return {k: _canonical_value(v[k]) for k in sorted(v, key=_order_key)}
    if isinstance(v, frozenset):
        return _SortedFrozenSet(_canonical_value(x) for x in v)
    if isinstance(v, set):
        return _SortedSet(_canonical_value(x) for x in v)
    if type(v) is list:
        return [_canonical_value(x) for x in v]
    if type(v) is tuple:
        return tuple(_canonical_value(x) for x in v)
    return v


def _canonical_literal(lit: Any) -> None:
    """Sort the maps inside msgpack-encoded values (dataclasses, untyped dicts) in place."""
    kind = lit.WhichOneof("value")
    if kind == "collection":
        for item in lit.collection.literals:
            _canonical_literal(item)
    elif kind == "map":
        for item in lit.map.literals.values():
            _canonical_literal(item)
    elif kind == "scalar":
        scalar = lit.scalar
        which = scalar.WhichOneof("value")
        if which == "union":
            _canonical_literal(scalar.union.value)
        elif which == "binary" and scalar.binary.tag == "msgpack":
            import msgpack

            data = msgpack.unpackb(scalar.binary.value, raw=False, strict_map_key=False)
            scalar.binary.value = msgpack.packb(_sorted_maps(data), use_bin_type=True)


def _sorted_maps(v: Any) -> Any:
    if isinstance(v, dict):
        return {k: _sorted_maps(v[k]) for k in sorted(v, key=_order_key)}
    if isinstance(v, list):
        return [_sorted_maps(x) for x in v]
    return v
