"""Loading user files for the CLI commands, on top of :mod:`flyte._loader`.

Every command names a file's module the same way (by its path relative to the root directory,
see :mod:`flyte._loader`), so ``flyte run``, ``flyte deploy`` and ``flyte build`` agree with each
other and with the container command a deployed task gets.
"""

from __future__ import annotations

from pathlib import Path
from types import ModuleType
from typing import Any, Dict, List, Optional, Tuple, Union

import click

__all__ = ["load_module_from_file", "load_python_files", "python_files", "tasks_in_module"]

# Folders that never hold user code worth importing.
_SKIP_DIRS = {"__pycache__", "site-packages", "node_modules", "build", "dist"}


def load_module_from_file(path: str, root_dir: Union[str, Path, None] = None) -> ModuleType:
    """Import the Python file FILE of a command line (``root_dir`` default: the working directory).

    A path that is not a ``.py`` file is a usage error naming FILE; a file that fails to import
    is a one-line :class:`~flyte.errors.ModuleLoadError`.
    """
    from flyte._loader import load_file

    p = Path(path)
    if not p.is_file() or p.suffix != ".py":
        raise click.BadParameter(f"{path!r} is not a Python file", param_hint="FILE")
    return load_file(p, root_dir)


def tasks_in_module(module: Any) -> Dict[str, Any]:
    """The tasks held by module-level variables of ``module``, by variable name."""
    from flyte._task import TaskTemplate

    return {name: obj for name, obj in vars(module).items() if isinstance(obj, TaskTemplate)}


def python_files(path: Path, recursive: bool) -> List[Path]:
    """``path`` itself when a file, else its ``.py`` files (everything under it when ``recursive``),
    skipping hidden and build folders."""
    if path.is_file():
        return [path]
    pattern = path.rglob("*.py") if recursive else path.glob("*.py")
    files = []
    for f in sorted(pattern):
        rel = f.relative_to(path).parts[:-1]
        if any(p.startswith(".") or p in _SKIP_DIRS for p in rel):
            continue
        files.append(f)
    return files


def load_python_files(path: Path, root: Path, recursive: bool) -> Tuple[List[Any], List[Tuple[Path, str]]]:
    """Import ``path`` (a file, or the .py files of a folder); return (modules, failures)."""
    from flyte._loader import load_file
    from flyte.errors import ModuleLoadError

    modules: List[Any] = []
    failures: List[Tuple[Path, str]] = []
    for f in python_files(path, recursive):
        try:
            modules.append(load_file(f, root))
        except ModuleLoadError as e:
            cause: Optional[BaseException] = e.__cause__
            failures.append((f, f"{type(cause).__name__}: {cause}" if cause is not None else e.message))
        except Exception as e:
            failures.append((f, f"{type(e).__name__}: {e}"))
    return modules, failures
