"""The suite's own leak check (tests/conftest.py), run on a small suite that leaks on purpose."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

from tests.conftest import REPO

LEAKY = textwrap.dedent(
    """
    import os
    import socket
    import subprocess
    import tempfile

    import pytest

    KEEP = []


    def test_leaves_a_process():
        subprocess.Popen(["sleep", "300"])


    def test_leaves_a_folder():
        tempfile.mkdtemp(prefix="left-behind-")


    def test_leaves_a_socket():
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        s.listen()
        KEEP.append(s)


    def test_cleans_up(tmp_path):
        subprocess.run(["true"], check=True)
        with tempfile.TemporaryDirectory():
            pass


    def test_idle_timeouts_are_zero():
        assert os.environ["FLYTE_RAY_IDLE_TIMEOUT"] == "0"
        assert os.environ["FLYTE_SPARK_IDLE_TIMEOUT"] == "0"


    @pytest.mark.warm_runtime
    def test_warm_tests_keep_their_own(monkeypatch):
        assert "FLYTE_RAY_IDLE_TIMEOUT" not in os.environ
    """
)


def test_the_leak_check_names_each_leftover_and_the_test_it_came_from(tmp_path: Path):
    suite = tmp_path / "suite"
    suite.mkdir()
    (suite / "conftest.py").write_text("from tests.conftest import *  # noqa: F401,F403\n")
    (suite / "test_leaky.py").write_text(LEAKY)
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.endswith("_IDLE_TIMEOUT")}
    env.update(PYTHONPATH=str(REPO), FLYTE_TEST_TMP=str(scratch), FLYTE_TEST_LEAK_TIMEOUT="1")
    res = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-c", os.devnull, "--rootdir", str(suite), str(suite)],
        capture_output=True, text=True, timeout=120, cwd=suite, env=env,
    )
    out = res.stdout + res.stderr
    assert res.returncode == 1, out
    assert "6 passed, 1 error" in out, out
    leaks = out.split("= leaks =")[-1]
    assert "sleep 300) (from test_leaky.py::test_leaves_a_process)" in leaks, out
    assert "left-behind-" in leaks and "(from test_leaky.py::test_leaves_a_folder)" in leaks, out
    assert "(from test_leaky.py::test_leaves_a_socket)" in leaks.split("listening socket 127.0.0.1:")[1], out
    assert "leak check: 1 test modules, 3 leftovers found" in out, out
    assert "test_cleans_up" not in leaks and "test_idle_timeouts" not in leaks
    assert [p.name for p in scratch.iterdir() if not p.name.startswith("pytest-of-")] == [], "leftovers not removed"
