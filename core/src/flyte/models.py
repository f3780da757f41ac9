"""Data models shared by the SDK, the engine and plugins.

`NativeInterface` describes a task's typed inputs and outputs; `TaskContext` is what
``flyte.ctx()`` returns inside a task; `SerializationContext` is handed to the methods that
describe a task to a cluster (``custom_config``, ``container_args``, ...).
"""

from __future__ import annotations

import inspect
import os
import secrets as _secrets
import typing
from dataclasses import dataclass, field, replace
from typing import Any, Callable, ClassVar, Dict, List, Literal, Optional, Tuple, Type

from flyte.errors import TypeValidationError, ValidationError

__all__ = [
    "MAX_INLINE_IO_BYTES",
    "ActionID",
    "CodeBundle",
    "GroupData",
    "NativeInterface",
    "RawDataPath",
    "SerializationContext",
    "TaskContext",
    "generate_random_name",
    "named_tuple_return",
    "returned_value",
]

MAX_INLINE_IO_BYTES = 10 * 1024 * 1024

_ALPHABET = "abcdefghijklmnopqrstuvwxyz0123456789"


def generate_random_name(length: int = 20) -> str:
    """A random lowercase name usable as a run or action name (starts with a letter)."""
    first = _secrets.choice(_ALPHABET[:26])
    return first + "".join(_secrets.choice(_ALPHABET) for _ in range(length - 1))


class _has_default:
    """Marker: an input has a default whose value is not known locally (remote tasks)."""


def _output_names(return_annotation: Any) -> Dict[str, Type]:
    """Map a return annotation to named outputs: ``o0`` for one value, ``o0..oN`` for a tuple,
    the field names for a NamedTuple, nothing for ``None``."""
    if return_annotation is None or return_annotation is type(None) or return_annotation is inspect.Signature.empty:
        return {}
    if isinstance(return_annotation, type) and issubclass(return_annotation, tuple) and hasattr(return_annotation, "_fields"):
        hints = typing.get_type_hints(return_annotation)
        return {name: hints.get(name, Any) for name in return_annotation._fields}
    if typing.get_origin(return_annotation) is tuple:
        args = typing.get_args(return_annotation)
        if args and args[-1] is not Ellipsis and args != ((),):
            return {f"o{i}": t for i, t in enumerate(args)}
    return {"o0": return_annotation}


@dataclass(frozen=True)
class NativeInterface:
    """The typed inputs and outputs of a task.

    ``inputs`` maps each input name to ``(type, default)`` where default is
    ``inspect.Parameter.empty`` when the input is required. ``outputs`` maps output names
    (``o0``, ``o1``, ... or NamedTuple field names) to types.
    """

    inputs: Dict[str, Tuple[Type, Any]]
    outputs: Dict[str, Type]
    docstring: Optional[str] = None
    _remote_defaults: Optional[Dict[str, Any]] = field(default=None, repr=False)

    has_default: ClassVar[Type[_has_default]] = _has_default

    def has_outputs(self) -> bool:
        return bool(self.outputs)

    def required_inputs(self) -> List[str]:
        return [k for k, (_, d) in self.inputs.items() if d is inspect.Parameter.empty]

    def num_required_inputs(self) -> int:
        return len(self.required_inputs())

    def get_input_types(self) -> Dict[str, Type]:
        return {k: t for k, (t, _) in self.inputs.items()}

    @classmethod
    def from_types(
        cls,
        inputs: Dict[str, Tuple[Type, Any]],
        outputs: Dict[str, Type],
        default_inputs: Optional[Dict[str, Any]] = None,
    ) -> "NativeInterface":
        for k, (_, d) in inputs.items():
            if d is cls.has_default and (default_inputs is None or k not in default_inputs):
                raise ValidationError(f"inputs[{k!r}]", d, "an input marked has_default needs a value in default_inputs")
        return cls(inputs=dict(inputs), outputs=dict(outputs), _remote_defaults=default_inputs)

    @classmethod
    def from_callable(cls, func: Callable) -> "NativeInterface":
        """Build the interface from a function's signature and type hints."""
        sig = inspect.signature(func)
        try:
            hints = typing.get_type_hints(func, include_extras=True)
        except Exception as e:  # unresolved forward references
            raise TypeValidationError(
                "type hints", func, "resolvable annotations", owner=getattr(func, "__qualname__", str(func)), detail=str(e)
            ) from e
        inputs: Dict[str, Tuple[Type, Any]] = {}
        for name, param in sig.parameters.items():
            if param.kind in (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD):
                raise ValidationError(
                    f"parameter {name}",
                    str(param),
                    "tasks take named, typed parameters; *args and **kwargs are not allowed",
                    owner=func.__qualname__,
                )
            tp = hints.get(name, param.annotation)
            if tp is inspect.Parameter.empty:
                tp = Any
            inputs[name] = (tp, param.default)
        ret = hints.get("return", sig.return_annotation)
        outputs = _output_names(ret)
        doc = inspect.getdoc(func)
        return cls(inputs=inputs, outputs=outputs, docstring=doc)

    def convert_to_kwargs(self, *args: Any, **kwargs: Any) -> Dict[str, Any]:
        """Bind positional and keyword arguments to input names (defaults not filled in)."""
        names = list(self.inputs)
        if len(args) > len(names):
            raise TypeValidationError(
                "arguments", args, f"at most {len(names)} positional arguments ({', '.join(names)})"
            )
        out: Dict[str, Any] = {}
        for name, value in zip(names, args):
            out[name] = value
        for k, v in kwargs.items():
            if k not in self.inputs:
                raise TypeValidationError(f"input {k!r}", v, f"one of the inputs: {', '.join(names) or '(none)'}")
            if k in out:
                raise TypeValidationError(f"input {k!r}", v, "a value given once (it was given positionally too)")
            out[k] = v
        return out

    def __repr__(self) -> str:
        ins = ", ".join(f"{k}: {_tname(t)}" for k, (t, _) in self.inputs.items())
        outs = ", ".join(_tname(t) for t in self.outputs.values())
        return f"({ins}) -> ({outs})"


def _tname(tp: Any) -> str:
    """A type as a user writes it: ``int``, ``Optional[str]``, ``list[int]``, ``Literal['a', 3]``.

    Generic aliases carry a ``__name__`` of their origin only (``Optional``, ``list``), so they
    are spelled out from their arguments.
    """
    if tp is type(None) or tp is None:
        return "None"
    if tp is Ellipsis:
        return "..."
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if origin is None:
        if isinstance(tp, type):
            return tp.__name__
        return repr(tp).replace("typing.", "")
    if origin is Literal:
        import enum

        return "Literal[" + ", ".join(f"{type(a).__name__}.{a.name}" if isinstance(a, enum.Enum) else repr(a) for a in args) + "]"
    if origin is typing.Union or type(tp).__name__ == "UnionType":
        members = [a for a in args if a is not type(None)]
        if len(members) < len(args) and len(members) == 1:
            return f"Optional[{_tname(members[0])}]"
        return " | ".join(_tname(a) for a in args)
    if origin is typing.Annotated:
        return _tname(args[0])
    name = getattr(origin, "__name__", None) or repr(origin).replace("typing.", "")
    return f"{name}[{', '.join(_tname(a) for a in args)}]" if args else name


@dataclass(frozen=True)
class ActionID:
    """Identity of one action (a task call) inside a run."""

    name: str
    run_name: Optional[str] = None
    project: Optional[str] = None
    domain: Optional[str] = None
    org: Optional[str] = None

    def new_sub_action(self, name: Optional[str] = None) -> "ActionID":
        return replace(self, name=name or generate_random_name(12))


@dataclass(frozen=True)
class RawDataPath:
    """Where a run writes large data (files, directories, dataframes)."""

    path: str
    path_rewrite: Optional[Any] = None

    def get_random_remote_path(self, file_name: Optional[str] = None) -> str:
        from flyte._uri import join

        part = generate_random_name(16)
        return join(self.path, part, file_name) if file_name else join(self.path, part)


@dataclass(frozen=True)
class GroupData:
    name: str


@dataclass
class CodeBundle:
    """A bundle of user code shipped to a container (a tarball) or taken from the image."""

    computed_version: str
    destination: str = "."
    tgz: Optional[str] = None
    pkl: Optional[str] = None
    downloaded_path: Optional[str] = None
    files: Optional[List[str]] = None


@dataclass(frozen=True)
class SerializationContext:
    """What serialization methods (``container_args``, ``custom_config``) need to know."""

    version: str = "local"
    project: Optional[str] = None
    domain: Optional[str] = None
    org: Optional[str] = None
    code_bundle: Optional[CodeBundle] = None
    input_path: str = "{{.input}}"
    output_path: str = "{{.outputPrefix}}"
    interpreter_path: str = "/opt/venv/bin/python"
    image_cache: Optional[Any] = None
    root_dir: Optional[Any] = None


@dataclass(frozen=True)
class TaskContext:
    """What ``flyte.ctx()`` returns inside a task.

    ``data`` holds what the task's ``pre`` returned (a plugin hands the body its Spark session
    or Ray address this way); ``custom_context`` the key/values propagated to sub-actions.
    """

    action: ActionID
    version: str = "local"
    raw_data_path: RawDataPath = field(default_factory=lambda: RawDataPath(path=""))
    input_path: Optional[str] = None
    output_path: str = ""
    run_base_dir: str = ""
    report: Optional[Any] = None
    group_data: Optional[GroupData] = None
    checkpoint_paths: Optional[Any] = None
    code_bundle: Optional[CodeBundle] = None
    compiled_image_cache: Optional[Any] = None
    data: Dict[str, Any] = field(default_factory=dict)
    mode: Literal["local", "remote", "hybrid"] = "local"
    interactive_mode: bool = False
    custom_context: Dict[str, str] = field(default_factory=dict)
    disable_run_cache: bool = False
    in_driver_literal_conversion: bool = False
    run_start_time: Optional[Any] = None
    task_action: Optional[Any] = None
    attempt_number: int = 0
    task_name: str = ""
    # Set while ``post`` runs after a failed ``execute``, so teardown can see what went wrong.
    error: Optional[BaseException] = None

    def is_in_cluster(self) -> bool:
        """True when running inside a cluster (not on the local engine)."""
        return self.mode == "remote"

    def replace(self, **kwargs: Any) -> "TaskContext":
        if "data" in kwargs and kwargs["data"] is not None:
            merged = dict(self.data)
            merged.update(kwargs["data"])
            kwargs["data"] = merged
        return replace(self, **kwargs)

    # Distributed-training helpers (filled from the environment torch elastic sets).
    @property
    def rank(self) -> int:
        return int(os.environ.get("RANK", "0"))

    @property
    def local_rank(self) -> int:
        return int(os.environ.get("LOCAL_RANK", "0"))

    @property
    def world_size(self) -> int:
        return int(os.environ.get("WORLD_SIZE", "1"))

    @property
    def local_world_size(self) -> int:
        return int(os.environ.get("LOCAL_WORLD_SIZE", "1"))

    @property
    def nnodes(self) -> int:
        return int(os.environ.get("NNODES", os.environ.get("GROUP_WORLD_SIZE", "1")))

    @property
    def node_rank(self) -> int:
        return int(os.environ.get("GROUP_RANK", os.environ.get("NODE_RANK", "0")))

    @property
    def master_addr(self) -> Optional[str]:
        return os.environ.get("MASTER_ADDR")

    @property
    def master_port(self) -> Optional[str]:
        return os.environ.get("MASTER_PORT")


def named_tuple_return(func: Any) -> Any:
    """The NamedTuple class ``func`` is annotated to return, else None."""
    if func is None:
        return None
    try:
        ret = typing.get_type_hints(func).get("return")
    except Exception:  # unresolvable annotations: treat as a plain tuple
        return None
    return ret if isinstance(ret, type) and issubclass(ret, tuple) and hasattr(ret, "_fields") else None


def returned_value(output_names: typing.Sequence[str], values: Dict[str, Any], result_type: Any = None) -> Any:
    """A task's return value from its named outputs, as a local call returns it: None, the one
    value, or a tuple (``result_type(*values)`` when the function returns a NamedTuple)."""
    if not output_names:
        return None
    if len(output_names) == 1:
        return values[output_names[0]]
    out = tuple(values[n] for n in output_names)
    return result_type(*out) if result_type is not None else out
