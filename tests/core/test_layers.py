"""The layers of core hold, and no package has an import cycle.

The contracts live in ``.importlinter`` at the repository root (import-linter, which builds its
graph with grimp). grimp reads every import statement of a module, also those inside functions
and under ``if TYPE_CHECKING:``; an import cycle that only closes through such deferred imports
is still a cycle here, because that is how cycles grow unnoticed.
"""

from __future__ import annotations

import configparser
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Dict, Iterable, List, Set, Tuple

import grimp
import importlinter  # noqa: F401 - a declared test dependency (requirements-dev.txt): fail here if missing
import pytest

ROOT = Path(__file__).resolve().parents[2]
CONTRACTS = ROOT / ".importlinter"
PLUGIN_PACKAGES = sorted(
    f"flyteplugins.{p.name}" for p in ROOT.glob("plugins/*/src/flyteplugins/*") if (p / "__init__.py").is_file()
)
# Package __init__ modules that only group their children; the children are placed in layers.
GROUPING_PACKAGES = {"flyte._engine", "flyte._serialize"}


def _graph(*packages: str) -> grimp.ImportGraph:
    return grimp.build_graph(*packages, include_external_packages=False, cache_dir=None)


def _cycles(graph: grimp.ImportGraph) -> List[List[str]]:
    """The strongly connected components of more than one module (iterative Tarjan)."""
    index: Dict[str, int] = {}
    low: Dict[str, int] = {}
    on_stack: Set[str] = set()
    stack: List[str] = []
    found: List[List[str]] = []
    counter = 0
    for start in sorted(graph.modules):
        if start in index:
            continue
        work: List[Tuple[str, Iterable[str]]] = [(start, iter(sorted(graph.find_modules_directly_imported_by(start))))]
        index[start] = low[start] = counter
        counter += 1
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            advanced = False
            for child in children:
                if child not in graph.modules:
                    continue
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph.find_modules_directly_imported_by(child)))))
                    advanced = True
                    break
                if child in on_stack:
                    low[node] = min(low[node], index[child])
            if advanced:
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return found


def _describe(graph: grimp.ImportGraph, cycles: List[List[str]]) -> str:
    lines = []
    for component in cycles:
        members = set(component)
        lines.append(f"cycle of {len(component)} modules: {', '.join(component)}")
        for importer in component:
            for imported in sorted(graph.find_modules_directly_imported_by(importer) & members):
                where = sorted({d["line_number"] for d in graph.get_import_details(importer=importer, imported=imported)})
                lines.append(f"    {importer} -> {imported} (line {', '.join(map(str, where))})")
    return "\n".join(lines)


def _layer_entries() -> List[Tuple[str, bool]]:
    """(module, optional) for every entry of the core layers contract."""
    parser = configparser.ConfigParser()
    parser.read(CONTRACTS)
    entries = []
    for line in parser["importlinter:contract:core-layers"]["layers"].strip().splitlines():
        for raw in line.replace("|", ":").split(":"):
            name = raw.strip()
            optional = name.startswith("(") and name.endswith(")")
            entries.append((name.strip("()"), optional))
    return entries


def _lint(config: Path) -> Tuple[int, str]:
    # In a child process: import-linter configures logging, which would leak into later tests.
    code = (
        "import sys\n"
        "from importlinter.cli import lint_imports\n"
        f"sys.exit(lint_imports(config_filename={str(config)!r}, no_cache=True, no_logo=True))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=config.parent, capture_output=True, text=True, timeout=300,
        env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)},
    )
    return out.returncode, out.stdout + out.stderr


# -- core -------------------------------------------------------------------------------------


def test_the_layer_contracts_hold():
    code, report = _lint(CONTRACTS)
    assert code == 0, f"an import goes up a layer (see docs/ARCHITECTURE.md, Layers):\n{report}"


def test_every_core_module_is_placed_in_exactly_one_layer():
    graph = _graph("flyte")
    entries = _layer_entries()
    names = [name for name, _ in entries]
    assert len(names) == len(set(names)), "a module is listed twice in .importlinter"
    missing_required = [name for name, optional in entries if not optional and name not in graph.modules]
    assert not missing_required, f"listed in .importlinter but not in flyte: {missing_required}"
    unplaced = []
    for module in sorted(graph.modules):
        if module == "flyte" or module in GROUPING_PACKAGES:
            continue
        owners = [n for n in names if module == n or module.startswith(n + ".")]
        if len(owners) != 1:
            unplaced.append(f"{module} (in {owners or 'no layer'})")
    assert not unplaced, "place each module in one layer of .importlinter:\n  " + "\n  ".join(unplaced)


def test_grouping_packages_import_nothing_of_their_own():
    # Their __init__ runs before any child is imported; an import there would skip the layers.
    graph = _graph("flyte")
    for package in sorted(GROUPING_PACKAGES):
        assert not graph.find_modules_directly_imported_by(package), package


def test_only_the_top_layer_imports_the_flyte_package_itself():
    graph = _graph("flyte")
    top = {"flyte.cli", "flyte.testing", "flyte.extend"}
    importers = {
        m for m in graph.find_modules_that_directly_import("flyte") if not any(m == t or m.startswith(t + ".") for t in top)
    }
    assert not importers, f"`import flyte` / `from flyte import <name>` below the top layer: {sorted(importers)}"


def test_core_has_no_import_cycles():
    graph = _graph("flyte")
    cycles = _cycles(graph)
    assert not cycles, "import cycles in core (deferred and TYPE_CHECKING imports count):\n" + _describe(graph, cycles)


# -- plugins ----------------------------------------------------------------------------------


def test_every_plugin_package_is_checked():
    assert {"flyteplugins.ray", "flyteplugins.spark", "flyteplugins.types"} <= set(PLUGIN_PACKAGES)


@pytest.mark.parametrize("package", PLUGIN_PACKAGES)
def test_plugin_package_has_no_import_cycles(package, monkeypatch):
    # grimp reads the source without running it: the plugin's sources suffice, installed or not
    # (core's own tox environment has no plugin installed).
    for src in ROOT.glob("plugins/*/src"):
        monkeypatch.syspath_prepend(str(src))
    graph = _graph(package)
    cycles = _cycles(graph)
    assert not cycles, f"import cycles in {package}:\n" + _describe(graph, cycles)


# -- the checks themselves ---------------------------------------------------------------------


@pytest.fixture
def probe_package(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A two-layer package whose lower module reaches up only inside a function and under TYPE_CHECKING."""
    pkg = tmp_path / "layerprobe"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "high.py").write_text("from layerprobe import low\n\nVALUE = low.VALUE\n")
    (pkg / "low.py").write_text(
        textwrap.dedent(
            """
            from typing import TYPE_CHECKING

            if TYPE_CHECKING:
                from layerprobe.high import VALUE as _V

            VALUE = 1


            def later():
                from layerprobe import high

                return high.VALUE
            """
        )
    )
    (tmp_path / ".importlinter").write_text(
        textwrap.dedent(
            """
            [importlinter]
            root_packages =
                layerprobe

            [importlinter:contract:probe]
            name = probe
            type = layers
            layers =
                layerprobe.high
                layerprobe.low
            """
        )
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.chdir(tmp_path)
    yield tmp_path
    for name in [m for m in sys.modules if m == "layerprobe" or m.startswith("layerprobe.")]:
        del sys.modules[name]


def test_the_checks_see_deferred_and_type_checking_imports(probe_package: Path):
    graph = _graph("layerprobe")
    lines = {d["line_number"] for d in graph.get_import_details(importer="layerprobe.low", imported="layerprobe.high")}
    assert lines == {5, 11}, "grimp must report the TYPE_CHECKING import (line 5) and the one inside later() (line 11)"
    assert _cycles(graph) == [["layerprobe.high", "layerprobe.low"]]
    code, report = _lint(probe_package / ".importlinter")
    assert code != 0
    assert "layerprobe.low is not allowed to import layerprobe.high" in report


# -- names that moved down a layer stay importable from where they were --------------------------


def test_moved_names_stay_importable_from_their_old_modules():
    import flyte._config
    import flyte._engine.controller as controller
    import flyte._engine.environ
    import flyte._engine.errors
    import flyte._engine.run as run
    import flyte._engine.state
    import flyte._initialize as initialize
    import flyte._uri
    import flyte.io._upload as upload
    import flyte.storage as storage
    import flyte.types._nested
    import flyte.types._transformer
    import flyte.types._type_engine as type_engine

    assert initialize.Config is flyte._config.Config
    assert initialize.get_config is flyte._config.get_config
    assert initialize.find_config_file is flyte._config.find_config_file
    assert storage.join is flyte._uri.join and storage.is_remote is flyte._uri.is_remote
    assert storage.to_local_path is flyte._uri.to_local_path
    assert type_engine.TypeTransformer is flyte.types._transformer.TypeTransformer
    assert type_engine.TypeTransformerFailedError is flyte.types._transformer.TypeTransformerFailedError
    assert upload.uploads_for is flyte.types._nested.uploads_for
    assert upload.hashing_mode is flyte.types._nested.hashing_mode
    assert run.RunState is flyte._engine.state.RunState
    assert controller.error_record is flyte._engine.errors.error_record
    assert controller.set_environ is flyte._engine.environ.set_environ
    assert controller.Controller is flyte._engine.state.Controller


def test_init_installs_the_configuration_that_lower_layers_read():
    import flyte
    import flyte._config

    flyte.init(project="p-layers", domain="development")
    assert flyte._config.get_config().project == "p-layers"
    assert flyte.current_project() == "p-layers"
