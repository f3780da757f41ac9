"""The ``flyte`` command: a click group whose subcommands are imported only when needed.

Built-in subcommands are one line each in :data:`LAZY_SUBCOMMANDS` (``name -> "module:attribute"``);
a module that is not part of this installation is skipped. Plugins add subcommands through the
``flyte.plugins.cli.commands`` entry point group (each entry point is a click command or group,
named by its subcommand). Entry points are listed at most once per process, and only when a
name is not built in or when help lists every command; a plugin command that fails to import is
reported with its distribution and the error, and the other commands keep working.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import sys
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence

import click

from flyte._version import __version__
from flyte.cli._common import run_cli, set_verbosity

__all__ = ["LAZY_SUBCOMMANDS", "LazyGroup", "flyte", "main"]

# name -> "module:attribute". Adding a built-in command is one line here.
LAZY_SUBCOMMANDS: Dict[str, str] = {
    "build": "flyte.cli._build:build",
    "deploy": "flyte.cli._deploy:deploy",
    "get": "flyte.cli._get:get",
    "run": "flyte.cli._run:run",
    "serve": "flyte.cli._serve:serve",
}

PLUGIN_COMMAND_GROUP = "flyte.plugins.cli.commands"


def _broken_command(name: str, message: str) -> click.Command:
    """A stand-in for a command that could not be loaded: listed in help, fails when invoked."""

    def fail() -> None:
        from flyte.errors import PluginError

        raise PluginError(message)

    cmd = click.Command(name, callback=fail, help=message, short_help=f"(unavailable) {message}")
    cmd.load_error = message  # type: ignore[attr-defined]
    return cmd


class LazyGroup(click.Group):
    """A click group that imports its subcommands on first use.

    ``lazy_subcommands`` maps a name to ``"module:attribute"``; ``plugin_group`` names the entry
    point group whose entry points add further subcommands (built-in names win over plugins).
    """

    def __init__(
        self,
        *args: Any,
        lazy_subcommands: Optional[Dict[str, str]] = None,
        plugin_group: Optional[str] = None,
        **kwargs: Any,
    ):
        super().__init__(*args, **kwargs)
        self.lazy_subcommands = dict(lazy_subcommands or {})
        self.plugin_group = plugin_group
        self._loaded: Dict[str, Optional[click.Command]] = {}
        self._plugin_eps: Optional[Dict[str, Any]] = None
        self._warned: set = set()

    # -- built-in ---------------------------------------------------------------------------
    def _available(self, name: str) -> bool:
        module = self.lazy_subcommands[name].split(":", 1)[0]
        try:
            return importlib.util.find_spec(module) is not None
        except (ImportError, ValueError):
            return False

    def _load_lazy(self, name: str) -> Optional[click.Command]:
        module_name, _, attr = self.lazy_subcommands[name].partition(":")
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as e:
            if e.name == module_name:
                return None  # not part of this installation
            return _broken_command(name, f"command '{name}' failed to load: {type(e).__name__}: {e}")
        except Exception as e:
            return _broken_command(name, f"command '{name}' failed to load: {type(e).__name__}: {e}")
        cmd = getattr(module, attr or name, None)
        if not isinstance(cmd, click.Command):
            return _broken_command(name, f"command '{name}': {module_name}.{attr} is not a click command")
        return cmd

    # -- plugins ----------------------------------------------------------------------------
    def _plugins(self) -> Dict[str, Any]:
        if self._plugin_eps is None:
            eps: Dict[str, Any] = {}
            if self.plugin_group:
                from flyte._plugins.manager import list_entry_points

                for ep in list_entry_points(self.plugin_group):
                    if ep.name not in self.lazy_subcommands and ep.name not in self.commands:
                        eps[ep.name] = ep
            self._plugin_eps = eps
        return self._plugin_eps

    def _load_plugin(self, name: str) -> click.Command:
        from flyte._plugins.manager import distribution_name

        ep = self._plugins()[name]
        dist = distribution_name(ep)
        try:
            obj = ep.load()
        except Exception as e:
            message = f"plugin command '{name}' from distribution '{dist}' failed to load: {type(e).__name__}: {e}"
            return _broken_command(name, message)
        if not isinstance(obj, click.Command):
            message = (
                f"plugin command '{name}' from distribution '{dist}' is not a click command "
                f"(entry point {ep.value} is a {type(obj).__name__})"
            )
            return _broken_command(name, message)
        return obj

    # -- click API --------------------------------------------------------------------------
    def list_commands(self, ctx: click.Context) -> List[str]:
        names = set(self.commands)
        names.update(n for n in self.lazy_subcommands if self._available(n))
        names.update(self._plugins())
        return sorted(names)

    def get_command(self, ctx: click.Context, cmd_name: str) -> Optional[click.Command]:
        if cmd_name in self.commands:
            return self.commands[cmd_name]
        if cmd_name not in self._loaded:
            if cmd_name in self.lazy_subcommands:
                self._loaded[cmd_name] = self._load_lazy(cmd_name)
            elif cmd_name in self._plugins():
                self._loaded[cmd_name] = self._load_plugin(cmd_name)
            else:
                return None
        return self._loaded[cmd_name]

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        super().format_commands(ctx, formatter)
        # Help cuts short descriptions; say in full, once, what could not be loaded and why.
        for name, cmd in self._loaded.items():
            if cmd is not None and getattr(cmd, "load_error", None) and name not in self._warned:
                self._warned.add(name)
                click.echo(f"Warning: {cmd.load_error}", err=True)  # type: ignore[attr-defined]


def _set_config(ctx: click.Context, param: click.Parameter, value: Optional[str]) -> Optional[str]:
    if value is not None:
        os.environ["FLYTE_CONFIG"] = str(Path(value).resolve())
        init = sys.modules.get("flyte._initialize")
        if init is not None:  # a configuration read before this option must not stick
            init.reset()
    return value


@click.group(
    cls=LazyGroup,
    lazy_subcommands=LAZY_SUBCOMMANDS,
    plugin_group=PLUGIN_COMMAND_GROUP,
    context_settings={"help_option_names": ["-h", "--help"]},
)
@click.version_option(version=__version__, prog_name="flyte", message="%(prog)s %(version)s")
@click.option(
    "--config",
    type=click.Path(exists=True, dir_okay=False),
    callback=_set_config,
    expose_value=False,
    is_eager=True,
    help="Config file to use (sets FLYTE_CONFIG); default: .flyte/config.yaml here or above.",
)
@click.option("-v", "--verbose", count=True, help="Log more (-vv: debug) and show tracebacks of errors.")
def flyte(verbose: int) -> None:
    """Run and inspect flyte tasks.

    Runs, their actions, logs and cached outputs are recorded in the local store
    (FLYTE_LOCAL_STORE, else ~/.flyte/local.db).
    """
    set_verbosity(verbose)


def main(argv: Optional[Sequence[str]] = None) -> None:
    """Entry point of the ``flyte`` console script."""
    from flyte.cli._common import warnings_as_one_line

    warnings_as_one_line()  # the console's process only: in-process callers keep their own format
    sys.exit(run_cli(flyte, argv))


if __name__ == "__main__":
    main()
