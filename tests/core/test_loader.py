"""The one loader of user code: one file, one module name, whichever command loads it."""

import ast
import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import flyte
from flyte._loader import (
    ModuleLocation,
    is_task,
    load_file,
    load_task,
    module_location,
    module_name_for_file,
    task_module_location,
)
from flyte.errors import ModuleLoadError, ValidationError
from tests.conftest import REPO, subprocess_env

FLYTE = str(REPO / ".venv" / "bin" / "flyte")

JOBS = textwrap.dedent(
    """
    import flyte

    env = flyte.TaskEnvironment(name="loaderjobs")


    @env.task
    async def whoami() -> str:
        return __name__
    """
)


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    root = tmp_path / "proj"
    (root / "ldpkg" / "sub").mkdir(parents=True)
    (root / "ldpkg" / "sub" / "jobs.py").write_text(JOBS)
    before = set(sys.modules)
    saved_path = list(sys.path)
    yield root
    for name in set(sys.modules) - before:
        if name.split(".")[0] in ("ldpkg", "jobs", "outside", "broken", "json"):
            sys.modules.pop(name, None)
    sys.path[:] = saved_path


def test_file_under_the_root_is_named_by_its_relative_path(project: Path):
    module = load_file(project / "ldpkg" / "sub" / "jobs.py", project)
    assert module.__name__ == "ldpkg.sub.jobs"
    assert module_name_for_file(project / "ldpkg" / "sub" / "jobs.py", project) == "ldpkg.sub.jobs"
    loc = module_location(module)
    assert loc == ModuleLocation("ldpkg.sub.jobs", project.resolve(), (project / "ldpkg" / "sub" / "jobs.py").resolve())
    # A plugin shipping the task's code elsewhere finds the same root and name.
    assert task_module_location(module.whoami) == loc
    # Loading the same file again gives the module already loaded.
    assert load_file(project / "ldpkg" / "sub" / "jobs.py", project) is module


def test_file_outside_the_root_is_named_by_its_stem(project: Path, tmp_path: Path):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "outside.py").write_text(JOBS)
    module = load_file(elsewhere / "outside.py", project)
    assert module.__name__ == "outside"
    assert module_location(module).root == elsewhere.resolve()


def test_a_package_init_names_its_package(project: Path):
    (project / "ldpkg" / "__init__.py").write_text("VALUE = 7\n")
    module = load_file(project / "ldpkg" / "__init__.py", project)
    assert module.__name__ == "ldpkg" and module.VALUE == 7
    assert module_location(module).root == project.resolve()


def test_a_file_that_fails_to_import_is_one_error_naming_file_and_line(project: Path):
    bad = project / "broken.py"
    bad.write_text("x = 1\ndef f(:\n")
    with pytest.raises(ModuleLoadError) as info:
        load_file(bad, project)
    assert str(bad) in info.value.message and "line 2" in info.value.message and "SyntaxError" in info.value.message
    assert "\n" not in info.value.message
    with pytest.raises(ValidationError, match="Python file"):
        load_file(project / "missing.py", project)


def test_a_folder_hidden_by_an_installed_package_is_named(project: Path):
    # `json` is a package of the standard library: a project folder of that name cannot import.
    (project / "json").mkdir()
    (project / "json" / "tasks.py").write_text(JOBS)
    with pytest.raises(ModuleLoadError) as info:
        load_file(project / "json" / "tasks.py", project)
    assert "json/tasks.py" in info.value.message and "hides the folder" in info.value.message


def test_main_script_location_is_relative_to_the_root(tmp_path: Path):
    (tmp_path / "jobs").mkdir()
    script = tmp_path / "jobs" / "nightly.py"
    script.write_text(
        "import json, sys\n"
        "import flyte\n"
        "from flyte._loader import task_module_location\n"
        "env = flyte.TaskEnvironment(name='nightly')\n"
        "@env.task\n"
        "async def report(n: int) -> int:\n"
        "    return n\n"
        "loc = task_module_location(report, sys.argv[1])\n"
        "print(json.dumps(None if loc is None else [loc.name, str(loc.root)]))\n"
    )
    res = subprocess.run([sys.executable, str(script), str(tmp_path)], capture_output=True, text=True, timeout=60)
    assert res.returncode == 0, res.stderr
    assert json.loads(res.stdout) == ["jobs.nightly", str(tmp_path.resolve())]
    outside = tmp_path / "jobs" / "x"
    res = subprocess.run([sys.executable, str(script), str(outside)], capture_output=True, text=True, timeout=60)
    assert res.returncode == 0, res.stderr
    assert json.loads(res.stdout) is None


def test_run_and_deploy_name_a_file_the_same(isolated_flyte_home: Path, project: Path):
    env = subprocess_env(isolated_flyte_home)
    run = subprocess.run(
        [FLYTE, "run", "ldpkg/sub/jobs.py", "whoami"], capture_output=True, text=True, timeout=120, cwd=project, env=env
    )
    assert run.returncode == 0, run.stderr
    out = project / "out"
    dep = subprocess.run(
        [FLYTE, "deploy", "--dry-run", "--all", "--output", str(out), "ldpkg/sub/jobs.py"],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=project,
        env=env,
    )
    assert dep.returncode == 0, dep.stderr
    from flyteidl2.core import tasks_pb2

    t = tasks_pb2.TaskTemplate.FromString((out / "loaderjobs.whoami.pb").read_bytes())
    assert run.stdout.strip() == "ldpkg.sub.jobs"
    assert list(t.container.args)[-4:] == ["module", "ldpkg.sub.jobs", "task", "whoami"]
    # Another root directory, another name: the same for both commands again.
    run = subprocess.run(
        [FLYTE, "run", "--root-dir", "ldpkg", "ldpkg/sub/jobs.py", "whoami"],
        capture_output=True, text=True, timeout=120, cwd=project, env=env,
    )
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == "sub.jobs"


def test_tasks_are_told_by_their_shape():
    env = flyte.TaskEnvironment(name="loadershape")

    @env.task
    async def t() -> int:
        return 1

    assert is_task(t)
    assert not is_task(type(t)) and not is_task(object()) and not is_task(env)


def test_load_task_refuses_what_is_not_a_task():
    with pytest.raises(ValidationError, match="a flyte task"):
        load_task("flyte.resolve.module", ["module", "json", "task", "dumps"])
    assert is_task(load_task("flyte.resolve.module", ["module", __name__, "task", "SHAPED"]))


def test_command_building_does_not_import_the_task_model():
    # Building a command sits below the task model: no import of it, not even a deferred one.
    path = REPO / "core" / "src" / "flyte" / "_serialize" / "command.py"
    tree = ast.parse(path.read_text())
    imported = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            imported.add(node.module or "")
            imported |= {f"{node.module}.{a.name}" for a in node.names}
    assert not {m for m in imported if m == "flyte._task" or m.startswith("flyte._task.")}


_shape_env = flyte.TaskEnvironment(name="loadershaped")


@_shape_env.task
async def SHAPED() -> int:
    return 1
