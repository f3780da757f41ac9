"""Render a ``flyte.Image`` as a Dockerfile and the build context it needs.

Each layer of the image becomes instructions, in the order the layers were added; local files a
layer copies in (requirements, sources, wheels, project manifests) are listed as context entries,
placed under ``_flyte/<n>-<name>`` so that layers never collide. :func:`write_build_context`
writes the Dockerfile and those files to a folder any BuildKit builder can build
(``docker buildx build DIR``). Nothing here runs a container engine.

Python packages go into the image's virtual environment when the image defines one
(``VIRTUAL_ENV``, as the default Debian base does): it is created right before the first
install step.
"""

from __future__ import annotations

import fnmatch
import os
import re
import shlex
import shutil
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, List, Optional, Sequence, Tuple

from flyte.errors import TypeValidationError, ValidationError

__all__ = ["BuildPlan", "plan_image_build", "render_dockerfile", "write_build_context"]

SYNTAX = "# syntax=docker/dockerfile:1.10"
BUILD_DIR = "/tmp/flyte-build"
_PIP = "python -m pip install --no-cache-dir"
# Never worth shipping to a builder: VCS data, caches, virtual environments.
_SKIP_DIRS = {".git", "__pycache__", ".mypy_cache", ".pytest_cache", ".ruff_cache", ".tox", ".venv", "node_modules"}
_SCRIPT_BLOCK = re.compile(r"(?m)^# /// script$\s(?P<content>(^#(| .*)$\s)+)^# ///$")


@dataclass(frozen=True)
class BuildPlan:
    """What building an image takes.

    Attributes:
        uri: The image's URI (its content-addressed tag).
        dockerfile: The Dockerfile text.
        context: ``(local path, path inside the build context)`` of every file or folder to copy.
        platforms: The platforms to build for.
        needs_build: False for an image used as is (``Image.from_base``): there is nothing to build.
        ignore_patterns: ``.dockerignore`` patterns applied when folders are copied into the context.
    """

    uri: str
    dockerfile: str
    context: Tuple[Tuple[Path, str], ...] = ()
    platforms: Tuple[str, ...] = ("linux/amd64",)
    needs_build: bool = True
    ignore_patterns: Tuple[str, ...] = field(default=())


class _Renderer:
    def __init__(self, image: Any):
        self.image = image
        self.lines: List[str] = []
        self.context: List[Tuple[Path, str]] = []
        self.env: dict = {}
        self.venv_ready = False
        self.ignore: List[str] = []

    # -- helpers ---------------------------------------------------------------------------------
    def add_context(self, n: int, src: Path, name: Optional[str] = None) -> str:
        rel = f"_flyte/{n}-{name or src.name}"
        self.context.append((src, rel))
        return rel

    def python_install(self) -> None:
        # The default base points PATH at a virtual environment that no base image contains yet.
        if not self.venv_ready and "VIRTUAL_ENV" in self.env:
            self.lines.append('RUN python3 -m venv "$VIRTUAL_ENV"')
        self.venv_ready = True

    def run(self, command: str, secrets: Optional[Sequence[Any]] = None) -> None:
        self.lines.append(f"RUN {_secret_flags(secrets)}{command}")


def _secret_flags(secrets: Optional[Sequence[Any]]) -> str:
    """BuildKit secret mounts: a secret read as a file at its mount path, else as its env var."""
    flags = []
    for s in secrets or ():
        sid = f"{s.group}_{s.key}" if s.group else s.key
        if s.mount is not None:
            path = f"{s.mount}/{s.group}/{s.key}" if s.group else f"{s.mount}/{s.key}"
            flags.append(f"--mount=type=secret,id={sid},target={path}")
        else:
            flags.append(f"--mount=type=secret,id={sid},env={s.as_env_var}")
    return "".join(f"{f} " for f in flags)


def _quote_all(items: Iterable[str]) -> str:
    return " ".join(shlex.quote(i) for i in items)


def _pip_opts(layer: Any) -> str:
    args = layer.get_pip_install_args()
    return "".join(f"{a} " for a in args)


def _env_value(value: str) -> str:
    # Double quotes keep spaces and still expand $VARS, which PATH-style values rely on.
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _script_dependencies(script: Path) -> List[str]:
    import tomllib

    match = _SCRIPT_BLOCK.search(script.read_text(encoding="utf-8"))
    if not match:
        return []
    body = "".join(line[2:] if line.startswith("# ") else line[1:] for line in match.group("content").splitlines(True))
    try:
        data = tomllib.loads(body)
    except tomllib.TOMLDecodeError as e:
        raise ValidationError(
            "script", str(script), f"a valid '# /// script' TOML block ({e})", owner="from_uv_script"
        ) from None
    return [str(d) for d in data.get("dependencies", [])]


def _project_dependencies(pyproject: Path) -> List[str]:
    import tomllib

    data = tomllib.loads(pyproject.read_text(encoding="utf-8"))
    return [str(d) for d in data.get("project", {}).get("dependencies", [])]


def _copy_dst(dst: str, is_file: bool) -> str:
    if is_file and (dst in (".", "./") or dst.endswith("/")):
        return dst if dst.endswith("/") else "./"
    return dst


def _code_root() -> Path:
    from flyte._config import get_config

    return Path(get_config().root_dir)


def _loaded_module_files(root: Path) -> List[Path]:
    files = []
    for mod in list(sys.modules.values()):
        f = getattr(mod, "__file__", None)
        if not f:
            continue
        p = Path(f).resolve()
        try:
            rel = p.relative_to(root.resolve())
        except ValueError:
            continue
        hidden = any(part in _SKIP_DIRS or part.startswith(".") for part in rel.parts)
        if not hidden and "site-packages" not in rel.parts:
            files.append(p)
    return sorted(set(files))


# -- one function per layer type -------------------------------------------------------------------


def _render_layer(r: _Renderer, n: int, layer: Any) -> None:
    from flyte import _image as im

    if isinstance(layer, im.AptPackages):
        r.run(
            "apt-get update && apt-get install -y --no-install-recommends "
            f"{_quote_all(layer.packages)} && rm -rf /var/lib/apt/lists/*",
            layer.secret_mounts,
        )
    elif isinstance(layer, im.PipPackages):
        r.python_install()
        r.run(f"{_PIP} {_pip_opts(layer)}{_quote_all(layer.packages or ())}", layer.secret_mounts)
    elif isinstance(layer, im.Requirements):
        r.python_install()
        rel = r.add_context(n, layer.file)
        target = f"{BUILD_DIR}/{n}/{layer.file.name}"
        r.lines.append(_copy(rel, target))
        r.run(f"{_PIP} {_pip_opts(layer)}-r {target}", layer.secret_mounts)
    elif isinstance(layer, im.PythonWheels):
        r.python_install()
        rel = r.add_context(n, layer.wheel_dir, "wheels")
        r.lines.append(_copy(rel, f"{BUILD_DIR}/{n}/"))
        r.run(f"{_PIP} {_pip_opts(layer)}--find-links {BUILD_DIR}/{n} {shlex.quote(layer.package_name)}",
              layer.secret_mounts)
    elif isinstance(layer, im.UVScript):
        r.python_install()
        deps = _script_dependencies(layer.script)
        if deps:
            r.run(f"{_PIP} {_pip_opts(layer)}{_quote_all(deps)}", layer.secret_mounts)
    elif isinstance(layer, im.UVProject):
        r.python_install()
        _render_uv_project(r, n, layer)
    elif isinstance(layer, im.PoetryProject):
        r.python_install()
        _render_poetry_project(r, n, layer)
    elif isinstance(layer, im.Commands):
        for command in layer.commands:
            r.run(command, layer.secret_mounts)
    elif isinstance(layer, im.WorkDir):
        r.lines.append(f"WORKDIR {layer.workdir}")
    elif isinstance(layer, im.Env):
        if layer.env_vars:
            r.env.update(dict(layer.env_vars))
            r.lines.append("ENV " + " ".join(f"{k}={_env_value(v)}" for k, v in layer.env_vars))
    elif isinstance(layer, im.CopyConfig):
        rel = r.add_context(n, layer.src)
        r.lines.append(_copy(rel, f"{_copy_dst(layer.dst, layer.path_type == 0)}"))
    elif isinstance(layer, im.DockerIgnore):
        if layer.path.is_file():
            r.ignore.extend(_ignore_patterns(layer.path.read_text(encoding="utf-8")))
    elif isinstance(layer, im.CodeBundleLayer):
        root = _code_root()
        if layer.copy_style == "all":
            rel = r.add_context(n, root, "code")
        else:
            rel = f"_flyte/{n}-code"
            for f in _loaded_module_files(root):
                r.context.append((f, f"{rel}/{f.relative_to(root.resolve()).as_posix()}"))
        r.lines.append(_copy(rel, f"{layer.dst if layer.dst.endswith('/') else layer.dst + '/'}"))
    else:
        raise TypeValidationError("layer", layer, "a layer type flyte can render", owner="flyte.build")



def _copy(src: str, dst: str) -> str:
    """A COPY line; the JSON form when a path has spaces or quotes (the plain form splits them)."""
    if any(ch.isspace() or ch in "\"\\" for ch in src + dst):
        import json

        return "COPY " + json.dumps([src, dst])
    return f"COPY {src} {dst}"


def _render_uv_project(r: _Renderer, n: int, layer: Any) -> None:
    work = f"{BUILD_DIR}/{n}"
    opts = _pip_opts(layer)
    if layer.project_install_mode == "install_project":
        rel = r.add_context(n, layer.pyproject.parent, "project")
        r.lines.append(_copy(rel, f"{work}/"))
    else:
        r.lines.append(_copy(r.add_context(n, layer.pyproject), f"{work}/pyproject.toml"))
        if layer.uvlock is not None:
            r.lines.append(_copy(r.add_context(n, layer.uvlock), f"{work}/uv.lock"))
    if layer.uvlock is not None:
        # The lock pins every version: install exactly what it lists.
        r.run(
            f"{_PIP} uv && cd {work} && uv export --frozen --no-emit-project --no-hashes -o requirements.txt "
            f"&& {_PIP} {opts}-r requirements.txt",
            layer.secret_mounts,
        )
    else:
        deps = _project_dependencies(layer.pyproject)
        if deps:
            r.run(f"{_PIP} {opts}{_quote_all(deps)}", layer.secret_mounts)
    if layer.project_install_mode == "install_project":
        r.run(f"{_PIP} {opts}--no-deps {work}", layer.secret_mounts)


def _render_poetry_project(r: _Renderer, n: int, layer: Any) -> None:
    work = f"{BUILD_DIR}/{n}"
    if layer.project_install_mode == "install_project":
        r.lines.append(_copy(r.add_context(n, layer.pyproject.parent, 'project'), f"{work}/"))
        root_flag = ""
    else:
        r.lines.append(_copy(r.add_context(n, layer.pyproject), f"{work}/pyproject.toml"))
        r.lines.append(_copy(r.add_context(n, layer.poetry_lock), f"{work}/poetry.lock"))
        root_flag = "--no-root "
    extra = f"{layer.extra_args} " if layer.extra_args else ""
    r.run(
        f"{_PIP} poetry && cd {work} && poetry config virtualenvs.create false "
        f"&& poetry install --no-interaction {root_flag}{extra}".rstrip(),
        layer.secret_mounts,
    )


def _ignore_patterns(text: str) -> List[str]:
    return [line.strip() for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]


# -- public ----------------------------------------------------------------------------------------


def plan_image_build(image: Any) -> BuildPlan:
    """The Dockerfile, build context and URI of ``image`` (a ``flyte.Image``).

    Checks the local files the image needs exist. An image used as is (``Image.from_base``) has
    nothing to build (``needs_build=False``); a ``from_dockerfile`` image's Dockerfile is its own,
    with its folder as the context.
    """
    from flyte._image import Image

    if not isinstance(image, Image):
        raise TypeValidationError("image", image, "a flyte.Image", owner="flyte.build")
    if image._ref_name is not None and not image.base_image and image.dockerfile is None:
        raise ValidationError(
            "image", f"Image.from_ref_name({image._ref_name!r})",
            "an image with a base or a Dockerfile; a reference name stands for an image built elsewhere",
            owner="flyte.build",
        )
    image.validate()
    platforms = tuple(image.platform)
    if image.dockerfile is not None:
        text = image.dockerfile.read_text(encoding="utf-8")
        return BuildPlan(uri=image.uri, dockerfile=text, context=((image.dockerfile.parent, "."),), platforms=platforms)
    if not image._is_cloned:
        return BuildPlan(uri=image.uri, dockerfile=f"FROM {image.base_image}\n", platforms=platforms, needs_build=False)
    r = _Renderer(image)
    for n, layer in enumerate(image._layers, start=1):
        _render_layer(r, n, layer)
    header = [SYNTAX, f"# {image.uri}: every layer below is part of the tag", f"FROM {image.base_image}"]
    text = "\n".join([*header, *r.lines]) + "\n"
    return BuildPlan(
        uri=image.uri, dockerfile=text, context=tuple(r.context), platforms=platforms, ignore_patterns=tuple(r.ignore)
    )


def render_dockerfile(image: Any) -> str:
    """The Dockerfile text of ``image`` (see :func:`plan_image_build`)."""
    return plan_image_build(image).dockerfile


def _ignored(patterns: Sequence[str]) -> Callable[[str], bool]:
    def check(rel: str) -> bool:
        parts = rel.split("/")
        for p in patterns:
            p = p.strip("/")
            if fnmatch.fnmatch(rel, p) or any(fnmatch.fnmatch(part, p) for part in parts):
                return True
        return False

    return check


def write_build_context(plan: BuildPlan, directory: os.PathLike | str) -> Path:
    """Write ``plan``'s Dockerfile and context files into ``directory`` (created if needed) and
    return the Dockerfile's path. Folders are copied without VCS data, caches and files matched by
    the image's ``.dockerignore`` patterns."""
    root = Path(directory)
    root.mkdir(parents=True, exist_ok=True)
    ignored = _ignored(plan.ignore_patterns)
    for src, rel in plan.context:
        dst = root / rel
        if src.is_dir():
            for folder, dirs, files in os.walk(src):
                dirs[:] = sorted(d for d in dirs if d not in _SKIP_DIRS)
                for name in sorted(files):
                    path = Path(folder) / name
                    relative = path.relative_to(src).as_posix()
                    if name.endswith((".pyc", ".pyo")) or ignored(relative):
                        continue
                    target = dst / relative
                    target.parent.mkdir(parents=True, exist_ok=True)
                    shutil.copy2(path, target)
        elif src.is_file():
            dst.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dst)
    dockerfile = root / "Dockerfile"
    dockerfile.write_text(plan.dockerfile, encoding="utf-8")
    return dockerfile
