"""Compatibility names of the published CLI that plugins' commands build on.

``flyteplugins-hydra`` adds ``flyte hydra run``, which takes every ``flyte run`` option
(``RunArguments.options()``), reads them back (``RunArguments.from_dict``) and initializes flyte
with ``initialize_config``. They are re-exported where the published CLI has them
(``flyte.cli._run.RunArguments``, ``flyte.cli._common.initialize_config``); the options are the
local engine's ``flyte run`` options plus the published ones such a command reads
(``--project``, ``--domain``, ``--follow``, ...), which the local engine accepts and ignores
where they mean nothing locally.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

import click

__all__ = ["CLIConfig", "RunArguments", "initialize_config"]


def _option(name: str, help_text: str, **kwargs: Any) -> Dict[str, Any]:
    return {"flag": "--" + name.replace("_", "-"), "help": help_text, **kwargs}


@dataclass(frozen=True)
class RunArguments:
    """The ``flyte run`` options a plugin's run-like command takes, read back as one record."""

    project: Optional[str] = field(default=None, metadata=_option("project", "Project of the run (recorded locally)."))
    domain: Optional[str] = field(default=None, metadata=_option("domain", "Domain of the run (recorded locally)."))
    local: bool = field(default=False, metadata=_option("local", "Run on the local engine.", is_flag=True))
    name: Optional[str] = field(default=None, metadata=_option("name", "Name of the run (default: random)."))
    raw_data_path: Optional[str] = field(default=None, metadata=_option("raw_data_path", "Where the run writes large data."))
    root_dir: Optional[str] = field(default=None, metadata=_option("root_dir", "Root directory of the user code."))
    image: Tuple[str, ...] = field(default=(), metadata=_option("image", "NAME=URI of an image (accepted; the local engine runs no images).", multiple=True))
    no_sync_local_sys_paths: bool = field(default=False, metadata=_option("no_sync_local_sys_paths", "Accepted; nothing to sync locally.", is_flag=True))
    follow: bool = field(default=False, metadata=_option("follow", "Accepted; local runs print their logs as they run.", is_flag=True))
    service_account: Optional[str] = field(default=None, metadata=_option("service_account", "Kubernetes service account (recorded; unused locally)."))
    copy_style: str = field(default="loaded_modules", metadata=_option("copy_style", "How code is bundled (unused locally).", type=click.Choice(["loaded_modules", "all", "none"])))
    debug: bool = field(default=False, metadata=_option("debug", "Accepted; see -v for tracebacks.", is_flag=True))

    @classmethod
    def options(cls) -> List[click.Option]:
        """One click option per field, named as the field."""
        out: List[click.Option] = []
        for f in dataclasses.fields(cls):
            meta = dict(f.metadata)
            flag = meta.pop("flag")
            default = f.default if f.default is not dataclasses.MISSING else None
            out.append(click.Option([flag, f.name], default=default, show_default=False, **meta))
        return out

    @classmethod
    def from_dict(cls, values: Dict[str, Any]) -> "RunArguments":
        """The record of the parsed option values (unknown keys are ignored, missing take defaults)."""
        names = {f.name for f in dataclasses.fields(cls)}
        kwargs = {k: v for k, v in values.items() if k in names and v is not None}
        if "image" in kwargs:
            kwargs["image"] = tuple(kwargs["image"])
        return cls(**kwargs)


@dataclass(frozen=True)
class CLIConfig:
    """What ``initialize_config`` hands a command: the logging settings and the run arguments."""

    log_format: str = "console"
    reset_root_logger: bool = False
    run_args: Optional[RunArguments] = None

    def replace(self, **changes: Any) -> "CLIConfig":
        """A copy with ``changes`` applied."""
        return dataclasses.replace(self, **changes)


def initialize_config(
    ctx: Any,
    project: Optional[str] = None,
    domain: Optional[str] = None,
    root_dir: Optional[str] = None,
    images: Any = None,
    sync_local_sys_paths: bool = True,
    **_ignored: Any,
) -> CLIConfig:
    """Call ``flyte.init`` for a command's options and return the settings it runs with."""
    import flyte

    flyte.init(project=project, domain=domain, root_dir=Path(root_dir) if root_dir else None)
    return CLIConfig()
