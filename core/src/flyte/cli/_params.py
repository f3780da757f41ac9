"""Task inputs as command-line options: a Python type becomes a click ``ParamType``.

Scalars map to click's own types; ``datetime``, ``date`` and ``timedelta`` get readable forms
(ISO 8601, ``now``, ``90s``); ``Literal`` and ``Enum`` become choices; ``File`` / ``Dir`` take a
local path or a URI; everything else (lists, dicts, dataclasses, pydantic models) is parsed
from JSON into the input's type.
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import enum
import inspect
import json
import sys
import typing
from pathlib import Path
from typing import Any, List

import click

__all__ = ["param_type", "task_options", "type_label"]


def _unwrap_optional(tp: Any) -> tuple[Any, bool]:
    origin = typing.get_origin(tp)
    if origin is typing.Union or (sys.version_info >= (3, 10) and origin is getattr(__import__("types"), "UnionType", None)):
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        if len(args) == 1 and len(typing.get_args(tp)) == 2:
            return args[0], True
    return tp, False


class _JsonType(click.ParamType):
    """Parses a JSON document into a value of the input's type (lists, dicts, dataclasses...)."""

    def __init__(self, tp: Any):
        self.tp = tp
        self.name = type_label(tp)

    def get_metavar(self, param: Any, ctx: Any = None) -> str:
        # The type as written in code (click would upper-case it: LIST[INT]).
        return self.name

    def convert(self, value: Any, param: Any, ctx: Any) -> Any:
        if not isinstance(value, str):
            return value
        takes_text = _union_has_str(self.tp)
        try:
            data = json.loads(value)
        except json.JSONDecodeError as e:
            if takes_text:  # as published: text that is not JSON is the union's str member
                return value
            self.fail(f"{value!r} is not valid JSON for type {self.name} ({e.msg})", param, ctx)
        try:
            return _from_jsonable(data, self.tp)
        except (TypeError, ValueError, AttributeError, KeyError) as e:
            if takes_text:  # JSON that fits no other member (e.g. "null" for str | int) stays text
                return value
            self.fail(f"{value!r} does not fit type {self.name}: {e}", param, ctx)


def _union_members(tp: Any) -> tuple:
    """The members of a ``Union`` / ``X | Y`` (``()`` for any other type)."""
    origin = typing.get_origin(tp)
    if origin is typing.Union or (sys.version_info >= (3, 10) and origin is getattr(__import__("types"), "UnionType", None)):
        return typing.get_args(tp)
    return ()


def _union_has_str(tp: Any) -> bool:
    return str in _union_members(tp)


def _from_union(data: Any, members: tuple) -> Any:
    """``data`` as the first member of a union it fits: exact JSON kinds first, then structures."""
    if data is None and type(None) in members:
        return None
    for kind in (bool, int, float, str):
        if kind in members and type(data) is kind:
            return data
    if float in members and type(data) is int:
        return float(data)
    errors = []
    for member in members:
        if member in (bool, int, float, str, type(None)):
            continue
        try:
            return _from_jsonable(data, member)
        except (TypeError, ValueError, AttributeError, KeyError) as e:
            errors.append(f"{type_label(member)}: {e}")
    raise TypeError(f"{data!r} fits none of the union's members ({'; '.join(errors) or 'no member takes it'})")


def _from_jsonable(data: Any, tp: Any) -> Any:
    tp, _ = _unwrap_optional(tp)
    if data is None:
        return None
    members = _union_members(tp)
    if members:
        return _from_union(data, members)
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if dataclasses.is_dataclass(tp) and isinstance(tp, type):
        _expect(data, dict, tp)
        hints = typing.get_type_hints(tp)
        return tp(**{k: _from_jsonable(v, hints.get(k, Any)) for k, v in data.items()})
    if isinstance(tp, type) and hasattr(tp, "model_validate"):
        return tp.model_validate(data)
    if isinstance(tp, type) and issubclass(tp, dict) and typing.is_typeddict(tp):
        from flyte.types._plain import typeddict_keys

        _expect(data, dict, tp)
        hints = typeddict_keys(tp)[0]  # nested dataclasses and enums rebuilt; keys checked at the boundary
        return {k: _from_jsonable(v, hints.get(k, Any)) for k, v in data.items()}
    if origin in (list, typing.List) and args:
        _expect(data, list, tp)
        return [_from_jsonable(v, args[0]) for v in data]
    if origin in (dict, typing.Dict) and len(args) == 2:
        _expect(data, dict, tp)
        return {k: _from_jsonable(v, args[1]) for k, v in data.items()}
    if origin is tuple and args:
        _expect(data, list, tp)
        if len(args) == 2 and args[1] is Ellipsis:
            return tuple(_from_jsonable(v, args[0]) for v in data)
        return tuple(_from_jsonable(v, a) for v, a in zip(data, args))
    if isinstance(tp, type) and issubclass(tp, enum.Enum):
        return tp(data)
    return data


def _expect(data: Any, kind: type, tp: Any) -> None:
    if not isinstance(data, kind):
        shape = "a JSON object" if kind is dict else "a JSON array"
        raise TypeError(f"expected {shape} for {type_label(tp)}, got {type(data).__name__}")


class _DateTimeType(click.ParamType):
    name = "datetime"

    def convert(self, value: Any, param: Any, ctx: Any) -> Any:
        if isinstance(value, _dt.datetime):
            return value
        if value == "now":
            return _dt.datetime.now()
        try:
            return _dt.datetime.fromisoformat(value)
        except ValueError:
            self.fail(f"{value!r} is not an ISO 8601 datetime (e.g. 2025-01-31T12:00:00)", param, ctx)


class _DateType(click.ParamType):
    name = "date"

    def convert(self, value: Any, param: Any, ctx: Any) -> Any:
        if isinstance(value, _dt.date):
            return value
        try:
            return _dt.date.fromisoformat(value)
        except ValueError:
            self.fail(f"{value!r} is not an ISO date (e.g. 2025-01-31)", param, ctx)


class _DurationType(click.ParamType):
    name = "duration"
    _units = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400}

    def convert(self, value: Any, param: Any, ctx: Any) -> Any:
        if isinstance(value, _dt.timedelta):
            return value
        text = str(value).strip()
        for unit in sorted(self._units, key=len, reverse=True):
            if text.endswith(unit):
                try:
                    return _dt.timedelta(seconds=float(text[: -len(unit)]) * self._units[unit])
                except ValueError:
                    break
        try:
            return _dt.timedelta(seconds=float(text))
        except ValueError:
            self.fail(f"{value!r} is not a duration (seconds, or a number with ms/s/m/h/d)", param, ctx)


class _FileType(click.ParamType):
    def __init__(self, tp: Any, is_dir: bool):
        self.tp = tp
        self.is_dir = is_dir
        self.name = "dir" if is_dir else "file"

    def convert(self, value: Any, param: Any, ctx: Any) -> Any:
        if not isinstance(value, str):
            return value
        from flyte import storage

        if not storage.is_remote(value):
            p = Path(value)
            if self.is_dir and not p.is_dir():
                self.fail(f"{value!r} is not a directory", param, ctx)
            if not self.is_dir and not p.is_file():
                self.fail(f"{value!r} is not a file", param, ctx)
            value = str(p.resolve())
        return self.tp(path=value)


def param_type(tp: Any) -> tuple[Any, bool]:
    """(click type, is_flag) for an input type."""
    tp, _ = _unwrap_optional(tp)
    if tp is bool:
        return click.BOOL, True
    if tp is int:
        return _INT64, False
    if tp is float:
        return click.FLOAT, False
    if tp is str:
        return click.STRING, False
    if tp is _dt.datetime:
        return _DateTimeType(), False
    if tp is _dt.date:
        return _DateType(), False
    if tp is _dt.timedelta:
        return _DurationType(), False
    if typing.get_origin(tp) is typing.Literal:
        return _LiteralChoice(typing.get_args(tp)), False
    if isinstance(tp, type) and issubclass(tp, enum.Enum):
        return _EnumChoice(tp), False
    if isinstance(tp, type):
        from flyte.io import Dir, File

        if issubclass(tp, File):
            return _FileType(tp, False), False
        if issubclass(tp, Dir):
            return _FileType(tp, True), False
    return _JsonType(tp), False


def to_click_option(name: str, variable: Any, python_type: Any, default: Any = None) -> click.Option:
    """The published CLI's option builder for one task input (``--name``), used by plugins' commands.

    ``variable`` is the input's flyteidl2 ``Variable`` (its description becomes the help text);
    an input is required when it has no default and is not optional.
    """
    ptype, is_flag = param_type(python_type)
    _, optional = _unwrap_optional(python_type)
    description = getattr(variable, "description", "") or type_label(python_type)
    if is_flag:
        return click.Option([f"--{name}/--no-{name}"], default=bool(default) if default is not None else False, help=description)
    if default is None:
        # No default passed at all: click (8.3+) takes an explicit default=None as a given value.
        return click.Option([f"--{name}"], type=ptype, required=not optional, help=description)
    return click.Option([f"--{name}"], type=ptype, default=default, help=description, show_default=True)
class _Int64Type(click.types.IntParamType):
    """An ``int`` input: refused at once when a 64-bit integer literal cannot carry it."""

    def convert(self, value: Any, param: Any, ctx: Any) -> Any:
        number = super().convert(value, param, ctx)
        if not -(2**63) <= number <= 2**63 - 1:
            self.fail(f"{value!r} is out of range for int (a 64-bit integer, from {-(2**63)} to {2**63 - 1})", param, ctx)
        return number


_INT64 = _Int64Type()


class _LiteralChoice(click.Choice):
    """A choice among a ``Literal``'s values, given back as the value itself (not its text)."""

    def __init__(self, values: tuple):
        self.values = values
        super().__init__([self._text(v) for v in values])

    @staticmethod
    def _text(v: Any) -> str:
        # An enum choice is typed as its value, as an Enum input is (decision 34).
        return str(v.value) if isinstance(v, enum.Enum) else str(v)

    def convert(self, value: Any, param: Any, ctx: Any) -> Any:
        if value in self.values and not isinstance(value, str):
            return value
        text = super().convert(value, param, ctx)
        return next(v for v in self.values if self._text(v) == text)


class _EnumChoice(click.Choice):
    def __init__(self, enum_type: type):
        self.enum_type = enum_type
        super().__init__([str(m.value) for m in enum_type])

    def convert(self, value: Any, param: Any, ctx: Any) -> Any:
        if isinstance(value, self.enum_type):
            return value
        v = super().convert(value, param, ctx)
        return next(m for m in self.enum_type if str(m.value) == v)


def task_options(task: Any) -> List[click.Parameter]:
    """One option per input of ``task`` (``--name``); booleans are ``--name/--no-name`` flags.

    An option not given parses as None, so that the task's own default applies.
    """
    params: List[click.Parameter] = []
    for name, (tp, default) in task.interface.inputs.items():
        ptype, is_flag = param_type(tp)
        required = default is inspect.Parameter.empty
        opt_name = "--" + name
        help_text = f"{type_label(tp)}" + ("" if required else f" (default: {default_label(default)})")
        if is_flag:
            # Not given: the task's default (None for Optional[bool]); a required flag is False.
            params.append(
                click.Option(
                    [f"{opt_name}/--no-{name}"],
                    default=False if required else None,
                    help=help_text,
                    show_default=False,
                )
            )
        elif required:
            params.append(click.Option([opt_name], type=ptype, required=True, help=help_text))
        else:
            params.append(click.Option([opt_name], type=ptype, default=None, help=help_text, show_default=False))
    return params


def type_label(tp: Any) -> str:
    """A type as written in code, for help texts (``int``, ``Optional[str]``, ``list[int]``)."""
    from flyte.models import _tname

    return _tname(tp)


def default_label(value: Any) -> str:
    """A default value as a user would type it on the command line (an enum by its value)."""
    if isinstance(value, enum.Enum):
        return repr(value.value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        try:
            return json.dumps(dataclasses.asdict(value), default=str)
        except (TypeError, ValueError):
            return repr(value)
    return repr(value)

