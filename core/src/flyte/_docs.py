"""``Documentation`` of a task: its description, given explicitly or taken from the docstring."""

from __future__ import annotations

import inspect
from dataclasses import dataclass
from typing import Any, Callable, Optional

from flyte.errors import TypeValidationError

__all__ = ["Documentation", "extract_docstring"]


@dataclass
class Documentation:
    """Documentation of a task.

    Args:
        description: What the task does. The first line is its short description.
    """

    description: str

    def __post_init__(self) -> None:
        if not isinstance(self.description, str):
            raise TypeValidationError("description", self.description, "str", owner="Documentation")

    @property
    def short_description(self) -> str:
        """The first non-empty line of the description."""
        for line in self.description.splitlines():
            if line.strip():
                return line.strip()
        return ""

    def __help__str__(self) -> str:
        return self.description


def extract_docstring(func: Optional[Callable[..., Any]]) -> Documentation:
    """The ``Documentation`` of a function from its docstring (empty when there is none)."""
    if func is None:
        return Documentation(description="")
    return Documentation(description=inspect.getdoc(func) or "")
