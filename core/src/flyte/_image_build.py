"""``ImageBuildEngine``: turn an image description into the URI tasks run with.

Builders are pluggable objects (:class:`ImageBuilder`); the default ``"local"`` builder runs no
container engine: it computes the image's URI, which is what the local engine and the manifest
writers need. A plugin that can really build (docker, a remote service) registers a builder
under a name with :meth:`ImageBuildEngine.register_builder`.
"""

from __future__ import annotations

from typing import Any, ClassVar, Dict, Literal, Optional, Protocol, Union, runtime_checkable

from flyte.errors import TypeValidationError, ValidationError

__all__ = ["ImageBuildEngine", "ImageBuilder", "ImageChecker", "image_uri"]


def image_uri(image: Any) -> str:
    """The URI of ``image``: a string is one already, an ``Image`` gives its ``uri``."""
    if isinstance(image, str):
        if not image.strip():
            raise ValidationError("image", image, "a non-empty image URI such as 'python:3.11-slim'", owner="ImageBuildEngine")
        return image
    uri = getattr(image, "uri", None)
    if isinstance(uri, str) and uri:
        return uri
    raise TypeValidationError("image", image, "a flyte.Image or an image URI string", owner="ImageBuildEngine")


@runtime_checkable
class ImageChecker(Protocol):
    """Answers whether an image already exists in its registry (so building can be skipped)."""

    def image_exists(self, uri: str) -> Optional[bool]:
        """True/False when known, None when this checker cannot tell."""


@runtime_checkable
class ImageBuilder(Protocol):
    """Builds an image and returns its URI."""

    def build_image(self, image: Any, dry_run: bool = False) -> str:
        """Build ``image`` (only describe the build when ``dry_run``) and return its URI."""


class _LocalBuilder:
    """Runs no container engine: the image is taken as already available."""

    def build_image(self, image: Any, dry_run: bool = False) -> str:
        return image_uri(image)


class ImageBuildEngine:
    """Picks a builder and builds an image, skipping images that already exist.

    ``ImageBuilderType`` names the builders known by default: ``"local"`` (no engine, computes
    the URI) and ``"remote"`` (registered by a plugin that provides a remote build service).
    """

    ImageBuilderType = Literal["local", "remote"]

    _builders: ClassVar[Dict[str, Any]] = {"local": _LocalBuilder()}
    _checkers: ClassVar[list] = []

    @classmethod
    def register_builder(cls, name: str, builder: ImageBuilder) -> None:
        """Make ``builder`` available as ``build(image, builder=name)``."""
        if not isinstance(builder, ImageBuilder):
            raise TypeValidationError("builder", builder, "an object with build_image(image, dry_run) -> str", owner="ImageBuildEngine")
        cls._builders[name] = builder

    @classmethod
    def register_checker(cls, checker: ImageChecker) -> None:
        """Consult ``checker`` before building to skip images that exist already."""
        cls._checkers.append(checker)

    @classmethod
    def _exists(cls, uri: str) -> bool:
        for checker in cls._checkers:
            answer = checker.image_exists(uri)
            if answer is not None:
                return bool(answer)
        return False

    @classmethod
    def build(
        cls,
        image: Any,
        builder: Union[str, ImageBuilder, None] = None,
        dry_run: bool = False,
        force: bool = False,
    ) -> str:
        """Build ``image`` and return its URI.

        Args:
            image: a ``flyte.Image`` or an image URI.
            builder: a builder name (``"local"`` by default) or an :class:`ImageBuilder`.
            dry_run: only describe the build; the builder does not run anything.
            force: build even when a checker says the image exists. Images tagged ``latest``
                are always built.
        """
        uri = image_uri(image)
        if isinstance(builder, str) or builder is None:
            name = builder or "local"
            chosen = cls._builders.get(name)
            if chosen is None:
                raise ValidationError("builder", name, f"one of the registered builders {sorted(cls._builders)}", owner="ImageBuildEngine")
        else:
            chosen = builder
        if not force and not dry_run and not uri.endswith(":latest") and cls._exists(uri):
            return uri
        return chosen.build_image(image, dry_run=dry_run)
