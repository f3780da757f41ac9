"""``flyte run FILE TASK --input value ...``: run a task on the local engine.

Each task's inputs become options parsed by their types (``--help`` after the task name lists
them); booleans are flags. The run is recorded in the local store (``flyte get run NAME``).
FILE is loaded by :mod:`flyte.cli._loader`, inputs are parsed by :mod:`flyte.cli._params`, and
progress and outputs are shown by :mod:`flyte.cli._progress`.
"""

from __future__ import annotations

import contextlib
import json
import os
import shlex
import sys
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional

import click

from flyte.cli._loader import load_module_from_file, tasks_in_module
from flyte.cli._params import task_options
from flyte.cli._progress import Progress, show_outputs
from flyte.errors import ValidationError

__all__ = ["load_module_from_file", "run", "tasks_in_module"]


def _task_command(task: Any, run_options: Dict[str, Any]) -> click.Command:
    doc = task.interface.docstring or ""

    def callback(**kwargs: Any) -> None:
        # Options not given stay None and the task's own default applies.
        inputs = {k: v for k, v in kwargs.items() if v is not None}
        _execute(task, inputs, run_options)

    return click.Command(
        name=task.short_name,
        params=task_options(task),
        callback=callback,
        context_settings=dict(help_option_names=["-h", "--help"]),
        # \b keeps click from re-wrapping the signature line (long types stay whole).
        help=(doc.splitlines()[0] if doc else f"Run task {task.name}.") + f"\n\n\b\nInputs: {task.interface!r}",
    )


def _execute(task: Any, inputs: Dict[str, Any], opts: Dict[str, Any]) -> None:
    import flyte

    flyte.init(local_persistence=opts["persist"], root_dir=opts.get("root_dir"))
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

    as_json = opts["output"] == "json"
    with _stdout_to_stderr(as_json), Progress(task.name, enabled=sys.stderr.isatty() and not as_json):
        try:
            result = runner.run(task, **inputs)
        except (KeyboardInterrupt, RunAbortedError) as e:
            failure: Optional[Dict[str, Any]] = {"phase": "aborted", "error": {"type": type(e).__name__, "message": str(e)}}
            message = f"Aborted: run {runner.name} ({type(e).__name__}); its running actions were cancelled"
            code = 130
        except BaseRuntimeError as e:
            # A task failed: one line (the run record keeps the user's traceback; -v prints it).
            tb = getattr(e, "traceback", None)
            if tb and debug_enabled():
                click.echo(tb.rstrip(), err=True)
            where = f"; details: flyte get run {runner.name}" if opts["persist"] else ""
            failure = {
                "phase": "failed",
                "error": {"type": e.code, "message": e.message, "kind": getattr(e, "kind", None), "traceback": tb},
            }
            message = f"run {runner.name} failed: {user_error_message(e)}{where}"
            code = 1
        else:
            failure = None
    if failure is not None:
        if as_json:
            click.echo(json.dumps({"run": runner.name, "task": task.name, **failure}))
        if code == 130:
            click.echo(message, err=True)
            raise click.exceptions.Exit(130)
        error = click.ClickException(message)
        error.json_reported = as_json  # type: ignore[attr-defined]
        raise error
    show_outputs(result, task, opts["output"])


@contextlib.contextmanager
def _stdout_to_stderr(enabled: bool) -> Iterator[None]:
    """With ``-o json``, send everything the run prints to stderr, so stdout holds only the JSON.

    Both Python's ``sys.stdout`` and file descriptor 1 are pointed at stderr: child processes
    (an engine's workers, a subprocess the task starts) inherit the descriptor, not the object.
    """
    if not enabled:
        yield
        return
    sys.stdout.flush()
    saved_fd = os.dup(1)
    os.dup2(2, 1)
    saved = sys.stdout
    sys.stdout = sys.stderr
    try:
        yield
    finally:
        try:
            sys.stdout.flush()
        finally:
            sys.stdout = saved
            os.dup2(saved_fd, 1)
            os.close(saved_fd)


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
@click.option(
    "--root-dir",
    default=None,
    type=click.Path(file_okay=False),
    help="Source root: FILE's module name is its path relative to it (default: the working directory).",
)
@click.option("--output", "-o", type=click.Choice(["table", "json"]), default="table", help="Output format.")
@click.option("-v", "--verbose", count=True, help="Log more (-vv: debug) and show tracebacks of errors (as flyte -v).")
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
    root_dir: Optional[str],
    output: str,
    verbose: int,
    show_help: bool,
    file: Optional[str],
    task_name: Optional[str],
) -> None:
    """Run TASK from FILE on this machine: flyte run FILE TASK --input value ..."""
    if verbose:
        from flyte.cli._common import set_verbosity

        set_verbosity(max(verbose, _parent_verbosity(ctx)))
    try:
        _run(ctx, name, raw_data_path, overwrite_cache, disable_run_cache, env_vars, custom_context, no_persist,
             root_dir, output, show_help, file, task_name)
    except Exception as e:
        # With -o json a mistake before the run starts is a JSON document too (stderr has the line).
        from flyte.cli._common import _is_user_error

        user_error = isinstance(e, click.ClickException) or _is_user_error(e)
        if output == "json" and user_error and not getattr(e, "json_reported", False):
            message = e.format_message() if isinstance(e, click.ClickException) else str(e)
            kind = "UsageError" if isinstance(e, click.UsageError) else type(e).__name__
            click.echo(json.dumps({"run": name, "phase": "not_started", "error": {"type": kind, "message": message}}))
        raise


def _parent_verbosity(ctx: click.Context) -> int:
    parent = ctx.parent
    return int(parent.params.get("verbose") or 0) if parent is not None else 0


def _run(
    ctx: click.Context,
    name: Optional[str],
    raw_data_path: Optional[str],
    overwrite_cache: bool,
    disable_run_cache: bool,
    env_vars: tuple,
    custom_context: tuple,
    no_persist: bool,
    root_dir: Optional[str],
    output: str,
    show_help: bool,
    file: Optional[str],
    task_name: Optional[str],
) -> None:
    if file is None:
        click.echo(ctx.get_help())
        if not show_help:
            ctx.exit(2)
        return
    root = Path(root_dir).resolve() if root_dir else None
    module = load_module_from_file(file, root)
    tasks = tasks_in_module(module)
    if task_name is None:
        listing = "\n".join(f"  {n:<24} {t.interface!r}" for n, t in sorted(tasks.items())) or "  (no tasks)"
        click.echo(f"Usage: flyte run {shlex.quote(file)} TASK [INPUTS]...\n\nTasks in {file}:\n{listing}")
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
        root_dir=root,
        output=output,
    )
    cmd = _task_command(tasks[task_name], opts)
    extra = list(ctx.args) + (["--help"] if show_help else [])
    # Quoted, so the usage line and the "see ... --help" hint can be pasted back into a shell.
    rc = cmd.main(args=extra, prog_name=f"flyte run {shlex.join([file, task_name])}", standalone_mode=False)
    if isinstance(rc, int) and not isinstance(rc, bool) and rc:
        ctx.exit(rc)


# The published CLI's record of the `flyte run` options, read by plugins' commands.
from flyte.cli._published import RunArguments  # noqa: E402,F401
