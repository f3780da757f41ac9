"""``Image``: a container image described as a base plus layers; pure data, nothing is built here.

Start from a base (``Image.from_debian_base()``, ``from_base(uri)``, ``from_dockerfile(...)``,
``from_uv_script(...)``) and add layers with the ``with_*`` methods, each returning a new frozen
``Image``. The image's tag is a hash of its content (base, layers, and the bytes of every local file
a layer copies in), so the same definition gives the same ``uri`` on every machine, and any change
gives a new one.

The layer value types and the content hashing live in :mod:`flyte._image.layers`; this module is
the builder and re-exports the layers, so ``from flyte._image import PipPackages`` keeps working.
"""

from __future__ import annotations

import hashlib
import re
import sys
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar, Dict, Iterable, List, Literal, Optional, Tuple, Union

from flyte._image.layers import (
    INSTALL_MODES,
    AptPackages,
    CodeBundleLayer,
    Commands,
    CopyConfig,
    DockerIgnore,
    Env,
    InstallMode,
    Layer,
    PipOption,
    PipPackages,
    PoetryProject,
    PythonWheels,
    Requirements,
    UVProject,
    UVScript,
    WorkDir,
    update_with_path,
    update_with_text,
)
from flyte.errors import TypeValidationError, ValidationError

if TYPE_CHECKING:
    from flyte._secret import Secret, SecretRequest

__all__ = [
    "AptPackages",
    "Architecture",
    "CodeBundleLayer",
    "Commands",
    "CopyConfig",
    "DockerIgnore",
    "Env",
    "Image",
    "Layer",
    "PipOption",
    "PipPackages",
    "PoetryProject",
    "PythonWheels",
    "Requirements",
    "UVProject",
    "UVScript",
    "WorkDir",
]

Architecture = Literal["linux/amd64", "linux/arm64"]
_ARCHITECTURES: Tuple[str, ...] = ("linux/amd64", "linux/arm64")
_DEFAULT_PLATFORMS: Tuple[str, ...] = ("linux/amd64", "linux/arm64")
_DEFAULT_IMAGE_NAME = "flyte"
_DEFAULT_REF_NAME = "default"
# Where `with_local_v2` looks for locally built wheels of this package (``python -m build core``).
DIST_FOLDER = Path(__file__).resolve().parents[3] / "dist"

# Docker reference grammar: repository path components and tags.
_NAME_RE = re.compile(r"^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*$")
_REGISTRY_RE = re.compile(r"^[A-Za-z0-9.-]+(?::\d+)?(?:/[a-z0-9._/-]+)?$")
_ENV_NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def _strings(field_name: str, values: Iterable[object], owner: str) -> Tuple[str, ...]:
    out: List[str] = []
    for v in values:
        if isinstance(v, (list, tuple)):
            out.extend(_strings(field_name, v, owner))
        elif isinstance(v, str) and v.strip():
            out.append(v)
        else:
            raise ValidationError(field_name, v, "non-empty strings", owner=owner)
    return tuple(out)


def _secret_mounts(value: Optional["SecretRequest"]) -> Optional[Tuple["Secret", ...]]:
    if not value:
        return None
    from flyte._secret import secrets_from_request

    return tuple(secrets_from_request(value))


# ---------------------------------------------------------------------------------------------
# Image
# ---------------------------------------------------------------------------------------------


def _python_version(value: object, owner: str) -> Tuple[int, int]:
    if value is None:
        return sys.version_info.major, sys.version_info.minor
    if isinstance(value, str):
        parts = value.split(".")
        if len(parts) >= 2 and parts[0].isdigit() and parts[1].isdigit():
            return int(parts[0]), int(parts[1])
    elif (
        isinstance(value, tuple)
        and len(value) >= 2
        and all(isinstance(v, int) and not isinstance(v, bool) for v in value[:2])
    ):
        return value[0], value[1]
    raise ValidationError("python_version", value, "a (major, minor) tuple such as (3, 12), or '3.12'", owner=owner)


def _platforms(value: object, owner: str) -> Tuple[str, ...]:
    values = (value,) if isinstance(value, str) else value
    if not isinstance(values, (tuple, list)) or not values or any(v not in _ARCHITECTURES for v in values):
        raise ValidationError("platform", value, f"one or a tuple of {list(_ARCHITECTURES)}", owner=owner)
    return tuple(values)


def _check_name(name: Optional[str], owner: str) -> None:
    if name is not None and (not isinstance(name, str) or not _NAME_RE.match(name)):
        raise ValidationError(
            "name", name, "an image repository name: lowercase letters, digits and . _ - / separators", owner=owner
        )


def _check_registry(registry: Optional[str], owner: str) -> None:
    if registry is not None and (not isinstance(registry, str) or not _REGISTRY_RE.match(registry)):
        raise ValidationError(
            "registry", registry, "a registry host with optional port and path, e.g. 'ghcr.io/org', 'localhost:5000'",
            owner=owner,
        )


def _registry_secret(value: object, owner: str) -> Optional["Secret"]:
    if value is None:
        return None
    from flyte._secret import Secret

    if isinstance(value, str):
        return Secret(key=value)
    if isinstance(value, Secret):
        return value
    raise TypeValidationError("registry_secret", value, "a secret key or a flyte.Secret", owner=owner)


def _flyte_version() -> str:
    from flyte._version import __version__

    return __version__


@dataclass(frozen=True, eq=True)
class Image:
    """A container image: a base image plus layers, built elsewhere (never by this class).

    Create one with a ``from_*`` constructor and refine it with ``with_*`` methods::

        image = (
            flyte.Image.from_debian_base(python="3.12")
            .with_apt_packages("git")
            .with_pip_packages("pandas", "scikit-learn")
        )
        image.uri  # 'flyte:<content hash>'

    Constructors: ``from_debian_base``, ``from_base``, ``from_dockerfile``, ``from_uv_script``,
    ``from_ref_name``. Layers: ``with_pip_packages``, ``with_requirements``, ``with_apt_packages``,
    ``with_commands``, ``with_env_vars``, ``with_workdir``, ``with_source_file``, ``with_source_folder``,
    ``with_uv_project``, ``with_poetry_project``, ``with_code_bundle``, ``with_dockerignore``,
    ``with_local_v2``. ``clone`` changes name, registry or other properties.
    """

    base_image: Optional[str] = None
    dockerfile: Optional[Path] = None
    registry: Optional[str] = None
    name: Optional[str] = None
    platform: Tuple[Architecture, ...] = ("linux/amd64",)
    python_version: Tuple[int, int] = field(default_factory=lambda: (sys.version_info.major, sys.version_info.minor))
    extendable: bool = False
    _is_cloned: bool = False
    _ref_name: Optional[str] = None
    _layers: Tuple[Layer, ...] = ()
    _tag: Optional[str] = field(default=None, init=False)
    _image_registry_secret: Optional["Secret"] = None

    _token: ClassVar[object] = object()

    def __post_init__(self) -> None:
        if self.__dict__.pop("_guard", None) is not Image._token:
            allowed = (
                "Image.from_debian_base(), Image.from_base(), Image.from_dockerfile(), Image.from_uv_script() "
                "or Image.from_ref_name()"
            )
            err = TypeValidationError("Image", "Image(...)", allowed)
            err.args = (f"Image cannot be constructed directly; use {allowed}",)
            raise err

    @classmethod
    def _new(cls, **kwargs: object) -> "Image":
        obj = cls.__new__(cls)
        object.__setattr__(obj, "_guard", cls._token)
        cls.__init__(obj, **kwargs)  # type: ignore[misc]
        return obj

    # -- constructors ------------------------------------------------------------------------

    @classmethod
    def from_debian_base(
        cls,
        python_version: Optional[Union[Tuple[int, int], str]] = None,
        flyte_version: Optional[str] = None,
        install_flyte: bool = True,
        registry: Optional[str] = None,
        registry_secret: Optional[Union[str, "Secret"]] = None,
        name: Optional[str] = None,
        platform: Optional[Tuple[Architecture, ...]] = None,
        *,
        python: Optional[Union[str, Tuple[int, int]]] = None,
    ) -> "Image":
        """The default image: Debian slim with Python (and this SDK unless ``install_flyte=False``).

        Args:
            python_version: ``(3, 12)`` or ``"3.12"``; defaults to the running interpreter's version.
            flyte_version: Version of this SDK (distribution ``flyte-sdk-core``) to install; defaults to
                the installed one.
            install_flyte: Install this SDK in the image.
            registry: Registry to push the image to.
            registry_secret: Secret holding credentials for the registry.
            name: Image name; defaults to ``"flyte"``.
            platform: Architectures to build; defaults to amd64 and arm64.
            python: Same as ``python_version`` (``python="3.12"``).
        """
        owner = "Image.from_debian_base"
        if python is not None and python_version is not None:
            raise ValidationError("python", python, "either python or python_version, not both", owner=owner)
        py = _python_version(python if python is not None else python_version, owner)
        _check_name(name, owner)
        _check_registry(registry, owner)
        image = cls._new(
            base_image=f"python:{py[0]}.{py[1]}-slim-bookworm",
            registry=registry,
            name=name or _DEFAULT_IMAGE_NAME,
            python_version=py,
            platform=_platforms(platform, owner) if platform is not None else _DEFAULT_PLATFORMS,
            extendable=True,
            _is_cloned=True,
            _image_registry_secret=_registry_secret(registry_secret, owner),
        )
        image = image.with_apt_packages("build-essential", "ca-certificates")
        image = image.with_env_vars(
            {"VIRTUAL_ENV": "/opt/venv", "PATH": "/opt/venv/bin:$PATH", "PYTHONPATH": "/root", "UV_LINK_MODE": "copy"}
        )
        image = image.with_workdir("/root")
        if install_flyte:
            # Core's own distribution name: "flyte" on an index is the published SDK, another core.
            from flyte._distribution import CORE_DISTRIBUTION

            image = image.with_pip_packages(f"{CORE_DISTRIBUTION}=={flyte_version or _flyte_version()}")
        return image

    @classmethod
    def from_base(cls, image_uri: str) -> "Image":
        """An image that already exists, such as ``"python:3.12-slim"`` or ``"ghcr.io/org/img:1.0"``.

        Its ``uri`` is ``image_uri``. To add layers, ``clone(name=..., extendable=True)`` it first.
        """
        if not isinstance(image_uri, str) or not image_uri.strip() or any(c.isspace() for c in image_uri):
            raise ValidationError("image_uri", image_uri, "a full image reference such as 'python:3.12-slim'",
                                  owner="Image.from_base")
        return cls._new(base_image=image_uri)

    @classmethod
    def from_ref_name(cls, name: str = _DEFAULT_REF_NAME) -> "Image":
        """A named image whose URI is given at run time by configuration (``images: {name: uri}``)."""
        if not isinstance(name, str) or not name:
            raise ValidationError("name", name, "a non-empty image reference name", owner="Image.from_ref_name")
        return cls._new(name=name, _ref_name=name)

    @classmethod
    def from_dockerfile(
        cls,
        file: Union[Path, str],
        registry: str,
        name: str,
        platform: Union[Architecture, Tuple[Architecture, ...], None] = None,
    ) -> "Image":
        """An image built from a Dockerfile; its content is part of the tag. No layers can be added
        (the Dockerfile is opaque), and the build context is the Dockerfile's folder."""
        owner = "Image.from_dockerfile"
        if not isinstance(file, (str, Path)) or not str(file):
            raise TypeValidationError("file", file, "a path to a Dockerfile", owner=owner)
        _check_name(name, owner)
        _check_registry(registry, owner)
        kwargs: Dict[str, object] = dict(dockerfile=Path(file), registry=registry, name=name, _is_cloned=True)
        if platform is not None:
            kwargs["platform"] = _platforms(platform, owner)
        return cls._new(**kwargs)

    @classmethod
    def from_uv_script(
        cls,
        script: Union[Path, str],
        *,
        name: str,
        registry: Optional[str] = None,
        registry_secret: Optional[Union[str, "Secret"]] = None,
        python_version: Optional[Tuple[int, int]] = None,
        index_url: Optional[str] = None,
        extra_index_urls: Union[str, List[str], Tuple[str, ...], None] = None,
        pre: bool = False,
        extra_args: Optional[str] = None,
        platform: Optional[Tuple[Architecture, ...]] = None,
        secret_mounts: Optional["SecretRequest"] = None,
    ) -> "Image":
        """An image with the dependencies a script declares in its ``# /// script`` header (PEP 723)."""
        base = cls.from_debian_base(
            python_version=python_version, install_flyte=False, registry=registry, registry_secret=registry_secret,
            name=name, platform=platform,
        )
        layer = UVScript(
            script=Path(script),
            index_url=index_url,
            extra_index_urls=_strings("extra_index_urls", [extra_index_urls], "from_uv_script") if extra_index_urls
            else None,
            pre=pre,
            extra_args=extra_args,
            secret_mounts=_secret_mounts(secret_mounts),
        )
        return base.clone(addl_layer=layer)

    # -- derived images ----------------------------------------------------------------------

    def clone(
        self,
        registry: Optional[str] = None,
        registry_secret: Optional[Union[str, "Secret"]] = None,
        name: Optional[str] = None,
        base_image: Optional[str] = None,
        python_version: Optional[Tuple[int, int]] = None,
        addl_layer: Optional[Layer] = None,
        extendable: Optional[bool] = None,
        platform: Union[Architecture, Tuple[Architecture, ...], None] = None,
    ) -> "Image":
        """A copy with other properties and optionally one more layer at the end.

        Adding a layer needs an extendable image with a name (``from_base`` images are neither until
        cloned with ``name=`` and ``extendable=True``), and is not possible on a Dockerfile image.
        """
        owner = "Image.clone"
        _check_name(name, owner)
        _check_registry(registry, owner)
        new_extendable = self.extendable if extendable is None else extendable
        new_name = name or self.name
        if addl_layer is not None:
            if not isinstance(addl_layer, Layer):
                raise TypeValidationError("addl_layer", addl_layer, "an image Layer", owner=owner)
            if self.dockerfile is not None:
                raise ValidationError("layer", addl_layer, "no layers on a Dockerfile image: edit the Dockerfile",
                                      owner=owner)
            if not self.extendable:
                raise ValidationError(
                    "layer", addl_layer,
                    "layers only on an extendable image: clone(name=..., extendable=True) it first", owner=owner,
                )
            if not new_name:
                raise ValidationError("name", None, "a name for an image with layers: clone(name=...) first",
                                      owner=owner)
        return Image._new(
            base_image=base_image or self.base_image,
            dockerfile=self.dockerfile,
            registry=registry or self.registry,
            name=new_name,
            platform=_platforms(platform, owner) if platform is not None else self.platform,
            python_version=_python_version(python_version, owner) if python_version is not None else self.python_version,
            extendable=new_extendable,
            _is_cloned=True,
            _ref_name=self._ref_name,
            _layers=(*self._layers, addl_layer) if addl_layer is not None else self._layers,
            _image_registry_secret=_registry_secret(registry_secret, owner) or self._image_registry_secret,
        )

    def _pip_options(
        self, owner: str, index_url: Optional[str], extra_index_urls: object, pre: bool, extra_args: Optional[str],
        secret_mounts: Optional["SecretRequest"],
    ) -> Dict[str, object]:
        return dict(
            index_url=index_url,
            extra_index_urls=_strings("extra_index_urls", [extra_index_urls], owner) if extra_index_urls else None,
            pre=bool(pre),
            extra_args=extra_args,
            secret_mounts=_secret_mounts(secret_mounts),
        )

    def with_pip_packages(
        self,
        *packages: str,
        index_url: Optional[str] = None,
        extra_index_urls: Union[str, List[str], Tuple[str, ...], None] = None,
        pre: bool = False,
        extra_args: Optional[str] = None,
        secret_mounts: Optional["SecretRequest"] = None,
    ) -> "Image":
        """Add a ``pip install`` of ``packages`` (requirement specifiers such as ``"pandas>=2"``)."""
        owner = "Image.with_pip_packages"
        names = _strings("packages", packages, owner)
        if not names:
            raise ValidationError("packages", packages, "at least one package", owner=owner)
        opts = self._pip_options(owner, index_url, extra_index_urls, pre, extra_args, secret_mounts)
        return self.clone(addl_layer=PipPackages(packages=names, **opts))  # type: ignore[arg-type]

    def with_requirements(
        self,
        file: Union[str, Path],
        index_url: Optional[str] = None,
        extra_index_urls: Union[str, List[str], Tuple[str, ...], None] = None,
        pre: bool = False,
        extra_args: Optional[str] = None,
        secret_mounts: Optional["SecretRequest"] = None,
    ) -> "Image":
        """Add a ``pip install -r file``; the file's content is part of the image's tag."""
        owner = "Image.with_requirements"
        if not isinstance(file, (str, Path)) or not str(file):
            raise TypeValidationError("file", file, "a path to a requirements file", owner=owner)
        opts = self._pip_options(owner, index_url, extra_index_urls, pre, extra_args, secret_mounts)
        return self.clone(addl_layer=Requirements(file=Path(file), **opts))  # type: ignore[arg-type]

    def with_apt_packages(self, *packages: str, secret_mounts: Optional["SecretRequest"] = None) -> "Image":
        """Add an ``apt-get install`` of ``packages``."""
        owner = "Image.with_apt_packages"
        names = _strings("packages", packages, owner)
        if not names:
            raise ValidationError("packages", packages, "at least one package", owner=owner)
        return self.clone(addl_layer=AptPackages(packages=names, secret_mounts=_secret_mounts(secret_mounts)))

    def with_commands(self, commands: Union[List[str], str], secret_mounts: Optional["SecretRequest"] = None) -> "Image":
        """Add shell commands run while building (without the ``RUN`` keyword)."""
        owner = "Image.with_commands"
        cmds = _strings("commands", [commands], owner)
        if not cmds:
            raise ValidationError("commands", commands, "at least one command", owner=owner)
        return self.clone(addl_layer=Commands(commands=cmds, secret_mounts=_secret_mounts(secret_mounts)))

    def with_env_vars(self, env_vars: Dict[str, str]) -> "Image":
        """Add environment variables to the image."""
        owner = "Image.with_env_vars"
        if not isinstance(env_vars, dict) or not env_vars:
            raise TypeValidationError("env_vars", env_vars, "a non-empty dict of str to str", owner=owner)
        for k, v in env_vars.items():
            if not isinstance(k, str) or not _ENV_NAME_RE.match(k):
                raise ValidationError("env_vars", k, "environment variable names (letters, digits, '_')", owner=owner)
            if not isinstance(v, str):
                raise TypeValidationError(f"env_vars[{k!r}]", v, "str", owner=owner)
        return self.clone(addl_layer=Env.from_dict(env_vars))

    def with_workdir(self, workdir: str) -> "Image":
        """Set the working directory of the image (replacing an earlier one)."""
        if not isinstance(workdir, str) or not workdir.strip():
            raise ValidationError("workdir", workdir, "a non-empty path", owner="Image.with_workdir")
        return self.clone(addl_layer=WorkDir(workdir=workdir))

    def with_source_file(self, src: Union[Path, List[Path]], dst: str = ".") -> "Image":
        """Copy local file(s) into ``dst`` (default: the working directory); their content is part of the tag."""
        owner = "Image.with_source_file"
        paths = [Path(p) for p in (src if isinstance(src, list) else [src])]
        names = [p.name for p in paths]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValidationError("src", dupes, f"files with distinct names (they would overwrite each other in {dst})",
                                  owner=owner)
        image = self
        for p in paths:
            image = image.clone(addl_layer=CopyConfig(path_type=0, src=p, dst=dst))
        return image

    def with_source_folder(self, src: Union[Path, str], dst: str = ".", copy_contents_only: bool = False) -> "Image":
        """Copy a local folder into the image: as ``dst/<folder name>`` when ``dst`` is ``"."``, or its
        contents only with ``copy_contents_only``. Its files are part of the tag."""
        src = Path(src)
        if not copy_contents_only and dst == ".":
            dst = f"./{src.name}"
        return self.clone(addl_layer=CopyConfig(path_type=1, src=src, dst=dst))

    def with_dockerignore(self, path: Union[Path, str]) -> "Image":
        """Apply a ``.dockerignore`` to the copy layers."""
        return self.clone(addl_layer=DockerIgnore(path=Path(path)))

    def with_uv_project(
        self,
        pyproject_file: Union[str, Path],
        uvlock: Optional[Path] = None,
        index_url: Optional[str] = None,
        extra_index_urls: Union[List[str], Tuple[str, ...], None] = None,
        pre: bool = False,
        extra_args: Optional[str] = None,
        secret_mounts: Optional["SecretRequest"] = None,
        project_install_mode: InstallMode = "dependencies_only",
    ) -> "Image":
        """Install a uv project. ``uvlock`` defaults to ``uv.lock`` beside ``pyproject_file`` when it exists;
        ``project_install_mode="install_project"`` installs the project itself too (its folder is then
        part of the tag)."""
        owner = "Image.with_uv_project"
        if project_install_mode not in INSTALL_MODES:
            raise ValidationError("project_install_mode", project_install_mode, f"one of {list(INSTALL_MODES)}",
                                  owner=owner)
        pyproject = Path(pyproject_file)
        if uvlock is None and (pyproject.parent / "uv.lock").is_file():
            uvlock = pyproject.parent / "uv.lock"
        opts = self._pip_options(owner, index_url, extra_index_urls, pre, extra_args, secret_mounts)
        layer = UVProject(
            pyproject=pyproject,
            uvlock=Path(uvlock) if uvlock is not None else None,
            project_install_mode=project_install_mode,
            **opts,  # type: ignore[arg-type]
        )
        return self.clone(addl_layer=layer)

    def with_poetry_project(
        self,
        pyproject_file: Union[str, Path],
        poetry_lock: Optional[Path] = None,
        extra_args: Optional[str] = None,
        secret_mounts: Optional["SecretRequest"] = None,
        project_install_mode: InstallMode = "dependencies_only",
    ) -> "Image":
        """Install a Poetry project; ``poetry_lock`` defaults to ``poetry.lock`` beside ``pyproject_file``."""
        owner = "Image.with_poetry_project"
        if project_install_mode not in INSTALL_MODES:
            raise ValidationError("project_install_mode", project_install_mode, f"one of {list(INSTALL_MODES)}",
                                  owner=owner)
        pyproject = Path(pyproject_file)
        layer = PoetryProject(
            pyproject=pyproject,
            poetry_lock=Path(poetry_lock) if poetry_lock is not None else pyproject.parent / "poetry.lock",
            extra_args=extra_args,
            project_install_mode=project_install_mode,
            secret_mounts=_secret_mounts(secret_mounts),
        )
        return self.clone(addl_layer=layer)

    def with_code_bundle(self, copy_style: Literal["loaded_modules", "all"] = "loaded_modules",
                         dst: str = ".") -> "Image":
        """Bake the user's code into the image (for runs that ship no code bundle): the imported modules
        (``"loaded_modules"``) or every file (``"all"``) of the project root, copied to ``dst``."""
        if copy_style not in ("loaded_modules", "all"):
            raise ValidationError("copy_style", copy_style, "'loaded_modules' or 'all'", owner="Image.with_code_bundle")
        return self.clone(addl_layer=CodeBundleLayer(copy_style=copy_style, dst=dst))

    def with_local_v2(self) -> "Image":
        """Install this SDK from locally built wheels (in the distribution's ``dist`` folder) instead of an index."""
        from flyte._distribution import CORE_DISTRIBUTION

        return self.clone(addl_layer=PythonWheels(wheel_dir=DIST_FOLDER, package_name=CORE_DISTRIBUTION))

    # -- identity ----------------------------------------------------------------------------

    def validate(self) -> None:
        """Check the local files the image needs (requirements, copied sources, Dockerfile) exist."""
        if self.dockerfile is not None and not self.dockerfile.is_file():
            raise ValidationError("dockerfile", str(self.dockerfile), "an existing Dockerfile", owner="Image")
        for layer in self._layers:
            layer.validate()

    @cached_property
    def identifier(self) -> str:
        """A hex SHA-256 of everything the image is made of: base, Dockerfile content, layers and their files."""
        hasher = hashlib.sha256(b"flyte-image-v1\0")
        update_with_text(hasher, self.base_image, tuple(self.platform), tuple(self.python_version))
        if self.dockerfile is not None:
            update_with_path(hasher, self.dockerfile)
        for layer in self._layers:
            layer.update_hash(hasher)
        return hasher.hexdigest()

    @property
    def tag(self) -> str:
        """The image tag: the first 32 characters of :attr:`identifier`."""
        return self._tag or self.identifier[:32]

    @cached_property
    def uri(self) -> str:
        """``<registry>/<name>:<tag>`` (``<name>:<tag>`` without a registry); for an image that is
        used as is (``from_base``), its given reference."""
        if not self._is_cloned:
            if self.base_image:
                return self.base_image
            raise ValidationError(
                "uri", self._ref_name, "an image with a base URI; a reference name is resolved by configuration",
                owner="Image",
            )
        if not self.name:
            raise ValidationError("name", None, "a name to compute the URI: clone(name=...)", owner="Image")
        prefix = f"{self.registry}/" if self.registry else ""
        return f"{prefix}{self.name}:{self.tag}"

    def __repr__(self) -> str:
        layers = ", ".join(type(layer).__name__ for layer in self._layers)
        source = self.base_image or (f"dockerfile={self.dockerfile}" if self.dockerfile else f"ref={self._ref_name}")
        return f"Image({source}, name={self.name!r}, registry={self.registry!r}, layers=[{layers}])"
