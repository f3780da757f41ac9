"""`flyte-execute`, the container entrypoint, run for real as a subprocess.

Each test writes inputs as a LiteralMap file with the type engine, runs the command in a fresh
process (as a container would), and reads back outputs.pb or the error documents.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import enum
import json
import subprocess
import textwrap
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

import pytest

from flyte._loader import load_task
from flyte._serialize import io as fio
from flyte._serialize.command import DEFAULT_RESOLVER, is_placeholder
from flyte._serialize.entrypoint import EXIT_USAGE, EXIT_USER_ERROR
from tests.conftest import REPO, subprocess_env

EXECUTE = str(REPO / ".venv" / "bin" / "flyte-execute")

TASKS = textwrap.dedent(
    """
    import asyncio
    import datetime
    import os
    from dataclasses import dataclass
    from typing import Any, Dict

    import flyte
    import flyte.io
    from flyte.extend import AsyncFunctionTaskTemplate, TaskPluginRegistry

    env = flyte.TaskEnvironment(name="fx")


    @env.task
    async def add(a: int, b: int = 2) -> int:
        return a + b


    @env.task
    async def fan(n: int) -> list[int]:
        return list(await asyncio.gather(*(add(i, i) for i in range(n))))


    @env.task
    def pair(text: str) -> tuple[str, int]:
        return text.upper(), len(text)


    @env.task
    async def where() -> str:
        c = flyte.ctx()
        return f"{c.mode}:{c.is_in_cluster()}"


    def helper(x):
        raise ValueError(f"bad x {x}")


    @env.task
    def boom(x: int) -> int:
        return helper(x)


    @env.task(retries=2)
    def flaky(x: int) -> int:
        if flyte.ctx().attempt_number < 2:
            raise RuntimeError("not yet")
        return x * 100 + flyte.ctx().attempt_number


    @env.task(timeout=0.5)
    async def slow() -> int:
        await asyncio.sleep(30)
        return 1


    @env.task
    async def nothing() -> None:
        return None


    @dataclass
    class Rec:
        name: str
        scores: list[float]


    @env.task
    async def summarize(rec: Rec, doc: flyte.io.File, when: datetime.datetime) -> tuple[Rec, flyte.io.File, str]:
        async with doc.open("rb") as fh:
            text = (await fh.read()).decode()
        path = os.path.join(os.environ["WORK"], "shout.txt")
        with open(path, "w") as f:
            f.write(text.upper())
        best = Rec(name=rec.name.title(), scores=[max(rec.scores)])
        return best, await flyte.io.File.from_local(path), when.isoformat()


    @dataclass(frozen=True)
    class MarkConfig:
        tag: str = "m"


    @dataclass(kw_only=True)
    class MarkTask(AsyncFunctionTaskTemplate):
        task_type: str = "mark"

        async def pre(self, *args: Any, **kwargs: Any) -> Dict[str, Any]:
            with open(os.environ["MARK_FILE"], "a") as f:
                f.write(f"pre {sorted(kwargs)}\\n")
            return {"tag": self.plugin_config.tag}

        async def post(self, return_vals: Any) -> Any:
            with open(os.environ["MARK_FILE"], "a") as f:
                f.write(f"post {return_vals!r}\\n")
            return None if return_vals is None else return_vals + "!"


    TaskPluginRegistry.register(config_type=MarkConfig, plugin=MarkTask)

    plugin_env = flyte.TaskEnvironment(name="fx-plugin", plugin_config=MarkConfig(tag="hello"))


    @plugin_env.task
    async def tagged(x: str) -> str:
        return f"{flyte.ctx().data['tag']}:{x}"
    """
)


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    d = tmp_path / "code"
    d.mkdir()
    (d / "fxtasks.py").write_text(TASKS)
    return d


def write_inputs(uri: str, values: Dict[str, Any], types: Dict[str, Any]) -> str:
    return asyncio.run(fio.write_inputs(uri, values, types))


def execute(
    home: Path,
    workdir: Path,
    attr: str,
    inputs: str,
    outputs: str,
    *extra: str,
    env: Optional[Dict[str, str]] = None,
) -> subprocess.CompletedProcess:
    cmd: List[str] = [EXECUTE, "--inputs", inputs, "--outputs-prefix", outputs, *extra, "--", "module", "fxtasks", "task", attr]
    return subprocess.run(
        cmd, capture_output=True, text=True, timeout=60, cwd=workdir, env=subprocess_env(home, **(env or {}))
    )


def outputs_of(prefix: str, types: Dict[str, Any]) -> Optional[Dict[str, Any]]:
    return asyncio.run(fio.read_outputs(prefix, types))


def error_of(prefix: str) -> Optional[fio.ErrorInfo]:
    return asyncio.run(fio.read_error(prefix))


def test_plain_task_reads_inputs_and_writes_outputs(isolated_flyte_home, workdir, tmp_path):
    inputs = write_inputs(f"file://{tmp_path}/in/inputs.pb", {"a": 40}, {"a": int})
    out = f"file://{tmp_path}/out"
    # Cluster templates that nobody filled in count as not given.
    res = execute(isolated_flyte_home, workdir, "add", inputs, out, "--run-name", "{{.runName}}", "--raw-data-path", "{{.rawOutputDataPrefix}}")
    assert res.returncode == 0, res.stderr
    assert outputs_of(out, {"o0": int}) == {"o0": 42}  # b's default applied
    assert error_of(out) is None


@dataclass
class Rec:  # the same structure as the task's own Rec: literals are structural
    name: str
    scores: List[float]


def test_files_and_dataclasses_cross_the_process_boundary(isolated_flyte_home, workdir, tmp_path):
    from flyte.io import File

    doc = tmp_path / "doc.txt"
    doc.write_text("quiet words")
    when = dt.datetime(2025, 1, 31, 12, 0, tzinfo=dt.timezone.utc)
    types = {"rec": Rec, "doc": File, "when": dt.datetime}
    inputs = write_inputs(str(tmp_path / "inputs.pb"), {"rec": Rec("ada", [1.0, 3.5]), "doc": File(path=str(doc)), "when": when}, types)
    out = str(tmp_path / "out")
    raw = tmp_path / "raw"
    res = execute(isolated_flyte_home, workdir, "summarize", inputs, out, "--raw-data-path", str(raw), env={"WORK": str(tmp_path)})
    assert res.returncode == 0, res.stderr
    got = outputs_of(out, {"o0": Rec, "o1": File, "o2": str})
    assert got["o0"] == Rec("Ada", [3.5]) and got["o2"] == when.isoformat()
    # The output file was uploaded under the raw data path given on the command line.
    assert str(raw) in got["o1"].path
    assert Path(got["o1"].path).read_text() == "QUIET WORDS"


class Color(enum.Enum):
    RED = "red"
    BLUE = "blue"


ROUNDTRIP = [
    (int, -3),
    (float, 2.5),
    (str, "héllo"),
    (bool, True),
    (bytes, b"\x00\x01"),
    (dt.datetime, dt.datetime(2024, 1, 2, 3, 4, 5, tzinfo=dt.timezone.utc)),
    (dt.date, dt.date(2024, 2, 29)),
    (dt.timedelta, dt.timedelta(minutes=90)),
    (List[int], [1, 2, 3]),
    (List[List[str]], [["a"], ["b", "c"]]),
    (Dict[str, float], {"a": 1.0, "b": -2.0}),
    (Optional[str], None),
    (Optional[int], 4),
    (Rec, Rec("x", [0.5])),
    (Color, Color.BLUE),
    (Tuple[int, str], (1, "a")),
]


@pytest.mark.parametrize("tp,value", ROUNDTRIP, ids=[repr(t) for t, _ in ROUNDTRIP])
def test_inputs_file_roundtrip_for_supported_types(tmp_path, tp, value):
    uri = write_inputs(f"file://{tmp_path}/inputs.pb", {"v": value}, {"v": tp})
    assert asyncio.run(fio.read_inputs(uri, {"v": tp})) == {"v": value}


def test_inputs_may_be_a_folder_and_outputs_a_plain_path(isolated_flyte_home, workdir, tmp_path):
    folder = tmp_path / "in"
    write_inputs(str(folder / "inputs.pb"), {"text": "flyte"}, {"text": str})
    out = str(tmp_path / "out")
    res = execute(isolated_flyte_home, workdir, "pair", str(folder), out)
    assert res.returncode == 0, res.stderr
    assert outputs_of(out, {"o0": str, "o1": int}) == {"o0": "FLYTE", "o1": 5}


def test_nested_task_calls_run_on_the_local_engine(isolated_flyte_home, workdir, tmp_path):
    inputs = write_inputs(str(tmp_path / "inputs.pb"), {"n": 4}, {"n": int})
    out = str(tmp_path / "out")
    res = execute(isolated_flyte_home, workdir, "fan", inputs, out, "--run-name", "nested-run")
    assert res.returncode == 0, res.stderr
    assert outputs_of(out, {"o0": List[int]}) == {"o0": [0, 2, 4, 6]}


def test_tasks_see_they_run_in_a_cluster(isolated_flyte_home, workdir, tmp_path):
    out = str(tmp_path / "out")
    res = execute(isolated_flyte_home, workdir, "where", str(tmp_path / "none.pb"), out)
    assert res.returncode == 0, res.stderr
    assert outputs_of(out, {"o0": str}) == {"o0": "remote:True"}


def test_no_inputs_file_means_no_inputs(isolated_flyte_home, workdir, tmp_path):
    out = str(tmp_path / "out")
    res = execute(isolated_flyte_home, workdir, "nothing", str(tmp_path / "missing.pb"), out)
    assert res.returncode == 0, res.stderr
    assert outputs_of(out, {}) == {}


def test_a_missing_inputs_file_is_an_error_for_a_task_with_inputs(isolated_flyte_home, workdir, tmp_path):
    out = str(tmp_path / "out")
    res = execute(isolated_flyte_home, workdir, "add", str(tmp_path / "typo" / "inputs.pb"), out)
    assert res.returncode == EXIT_USER_ERROR
    err = error_of(out)
    assert err is not None and err.code == "BadInputs" and "no inputs file" in err.message and "typo" in err.message


def test_retries_apply_inside_the_process(isolated_flyte_home, workdir, tmp_path):
    inputs = write_inputs(str(tmp_path / "inputs.pb"), {"x": 7}, {"x": int})
    out = str(tmp_path / "out")
    res = execute(isolated_flyte_home, workdir, "flaky", inputs, out)
    assert res.returncode == 0, res.stderr
    assert outputs_of(out, {"o0": int}) == {"o0": 702}  # third attempt (attempt_number 2)


def test_plugin_task_runs_pre_and_post(isolated_flyte_home, workdir, tmp_path):
    marks = tmp_path / "marks.txt"
    inputs = write_inputs(str(tmp_path / "inputs.pb"), {"x": "world"}, {"x": str})
    out = str(tmp_path / "out")
    res = execute(isolated_flyte_home, workdir, "tagged", inputs, out, env={"MARK_FILE": str(marks)})
    assert res.returncode == 0, res.stderr
    # pre's dict reached the body as flyte.ctx().data; post's value replaced the output.
    assert outputs_of(out, {"o0": str}) == {"o0": "hello:world!"}
    assert marks.read_text().splitlines() == ["pre ['x']", "post 'hello:world'"]


def test_failing_task_writes_an_error_document_with_the_user_traceback(isolated_flyte_home, workdir, tmp_path):
    inputs = write_inputs(str(tmp_path / "inputs.pb"), {"x": 3}, {"x": int})
    out = str(tmp_path / "out")
    res = execute(isolated_flyte_home, workdir, "boom", inputs, out)
    assert res.returncode == EXIT_USER_ERROR
    assert not (tmp_path / "out" / fio.OUTPUTS_FILE).exists()
    err = json.loads((tmp_path / "out" / fio.ERROR_JSON_FILE).read_text())
    assert err["kind"] == "user"
    assert err["code"] == "ValueError"
    assert "bad x 3" in err["message"]
    assert err["task"] == "fx.boom"
    assert "in helper" in err["traceback"] and 'raise ValueError(f"bad x {x}")' in err["traceback"]
    assert err["recoverable"] is False
    # The protobuf document says the same, for control planes.
    from flyteidl2.core import execution_pb2

    doc = execution_pb2.ErrorDocument.FromString((tmp_path / "out" / fio.ERROR_FILE).read_bytes())
    assert doc.error.code == "ValueError"
    assert doc.error.origin == execution_pb2.ExecutionError.USER
    assert doc.error.kind == execution_pb2.ContainerError.NON_RECOVERABLE
    assert "bad x 3" in doc.error.message and "in helper" in doc.error.message
    assert "bad x 3" in res.stderr  # the traceback also goes to the container's log


def test_timeout_is_an_error_document(isolated_flyte_home, workdir, tmp_path):
    out = str(tmp_path / "out")
    res = execute(isolated_flyte_home, workdir, "slow", str(tmp_path / "none.pb"), out)
    assert res.returncode == EXIT_USER_ERROR
    err = error_of(out)
    assert err is not None and err.code == "TaskTimeoutError" and err.kind == "user"


def test_wrong_literal_type_names_the_input(isolated_flyte_home, workdir, tmp_path):
    inputs = write_inputs(str(tmp_path / "inputs.pb"), {"a": "forty"}, {"a": str})
    out = str(tmp_path / "out")
    res = execute(isolated_flyte_home, workdir, "add", inputs, out)
    assert res.returncode == EXIT_USER_ERROR
    err = error_of(out)
    assert err is not None
    assert err.kind == "user" and err.code == "BadInputs"
    assert err.details == {"input": "a", "expected_type": "int"}
    assert "input 'a'" in err.message and "int" in err.message and "fx.add" in err.message


def test_unknown_and_missing_inputs_are_user_errors(isolated_flyte_home, workdir, tmp_path):
    inputs = write_inputs(str(tmp_path / "inputs.pb"), {"a": 1, "zzz": 2}, {"a": int, "zzz": int})
    out = tmp_path / "out1"
    res = execute(isolated_flyte_home, workdir, "add", inputs, str(out))
    assert res.returncode == EXIT_USER_ERROR
    err = error_of(str(out))
    assert err is not None and "zzz" in err.message and err.details == {"inputs": "zzz"}

    out2 = tmp_path / "out2"
    only_b = write_inputs(str(tmp_path / "only_b.pb"), {"b": 5}, {"b": int})
    res = execute(isolated_flyte_home, workdir, "add", only_b, str(out2))
    assert res.returncode == EXIT_USER_ERROR
    err = error_of(str(out2))
    assert err is not None and err.kind == "user" and "'a'" in err.message and "required" in err.message


def test_corrupt_inputs_file_is_an_error_document(isolated_flyte_home, workdir, tmp_path):
    bad = tmp_path / "inputs.pb"
    bad.write_bytes(b"\xff\xff\xff not a protobuf")
    out = str(tmp_path / "out")
    res = execute(isolated_flyte_home, workdir, "add", str(bad), out)
    assert res.returncode == EXIT_USER_ERROR
    err = error_of(out)
    assert err is not None and err.code == "BadInputs" and str(bad) in err.message


def test_unknown_task_is_a_load_error(isolated_flyte_home, workdir, tmp_path):
    out = str(tmp_path / "out")
    res = execute(isolated_flyte_home, workdir, "no_such_task", str(tmp_path / "none.pb"), out)
    assert res.returncode == EXIT_USER_ERROR
    err = error_of(out)
    assert err is not None and err.code == "ModuleLoadError" and "no_such_task" in err.message


def test_missing_locator_is_a_usage_error(isolated_flyte_home, tmp_path):
    res = subprocess.run(
        [EXECUTE, "--inputs", "x", "--outputs-prefix", str(tmp_path)], capture_output=True, text=True, timeout=30
    )
    assert res.returncode == EXIT_USAGE
    assert "locator" in res.stderr


def test_placeholders_and_resolvers():
    assert is_placeholder("{{.runName}}") and is_placeholder("") and is_placeholder(None)
    assert not is_placeholder("run-1")
    with pytest.raises(ValueError, match="resolver"):
        load_task("not a resolver", ["module", "x", "task", "y"])
    with pytest.raises(ValueError, match="module <module> task <attribute>"):
        load_task(DEFAULT_RESOLVER, ["module", "x"])


def test_literal_files_through_fsspec_memory_filesystem():
    uri = "memory://flyte-test/run/inputs.pb"
    write_inputs(uri, {"a": 5, "names": ["x", "y"]}, {"a": int, "names": List[str]})
    got = asyncio.run(fio.read_inputs(uri, {"a": int, "names": List[str]}))
    assert got == {"a": 5, "names": ["x", "y"]}
    asyncio.run(fio.write_outputs("memory://flyte-test/run/out", {"o0": 1.5}, {"o0": float}))
    assert asyncio.run(fio.read_outputs("memory://flyte-test/run/out", {"o0": float})) == {"o0": 1.5}
    info = fio.ErrorInfo(kind="system", code="Boom", message="m", traceback="tb", recoverable=True)
    asyncio.run(fio.write_error("memory://flyte-test/run/err", info))
    assert asyncio.run(fio.read_error("memory://flyte-test/run/err")) == info


def test_code_bundle_is_downloaded_and_unpacked_before_loading(isolated_flyte_home, workdir, tmp_path):
    import tarfile

    bundle = tmp_path / "bundle.tgz"
    with tarfile.open(bundle, "w:gz") as tar:
        tar.add(workdir / "fxtasks.py", arcname="fxtasks.py")
    empty = tmp_path / "empty"  # the container's workdir does not hold the code
    empty.mkdir()
    inputs = write_inputs(str(tmp_path / "inputs.pb"), {"a": 1, "b": 1}, {"a": int, "b": int})
    out = str(tmp_path / "out")
    dest = tmp_path / "unpacked"
    res = execute(isolated_flyte_home, empty, "add", inputs, out, "--tgz", f"file://{bundle}", "--dest", str(dest))
    assert res.returncode == 0, res.stderr
    assert (dest / "fxtasks.py").is_file()
    assert outputs_of(out, {"o0": int}) == {"o0": 2}
