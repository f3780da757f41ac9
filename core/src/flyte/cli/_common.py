"""What every ``flyte`` subcommand shares: error reporting, verbosity, table and JSON output.

:func:`run_cli` is the one place that turns exceptions into exit codes. User mistakes (flyte's
validation errors, bad command lines, a missing run) print a single ``Error: ...`` line on
stderr, with no traceback unless ``-v`` or ``FLYTE_DEBUG=1`` asks for one.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import traceback
from datetime import datetime
from typing import Any, Callable, Iterable, List, Optional, Sequence, TypeVar

import click

__all__ = [
    "EXIT_ERROR",
    "EXIT_INTERRUPTED",
    "EXIT_USAGE",
    "debug_enabled",
    "echo_json",
    "echo_table",
    "format_duration",
    "format_time",
    "output_option",
    "run_cli",
    "set_verbosity",
    "user_error_message",
]

EXIT_ERROR = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130

_verbosity = 0

F = TypeVar("F", bound=Callable[..., Any])


def set_verbosity(level: int) -> None:
    """Set ``-v`` count: 1 logs flyte's INFO messages, 2 and more DEBUG; any shows tracebacks."""
    global _verbosity
    _verbosity = level
    if level > 0:
        log = logging.getLogger("flyte")
        if not any(getattr(h, "_flyte_cli", False) for h in log.handlers):
            handler = logging.StreamHandler(sys.stderr)
            handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
            handler._flyte_cli = True  # type: ignore[attr-defined]
            log.addHandler(handler)
        log.setLevel(logging.INFO if level == 1 else logging.DEBUG)


def debug_enabled() -> bool:
    """Whether errors should show their traceback (``-v`` or ``FLYTE_DEBUG=1``)."""
    return _verbosity > 0 or os.environ.get("FLYTE_DEBUG", "").strip().lower() in ("1", "true", "yes", "on")


def _one_line(text: str) -> str:
    return " ".join(part.strip() for part in str(text).splitlines() if part.strip())


def _is_user_error(e: BaseException) -> bool:
    from flyte.errors import BaseRuntimeError, FlyteError

    if isinstance(e, (FlyteError, BaseRuntimeError, OSError)):
        return True
    # A damaged or unreadable local store is the user's environment, not a bug in flyte.
    return type(e).__module__ == "sqlite3"


def user_error_message(e: BaseException) -> str:
    """The one line printed for a user error (without the ``Error: `` prefix)."""
    from flyte.errors import BaseRuntimeError

    if isinstance(e, BaseRuntimeError):
        return _one_line(f"{e.code}: {e.message}")
    if type(e).__module__ == "sqlite3":
        return _one_line(f"local store: {e}")
    return _one_line(str(e) or type(e).__name__)


def _fail(message: str, e: Optional[BaseException]) -> None:
    if e is not None and debug_enabled():
        traceback.print_exception(type(e), e, e.__traceback__, file=sys.stderr)
    click.echo(f"Error: {message}", err=True)


def warnings_as_one_line() -> None:
    """On the command line a warning reads ``Warning: <message>``, one line, not Python's
    two-line form quoting the source line that issued it."""
    import warnings

    def fmt(message: Any, category: Any, filename: str, lineno: int, line: Optional[str] = None) -> str:
        return f"Warning: {_one_line(str(message))}\n"

    warnings.formatwarning = fmt  # type: ignore[assignment]


def run_cli(command: click.Command, args: Optional[Sequence[str]] = None, prog_name: str = "flyte") -> int:
    """Run a click command and return the process exit code, reporting errors in one line.

    0 on success, 2 for usage errors, 130 on Ctrl-C, 1 for any other user error. An unexpected
    exception (a bug) is re-raised so that its traceback shows.
    """
    try:
        rv = command.main(args=list(args) if args is not None else None, prog_name=prog_name, standalone_mode=False)
    except click.UsageError as e:
        if type(e).__name__ == "NoArgsIsHelpError":  # a bare group: its help is the answer
            click.echo(e.format_message())
            return EXIT_USAGE
        # command_path holds the words as typed; quoted paths paste back into a shell.
        hint = f" (see: {e.ctx.command_path} --help)" if e.ctx is not None else ""
        _fail(_one_line(e.format_message()) + hint, None)  # click's own frames help nobody, even with -v
        return EXIT_USAGE
    except click.ClickException as e:
        _fail(_one_line(e.format_message()), None)
        return e.exit_code or EXIT_ERROR
    except (click.Abort, KeyboardInterrupt):
        click.echo("Aborted.", err=True)
        return EXIT_INTERRUPTED
    except click.exceptions.Exit as e:
        return e.exit_code
    except Exception as e:
        if not _is_user_error(e):
            raise
        _fail(user_error_message(e), e)
        return EXIT_ERROR
    return rv if isinstance(rv, int) and not isinstance(rv, bool) else 0


# ------------------------------------------------------------------------------------------
# Output
# ------------------------------------------------------------------------------------------
def output_option(f: F) -> F:
    """``-o/--output table|json``: the command's result as a human table or one JSON document."""
    return click.option(
        "-o",
        "--output",
        type=click.Choice(["table", "json"]),
        default="table",
        show_default=True,
        help="Output format; json prints one machine-readable document.",
    )(f)


def echo_json(data: Any) -> None:
    """Print ``data`` as one indented JSON document."""
    click.echo(json.dumps(data, indent=2, sort_keys=False, default=str))


def echo_table(headers: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
    """Print rows as aligned plain-text columns ("-" for empty cells)."""
    cells: List[List[str]] = [[str(h) for h in headers]]
    for row in rows:
        cells.append(["-" if v is None or v == "" else str(v) for v in row])
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    for r in cells:
        click.echo("  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip())


def format_time(ts: Optional[float]) -> Optional[str]:
    """Seconds since the epoch as local ``YYYY-MM-DD HH:MM:SS``."""
    if ts is None:
        return None
    return datetime.fromtimestamp(ts).strftime("%Y-%m-%d %H:%M:%S")


def format_duration(seconds: Optional[float]) -> Optional[str]:
    """A short human duration: ``850ms``, ``12.3s``, ``4m05s``, ``2h03m``."""
    if seconds is None:
        return None
    if seconds < 1:
        return f"{seconds * 1000:.0f}ms"
    if seconds < 60:
        return f"{seconds:.1f}s"
    minutes, secs = divmod(int(seconds), 60)
    if minutes < 60:
        return f"{minutes}m{secs:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m"


# The published CLI's initializer, called by plugins' commands.
from flyte.cli._published import initialize_config  # noqa: E402,F401
