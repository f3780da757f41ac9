"""The layers of an ``Image`` and the content hashing behind its tag: pure value types.

Each layer is a frozen dataclass that says how it contributes to the image's hash
(:meth:`Layer.update_hash`): its fields, plus the bytes of every local file or folder it copies
in, so the same definition hashes the same on every machine and any change to a copied file
gives a new tag. The ``Image`` builder (:mod:`flyte._image`) stacks them.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, fields
from pathlib import Path
from typing import TYPE_CHECKING, Dict, List, Literal, Optional, Tuple

from flyte.errors import ValidationError

if TYPE_CHECKING:
    from flyte._secret import Secret

__all__ = [
    "AptPackages",
    "CodeBundleLayer",
    "Commands",
    "CopyConfig",
    "DockerIgnore",
    "Env",
    "Layer",
    "PipOption",
    "PipPackages",
    "PoetryProject",
    "PythonWheels",
    "Requirements",
    "UVProject",
    "UVScript",
    "WorkDir",
    "update_with_path",
    "update_with_text",
]

# Folders that never belong in an image's identity: VCS data and caches.
_SKIP_DIRS = {".git", "__pycache__", ".mypy_cache", ".pytest_cache", ".ruff_cache", ".tox", ".venv", "node_modules"}


def update_with_path(hasher: "hashlib._Hash", path: Path) -> None:
    """Mix a local file or folder into the hash: names relative to it and the bytes of each file.

    A path missing here (an image definition evaluated inside a container) contributes its name only.
    """
    if path.is_file():
        hasher.update(b"file\0")
        hasher.update(path.read_bytes())
        return
    if not path.is_dir():
        hasher.update(f"missing\0{path}".encode())
        return
    hasher.update(b"dir\0")
    for root, dirs, files in os.walk(path):
        dirs[:] = sorted(d for d in dirs if d not in _SKIP_DIRS)
        for name in sorted(files):
            if name.endswith((".pyc", ".pyo")):
                continue
            full = Path(root) / name
            hasher.update(full.relative_to(path).as_posix().encode() + b"\0")
            if full.is_file():
                hasher.update(full.read_bytes())


def update_with_text(hasher: "hashlib._Hash", *parts: object) -> None:
    """Mix values into the hash by their repr, each ended by a NUL byte."""
    for p in parts:
        hasher.update(repr(p).encode() + b"\0")


# ---------------------------------------------------------------------------------------------
# Layers
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class Layer:
    """One step of an image definition. Subclasses say how they contribute to the image's hash."""

    def update_hash(self, hasher: "hashlib._Hash") -> None:
        """Mix everything that affects the built image into ``hasher``: the layer's fields and the
        content of the local files it copies in."""
        update_with_text(hasher, type(self).__name__)
        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(value, Path):
                update_with_path(hasher, value)
            else:
                update_with_text(hasher, f.name, value)

    def validate(self) -> None:
        """Check what can only be checked where the image is built (local files exist)."""


@dataclass(frozen=True, kw_only=True)
class PipOption:
    """Options of a ``pip install`` layer."""

    index_url: Optional[str] = None
    extra_index_urls: Optional[Tuple[str, ...]] = None
    pre: bool = False
    extra_args: Optional[str] = None
    secret_mounts: Optional[Tuple["Secret", ...]] = None

    def get_pip_install_args(self) -> List[str]:
        """The pip arguments these options stand for."""
        args = [f"--index-url {self.index_url}"] if self.index_url else []
        args += [f"--extra-index-url {u}" for u in self.extra_index_urls or ()]
        if self.pre:
            args.append("--pre")
        if self.extra_args:
            args.append(self.extra_args)
        return args


@dataclass(frozen=True, kw_only=True)
class PipPackages(PipOption, Layer):
    """``pip install`` of the named packages."""

    packages: Optional[Tuple[str, ...]] = None


@dataclass(frozen=True, kw_only=True)
class Requirements(PipOption, Layer):
    """``pip install -r`` of a local requirements file (its content is part of the image's hash)."""

    file: Path

    def validate(self) -> None:
        if not self.file.is_file():
            raise ValidationError("file", str(self.file), "an existing requirements file", owner="with_requirements")


@dataclass(frozen=True, kw_only=True)
class PythonWheels(PipOption, Layer):
    """Install the wheels of ``package_name`` found in a local folder."""

    wheel_dir: Path
    package_name: str

    def update_hash(self, hasher: "hashlib._Hash") -> None:
        update_with_text(hasher, "PythonWheels", self.package_name, self.get_pip_install_args())
        wheels = sorted(self.wheel_dir.glob("*.whl")) if self.wheel_dir.is_dir() else []
        for wheel in wheels:
            update_with_text(hasher, wheel.name)
            update_with_path(hasher, wheel)
        if not wheels:
            update_with_text(hasher, str(self.wheel_dir))

    def validate(self) -> None:
        if not any(self.wheel_dir.glob("*.whl")):
            raise ValidationError("wheel_dir", str(self.wheel_dir), "a folder holding built wheels", owner="with_local_v2")


@dataclass(frozen=True, kw_only=True)
class UVScript(PipOption, Layer):
    """Install the dependencies a script declares in its inline ``# /// script`` metadata."""

    script: Path

    def validate(self) -> None:
        if not self.script.is_file() or self.script.suffix != ".py":
            raise ValidationError("script", str(self.script), "an existing .py file", owner="from_uv_script")


@dataclass(frozen=True, kw_only=True)
class AptPackages(Layer):
    """``apt-get install`` of the named packages."""

    packages: Tuple[str, ...]
    secret_mounts: Optional[Tuple["Secret", ...]] = None


@dataclass(frozen=True, kw_only=True)
class Commands(Layer):
    """Shell commands run while building (each a ``RUN`` step)."""

    commands: Tuple[str, ...]
    secret_mounts: Optional[Tuple["Secret", ...]] = None


@dataclass(frozen=True, kw_only=True)
class WorkDir(Layer):
    """The working directory of the image."""

    workdir: str


@dataclass(frozen=True, kw_only=True)
class Env(Layer):
    """Environment variables of the image."""

    env_vars: Tuple[Tuple[str, str], ...] = ()

    @classmethod
    def from_dict(cls, envs: Dict[str, str]) -> "Env":
        """An ``Env`` layer from a dict."""
        return cls(env_vars=tuple(envs.items()))


@dataclass(frozen=True, kw_only=True)
class CopyConfig(Layer):
    """Copy a local file (``path_type=0``) or folder (``path_type=1``) into the image at ``dst``."""

    path_type: Literal[0, 1]
    src: Path
    dst: str

    def validate(self) -> None:
        ok = self.src.is_file() if self.path_type == 0 else self.src.is_dir()
        if not ok:
            kind = "file" if self.path_type == 0 else "folder"
            raise ValidationError("src", str(self.src), f"an existing {kind}", owner="Image")


@dataclass(frozen=True, kw_only=True)
class DockerIgnore(Layer):
    """A ``.dockerignore`` file applied to the copy layers."""

    path: Path


InstallMode = Literal["dependencies_only", "install_project"]
"""How a project layer installs: only its dependencies, or the project itself too."""
INSTALL_MODES = ("dependencies_only", "install_project")


def _update_with_project(hasher: "hashlib._Hash", mode: str, pyproject: Path, lock: Optional[Path]) -> None:
    # Installing only the dependencies depends on the manifest and lock file; installing the project
    # depends on its whole folder.
    if mode == "install_project":
        update_with_path(hasher, pyproject.parent)
    else:
        update_with_path(hasher, pyproject)
        if lock is not None:
            update_with_path(hasher, lock)


@dataclass(frozen=True, kw_only=True)
class UVProject(PipOption, Layer):
    """Install a uv project (``pyproject.toml`` and optionally ``uv.lock``): its dependencies, or all of it."""

    pyproject: Path
    uvlock: Optional[Path] = None
    project_install_mode: InstallMode = "dependencies_only"

    def update_hash(self, hasher: "hashlib._Hash") -> None:
        update_with_text(hasher, "UVProject", self.project_install_mode, self.get_pip_install_args(),
                          self.secret_mounts)
        _update_with_project(hasher, self.project_install_mode, self.pyproject, self.uvlock)

    def validate(self) -> None:
        if not self.pyproject.is_file():
            raise ValidationError("pyproject_file", str(self.pyproject), "an existing pyproject.toml",
                                  owner="with_uv_project")
        if self.uvlock is not None and not self.uvlock.is_file():
            raise ValidationError("uvlock", str(self.uvlock), "an existing uv.lock", owner="with_uv_project")


@dataclass(frozen=True, kw_only=True)
class PoetryProject(Layer):
    """Install a Poetry project (``pyproject.toml`` and ``poetry.lock``): its dependencies, or all of it."""

    pyproject: Path
    poetry_lock: Path
    extra_args: Optional[str] = None
    project_install_mode: InstallMode = "dependencies_only"
    secret_mounts: Optional[Tuple["Secret", ...]] = None

    def update_hash(self, hasher: "hashlib._Hash") -> None:
        update_with_text(hasher, "PoetryProject", self.project_install_mode, self.extra_args, self.secret_mounts)
        _update_with_project(hasher, self.project_install_mode, self.pyproject, self.poetry_lock)

    def validate(self) -> None:
        if not self.pyproject.is_file():
            raise ValidationError("pyproject_file", str(self.pyproject), "an existing pyproject.toml",
                                  owner="with_poetry_project")
        if not self.poetry_lock.is_file():
            raise ValidationError("poetry_lock", str(self.poetry_lock), "an existing poetry.lock",
                                  owner="with_poetry_project")


@dataclass(frozen=True, kw_only=True)
class CodeBundleLayer(Layer):
    """Copy the user's code into the image when runs ship no code bundle; resolved where the image is built."""

    copy_style: Literal["loaded_modules", "all"] = "loaded_modules"
    dst: str = "."
