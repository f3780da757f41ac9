"""The user-facing configuration of scratch tasks: pure data, no runtime imports."""

from __future__ import annotations

from dataclasses import dataclass

from flyte.errors import ValidationError


@dataclass(frozen=True)
class ScratchConfig:
    """Give each task run a private scratch directory.

    Args:
        prefix: name prefix of the directory (letters, digits, ``-`` and ``_``).
        keep: keep the directory after the task (its path is logged); default: delete it.
        report_usage: make the task return the bytes left in the directory instead of the
            function's own value.
    """

    prefix: str = "scratch-"
    keep: bool = False
    report_usage: bool = False

    def __post_init__(self) -> None:
        if not isinstance(self.prefix, str) or not self.prefix.replace("-", "").replace("_", "").isalnum():
            raise ValidationError("prefix", self.prefix, "letters, digits, '-' and '_' only", owner="ScratchConfig")
