"""Image definitions: constructors, layers, validation, and the content-addressed URI."""

import subprocess
import sys
from pathlib import Path

import pytest

from flyte._image import (
    AptPackages,
    Commands,
    CopyConfig,
    Env,
    Image,
    PipPackages,
    PythonWheels,
    Requirements,
    UVScript,
    WorkDir,
)
from flyte._secret import Secret
from flyte.errors import TypeValidationError, ValidationError


@pytest.fixture
def base():
    return Image.from_debian_base(python_version=(3, 12), install_flyte=False)


def test_direct_construction_is_refused():
    with pytest.raises(TypeError, match="from_debian_base"):
        Image()


def test_debian_base_defaults():
    img = Image.from_debian_base(python="3.12")
    assert img.base_image == "python:3.12-slim-bookworm"
    assert img.name == "flyte" and img.extendable and img.python_version == (3, 12)
    assert img.platform == ("linux/amd64", "linux/arm64")
    kinds = [type(layer) for layer in img._layers]
    assert kinds == [AptPackages, Env, WorkDir, PipPackages]
    assert img._layers[-1].packages[0].startswith("flyte-sdk-core==")
    assert Image.from_debian_base(python="3.12") == img
    assert Image.from_debian_base(python_version="3.11").python_version == (3, 11)
    assert Image.from_debian_base().python_version == sys.version_info[:2]


def test_uri_is_name_and_content_hash(base):
    assert base.uri == f"flyte:{base.tag}"
    assert len(base.tag) == 32 and all(c in "0123456789abcdef" for c in base.tag)
    reg = Image.from_debian_base(python_version=(3, 12), install_flyte=False, registry="ghcr.io/org", name="app")
    assert reg.uri == f"ghcr.io/org/app:{reg.tag}"


def test_same_definition_same_uri_and_any_change_changes_it(base):
    a = base.with_pip_packages("pandas").with_apt_packages("git")
    b = base.with_pip_packages("pandas").with_apt_packages("git")
    assert a.uri == b.uri and a == b and hash(a) == hash(b)
    variants = [
        base.with_pip_packages("pandas==2.2").with_apt_packages("git"),
        base.with_apt_packages("git").with_pip_packages("pandas"),  # order matters
        base.with_pip_packages("pandas", pre=True).with_apt_packages("git"),
        base.with_pip_packages("pandas", index_url="https://x/simple").with_apt_packages("git"),
        base.with_pip_packages("pandas").with_apt_packages("git", secret_mounts="tok"),
        Image.from_debian_base(python_version=(3, 11), install_flyte=False).with_pip_packages("pandas")
        .with_apt_packages("git"),
    ]
    uris = {v.uri for v in variants} | {a.uri}
    assert len(uris) == len(variants) + 1


def test_uri_is_the_same_in_another_process(tmp_path):
    req = tmp_path / "requirements.txt"
    req.write_text("numpy\n")
    code = (
        "from flyte._image import Image;"
        f"print(Image.from_debian_base(python_version=(3, 12), install_flyte=False).with_requirements({str(req)!r})"
        ".with_env_vars({'A': '1'}).uri)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    img = Image.from_debian_base(python_version=(3, 12), install_flyte=False).with_requirements(req)
    assert out == img.with_env_vars({"A": "1"}).uri


def test_local_file_content_is_part_of_the_tag(base, tmp_path):
    req = tmp_path / "requirements.txt"
    req.write_text("numpy\n")
    first = base.with_requirements(req).uri
    assert base.with_requirements(str(req)).uri == first
    req.write_text("numpy==2\n")
    assert base.with_requirements(req).uri != first


def test_source_folder_content_is_part_of_the_tag(base, tmp_path):
    src = tmp_path / "pkg"
    src.mkdir()
    (src / "a.py").write_text("x = 1\n")
    (src / "__pycache__").mkdir()
    (src / "__pycache__" / "a.cpython-311.pyc").write_bytes(b"junk")
    img = base.with_source_folder(src)
    layer = img._layers[-1]
    assert isinstance(layer, CopyConfig) and layer.path_type == 1 and layer.dst == "./pkg"
    before = img.uri
    (src / "__pycache__" / "a.cpython-311.pyc").write_bytes(b"other junk")
    assert base.with_source_folder(src).uri == before  # caches do not count
    (src / "b.py").write_text("y = 2\n")
    assert base.with_source_folder(src).uri != before
    assert base.with_source_folder(src, copy_contents_only=True)._layers[-1].dst == "."
    assert base.with_source_folder(src, dst="/app")._layers[-1].dst == "/app"


def test_source_files(base, tmp_path):
    a, b = tmp_path / "a.py", tmp_path / "b.py"
    a.write_text("1")
    b.write_text("2")
    img = base.with_source_file([a, b], dst="/app")
    assert [layer.src for layer in img._layers[-2:]] == [a, b]
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "a.py").write_text("3")
    with pytest.raises(ValidationError, match="distinct names"):
        base.with_source_file([a, tmp_path / "sub" / "a.py"])


def test_missing_files_hash_by_name_and_fail_validation(base, tmp_path):
    img = base.with_requirements(tmp_path / "nope.txt").with_source_folder(tmp_path / "gone")
    assert img.uri  # an image definition evaluated where the files are absent still has an identity
    with pytest.raises(ValidationError) as e:
        img.validate()
    assert "nope.txt" in str(e.value)
    present = tmp_path / "r.txt"
    present.write_text("x")
    base.with_requirements(present).validate()


def test_layers_hold_what_was_asked(base):
    img = (
        base.with_apt_packages("git", "curl")
        .with_pip_packages("a", "b", extra_index_urls="https://extra/simple", extra_args="--no-deps")
        .with_commands(["echo hi", "echo there"])
        .with_commands("echo one")
        .with_env_vars({"A": "1"})
        .with_workdir("/app")
    )
    apt, pip, cmds, cmd1, env, wd = img._layers[-6:]
    assert apt.packages == ("git", "curl")
    assert pip.packages == ("a", "b") and pip.extra_index_urls == ("https://extra/simple",)
    assert pip.get_pip_install_args() == ["--extra-index-url https://extra/simple", "--no-deps"]
    assert cmds.commands == ("echo hi", "echo there") and cmd1.commands == ("echo one",)
    assert env.env_vars == (("A", "1"),) and wd.workdir == "/app"
    assert base.with_apt_packages(["vim", "git"])._layers[-1].packages == ("vim", "git")
    mounted = base.with_commands("make", secret_mounts=["tok", Secret("k", group="g")])._layers[-1]
    assert isinstance(mounted, Commands) and mounted.secret_mounts == (Secret("tok"), Secret("k", group="g"))


@pytest.mark.parametrize(
    "build, field",
    [
        (lambda b: b.with_pip_packages(), "packages"),
        (lambda b: b.with_pip_packages(""), "packages"),
        (lambda b: b.with_apt_packages(3), "packages"),
        (lambda b: b.with_commands([]), "commands"),
        (lambda b: b.with_env_vars({"1A": "x"}), "env_vars"),
        (lambda b: b.with_env_vars({"A": 1}), "env_vars['A']"),
        (lambda b: b.with_env_vars({}), "env_vars"),
        (lambda b: b.with_workdir(""), "workdir"),
        (lambda b: b.clone(name="Bad Name"), "name"),
        (lambda b: b.clone(registry="https://ghcr.io"), "registry"),
        (lambda b: b.clone(platform="windows/amd64"), "platform"),
        (lambda b: b.clone(python_version="three"), "python_version"),
    ],
)
def test_invalid_layers(base, build, field):
    with pytest.raises((ValidationError, TypeValidationError)) as e:
        build(base)
    assert e.value.field == field


def test_from_base_is_used_as_is_until_cloned():
    img = Image.from_base("python:3.12-slim")
    assert img.uri == "python:3.12-slim"
    with pytest.raises(ValidationError, match="extendable"):
        img.with_pip_packages("x")
    with pytest.raises(ValidationError, match="name"):
        img.clone(extendable=True).with_pip_packages("x")
    mine = img.clone(name="mine", extendable=True, registry="localhost:5000").with_pip_packages("x")
    assert mine.uri.startswith("localhost:5000/mine:") and mine.base_image == "python:3.12-slim"
    for bad in ("", "has space:1", None):
        with pytest.raises(ValidationError):
            Image.from_base(bad)  # type: ignore[arg-type]


def test_clone_keeps_and_overrides():
    img = Image.from_debian_base(python_version=(3, 12), install_flyte=False, registry="ghcr.io/a", name="x")
    c = img.clone(name="y", platform="linux/arm64", registry_secret="regcred")
    assert (c.name, c.registry, c.platform, c._layers) == ("y", "ghcr.io/a", ("linux/arm64",), img._layers)
    assert c._image_registry_secret == Secret("regcred")
    assert c.clone(extendable=False).extendable is False


def test_dockerfile_images(tmp_path):
    df = tmp_path / "Dockerfile"
    df.write_text("FROM python:3.12\n")
    img = Image.from_dockerfile(df, registry="ghcr.io/org", name="custom")
    first = img.uri
    assert first.startswith("ghcr.io/org/custom:")
    with pytest.raises(ValidationError, match="Dockerfile"):
        img.with_pip_packages("x")
    df.write_text("FROM python:3.11\n")
    assert Image.from_dockerfile(str(df), registry="ghcr.io/org", name="custom").uri != first
    img.validate()
    with pytest.raises(ValidationError):
        Image.from_dockerfile(tmp_path / "none", registry="r.io", name="n").validate()


def test_uv_script(tmp_path):
    script = tmp_path / "job.py"
    script.write_text('# /// script\n# dependencies = ["httpx"]\n# ///\nprint(1)\n')
    img = Image.from_uv_script(script, name="job", registry="r.io", python_version=(3, 12))
    layer = img._layers[-1]
    assert isinstance(layer, UVScript) and layer.script == script
    assert not any(isinstance(x, PipPackages) and any(p.startswith("flyte-sdk-core==") for p in x.packages or ())
                   for x in img._layers)
    first = img.uri
    script.write_text('# /// script\n# dependencies = ["requests"]\n# ///\nprint(1)\n')
    assert Image.from_uv_script(script, name="job", registry="r.io", python_version=(3, 12)).uri != first
    img.validate()


def test_ref_name_and_local_v2(base):
    ref = Image.from_ref_name("gpu")
    assert ref._ref_name == "gpu" and ref.name == "gpu"
    with pytest.raises(ValidationError):
        _ = ref.uri
    local = base.with_local_v2()
    assert isinstance(local._layers[-1], PythonWheels) and local._layers[-1].package_name == "flyte-sdk-core"
    assert local.uri != base.uri


def test_images_are_frozen(base):
    with pytest.raises(Exception):
        base.name = "other"  # type: ignore[misc]


def test_uv_and_poetry_projects(base, tmp_path):
    from flyte._image import CodeBundleLayer, PoetryProject, UVProject

    proj = tmp_path / "proj"
    proj.mkdir()
    (proj / "pyproject.toml").write_text("[project]\nname='p'\n")
    (proj / "uv.lock").write_text("lock-1")
    (proj / "poetry.lock").write_text("plock")
    (proj / "main.py").write_text("x = 1")
    uv = base.with_uv_project(proj / "pyproject.toml")
    layer = uv._layers[-1]
    assert isinstance(layer, UVProject) and layer.uvlock == proj / "uv.lock"
    uv.validate()
    deps_only, full = uv.uri, base.with_uv_project(proj / "pyproject.toml", project_install_mode="install_project").uri
    (proj / "main.py").write_text("x = 2")  # code, not dependencies
    assert base.with_uv_project(proj / "pyproject.toml").uri == deps_only
    assert base.with_uv_project(proj / "pyproject.toml", project_install_mode="install_project").uri != full
    (proj / "uv.lock").write_text("lock-2")
    assert base.with_uv_project(proj / "pyproject.toml").uri != deps_only
    with pytest.raises(ValidationError):
        base.with_uv_project(proj / "pyproject.toml", project_install_mode="everything")  # type: ignore[arg-type]

    poetry = base.with_poetry_project(str(proj / "pyproject.toml"))
    assert isinstance(poetry._layers[-1], PoetryProject) and poetry._layers[-1].poetry_lock == proj / "poetry.lock"
    poetry.validate()
    with pytest.raises(ValidationError, match="poetry.lock"):
        base.with_poetry_project(proj / "pyproject.toml", poetry_lock=proj / "missing.lock").validate()

    cb = base.with_code_bundle("all", dst="/app")._layers[-1]
    assert isinstance(cb, CodeBundleLayer) and (cb.copy_style, cb.dst) == ("all", "/app")
    with pytest.raises(ValidationError):
        base.with_code_bundle("some")  # type: ignore[arg-type]
