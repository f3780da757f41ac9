"""The one loader of user code: a file or a module name in, a module (or a task) out.

``flyte run``, ``flyte deploy``, ``flyte build`` and ``flyte-execute`` all load user code here,
so that one file gets one module name whichever of them loads it - the name under which a
container imports it again:

* a file under the root directory (``--root-dir``, ``flyte.init(root_dir=...)``, else the
  working directory) is named by its path relative to the root, as a dotted name
  (``pkg/sub/jobs.py`` -> ``pkg.sub.jobs``; ``__init__.py`` names its package), and imports
  with the root first on ``sys.path``;
* any other file (outside the root, or with a path part that is not an identifier) is named by
  its stem and imports with its own folder first on ``sys.path``.

A file that fails to import is one :class:`~flyte.errors.ModuleLoadError` naming the file (and
the line, for a syntax error). Plugins that ship a task's code somewhere else (a Ray job's
working directory, Spark's ``--py-files``, a torch working dir) ask
:func:`task_module_location` where the task's module imports from.

This module imports only the standard library and :mod:`flyte.errors`; tasks are recognised by
their shape (see :func:`is_task`), so any layer may use it.
"""

from __future__ import annotations

import importlib
import sys
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any, Callable, Dict, List, Optional, Tuple, Union

from flyte.errors import ModuleLoadError, ValidationError

__all__ = [
    "DEFAULT_RESOLVER",
    "ModuleLocation",
    "is_task",
    "load_file",
    "load_task",
    "lookup",
    "module_location",
    "module_name_for_file",
    "task_module_location",
]

DEFAULT_RESOLVER = "flyte.resolve.module"
"""The resolver that imports a task by module name and attribute path."""

# The console script that loads tasks from a locator; named in its errors.
_EXECUTE = "flyte-execute"


# ------------------------------------------------------------------------------------------
# Module names
# ------------------------------------------------------------------------------------------
def module_name_for_file(path: Union[str, Path], root_dir: Union[str, Path]) -> Optional[str]:
    """The dotted module name of ``path`` relative to ``root_dir`` (None when outside it, or
    when a part of the relative path is not an identifier)."""
    try:
        rel = Path(path).resolve().relative_to(Path(root_dir).resolve())
    except ValueError:
        return None
    parts = list(rel.with_suffix("").parts)
    if parts and parts[-1] == "__init__":
        parts.pop()
    if not parts or not all(p.isidentifier() for p in parts):
        return None
    return ".".join(parts)


def _name_and_entry(file: Path, root: Path) -> Tuple[str, Path]:
    """(module name, ``sys.path`` entry) under which ``file`` is loaded (see the module docs)."""
    name = module_name_for_file(file, root)
    if name is not None:
        return name, root.resolve()
    return file.stem, file.resolve().parent


@dataclass(frozen=True)
class ModuleLocation:
    """Where a module's code lives: it imports as ``name`` when ``root`` is on ``sys.path``."""

    name: str
    """The dotted module name."""
    root: Path
    """The directory that must be on ``sys.path`` (a job's working directory, say)."""
    file: Path
    """The module's file."""


def module_location(module: ModuleType) -> Optional[ModuleLocation]:
    """Where the loaded ``module`` imports from; None for ``__main__`` and for modules without a
    file (built-ins, namespace packages, interactive sessions)."""
    name = getattr(module, "__name__", None)
    file = getattr(module, "__file__", None)
    if not name or name == "__main__" or not file:
        return None
    path = Path(file).resolve()
    root = path.parent
    # One folder up per dotted part, and one more for a package's __init__.py.
    for _ in range(name.count(".") + (1 if path.name == "__init__.py" else 0)):
        root = root.parent
    return ModuleLocation(name, root, path)


def task_module_location(task: Any, root_dir: Union[str, Path, None] = None) -> Optional[ModuleLocation]:
    """Where the module that defines ``task`` imports from, as a container would import it.

    A task of a script run as ``__main__`` is named by its file relative to ``root_dir`` (default
    the working directory), as the task's container command names it. None when the task has
    no function, its module has no file, or a ``__main__`` script lies outside ``root_dir``.
    """
    func = getattr(task, "func", None)
    name = getattr(func, "__module__", None)
    module = sys.modules.get(name) if name else None
    if module is None:
        return None
    if name != "__main__":
        return module_location(module)
    file = getattr(module, "__file__", None)
    if not file:
        return None
    root = Path(root_dir) if root_dir is not None else Path.cwd()
    main_name = module_name_for_file(file, root)
    if main_name is None:
        return None
    return ModuleLocation(main_name, root.resolve(), Path(file).resolve())


# ------------------------------------------------------------------------------------------
# Loading files
# ------------------------------------------------------------------------------------------
def _same_file(module: ModuleType, file: Path) -> bool:
    loaded = getattr(module, "__file__", None)
    return bool(loaded) and Path(loaded).resolve() == file


def _explain(e: BaseException, name: str, root: Path) -> str:
    """Why importing ``name`` failed, in a few words (a hidden package says which one hides it)."""
    text = f"{type(e).__name__}: {e}"
    missing = getattr(e, "name", None) if isinstance(e, ModuleNotFoundError) else None
    if not missing or not (name == missing or name.startswith(missing + ".")):
        return text
    # Our own module (or a folder above it) was not found under its name: another package of
    # the same top-level name, found elsewhere on sys.path, hides the folder.
    top = name.split(".", 1)[0]
    other = sys.modules.get(top)
    where = getattr(other, "__file__", None) if other is not None else None
    if where and not Path(where).resolve().is_relative_to(root):
        return (
            f"{text} (the package {top!r} at {where} hides the folder {root / top}: "
            "rename the folder or load from another root directory)"
        )
    return text


def load_file(path: Union[str, Path], root_dir: Union[str, Path, None] = None) -> ModuleType:
    """Import the Python file ``path`` under its module name (see the module docs) and return it.

    ``root_dir`` defaults to the working directory. A module already loaded from the same file
    is returned as is; one of the same name from another file is replaced. Raises
    ValidationError when ``path`` is not a ``.py`` file, and ModuleLoadError (one line naming
    the file) when it fails to import.
    """
    file = Path(path)
    if not file.is_file() or file.suffix != ".py":
        raise ValidationError("file", str(path), "an existing Python file (.py)")
    resolved = file.resolve()
    root = Path(root_dir).resolve() if root_dir is not None else Path.cwd().resolve()
    name, entry = _name_and_entry(resolved, root)
    if str(entry) not in sys.path:
        sys.path.insert(0, str(entry))
    loaded = sys.modules.get(name)
    if loaded is not None:
        if _same_file(loaded, resolved):
            return loaded
        del sys.modules[name]
    try:
        module = importlib.import_module(name)
    except Exception as e:  # the user's file failed to import: say where, in one line
        where = f" (line {e.lineno})" if isinstance(e, SyntaxError) and e.lineno else ""
        raise ModuleLoadError(f"could not load {path}{where}: {_explain(e, name, entry)}") from e
    if not _same_file(module, resolved):
        found = getattr(module, "__file__", None) or "a namespace package"
        raise ModuleLoadError(
            f"could not load {path}: its module name {name!r} is taken by {found} (rename the file or its folder)"
        )
    return module


# ------------------------------------------------------------------------------------------
# Tasks
# ------------------------------------------------------------------------------------------
def is_task(obj: Any) -> bool:
    """Whether ``obj`` is a flyte task (a ``TaskTemplate``), told by its shape.

    The loader sits below the task model, so it checks what every task has - a name, an
    interface, a task type and the ``pre``/``execute``/``post`` lifecycle - instead of the class.
    """
    if isinstance(obj, type):
        return False
    return (
        isinstance(getattr(obj, "name", None), str)
        and isinstance(getattr(obj, "task_type", None), str)
        and hasattr(obj, "interface")
        and all(callable(getattr(obj, m, None)) for m in ("pre", "execute", "post"))
    )


def lookup(obj: Any, attr_path: str) -> Any:
    """``obj.a.b.c`` for ``attr_path`` ``"a.b.c"``; None when any step is missing."""
    for part in attr_path.split("."):
        obj = getattr(obj, part, None)
        if obj is None:
            return None
    return obj


def _resolve_by_module(loader_args: List[str]) -> Any:
    if len(loader_args) != 4 or loader_args[0] != "module" or loader_args[2] != "task":
        raise ValidationError(
            "locator",
            " ".join(loader_args),
            f"'module <module> task <attribute>' for resolver {DEFAULT_RESOLVER}",
            owner=_EXECUTE,
        )
    module_name, attr = loader_args[1], loader_args[3]
    module = importlib.import_module(module_name)
    obj = lookup(module, attr)
    if obj is None:
        raise ValidationError("task", f"{module_name}.{attr}", f"an attribute of module {module_name}", owner=_EXECUTE)
    return obj


_RESOLVERS: Dict[str, Callable[[List[str]], Any]] = {DEFAULT_RESOLVER: _resolve_by_module}


def load_task(resolver: str, loader_args: List[str]) -> Any:
    """Import the task that ``loader_args`` locate, with ``resolver``.

    ``resolver`` is ``flyte.resolve.module`` (``loader_args``: ``module <dotted module name>
    task <attribute path>``) or ``package.module:callable`` (a function taking the locator
    arguments and returning the task). Raises ValidationError for a malformed resolver or
    locator, or when what they find is not a task.
    """
    fn = _RESOLVERS.get(resolver)
    if fn is None:
        mod_name, sep, attr = resolver.partition(":")
        if not sep or not mod_name or not attr:
            raise ValidationError(
                "resolver", resolver, f"{DEFAULT_RESOLVER} or 'package.module:callable'", owner=_EXECUTE
            )
        fn = lookup(importlib.import_module(mod_name), attr)
        if not callable(fn):
            raise ValidationError("resolver", resolver, "a callable taking the locator arguments", owner=_EXECUTE)
    task = fn(list(loader_args))
    if not is_task(task):
        raise ValidationError(
            "task", " ".join(loader_args), f"a flyte task (got {type(task).__name__})", owner=_EXECUTE
        )
    return task
