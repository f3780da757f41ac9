"""Python types for literal types: used when only a task's literal interface is known."""

from __future__ import annotations

import dataclasses
import typing
from typing import Any, Dict, List, Optional

from flyte.types._transformer import TypeTransformer

__all__ = ["guess_python_type", "type_from_schema"]


def guess_python_type(engine: Any, lt: Any) -> Any:
    """The Python type of literal type ``lt``: built-ins first, then every registered transformer."""
    reg = engine._REGISTRY
    ordered: List[TypeTransformer] = []
    which = lt.WhichOneof("type")
    if which == "union_type":
        ordered = [engine._PICKLE_TRANSFORMER, engine._UNION_TRANSFORMER]
    elif which == "enum_type":
        ordered = [engine._ENUM_TRANSFORMER]
    elif which == "collection_type":
        ordered = [reg[list]]
    elif which == "map_value_type":
        ordered = [reg[dict]]
    elif which == "simple" and lt.simple == 9:  # STRUCT
        if lt.metadata.fields:
            ordered = [engine._DATACLASS_TRANSFORMER]
        else:
            ordered = [reg[dict]]
    seen = set()
    for tr in [*ordered, *reg.values()]:
        if tr is None or id(tr) in seen:
            continue
        seen.add(id(tr))
        try:
            return tr.guess_python_type(lt)
        except (ValueError, NotImplementedError, AttributeError, TypeError):
            continue
    raise ValueError(f"No transformer can guess a Python type for {lt}")


_JSON_TYPES: Dict[str, Any] = {"integer": int, "number": float, "string": str, "boolean": bool, "null": type(None)}


def _resolve_ref(schema: Dict[str, Any], root: Dict[str, Any]) -> Dict[str, Any]:
    ref = schema.get("$ref")
    if not ref or not ref.startswith("#/"):
        return schema
    node: Any = root
    for part in ref[2:].split("/"):
        node = node.get(part, {})
    return node


def _claimed_by(engine: Any, schema: Dict[str, Any]) -> Any:
    """The Python type of the first registered transformer whose ``schema_match`` claims ``schema``."""
    if engine is None:
        return None
    seen = set()
    for tr in list(engine._REGISTRY.values()):
        if id(tr) in seen:
            continue
        seen.add(id(tr))
        try:
            if tr.schema_match(schema):
                return tr.python_type
        except (TypeError, ValueError, AttributeError, KeyError):
            continue
    return None


def type_from_schema(
    schema: Dict[str, Any], root: Optional[Dict[str, Any]] = None, name: str = "Struct", engine: Any = None
) -> Any:
    """A Python type (dataclasses for objects with properties) matching JSON schema ``schema``.

    With ``engine`` (the :class:`~flyte.types.TypeEngine`), an object schema that a registered
    transformer claims (:meth:`~flyte.types.TypeTransformer.schema_match`, e.g. the one of
    ``File``) becomes that transformer's type.
    """
    root = root or schema
    schema = _resolve_ref(schema, root)
    if "anyOf" in schema:
        variants = tuple(type_from_schema(s, root, name, engine) for s in schema["anyOf"])
        return typing.Union[variants] if len(variants) > 1 else variants[0]
    if "enum" in schema:
        values = tuple(schema["enum"])
        return typing.Literal[values] if values else str
    kind = schema.get("type")
    fmt = schema.get("format")
    if kind == "string" and fmt == "date-time":
        import datetime

        return datetime.datetime
    if kind in _JSON_TYPES:
        return _JSON_TYPES[kind]
    if kind == "array":
        if "prefixItems" in schema:
            return tuple[tuple(type_from_schema(s, root, name, engine) for s in schema["prefixItems"])]  # type: ignore[misc]
        return typing.List[type_from_schema(schema.get("items", {}), root, name, engine)]  # type: ignore[misc]
    if kind == "object" or "properties" in schema:
        props = schema.get("properties")
        if not props:
            extra = schema.get("additionalProperties")
            if isinstance(extra, dict) and extra:
                return typing.Dict[str, type_from_schema(extra, root, name, engine)]  # type: ignore[misc]
            return dict
        claimed = _claimed_by(engine, schema)
        if claimed is not None:
            return claimed
        title = str(schema.get("title") or name)
        required = set(schema.get("required", []))
        fields: List[Any] = []
        optional: List[Any] = []
        for key, sub in props.items():
            ft = type_from_schema(sub, root, key.capitalize(), engine)
            if key in required:
                fields.append((key, ft))
            else:
                optional.append((key, Optional[ft], dataclasses.field(default=sub.get("default"))))
        ident = "".join(c if c.isalnum() or c == "_" else "_" for c in title) or name
        return dataclasses.make_dataclass(ident, fields + optional)
    return Any
