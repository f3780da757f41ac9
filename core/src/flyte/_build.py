"""``flyte.build``: render an image's Dockerfile and build it with the container engine of this machine.

``flyte.build(image, dry_run=True)`` only renders: the result holds the Dockerfile and the image's
content-addressed URI. A real build needs a container engine (``docker`` or ``podman`` on
``PATH``, or ``FLYTE_CONTAINER_ENGINE``); without one it fails with an ``ImageBuildError``
saying so. Images that a registered checker reports as existing are not rebuilt unless ``force``.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, List, Optional

from flyte.errors import ImageBuildError, TypeValidationError, ValidationError
from flyte.syncify import syncify

__all__ = ["ImageBuild", "build", "build_images", "find_container_engine"]

_ENGINES = ("docker", "podman")


@dataclass
class ImageBuild:
    """The result of :func:`flyte.build`.

    Attributes:
        uri: The image URI (``<registry>/<name>:<content hash>``).
        remote_run: Handle of a remote build run; None for builds on this machine.
        build_run: Identifier of the remote run that built the image; None for local builds.
        dockerfile: The rendered Dockerfile (None for an image used as is, which has none).
        built: True when this call ran a build; False for a dry run or an image that already existed.
    """

    uri: Optional[str]
    remote_run: Optional[Any] = None
    build_run: Optional[Any] = None
    dockerfile: Optional[str] = None
    built: bool = False


def _docker_daemon_reachable() -> bool:
    # The docker CLI without a daemon cannot build; look for the daemon's endpoint without running docker.
    host = os.environ.get("DOCKER_HOST", "")
    if host:
        return not host.startswith("unix://") or Path(host[len("unix://"):]).exists()
    return any(Path(p).exists() for p in ("/var/run/docker.sock", Path.home() / ".docker/run/docker.sock"))


def find_container_engine() -> Optional[str]:
    """Path of the container engine to build with: ``$FLYTE_CONTAINER_ENGINE``, else ``docker`` (when
    its daemon's socket is there) or ``podman`` (daemonless) found on ``PATH``; None when there is none."""
    configured = os.environ.get("FLYTE_CONTAINER_ENGINE")
    if configured:
        return shutil.which(configured)
    for name in _ENGINES:
        found = shutil.which(name)
        if found and (name != "docker" or _docker_daemon_reachable()):
            return found
    return None


def _build_command(engine: str, plan: Any, context: Path) -> List[str]:
    platforms = ",".join(plan.platforms)
    if Path(engine).name == "podman":
        dockerfile = str(context / "Dockerfile")
        return [engine, "build", "--platform", platforms, "-t", plan.uri, "-f", dockerfile, str(context)]
    # Several platforms need buildx and a registry to push to; a local build loads one platform.
    # The part before the tag (a registry may have a port: localhost:5000/name:tag).
    has_registry = "/" in plan.uri.rsplit(":", 1)[0]
    if has_registry:
        return [engine, "buildx", "build", "--platform", platforms, "-t", plan.uri, "-f", str(context / "Dockerfile"),
                "--push", str(context)]
    return [engine, "build", "--platform", plan.platforms[0], "-t", plan.uri, "-f", str(context / "Dockerfile"),
            str(context)]


async def _run_engine(cmd: List[str], uri: str) -> None:
    proc = await asyncio.create_subprocess_exec(*cmd, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
    out, _ = await proc.communicate()
    if proc.returncode != 0:
        tail = out.decode(errors="replace").strip().splitlines()[-20:]
        raise ImageBuildError(f"building image {uri} failed ({' '.join(cmd[:3])} exited {proc.returncode}):\n" +
                              "\n".join(tail))


@syncify
async def build(image: Any, dry_run: bool = False, force: bool = False, wait: bool = True) -> ImageBuild:
    """Build a ``flyte.Image`` and return its URI.

    Args:
        image: The image to build.
        dry_run: Only render the Dockerfile and compute the URI; run nothing.
        force: Build even when the image is known to exist already.
        wait: Wait for the build to finish. Builds on this machine always finish before returning.

    Returns:
        :class:`ImageBuild` with the URI and the rendered Dockerfile.

    Raises:
        flyte.errors.ImageBuildError: no container engine to build with, or the build failed.
    """
    from flyte._dockerfile import plan_image_build, write_build_context
    from flyte._image import Image
    from flyte._image_build import ImageBuildEngine

    if isinstance(image, str):
        return ImageBuild(uri=image)
    if not isinstance(image, Image):
        raise TypeValidationError("image", image, "a flyte.Image", owner="flyte.build")
    plan = plan_image_build(image)
    if not plan.needs_build:
        return ImageBuild(uri=plan.uri)
    if dry_run:
        return ImageBuild(uri=plan.uri, dockerfile=plan.dockerfile)
    if not force and ImageBuildEngine._exists(plan.uri):
        return ImageBuild(uri=plan.uri, dockerfile=plan.dockerfile)
    engine = find_container_engine()
    if engine is None:
        raise ImageBuildError(
            f"cannot build image {plan.uri}: no container engine on this machine (looked for "
            f"{os.environ.get('FLYTE_CONTAINER_ENGINE') or 'a docker daemon or podman'}). Install one, or use "
            "flyte.build(image, dry_run=True) / `flyte build --dry-run --output DIR` to write the Dockerfile "
            "and build context for another machine"
        )
    with tempfile.TemporaryDirectory(prefix="flyte-build-") as tmp:
        context = Path(tmp)
        write_build_context(plan, context)
        await _run_engine(_build_command(engine, plan, context), plan.uri)
    return ImageBuild(uri=plan.uri, dockerfile=plan.dockerfile, built=True)


def _environment_images(envs: Any) -> Dict[str, Any]:
    from flyte._environment import Environment

    todo = list(envs) if isinstance(envs, (list, tuple)) else [envs]
    seen: Dict[str, Any] = {}
    while todo:
        env = todo.pop(0)
        if not isinstance(env, Environment):
            raise ValidationError("envs", env, "environments (flyte.TaskEnvironment) to build images for", owner="flyte.build_images")
        if env.name in seen:
            continue
        seen[env.name] = env.image
        todo.extend(env.depends_on)
    return seen


@syncify
async def build_images(envs: Any) -> Dict[str, str]:
    """Build the image of each environment (and those it depends on); returns name -> image URI.

    Environments whose image is a plain URI string need no build. Building needs a container
    engine on this machine; without one this raises ``flyte.errors.ImageBuildError``.
    """
    uris: Dict[str, str] = {}
    for name, image in _environment_images(envs).items():
        if isinstance(image, str) and image != "auto":
            uris[name] = image
            continue
        from flyte._serialize.k8s import resolve_image_uri

        if image is None or image == "auto":
            uris[name] = resolve_image_uri("auto")
            continue
        result = await build.aio(image)
        uris[name] = result.uri
    return uris
