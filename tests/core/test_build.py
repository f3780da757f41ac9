"""``flyte.build`` and ``flyte build``: Dockerfiles rendered from images, content-addressed tags,
build contexts, and a clear error where no container engine runs."""

from __future__ import annotations

import asyncio
import dataclasses
from pathlib import Path

import pytest

import flyte
from flyte._build import ImageBuild, build, find_container_engine
from flyte._dockerfile import plan_image_build, render_dockerfile, write_build_context
from flyte.errors import ImageBuildError, TypeValidationError, ValidationError

INSTRUCTIONS = {"FROM", "RUN", "COPY", "ENV", "WORKDIR"}


def lines(dockerfile: str) -> list:
    return [ln for ln in dockerfile.splitlines() if ln and not ln.startswith("#")]


def check_syntax(dockerfile: str) -> None:
    assert dockerfile.startswith("# syntax=docker/dockerfile:")
    for ln in lines(dockerfile):
        assert ln.split(" ", 1)[0] in INSTRUCTIONS, ln


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "requirements.txt").write_text("requests==2.31.0\n")
    src = tmp_path / "src" / "pkg"
    src.mkdir(parents=True)
    (src / "__init__.py").write_text("")
    (src / "model.py").write_text("WEIGHTS = 1\n")
    (src / "notes.log").write_text("ignore me\n")
    (tmp_path / "config.yaml").write_text("a: 1\n")
    return tmp_path


@pytest.fixture
def no_engine(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    empty = tmp_path / "empty-bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    monkeypatch.delenv("FLYTE_CONTAINER_ENGINE", raising=False)
    monkeypatch.delenv("DOCKER_HOST", raising=False)


def layered(project: Path) -> flyte.Image:
    return (
        flyte.Image.from_debian_base(python="3.12", flyte_version="2.0.0")
        .with_apt_packages("git", "curl")
        .with_pip_packages("pandas>=2", "numpy", extra_index_urls="https://example.com/simple")
        .with_requirements(project / "requirements.txt")
        .with_env_vars({"MODE": "prod run", "HF_HOME": "/cache"})
        .with_workdir("/app")
        .with_source_folder(project / "src")
        .with_source_file(project / "config.yaml")
        .with_commands(["python -c 'import pkg'", "echo done"])
    )


def test_dockerfile_of_a_layered_image_keeps_the_layer_order(project: Path) -> None:
    image = layered(project)
    text = render_dockerfile(image)
    check_syntax(text)
    assert lines(text) == [
        "FROM python:3.12-slim-bookworm",
        "RUN apt-get update && apt-get install -y --no-install-recommends build-essential ca-certificates "
        "&& rm -rf /var/lib/apt/lists/*",
        'ENV VIRTUAL_ENV="/opt/venv" PATH="/opt/venv/bin:$PATH" PYTHONPATH="/root" UV_LINK_MODE="copy"',
        "WORKDIR /root",
        'RUN python3 -m venv "$VIRTUAL_ENV"',
        "RUN python -m pip install --no-cache-dir flyte-sdk-core==2.0.0",
        "RUN apt-get update && apt-get install -y --no-install-recommends git curl && rm -rf /var/lib/apt/lists/*",
        "RUN python -m pip install --no-cache-dir --extra-index-url https://example.com/simple 'pandas>=2' numpy",
        "COPY _flyte/7-requirements.txt /tmp/flyte-build/7/requirements.txt",
        "RUN python -m pip install --no-cache-dir -r /tmp/flyte-build/7/requirements.txt",
        'ENV MODE="prod run" HF_HOME="/cache"',
        "WORKDIR /app",
        "COPY _flyte/10-src ./src",
        "COPY _flyte/11-config.yaml ./",
        "RUN python -c 'import pkg'",
        "RUN echo done",
    ]
    assert image.uri in text


def test_build_context_holds_every_copied_file(project: Path, tmp_path: Path) -> None:
    image = layered(project).with_dockerignore(_write(project / ".dockerignore", "*.log\n"))
    plan = plan_image_build(image)
    out = tmp_path / "ctx"
    dockerfile = write_build_context(plan, out)
    assert dockerfile.read_text() == plan.dockerfile
    assert (out / "_flyte/7-requirements.txt").read_text() == "requests==2.31.0\n"
    assert (out / "_flyte/10-src/pkg/model.py").read_text() == "WEIGHTS = 1\n"
    assert not (out / "_flyte/10-src/pkg/notes.log").exists()
    assert (out / "_flyte/11-config.yaml").is_file()
    for ln in lines(plan.dockerfile):
        if ln.startswith("COPY "):
            assert (out / ln.split()[1]).exists(), ln


def _write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def test_tag_is_stable_for_equal_images_and_changes_with_any_layer(project: Path) -> None:
    a, b = layered(project), layered(project)
    assert a is not b and a.uri == b.uri and render_dockerfile(a) == render_dockerfile(b)
    assert a.with_pip_packages("scipy").uri != a.uri
    assert layered(project).with_env_vars({"X": "1"}).uri != layered(project).with_env_vars({"X": "2"}).uri
    before = a.uri
    (project / "requirements.txt").write_text("requests==2.32.0\n")  # a copied file's content is part of the tag
    assert layered(project).uri != before
    assert build(layered(project), dry_run=True).uri == layered(project).uri


def test_dry_run_returns_dockerfile_and_uri(project: Path) -> None:
    image = layered(project)
    result = build(image, dry_run=True)
    assert isinstance(result, ImageBuild)
    assert result.uri == image.uri and result.dockerfile == render_dockerfile(image) and not result.built
    assert (result.remote_run, result.build_run) == (None, None)
    # The published fields come first, in order.
    assert [f.name for f in dataclasses.fields(ImageBuild)][:3] == ["uri", "remote_run", "build_run"]
    assert asyncio.run(build.aio(image, dry_run=True)) == result


def test_secret_mounts_are_references(project: Path) -> None:
    image = (
        flyte.Image.from_debian_base(python="3.12", install_flyte=False)
        .with_pip_packages("private-pkg", secret_mounts=[flyte.Secret("pip-token", as_env_var="PIP_INDEX_TOKEN")])
        .with_apt_packages("libfoo", secret_mounts=flyte.Secret("netrc", group="apt", mount=Path("/etc/flyte/secrets")))
    )
    text = render_dockerfile(image)
    assert "RUN --mount=type=secret,id=pip-token,env=PIP_INDEX_TOKEN python -m pip install" in text
    assert "RUN --mount=type=secret,id=apt_netrc,target=/etc/flyte/secrets/apt/netrc apt-get update" in text


def test_uv_script_and_projects(tmp_path: Path) -> None:
    script = _write(tmp_path / "job.py", '# /// script\n# dependencies = ["httpx>=0.27", "rich"]\n# ///\nprint(1)\n')
    text = render_dockerfile(flyte.Image.from_uv_script(script, name="job", python_version=(3, 12)))
    assert lines(text)[-1] == "RUN python -m pip install --no-cache-dir 'httpx>=0.27' rich"
    proj = tmp_path / "proj"
    proj.mkdir()
    _write(proj / "pyproject.toml", '[project]\nname = "proj"\nversion = "0.1"\ndependencies = ["attrs"]\n')
    base = flyte.Image.from_debian_base(python="3.12", install_flyte=False)
    text = render_dockerfile(base.with_uv_project(proj / "pyproject.toml"))
    assert "RUN python -m pip install --no-cache-dir attrs" in text
    _write(proj / "uv.lock", "version = 1\n")
    text = render_dockerfile(base.with_uv_project(proj / "pyproject.toml", project_install_mode="install_project"))
    assert "uv export --frozen --no-emit-project" in text and "--no-deps /tmp/flyte-build/" in text
    _write(proj / "poetry.lock", "")
    text = render_dockerfile(base.with_poetry_project(proj / "pyproject.toml"))
    assert "poetry install --no-interaction --no-root" in text


def test_images_without_layers(tmp_path: Path) -> None:
    as_is = flyte.Image.from_base("ghcr.io/org/img:1.0")
    assert plan_image_build(as_is).needs_build is False
    assert build(as_is) == ImageBuild(uri="ghcr.io/org/img:1.0")
    dockerfile = _write(tmp_path / "Dockerfile", "FROM alpine\nRUN echo hi\n")
    image = flyte.Image.from_dockerfile(dockerfile, registry="ghcr.io/org", name="custom")
    result = build(image, dry_run=True)
    assert result.dockerfile == "FROM alpine\nRUN echo hi\n" and result.uri.startswith("ghcr.io/org/custom:")
    with pytest.raises(ValidationError, match="reference name"):
        build(flyte.Image.from_ref_name("gpu"), dry_run=True)
    with pytest.raises(TypeValidationError):
        build(42, dry_run=True)  # type: ignore[arg-type]


def test_missing_local_file_is_an_error(tmp_path: Path) -> None:
    image = flyte.Image.from_debian_base(python="3.12").with_requirements(tmp_path / "nope.txt")
    with pytest.raises(ValidationError, match="nope.txt"):
        build(image, dry_run=True)


def test_real_build_without_a_container_engine_is_a_clear_error(project: Path, no_engine: None) -> None:
    assert find_container_engine() is None
    with pytest.raises(ImageBuildError, match="no container engine") as e:
        build(layered(project))
    assert layered(project).uri in str(e.value) and "dry_run=True" in str(e.value)


def test_cli_writes_the_dockerfile(project: Path, tmp_path: Path, capsys: pytest.CaptureFixture, monkeypatch) -> None:
    from flyte.cli._common import run_cli
    from flyte.cli.main import flyte as cli

    app = project / "app_images.py"
    app.write_text(
        "import flyte\n"
        "base = flyte.Image.from_debian_base(python='3.12', install_flyte=False).with_pip_packages('requests')\n"
        "env = flyte.TaskEnvironment(name='app_env', image=base.with_apt_packages('git'))\n"
        "plain = flyte.TaskEnvironment(name='plain_env', image='python:3.12-slim')\n"
    )
    monkeypatch.chdir(project)
    out = tmp_path / "out"
    assert run_cli(cli, ["build", "--dry-run", "--all", "--output", str(out), str(app)]) == 0
    printed = capsys.readouterr()
    import app_images

    for image in (app_images.base, app_images.env.image):
        dockerfile = out / image.tag / "Dockerfile"
        assert dockerfile.read_text() == render_dockerfile(image)
        assert image.uri in printed.out
    assert "nothing to build" in printed.err

    assert run_cli(cli, ["build", "--dry-run", str(app), "app_env"]) == 0
    printed = capsys.readouterr()
    assert printed.out == render_dockerfile(app_images.env.image)

    assert run_cli(cli, ["build", "--dry-run", str(app), "missing"]) == 1
    assert "missing" in capsys.readouterr().err


def test_cli_build_without_engine_fails_in_one_line(project: Path, no_engine: None, capsys, monkeypatch) -> None:
    from flyte.cli._common import run_cli
    from flyte.cli.main import flyte as cli

    app = _write(project / "one_image.py", "import flyte\nimg = flyte.Image.from_debian_base(python='3.12')\n")
    monkeypatch.chdir(project)
    assert run_cli(cli, ["build", str(app), "img"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("Error: ImageBuildError") and "no container engine" in err and "Traceback" not in err


def test_paths_with_spaces_use_the_json_copy_form(tmp_path, monkeypatch):
    from flyte._dockerfile import render_dockerfile

    (tmp_path / "my src").mkdir()
    (tmp_path / "my src" / "a.py").write_text("x = 1\n")
    monkeypatch.chdir(tmp_path)
    image = flyte.Image.from_debian_base().with_source_folder("my src")
    copies = [line for line in render_dockerfile(image).splitlines() if line.startswith("COPY")]
    assert copies and copies[-1].startswith('COPY ["') and copies[-1].endswith('"./my src"]')


def test_a_registry_with_a_port_is_pushed(tmp_path):
    from flyte._build import _build_command
    from flyte._dockerfile import plan_image_build

    plan = plan_image_build(flyte.Image.from_debian_base(registry="localhost:5000", name="x"))
    cmd = _build_command("/usr/bin/docker", plan, tmp_path)
    assert "--push" in cmd and "buildx" in cmd
