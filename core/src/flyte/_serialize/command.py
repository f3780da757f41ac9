"""The container command of a task, and how the container finds the task again.

A task runs in a container (or any process) as::

    flyte-execute --inputs URI --outputs-prefix URI [options] --resolver flyte.resolve.module \\
        -- module <module> task <attribute>

Everything after ``--`` is the *locator*: arguments handed to the resolver named by
``--resolver``, which imports the task. The built-in resolver ``flyte.resolve.module`` takes
``module <dotted module name> task <attribute path>``; any other resolver is given as
``package.module:callable`` and is called with the locator arguments, returning the task.
The container side (:func:`flyte._loader.load_task`) lives with the loader of user code.

Cluster-filled values are Flyte template strings (``{{.input}}``, ``{{.runName}}``, ...);
``flyte-execute`` treats one that was never filled in as not given, so the same command also
runs as a plain local process once the input and output locations are substituted.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any, List, Optional, Tuple

from flyte._loader import DEFAULT_RESOLVER, lookup, module_name_for_file
from flyte.errors import ValidationError

if TYPE_CHECKING:
    from flyte.models import SerializationContext

__all__ = [
    "DEFAULT_RESOLVER",
    "ENTRYPOINT",
    "is_placeholder",
    "task_command",
    "task_locator",
]

ENTRYPOINT = "flyte-execute"
"""The console script that runs a task from serialized inputs (``flyte._serialize.entrypoint``)."""

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


def _owner(task: Any) -> str:
    return f"task {task.name}"


def _root_dir(sctx: "SerializationContext") -> Path:
    return Path(sctx.root_dir) if sctx.root_dir is not None else Path.cwd()


def _importable_name(module_name: str, module: Any, task: Any, sctx: "SerializationContext") -> str:
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


def _matches(candidate: Any, task: Any) -> bool:
    # An overridden copy is served by the original: same name, same code (and same class).
    return candidate is task or (isinstance(candidate, type(task)) and candidate.name == task.name)


def _find_attribute(module: Any, task: Any) -> Optional[str]:
    func = getattr(task, "func", None)
    qualname = getattr(func, "__qualname__", None)
    if qualname and "<locals>" not in qualname and _matches(lookup(module, qualname), task):
        return qualname
    for name, value in vars(module).items():
        if value is task:
            return name
    for name, value in vars(module).items():
        if _matches(value, task):
            return name
    return None


def task_locator(task: Any, sctx: "SerializationContext") -> Tuple[str, str]:
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


def task_command(task: Any, sctx: "SerializationContext") -> List[str]:
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
