"""Shared test isolation: every test gets its own flyte home, store and raw data path.

The suite also checks itself for leaks (:class:`LeakWatch`): after each test module (its
fixtures torn down), no child process, listening port or temp folder that the module created may
be left; offenders are reported by test and the module's last test errors in teardown. Engine
runtimes stop when each run ends (every ``FLYTE_<ENGINE>_IDLE_TIMEOUT`` is 0) except in tests
marked ``warm_runtime``, which stop what they keep warm themselves.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from pathlib import Path
from typing import Dict, Iterator, List, Optional, Set, Tuple

import pytest

REPO = Path(__file__).resolve().parent.parent

# Every temp folder of the suite (and of the processes it starts) lives in one private root, so
# that a folder left behind is seen, and is told apart from what other programs put in /tmp.
# scripts/test passes FLYTE_TEST_TMP and removes it afterwards; a bare `pytest` gets its own.
_OWN_TMP = not os.environ.get("FLYTE_TEST_TMP")
# pytest's tmp_path stays where it would be (paths in messages keep their usual length).
os.environ.setdefault("PYTEST_DEBUG_TEMPROOT", tempfile.gettempdir())
TEST_TMP = Path(os.environ.get("FLYTE_TEST_TMP") or tempfile.mkdtemp(prefix="flyte-test-")).resolve()
os.environ["FLYTE_TEST_TMP"] = str(TEST_TMP)
os.environ["TMPDIR"] = str(TEST_TMP)
tempfile.tempdir = None  # gettempdir() reads TMPDIR again

# Engines whose runtimes the suite starts; each gets FLYTE_<ENGINE>_IDLE_TIMEOUT=0 (runtimes
# created by name at run time are added from the kit's registry, see idle_timeouts_zero).
ENGINES = ("RAY", "SPARK", "PYTORCH", "TORCH", "ELASTIC", "APP", "UVICORN", "DASK")

# Seconds a leaked child is given to exit by itself before it counts (a runtime stopping
# asynchronously, a JVM shutting down).
LEAK_GRACE_S = float(os.environ.get("FLYTE_TEST_LEAK_TIMEOUT", "10"))
# FLYTE_TEST_LEAKS=report lists leftovers in the summary without failing (to survey a suite);
# FLYTE_TEST_LEAKS=off turns the check off.


@pytest.fixture(autouse=True)
def isolated_flyte_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Point FLYTE_HOME, the local store and raw data at a temp dir; forget any init()."""
    home = tmp_path / "flyte-home"
    home.mkdir(mode=0o700)
    monkeypatch.setenv("FLYTE_HOME", str(home))
    monkeypatch.setenv("FLYTE_LOCAL_STORE", str(home / "local.db"))
    monkeypatch.setenv("FLYTE_RAW_DATA_PATH", str(home / "data"))
    for var in ("FLYTE_CONFIG", "FLYTE_LOCAL_PERSISTENCE", "FLYTE_PROJECT", "FLYTE_DOMAIN"):
        monkeypatch.delenv(var, raising=False)
    import flyte._initialize as init_mod

    init_mod.reset()
    yield home
    init_mod.reset()


@pytest.fixture
def repo_root() -> Path:
    return REPO


@pytest.fixture
def venv_bin() -> Path:
    return REPO / ".venv" / "bin"


def subprocess_env(home: Path, **extra: str) -> dict:
    """Environment for a child process that uses the same isolated flyte home."""
    env = dict(os.environ)
    env.update(
        FLYTE_HOME=str(home),
        FLYTE_LOCAL_STORE=str(home / "local.db"),
        FLYTE_RAW_DATA_PATH=str(home / "data"),
        PYTHONUNBUFFERED="1",
    )
    env.update(extra)
    return env


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "warm_runtime: the test keeps an engine runtime warm (no FLYTE_<ENGINE>_IDLE_TIMEOUT=0); it stops it itself"
    )
    if os.environ.get("FLYTE_TEST_LEAKS", "fail") != "off":  # off: to measure what the check costs
        config.pluginmanager.register(LeakWatch(), "flyte-leak-watch")


def pytest_unconfigure(config: pytest.Config) -> None:
    if _OWN_TMP:
        shutil.rmtree(TEST_TMP, ignore_errors=True)


def _engine_names() -> Set[str]:
    names = set(ENGINES)
    try:
        from flyte._kit import runtime as kit_runtime

        names |= {str(e).upper().replace("-", "_") for e in getattr(kit_runtime, "_owners", {})}
    except Exception:  # the registry's shape is the kit's business: the static list still applies
        pass
    return names


@pytest.fixture(autouse=True)
def idle_timeouts_zero(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """``FLYTE_<ENGINE>_IDLE_TIMEOUT=0`` for every engine, unless the test is ``warm_runtime``."""
    if request.node.get_closest_marker("warm_runtime") is not None:
        return
    for name in _engine_names():
        var = f"FLYTE_{name}_IDLE_TIMEOUT"
        if var not in os.environ:
            monkeypatch.setenv(var, "0")


# ------------------------------------------------------------------------------------------
# The leak check around the whole suite
# ------------------------------------------------------------------------------------------
def _children() -> Set[int]:
    from flyte.testing import child_pids

    return child_pids()


def _lifetime_helper(pid: int) -> bool:
    """Processes that live as long as this process on purpose (not leaks of a test)."""
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            cmd = f.read().replace(b"\0", b" ").decode("utf-8", "replace")
    except OSError:
        return True  # already gone
    return any(
        part in cmd
        for part in ("multiprocessing.resource_tracker", "multiprocessing.forkserver", "flyte._kit.watchdog")
    )


def _listening(pids: Set[int]) -> Set[Tuple[int, str, int]]:
    """(pid, address, port) of every TCP socket listening in this process or ``pids``."""
    import psutil

    out: Set[Tuple[int, str, int]] = set()
    for pid in {os.getpid(), *pids}:
        try:
            conns = psutil.Process(pid).net_connections(kind="tcp")
        except (psutil.Error, OSError):
            continue
        for c in conns:
            if c.status == psutil.CONN_LISTEN and c.laddr:
                out.add((pid, c.laddr.ip, c.laddr.port))
    return out


def _tmp_entries() -> Set[str]:
    try:
        names = set(os.listdir(TEST_TMP))
    except OSError:
        return set()
    # pytest's own tmp_path root: removed by pytest (it keeps the last few runs on purpose).
    # "flyte": where flyte.io's File/Dir.download() put what the user asked to download (kept).
    # "pymp-*": multiprocessing's folder of this process, removed by it at exit.
    # "torchinductor_*": torch's per-user compile cache, kept across runs on purpose.
    return {n for n in names if not n.startswith(("pytest-of-", "pymp-", "torchinductor_")) and n != "flyte"}


class LeakWatch:
    """Child processes, listening ports and temp folders a test module leaves behind.

    Checked when a module's fixtures are torn down (module-scoped servers are fine while the
    module runs); each leftover is attributed to the test after which it was first seen. What
    is found is reported, stopped (by PID) and removed, so the next module starts clean.
    """

    def __init__(self) -> None:
        self.found: List[str] = []
        self.checked_modules = 0
        self._base_children: Set[int] = set()
        self._base_ports: Set[Tuple[int, str, int]] = set()
        self._base_tmp: Set[str] = set()
        self._first_seen: Dict[object, str] = {}

    def _snapshot(self) -> Tuple[Set[int], Set[Tuple[int, str, int]], Set[str]]:
        kids = _children()
        return kids, _listening(kids), _tmp_entries()

    def _note(self, nodeid: str) -> None:
        # Children, temp entries and this process's sockets after every test (a few ms); a
        # child's socket is attributed to the test its process came from.
        for key in [*_children(), *(("tmp", n) for n in _tmp_entries()), *(("port",) + p for p in _listening(set()))]:
            self._first_seen.setdefault(key, nodeid)

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_setup(self, item: pytest.Item) -> Iterator[None]:
        prev = getattr(item.session, "_flyte_prev_module", None)
        if prev is not item.module:
            item.session._flyte_prev_module = item.module  # type: ignore[attr-defined]
            self._base_children, self._base_ports, self._base_tmp = self._snapshot()
            self._first_seen = {}
        return (yield)

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_teardown(self, item: pytest.Item, nextitem: Optional[pytest.Item]) -> Iterator[None]:
        result = yield
        self._note(item.nodeid)
        if nextitem is None or nextitem.module is not item.module:
            problems = self._check_module(item)
            if problems and os.environ.get("FLYTE_TEST_LEAKS", "fail") != "report":
                pytest.fail("left behind after the module's tests:\n" + "\n".join(problems), pytrace=False)
        return result

    def _check_module(self, item: pytest.Item) -> List[str]:
        from flyte.testing import wait_no_new_children

        self.checked_modules += 1
        kids = wait_no_new_children(self._base_children, LEAK_GRACE_S)
        kids = {p for p in kids if not _lifetime_helper(p)}
        ports = _listening(kids) - self._base_ports
        deadline = time.monotonic() + 2.0
        while ports and time.monotonic() < deadline:  # a server thread closing its socket
            time.sleep(0.1)
            ports = _listening(kids) - self._base_ports
        tmp = _tmp_entries() - self._base_tmp
        problems: List[str] = []
        for pid in sorted(kids):
            problems.append(f"  process {_describe(pid)} (from {self._first_seen.get(pid, item.nodeid)})")
        for port in sorted(ports):
            who = self._first_seen.get(("port",) + port) or self._first_seen.get(port[0], item.nodeid)
            problems.append(f"  listening socket {port[1]}:{port[2]} of pid {port[0]} (from {who})")
        for name in sorted(tmp):
            problems.append(f"  temp entry {TEST_TMP / name} (from {self._first_seen.get(('tmp', name), item.nodeid)})")
        if kids:
            from flyte.extend import stop_pids

            stop_pids(sorted(kids), timeout=5.0)
        for name in tmp:
            path = TEST_TMP / name
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path, ignore_errors=True)
            else:
                try:
                    path.unlink()
                except OSError:
                    pass
        self.found.extend(problems)
        return problems

    def pytest_terminal_summary(self, terminalreporter: "pytest.TerminalReporter") -> None:
        tr = terminalreporter
        if self.found:
            tr.section("leaks")
            for line in self.found:
                tr.write_line(line)
        tr.write_line(f"leak check: {self.checked_modules} test modules, {len(self.found)} leftovers found")
        tried = getattr(tr.config, "_flyte_property_inputs", None)
        if tried:
            tr.write_line(f"property tests: {sum(tried.values())} inputs ({len(tried)} properties)")


def _describe(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            cmd = f.read().replace(b"\0", b" ").decode("utf-8", "replace").strip()
    except OSError:
        cmd = "?"
    return f"{pid} ({cmd[:160]})"
