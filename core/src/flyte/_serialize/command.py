"""The container command of a task, and how the container finds the task again.

A task runs in a container (or any process) as::

    flyte-execute --inputs URI --outputs-prefix URI [options] --resolver flyte.resolve.module \\
        -- module <module> task <attribute>

Everything after ``--`` is the *locator*: arguments handed to the resolver named by
``--resolver``, which imports the task. The built-in resolver ``flyte.resolve.module`` takes
``module <dotted module name> task <attribute path>``; any other resolver is given as
``package.module:callable`` and is called with the locator arguments, returning the task.

Cluster-filled values are Flyte template strings (``{{.input}}``, ``{{.runName}}``, ...);
``flyte-execute`` treats one that was never filled in as not given, so the same command also
runs as a plain local process once the input and output locations are substituted.
"""

from __future__ import annotations

import importlib
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Dict, List, Optional, Tuple

from flyte.errors import ValidationError

if TYPE_CHECKING:
    from flyte._task import TaskTemplate
    from flyte.models import SerializationContext

__all__ = [
    "DEFAULT_RESOLVER",
    "ENTRYPOINT",
    "is_placeholder",
    "load_task",
    "module_name_for_file",
    "task_command",
    "task_locator",
]

ENTRYPOINT = "flyte-execute"
"""The console script that runs a task from serialized inputs (``flyte._serialize.entrypoint``)."""

DEFAULT_RESOLVER = "flyte.resolve.module"
"""The resolver that imports a task by module name and attribute path."""

# Filled in by the cluster for every attempt; left as is when the command runs elsewhere.
RAW_DATA_TEMPLATE = "{{.rawOutputDataPrefix}}"
RUN_NAME_TEMPLATE = "{{.runName}}"
ACTION_NAME_TEMPLATE = "{{.actionName}}"


def is_placeholder(value: Optional[str]) -> bool:
    """True for a value that is unset or still a cluster template string (``{{.input}}``)."""
    if value is None:
        return True
    text = value.strip()
    return not text or (text.startswith("{{") and text.endswith("}}"))


def module_name_for_file(path: Path, root_dir: Path) -> Optional[str]:
    """The dotted module name of ``path`` relative to ``root_dir`` (None when outside it)."""
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


def _owner(task: "TaskTemplate") -> str:
    return f"task {task.name}"


def _root_dir(sctx: "SerializationContext") -> Path:
    return Path(sctx.root_dir) if sctx.root_dir is not None else Path.cwd()


def _importable_name(module_name: str, module: Any, task: "TaskTemplate", sctx: "SerializationContext") -> str:
    """The name under which the container imports ``module`` (``__main__`` becomes its file's name)."""
    if module_name != "__main__":
        return module_name
    file = getattr(module, "__file__", None)
    if not file:
        raise ValidationError(
            "module",
            "__main__",
            "a task defined in a file (an interactive session has no module a container can import)",
            owner=_owner(task),
        )
    root = _root_dir(sctx)
    name = module_name_for_file(Path(file), root)
    if name is None:
        raise ValidationError(
            "module",
            str(file),
            f"a Python file under the root directory {root} whose path parts are identifiers "
            "(set the root directory with --root-dir or flyte.init(root_dir=...))",
            owner=_owner(task),
        )
    return name


def _lookup(module: Any, attr_path: str) -> Any:
    obj = module
    for part in attr_path.split("."):
        obj = getattr(obj, part, None)
        if obj is None:
            return None
    return obj


def _matches(candidate: Any, task: "TaskTemplate") -> bool:
    from flyte._task import TaskTemplate

    # An overridden copy is served by the original: same name, same code.
    return candidate is task or (isinstance(candidate, TaskTemplate) and candidate.name == task.name)


def _find_attribute(module: Any, task: "TaskTemplate") -> Optional[str]:
    func = getattr(task, "func", None)
    qualname = getattr(func, "__qualname__", None)
    if qualname and "<locals>" not in qualname and _matches(_lookup(module, qualname), task):
        return qualname
    for name, value in vars(module).items():
        if value is task:
            return name
    for name, value in vars(module).items():
        if _matches(value, task):
            return name
    return None


def task_locator(task: "TaskTemplate", sctx: "SerializationContext") -> Tuple[str, str]:
    """``(module, attribute path)`` under which a container can import ``task``.

    Function tasks are found in their function's module under the function's name (what
    ``@env.task`` leaves there); other templates by the module-level variable that holds them.
    A task defined in a script run as ``__main__`` is named after its file relative to the root
    directory (``sctx.root_dir``, else the working directory). A task that no module holds at
    the top level cannot be loaded by a container and is an error naming it.
    """
    func = getattr(task, "func", None)
    candidates: List[str] = []
    mod_name = getattr(func, "__module__", None) if func is not None else None
    if mod_name:
        candidates.append(mod_name)
    for mod_name in candidates:
        module = sys.modules.get(mod_name)
        if module is None:
            continue
        attr = _find_attribute(module, task)
        if attr is not None:
            return _importable_name(mod_name, module, task, sctx), attr
    # Templates that are not functions: whichever loaded module holds the object.
    for mod_name, module in list(sys.modules.items()):
        if module is None or mod_name in candidates:
            continue
        try:
            values = list(vars(module).items())
        except TypeError:
            continue
        for name, value in values:
            if value is task:
                return _importable_name(mod_name, module, task, sctx), name
    where = f"{candidates[0]}.{getattr(func, '__qualname__', '?')}" if candidates else repr(task)
    raise ValidationError(
        "location",
        where,
        "a task defined at the top level of a module (a container imports it by module and name; "
        "tasks made inside functions or under another name cannot be found)",
        owner=_owner(task),
    )


def task_command(task: "TaskTemplate", sctx: "SerializationContext") -> List[str]:
    """The argument list a container runs to execute ``task`` from serialized inputs.

    Inputs are read from ``sctx.input_path`` (a ``LiteralMap`` protobuf file); outputs, or an
    error document, are written under ``sctx.output_path``. With a code bundle in ``sctx``
    the container first downloads and unpacks it.
    """
    module, attr = task_locator(task, sctx)
    args = [
        ENTRYPOINT,
        "--inputs",
        sctx.input_path,
        "--outputs-prefix",
        sctx.output_path,
        "--raw-data-path",
        RAW_DATA_TEMPLATE,
        "--run-name",
        RUN_NAME_TEMPLATE,
        "--name",
        ACTION_NAME_TEMPLATE,
        "--version",
        sctx.version,
    ]
    if sctx.project:
        args += ["--project", sctx.project]
    if sctx.domain:
        args += ["--domain", sctx.domain]
    bundle = sctx.code_bundle
    if bundle is not None and bundle.tgz:
        args += ["--tgz", bundle.tgz, "--dest", bundle.destination or "."]
    args += ["--resolver", DEFAULT_RESOLVER, "--", "module", module, "task", attr]
    return args


# ------------------------------------------------------------------------------------------
# Loading (the container side)
# ------------------------------------------------------------------------------------------
def _resolve_by_module(loader_args: List[str]) -> Any:
    if len(loader_args) != 4 or loader_args[0] != "module" or loader_args[2] != "task":
        raise ValidationError(
            "locator",
            " ".join(loader_args),
            f"'module <module> task <attribute>' for resolver {DEFAULT_RESOLVER}",
            owner=ENTRYPOINT,
        )
    module_name, attr = loader_args[1], loader_args[3]
    module = importlib.import_module(module_name)
    obj = _lookup(module, attr)
    if obj is None:
        raise ValidationError("task", f"{module_name}.{attr}", f"an attribute of module {module_name}", owner=ENTRYPOINT)
    return obj


_RESOLVERS: Dict[str, Callable[[List[str]], Any]] = {DEFAULT_RESOLVER: _resolve_by_module}


def load_task(resolver: str, loader_args: List[str]) -> "TaskTemplate":
    """Import the task that ``loader_args`` locate, with ``resolver``.

    ``resolver`` is ``flyte.resolve.module`` or ``package.module:callable`` (a function taking
    the locator arguments and returning the task).
    """
    from flyte._task import TaskTemplate

    fn = _RESOLVERS.get(resolver)
    if fn is None:
        mod_name, sep, attr = resolver.partition(":")
        if not sep or not mod_name or not attr:
            raise ValidationError(
                "resolver", resolver, f"{DEFAULT_RESOLVER} or 'package.module:callable'", owner=ENTRYPOINT
            )
        fn = _lookup(importlib.import_module(mod_name), attr)
        if not callable(fn):
            raise ValidationError("resolver", resolver, "a callable taking the locator arguments", owner=ENTRYPOINT)
    task = fn(list(loader_args))
    if not isinstance(task, TaskTemplate):
        raise ValidationError(
            "task", " ".join(loader_args), f"a flyte task (got {type(task).__name__})", owner=ENTRYPOINT
        )
    return task
