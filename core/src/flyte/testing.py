"""pytest fixtures for plugin authors (and flyte's own tests).

Installed as a pytest plugin (entry point ``pytest11: flyte``), so with ``flyte`` installed these
fixtures are available in any test suite:

* ``fresh_plugin_registry``: an isolated :class:`PluginSandbox`: a new plugin manager (with
  only the core's own plugin), an emptied task plugin registry, and helpers to install fake
  distributions with entry points. Everything is restored after the test.
* ``local_store``: a temporary local store (``FLYTE_HOME`` / ``FLYTE_LOCAL_STORE`` pointed into
  the test's ``tmp_path``); yields the database path.
* ``temporary_store``: the same, yielding a :class:`TemporaryStore` (home, database, raw data).
* ``no_leaked_processes``: fails the test when a child process it started (checked by PID) is
  still alive after it, listing each one's PID and command line.

:func:`validate_custom_resource` checks a plugin's custom resource strictly against the
operator's CRD (unknown fields are errors; needs ``jsonschema``, the ``testing`` extra).

Outside pytest use :func:`isolated_plugins`, :func:`fake_distribution`, :func:`free_port`,
:func:`child_pids`, :func:`pid_alive` and :func:`wait_no_new_children` directly.
"""

from __future__ import annotations

import os
import sys
import textwrap
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Dict, Iterator, List, Mapping, Optional, Set

from flyte._crd import CRDValidationError, crd_errors, validate_custom_resource

if TYPE_CHECKING:
    from flyte._plugins.manager import FlytePluginManager
    from flyte._plugins.registry import _Registry

__all__ = [
    "CRDValidationError",
    "PluginSandbox",
    "crd_errors",
    "TemporaryStore",
    "child_pids",
    "fake_distribution",
    "free_port",
    "fresh_plugin_registry",
    "isolated_plugins",
    "local_store",
    "validate_custom_resource",
    "no_leaked_processes",
    "pid_alive",
    "temporary_store",
    "wait_no_new_children",
]


def fake_distribution(
    root: Path,
    name: str,
    *,
    version: str = "0.0.1",
    entry_points: Optional[Mapping[str, Mapping[str, str]]] = None,
    modules: Optional[Mapping[str, str]] = None,
) -> Path:
    """Write an "installed" distribution into directory ``root`` and return ``root``.

    Creates ``<name>-<version>.dist-info`` with ``METADATA`` and ``entry_points.txt``
    (``{group: {entry point name: "module:attr"}}``), and the given modules
    (``{"pkg/mod.py": source}``, dedented). Put ``root`` on ``sys.path`` (the sandbox does) and
    ``importlib.metadata`` sees the distribution like one installed with pip.
    """
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    dist_dir = root / f"{name.replace('-', '_')}-{version}.dist-info"
    dist_dir.mkdir(exist_ok=True)
    (dist_dir / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n")
    lines: List[str] = []
    for group, eps in (entry_points or {}).items():
        lines.append(f"[{group}]")
        lines.extend(f"{ep_name} = {value}" for ep_name, value in eps.items())
        lines.append("")
    (dist_dir / "entry_points.txt").write_text("\n".join(lines))
    for rel, source in (modules or {}).items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(source))
    return root


@dataclass
class PluginSandbox:
    """An isolated plugin world: ``registry`` and ``manager`` are the ones flyte uses meanwhile."""

    registry: "_Registry"
    manager: "FlytePluginManager"
    root: Path
    _paths: List[str] = field(default_factory=list)

    def install(
        self,
        name: str,
        *,
        entry_points: Optional[Mapping[str, Mapping[str, str]]] = None,
        modules: Optional[Mapping[str, str]] = None,
        version: str = "0.0.1",
    ) -> Path:
        """Install a fake distribution (see :func:`fake_distribution`) visible to this process."""
        from flyte._plugins.manager import clear_entry_point_cache

        where = self.root / name
        fake_distribution(where, name, version=version, entry_points=entry_points, modules=modules)
        if str(where) not in sys.path:
            sys.path.insert(0, str(where))
            self._paths.append(str(where))
        clear_entry_point_cache()
        return where

    def new_manager(self) -> "FlytePluginManager":
        """Replace the sandbox's manager with a new one, as a fresh process would have."""
        from flyte._plugins.manager import FlytePluginManager, set_plugin_manager

        self.registry._clear()
        self.manager = FlytePluginManager()
        set_plugin_manager(self.manager)
        return self.manager


def _type_engine_state() -> Optional[Dict[str, Any]]:
    engine = sys.modules.get("flyte.types._type_engine")
    te = getattr(engine, "TypeEngine", None)
    if te is None:
        return None
    state = {}
    for attr, value in vars(te).items():
        if attr.startswith("_") and not attr.startswith("__") and isinstance(value, (dict, list, bool)):
            state[attr] = value.copy() if isinstance(value, (dict, list)) else value
    return {"engine": te, "state": state}


def _restore_type_engine(saved: Optional[Dict[str, Any]]) -> None:
    if saved is None:
        return
    te = saved["engine"]
    for attr, value in saved["state"].items():
        setattr(te, attr, value)


@contextmanager
def isolated_plugins(root: Path) -> Iterator[PluginSandbox]:
    """Run a block with a fresh plugin manager and an empty task plugin registry.

    Fake distributions installed through the sandbox go under ``root``. Afterwards the previous
    manager, registry contents, type engine registrations, ``sys.path`` and the modules
    imported from ``root`` are restored.
    """
    from flyte._plugins.manager import FlytePluginManager, clear_entry_point_cache, set_plugin_manager
    from flyte._plugins.registry import TaskPluginRegistry

    saved_registry = TaskPluginRegistry._snapshot()
    saved_types = _type_engine_state()
    TaskPluginRegistry._clear()
    manager = FlytePluginManager()
    previous = set_plugin_manager(manager)
    clear_entry_point_cache()
    sandbox = PluginSandbox(registry=TaskPluginRegistry, manager=manager, root=Path(root))
    try:
        yield sandbox
    finally:
        set_plugin_manager(previous)
        TaskPluginRegistry._restore(saved_registry)
        _restore_type_engine(saved_types)
        for p in sandbox._paths:
            while p in sys.path:
                sys.path.remove(p)
        prefix = str(Path(root).resolve())
        for mod_name, mod in list(sys.modules.items()):
            f = getattr(mod, "__file__", None)
            if f and os.path.realpath(f).startswith(prefix):
                del sys.modules[mod_name]
        clear_entry_point_cache()


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port on ``host`` that nothing listens on right now."""
    import socket

    with socket.socket() as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def pid_alive(pid: int) -> bool:
    """True when process ``pid`` is alive (a zombie is not)."""
    from flyte._kit.children import is_alive

    return is_alive(pid)


def child_pids(exclude: int = 0) -> Set[int]:
    """PIDs of every live descendant of this process, without the subtree of ``exclude``."""
    from flyte._kit.children import descendants
    from flyte._kit.watchdog import watchdog_pid

    pids = descendants(os.getpid())
    pids.discard(watchdog_pid() or 0)  # lives as long as this process, on purpose
    if exclude:
        pids -= {exclude, *descendants(exclude)}
    return pids


def wait_no_new_children(before: Set[int], timeout: float = 10.0, exclude: int = 0) -> Set[int]:
    """Wait until no descendant missing from ``before`` is alive; return those still alive."""
    import time

    deadline = time.monotonic() + timeout
    left = child_pids(exclude) - before
    while left and time.monotonic() < deadline:
        time.sleep(0.1)
        left = child_pids(exclude) - before
    return left


def _describe_pid(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            cmd = f.read().replace(b"\0", b" ").decode("utf-8", "replace").strip()
    except OSError:
        cmd = "?"
    return f"pid {pid}: {cmd[:200]}"


@dataclass
class TemporaryStore:
    """A temporary local store: ``home`` (``FLYTE_HOME``), the SQLite ``db`` and ``raw_data``."""

    home: Path
    db: Path
    raw_data: Path


@contextmanager
def _temporary_store(root: Path) -> Iterator[TemporaryStore]:
    from flyte import _initialize

    home = Path(root) / "flyte-local-store"
    home.mkdir(parents=True, exist_ok=True, mode=0o700)  # as flyte makes its home
    store = TemporaryStore(home=home, db=home / "local.db", raw_data=home / "data")
    names = ("FLYTE_HOME", "FLYTE_LOCAL_STORE", "FLYTE_RAW_DATA_PATH")
    saved = {k: os.environ.get(k) for k in names}
    os.environ.update(FLYTE_HOME=str(home), FLYTE_LOCAL_STORE=str(store.db), FLYTE_RAW_DATA_PATH=str(store.raw_data))
    _initialize.reset()
    try:
        yield store
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
        _initialize.reset()


try:
    import pytest
except ImportError:  # pragma: no cover - only the fixtures need pytest
    pytest = None  # type: ignore[assignment]

if pytest is not None:

    @pytest.fixture
    def fresh_plugin_registry(tmp_path_factory: Any) -> Iterator[PluginSandbox]:
        """An isolated plugin manager and task plugin registry (see :class:`PluginSandbox`)."""
        with isolated_plugins(tmp_path_factory.mktemp("flyte-plugins")) as sandbox:
            yield sandbox

    @pytest.fixture
    def local_store(tmp_path: Path, monkeypatch: Any) -> Iterator[Path]:
        """A temporary local store: ``FLYTE_HOME`` and ``FLYTE_LOCAL_STORE`` in ``tmp_path``.

        Yields the path of the SQLite database (created on first use by the engine).
        """
        from flyte import _initialize

        home = tmp_path / "flyte-local-store"
        home.mkdir(exist_ok=True, mode=0o700)  # as flyte makes its home
        db = home / "local.db"
        monkeypatch.setenv("FLYTE_HOME", str(home))
        monkeypatch.setenv("FLYTE_LOCAL_STORE", str(db))
        monkeypatch.setenv("FLYTE_RAW_DATA_PATH", str(home / "data"))
        _initialize.reset()
        try:
            yield db
        finally:
            _initialize.reset()

    @pytest.fixture
    def temporary_store(tmp_path: Path) -> Iterator[TemporaryStore]:
        """A temporary local store for one test (see :class:`TemporaryStore`); removed with ``tmp_path``."""
        with _temporary_store(tmp_path) as store:
            yield store

    @pytest.fixture
    def no_leaked_processes() -> Iterator[None]:
        """Fail the test if a process it started (a descendant of this process, by PID) outlives it.

        Waits up to ``FLYTE_TEST_LEAK_TIMEOUT`` seconds (default 10) for such processes to exit,
        so a runtime that stops asynchronously is given time to. An engine runtime kept warm on
        purpose counts as a leak: set its ``FLYTE_<ENGINE>_IDLE_TIMEOUT`` to 0 in tests.
        """
        before = child_pids()
        yield
        left = wait_no_new_children(before, float(os.environ.get("FLYTE_TEST_LEAK_TIMEOUT", "10")))
        if left:
            pytest.fail(
                "the test left child processes running:\n" + "\n".join(_describe_pid(p) for p in sorted(left)),
                pytrace=False,
            )
