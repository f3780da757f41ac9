"""Plugins import only core's public API: no module under plugins/*/src imports ``flyte._*``.

The check reads the source (AST), so it sees every import: at module level, inside functions,
under ``TYPE_CHECKING``, and module names handed as strings to ``importlib.import_module``,
``__import__``, ``lazy_module`` or ``find_spec``.
"""

from __future__ import annotations

import ast
import textwrap
from pathlib import Path
from typing import Iterator, List, Tuple

import pytest

ROOT = Path(__file__).resolve().parents[1]
PLUGIN_SOURCES = sorted((ROOT / "plugins").glob("*/src/**/*.py"))
PUBLIC = "flyte, flyte.extend, flyte.errors, flyte.io, flyte.models, flyte.types, flyte.testing"
# Calls whose first argument names a module to import.
_IMPORTING_CALLS = {"import_module", "__import__", "lazy_module", "find_spec"}


def _private_part(module: str) -> bool:
    """True when ``module`` is ``flyte`` followed by a component with a leading underscore."""
    parts = module.split(".")
    if parts[0] != "flyte":
        return False
    return any(p.startswith("_") and not (p.startswith("__") and p.endswith("__")) for p in parts[1:])


def _call_name(func: ast.expr) -> str:
    if isinstance(func, ast.Name):
        return func.id
    if isinstance(func, ast.Attribute):
        return func.attr
    return ""


def private_imports(source: str) -> Iterator[Tuple[int, str]]:
    """(line, module) for every import of a private core module in ``source``."""
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if _private_part(alias.name):
                    yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            if _private_part(node.module):
                yield node.lineno, node.module
            else:
                for alias in node.names:  # from flyte import _task
                    full = f"{node.module}.{alias.name}"
                    if _private_part(full):
                        yield node.lineno, full
        elif isinstance(node, ast.Call) and _call_name(node.func) in _IMPORTING_CALLS and node.args:
            arg = node.args[0]
            if isinstance(arg, ast.Constant) and isinstance(arg.value, str) and _private_part(arg.value):
                yield node.lineno, arg.value


def _report(path: Path, found: List[Tuple[int, str]]) -> str:
    rel = path.relative_to(ROOT)
    lines = [f"{rel}:{line}: imports {mod}, which is private to core" for line, mod in found]
    return "\n".join(lines) + (
        f"\nPlugins use the public API only ({PUBLIC}); a name a plugin needs that is not public "
        "belongs in flyte.extend."
    )


def test_there_are_plugin_sources():
    assert len(PLUGIN_SOURCES) >= 5


@pytest.mark.parametrize("path", PLUGIN_SOURCES, ids=lambda p: str(p.relative_to(ROOT / "plugins")))
def test_plugin_module_imports_no_private_core_module(path: Path):
    found = sorted(set(private_imports(path.read_text())))
    assert not found, _report(path, found)


# -- the checker itself ---------------------------------------------------------------------


def test_the_checker_sees_every_form():
    source = textwrap.dedent(
        """
        import importlib
        from typing import TYPE_CHECKING
        import flyte._task
        import flyte.types._type_engine as te
        from flyte._context import internal_ctx
        from flyte import _initialize
        from flyte.extend import hookimpl
        from flyte import errors, __version__
        import flyteplugins._private
        if TYPE_CHECKING:
            from flyte._pod import PodTemplate

        def later():
            from flyte._resources import Resources
            mod = importlib.import_module("flyte._engine.run")
            __import__("flyte._lazy")
            return importlib.import_module("flyte.io")
        """
    )
    found = [mod for _, mod in sorted(private_imports(source))]
    assert found == [
        "flyte._task",
        "flyte.types._type_engine",
        "flyte._context",
        "flyte._initialize",
        "flyte._pod",
        "flyte._resources",
        "flyte._engine.run",
        "flyte._lazy",
    ]


def test_the_report_names_file_line_module_and_the_way_out():
    path = ROOT / "plugins" / "ray" / "src" / "flyteplugins" / "ray" / "task.py"
    text = _report(path, [(29, "flyte._task")])
    assert "plugins/ray/src/flyteplugins/ray/task.py:29" in text
    assert "flyte._task" in text and "flyte.extend" in text
