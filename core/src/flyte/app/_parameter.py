"""``Parameter``: a named value an app receives when it is served (as an env var, and by name)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, List, Optional

from flyte.errors import TypeValidationError, ValidationError

__all__ = ["Parameter"]

_ENV_RE = re.compile(r"^[_a-zA-Z][_a-zA-Z0-9]*$")
_NAME_RE = re.compile(r"^[_a-zA-Z][_a-zA-Z0-9-]*$")
_TYPES = ("string", "file", "directory", "app_endpoint")


@dataclass
class Parameter:
    """A value given to an app when it starts.

    Args:
        name: The parameter's name; ``@env.server`` / ``@env.on_startup`` functions with a
            parameter of this name receive the value.
        value: A string, a ``flyte.io.File`` or a ``flyte.io.Dir`` (None: supplied when serving,
            ``with_servecontext(parameter_values={app: {name: value}})``).
        type: ``"string"``, ``"file"``, ``"directory"`` or ``"app_endpoint"`` (inferred when None).
        env_var: Also set the value as this environment variable of the app.
        download: Download a file or directory value before the app starts (remote storage).
        mount: Where a downloaded file or directory is placed.
        ignore_patterns: Globs left out of a directory value.
    """

    name: str
    value: Optional[Any] = None
    type: Optional[str] = None
    env_var: Optional[str] = None
    download: bool = True
    mount: Optional[str] = None
    ignore_patterns: List[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        owner = f"Parameter({self.name!r})"
        if not isinstance(self.name, str) or not _NAME_RE.fullmatch(self.name):
            raise ValidationError("name", self.name, "a name of letters, digits, '_' or '-' starting with a letter or '_'", owner="Parameter")
        if self.env_var is not None and (not isinstance(self.env_var, str) or not _ENV_RE.fullmatch(self.env_var)):
            raise ValidationError("env_var", self.env_var, "a shell variable name ([_a-zA-Z][_a-zA-Z0-9]*)", owner=owner)
        if self.type is not None and self.type not in _TYPES:
            raise ValidationError("type", self.type, f"one of {', '.join(_TYPES)}", owner=owner)
        if self.value is not None and not isinstance(self.value, str):
            from flyte.io import Dir, File

            if not isinstance(self.value, (File, Dir)):
                raise TypeValidationError("value", self.value, "a str, flyte.io.File or flyte.io.Dir", owner=owner)

    def local_value(self, override: Any = None) -> Optional[str]:
        """The value as a string for serving on this machine (a file or directory by its path)."""
        value = self.value if override is None else override
        if value is None or isinstance(value, str):
            return value
        return str(getattr(value, "path", value))
