"""``flyte get``: read runs, their actions and their logs from the local store."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, Dict, List, Optional

import click

from flyte.cli._common import echo_json, echo_table, format_duration, format_time, output_option

if TYPE_CHECKING:
    from flyte._engine.store import ActionRecord, LocalStore, RunRecord

__all__ = ["get"]


def _store_path() -> Path:
    from flyte._config import get_config

    return get_config().default_store_path()


def _open_store() -> Optional["LocalStore"]:
    """The configured store, or None when nothing was ever recorded (reading creates no file)."""
    from flyte._engine.store import LocalStore

    path = _store_path()
    if not path.exists():
        return None
    return LocalStore(path)


def _require_store(run_name: str) -> "LocalStore":
    store = _open_store()
    if store is None:
        from flyte._engine.store import RunNotFoundError

        raise RunNotFoundError(run_name, _store_path())
    return store


@click.group()
def get() -> None:
    """Show recorded runs, a run's actions, and captured logs."""


@get.command("runs")
@click.option("--limit", type=click.IntRange(min=1), default=50, show_default=True, help="Most recent runs to show.")
@output_option
def get_runs(limit: int, output: str) -> None:
    """List the most recent runs, newest first."""
    store = _open_store()
    runs: List["RunRecord"] = []
    if store is not None:
        with store:
            runs = store.list_runs(limit=limit)
    if output == "json":
        echo_json([_run_doc(r) for r in runs])
        return
    if not runs:
        click.echo(f"No runs recorded in {_store_path()}.")
        return
    echo_table(
        ["NAME", "TASK", "STATUS", "STARTED", "DURATION", "ERROR"],
        (
            [
                r.name,
                r.task_name,
                r.status,
                format_time(r.start_time),
                format_duration(r.duration),
                _short_error(r),
            ]
            for r in runs
        ),
    )


def _run_doc(run: "RunRecord") -> Dict[str, Any]:
    """A run as JSON, its recorded inputs and outputs as JSON objects (not JSON text in a string)."""
    doc = run.to_dict()
    for key in ("inputs", "outputs"):
        doc[key] = _parsed(doc.get(key))
    return doc


def _parsed(text: Any) -> Any:
    if not isinstance(text, str):
        return text
    import json

    try:
        return json.loads(text)
    except ValueError:  # a summary from an older version, or cut short: keep the text
        return text


def _short_error(rec: Any, limit: int = 60) -> Optional[str]:
    if rec.error is None:
        return None
    text = f"{rec.error.type}: {rec.error.message}".replace("\n", " ")
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _field_lines(run: "RunRecord") -> List[tuple]:
    owner = f"pid {run.pid} on {run.hostname}" if run.pid is not None else None
    return [
        ("Run", run.name),
        ("Task", run.task_name),
        ("Status", run.status),
        ("Mode", run.mode),
        ("Started", format_time(run.start_time)),
        ("Ended", format_time(run.end_time)),
        ("Duration", format_duration(run.duration)),
        ("Owner", owner),
        ("Inputs", run.inputs),
        ("Outputs", run.outputs),
    ]


def _action_rows(actions: List["ActionRecord"]) -> List[List[Any]]:
    return [
        [
            a.name,
            a.parent,
            a.task_name,
            a.group,
            a.status,
            a.attempts,
            a.cache_status,
            format_time(a.start_time),
            format_duration(a.duration),
        ]
        for a in actions
    ]


@get.command("run")
@click.argument("name")
@output_option
def get_run(name: str, output: str) -> None:
    """Show run NAME: its status, timings, actions and error (with traceback)."""
    from flyte._engine.store.journal import report_paths

    with _require_store(name) as store:
        run = store.get_run(name)
        actions = store.get_actions(name)
        reports = report_paths(store, name)
    if output == "json":
        doc: Dict[str, Any] = _run_doc(run)
        doc["actions"] = [a.to_dict() for a in actions]
        doc["reports"] = reports
        echo_json(doc)
        return
    width = max(len(k) for k, _ in _field_lines(run)) + 1
    for key, value in _field_lines(run):
        if value is not None:
            click.echo(f"{key + ':':<{width}} {value}")
    click.echo()
    if actions:
        click.echo(f"Actions ({len(actions)}):")
        echo_table(
            ["ACTION", "PARENT", "TASK", "GROUP", "STATUS", "ATTEMPTS", "CACHE", "STARTED", "DURATION"],
            _action_rows(actions),
        )
    else:
        click.echo("No actions recorded.")
    _echo_attempts(actions)
    if reports:
        click.echo()
        click.echo("Reports:")
        for action, path in sorted(reports.items()):
            click.echo(f"  {action}: {path}")
    failed = [a for a in actions if a.error is not None]
    succeeded = run.status == "succeeded"
    if failed:
        click.echo()
        # A run that succeeded despite failed actions: their callers handled the errors.
        click.echo("Failed actions (handled; the run succeeded):" if succeeded else "Failed actions:")
        for a in failed:
            click.echo(f"  {a.name}: {_short_error(a, limit=200)}")
    error = run.error
    if error is None and failed and not succeeded:
        error = failed[0].error
    if error is not None:
        click.echo()
        click.echo(f"Failure: {error.type}: {error.message}")
        if error.traceback:
            click.echo(error.traceback.rstrip("\n"))


def _echo_attempts(actions: List["ActionRecord"]) -> None:
    """When each attempt of a retried action started, and the gap since the one before."""
    retried = [a for a in actions if len(a.attempt_starts) > 1]
    if not retried:
        return
    click.echo()
    click.echo("Attempts (start, and gap since the previous attempt started):")
    for a in retried:
        first = a.attempt_starts[0]
        parts = [f"1 at {format_time(first)}"]
        for i in range(1, len(a.attempt_starts)):
            t = a.attempt_starts[i]
            parts.append(f"{i + 1} at +{t - first:.2f}s (gap {t - a.attempt_starts[i - 1]:.2f}s)")
        click.echo(f"  {a.name} ({a.task_name}): " + ", ".join(parts))


@get.command("logs")
@click.argument("name")
@click.option("--action", "action", default=None, help="Only the output of this action.")
@output_option
def get_logs(name: str, action: Optional[str], output: str) -> None:
    """Print what the actions of run NAME wrote to stdout and stderr, in order."""
    with _require_store(name) as store:
        logs = store.get_logs(name, action)
    if output == "json":
        echo_json([lg.to_dict() for lg in logs])
        return
    if not logs:
        where = f"action {action!r} of run {name!r}" if action else f"run {name!r}"
        click.echo(f"No logs recorded for {where}.", err=True)
        return
    # With several actions interleaved, prefix each line with its action to keep them apart.
    prefix = len({lg.action_name for lg in logs}) > 1
    at_line_start = True
    for lg in logs:
        for piece in lg.text.splitlines(keepends=True):
            if prefix and at_line_start:
                click.echo(f"[{lg.action_name}] ", nl=False)
            click.echo(piece, nl=False)
            at_line_start = piece.endswith("\n")
    if not at_line_start:
        click.echo()
