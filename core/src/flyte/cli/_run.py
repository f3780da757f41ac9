"""``flyte run FILE TASK --input value ...``: run a task on the local engine.

Each task's inputs become options parsed by their types (``--help`` after the task name lists
them); booleans are flags. The run is recorded in the local store (``flyte get run NAME``).
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import enum
import importlib
import inspect
import json
import sys
import threading
import time
import typing
from pathlib import Path
from typing import Any, Dict, List, Optional

import click

from flyte.errors import ValidationError

__all__ = ["run"]


def load_module_from_file(path: str) -> Any:
    """Import a Python file as a module named after it (its folder goes first on sys.path)."""
    p = Path(path)
    if not p.is_file() or p.suffix != ".py":
        raise click.BadParameter(f"{path!r} is not a Python file", param_hint="FILE")
    folder = str(p.resolve().parent)
    if folder not in sys.path:
        sys.path.insert(0, folder)
    name = p.stem
    if name in sys.modules and getattr(sys.modules[name], "__file__", None) not in (None, str(p.resolve())):
        del sys.modules[name]
    try:
        return importlib.import_module(name)
    except Exception as e:  # the user's file failed to import: say where, in one line
        from flyte.errors import ModuleLoadError

        where = ""
        if isinstance(e, SyntaxError) and e.lineno:
            where = f" (line {e.lineno})"
        raise ModuleLoadError(f"could not load {path}{where}: {type(e).__name__}: {e}") from e


def tasks_in_module(module: Any) -> Dict[str, Any]:
    from flyte._task import TaskTemplate

    return {name: obj for name, obj in vars(module).items() if isinstance(obj, TaskTemplate)}


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
        self.name = getattr(tp, "__name__", None) or str(tp).replace("typing.", "")

    def convert(self, value: Any, param: Any, ctx: Any) -> Any:
        if not isinstance(value, str):
            return value
        try:
            data = json.loads(value)
        except json.JSONDecodeError as e:
            self.fail(f"{value!r} is not valid JSON for type {self.name} ({e.msg})", param, ctx)
        try:
            return _from_jsonable(data, self.tp)
        except (TypeError, ValueError, AttributeError, KeyError) as e:
            self.fail(f"{value!r} does not fit type {self.name}: {e}", param, ctx)


def _from_jsonable(data: Any, tp: Any) -> Any:
    tp, _ = _unwrap_optional(tp)
    if data is None:
        return None
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if dataclasses.is_dataclass(tp) and isinstance(tp, type):
        _expect(data, dict, tp)
        hints = typing.get_type_hints(tp)
        return tp(**{k: _from_jsonable(v, hints.get(k, Any)) for k, v in data.items()})
    if isinstance(tp, type) and hasattr(tp, "model_validate"):
        return tp.model_validate(data)
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
        raise TypeError(f"expected {shape} for {_type_label(tp)}, got {type(data).__name__}")


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


def _param_type(tp: Any) -> tuple[Any, bool]:
    """(click type, is_flag) for an input type."""
    tp, _ = _unwrap_optional(tp)
    if tp is bool:
        return click.BOOL, True
    if tp is int:
        return click.INT, False
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


class _LiteralChoice(click.Choice):
    """A choice among a ``Literal``'s values, given back as the value itself (not its text)."""

    def __init__(self, values: tuple):
        self.values = values
        super().__init__([str(v) for v in values])

    def convert(self, value: Any, param: Any, ctx: Any) -> Any:
        if value in self.values and not isinstance(value, str):
            return value
        text = super().convert(value, param, ctx)
        return next(v for v in self.values if str(v) == text)


class _EnumChoice(click.Choice):
    def __init__(self, enum_type: type):
        self.enum_type = enum_type
        super().__init__([str(m.value) for m in enum_type])

    def convert(self, value: Any, param: Any, ctx: Any) -> Any:
        if isinstance(value, self.enum_type):
            return value
        v = super().convert(value, param, ctx)
        return next(m for m in self.enum_type if str(m.value) == v)


def _task_command(task: Any, run_options: Dict[str, Any]) -> click.Command:
    params: List[click.Parameter] = []
    doc = task.interface.docstring or ""
    for name, (tp, default) in task.interface.inputs.items():
        ptype, is_flag = _param_type(tp)
        required = default is inspect.Parameter.empty
        opt_name = "--" + name
        help_text = f"{_type_label(tp)}" + ("" if required else f" (default: {default!r})")
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
    # Also accept the input name spelled with dashes.
    for p in params:
        assert isinstance(p, click.Option)

    def callback(**kwargs: Any) -> None:
        # Options not given stay None and the task's own default applies.
        inputs = {k: v for k, v in kwargs.items() if v is not None}
        _execute(task, inputs, run_options)

    return click.Command(
        name=task.short_name,
        params=params,
        callback=callback,
        context_settings=dict(help_option_names=["-h", "--help"]),
        help=(doc.splitlines()[0] if doc else f"Run task {task.name}.") + f"\n\nInputs: {task.interface!r}",
    )


def _type_label(tp: Any) -> str:
    return getattr(tp, "__name__", None) or str(tp).replace("typing.", "")


def _jsonable(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _jsonable(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if hasattr(value, "model_dump"):
        return value.model_dump(mode="json")
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, (_dt.datetime, _dt.date)):
        return value.isoformat()
    if isinstance(value, _dt.timedelta):
        return value.total_seconds()
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    path = getattr(value, "path", None)
    if isinstance(path, str):
        return path
    return repr(value)


class _Progress:
    """Shows elapsed time on a terminal while a run takes longer than a moment."""

    def __init__(self, label: str, enabled: bool):
        self.label = label
        self.enabled = enabled
        self._stop = threading.Event()
        self._thread: Optional[threading.Thread] = None
        self._shown = False

    def __enter__(self) -> "_Progress":
        if self.enabled:
            self._thread = threading.Thread(target=self._loop, daemon=True)
            self._thread.start()
        return self

    def _loop(self) -> None:
        start = time.monotonic()
        while not self._stop.wait(1.0):
            self._shown = True
            sys.__stderr__.write(f"\r{self.label} running... {time.monotonic() - start:.0f}s")
            sys.__stderr__.flush()

    def __exit__(self, *exc: Any) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        if self._shown:
            sys.__stderr__.write("\r\033[K")
            sys.__stderr__.flush()


def _execute(task: Any, inputs: Dict[str, Any], opts: Dict[str, Any]) -> None:
    import flyte

    flyte.init(local_persistence=opts["persist"])
    from flyte.models import generate_random_name

    runner = flyte.with_runcontext(
        mode="local",
        name=opts.get("name") or generate_random_name(16),
        raw_data_path=opts.get("raw_data_path"),
        overwrite_cache=opts.get("overwrite_cache", False),
        disable_run_cache=opts.get("disable_run_cache", False),
        env_vars=opts.get("env_vars") or None,
        custom_context=opts.get("custom_context") or None,
        local_persistence=opts["persist"],
    )
    from flyte.cli._common import debug_enabled, user_error_message
    from flyte.errors import BaseRuntimeError, RunAbortedError

    with _Progress(task.name, enabled=sys.stderr.isatty() and opts["output"] == "table"):
        try:
            result = runner.run(task, **inputs)
        except (KeyboardInterrupt, RunAbortedError) as e:
            click.echo(f"Aborted: run {runner.name} ({type(e).__name__}); its running actions were cancelled", err=True)
            raise click.exceptions.Exit(130) from None
        except BaseRuntimeError as e:
            # A task failed: one line (the run record keeps the user's traceback; -v prints it).
            tb = getattr(e, "traceback", None)
            if tb and debug_enabled():
                click.echo(tb.rstrip(), err=True)
            where = f"; details: flyte get run {runner.name}" if opts["persist"] else ""
            raise click.ClickException(f"run {runner.name} failed: {user_error_message(e)}{where}") from None
    outputs = result.outputs().named_outputs
    if opts["output"] == "json":
        click.echo(json.dumps({"run": result.name, "phase": result.phase.value, "task": task.name, "outputs": _jsonable(outputs)}))
        return
    click.echo(f"Run {result.name} succeeded ({result.duration:.2f}s): flyte get run {result.name}", err=True)
    if len(outputs) == 1:
        (value,) = outputs.values()
        click.echo(_format(value))
    else:
        for k, v in outputs.items():
            click.echo(f"{k}: {_format(v)}")


def _format(value: Any) -> str:
    if isinstance(value, str):
        return value
    try:
        return json.dumps(_jsonable(value))
    except (TypeError, ValueError):
        return repr(value)


def _kv(values: tuple, field: str) -> Dict[str, str]:
    out: Dict[str, str] = {}
    for item in values:
        if "=" not in item:
            raise ValidationError(field, item, "KEY=VALUE", owner="flyte run")
        k, v = item.split("=", 1)
        out[k] = v
    return out


class _RunCommand(click.Command):
    def parse_args(self, ctx: click.Context, args: List[str]) -> List[str]:
        # `-h`/`--help` right after FILE (where TASK goes) asks for the file's task listing.
        args = list(args)
        for i, a in enumerate(args):
            if not a.startswith("-"):
                if i + 1 < len(args) and args[i + 1] in ("-h", "--help"):
                    args[i + 1] = "--help"
                    args.insert(i, args.pop(i + 1))  # --help before FILE: a run-command flag
                break
            if a == "-h":
                args[i] = "--help"
        return super().parse_args(ctx, args)


@click.command(
    "run",
    cls=_RunCommand,
    context_settings=dict(ignore_unknown_options=True, allow_extra_args=True, allow_interspersed_args=False, help_option_names=[]),
)
@click.option("--local", is_flag=True, help="Run on the local engine (the default).")
@click.option("--name", default=None, help="Name of the run (default: random).")
@click.option("--raw-data-path", default=None, help="Where the run writes files and directories.")
@click.option("--overwrite-cache", is_flag=True, help="Run cached tasks again and replace their cache entries.")
@click.option("--disable-run-cache", is_flag=True, help="Do not use the cache in this run.")
@click.option("--env", "env_vars", multiple=True, metavar="KEY=VALUE", help="Environment variable for the run.")
@click.option("--custom-context", multiple=True, metavar="KEY=VALUE", help="Custom context for the run's tasks.")
@click.option("--no-persist", is_flag=True, help="Do not record the run in the local store.")
@click.option("--output", "-o", type=click.Choice(["table", "json"]), default="table", help="Output format.")
@click.option("--help", "show_help", is_flag=True, help="Show this message (after FILE TASK: the task's inputs).")
@click.argument("file", required=False)
@click.argument("task_name", required=False)
@click.pass_context
def run(
    ctx: click.Context,
    local: bool,
    name: Optional[str],
    raw_data_path: Optional[str],
    overwrite_cache: bool,
    disable_run_cache: bool,
    env_vars: tuple,
    custom_context: tuple,
    no_persist: bool,
    output: str,
    show_help: bool,
    file: Optional[str],
    task_name: Optional[str],
) -> None:
    """Run TASK from FILE on this machine: flyte run FILE TASK --input value ..."""
    if file is None:
        click.echo(ctx.get_help())
        if not show_help:
            ctx.exit(2)
        return
    module = load_module_from_file(file)
    tasks = tasks_in_module(module)
    if task_name is None:
        listing = "\n".join(f"  {n:<24} {t.interface!r}" for n, t in sorted(tasks.items())) or "  (no tasks)"
        click.echo(f"Usage: flyte run {file} TASK [INPUTS]...\n\nTasks in {file}:\n{listing}")
        if not show_help:
            ctx.exit(2)
        return
    if task_name not in tasks:
        raise click.BadParameter(
            f"no task {task_name!r} in {file}; tasks there: {', '.join(sorted(tasks)) or '(none)'}", param_hint="TASK"
        )
    opts = dict(
        name=name,
        raw_data_path=raw_data_path,
        overwrite_cache=overwrite_cache,
        disable_run_cache=disable_run_cache,
        env_vars=_kv(env_vars, "--env"),
        custom_context=_kv(custom_context, "--custom-context"),
        persist=not no_persist,
        output=output,
    )
    cmd = _task_command(tasks[task_name], opts)
    extra = list(ctx.args) + (["--help"] if show_help else [])
    rc = cmd.main(args=extra, prog_name=f"flyte run {file} {task_name}", standalone_mode=False)
    if isinstance(rc, int) and not isinstance(rc, bool) and rc:
        ctx.exit(rc)
