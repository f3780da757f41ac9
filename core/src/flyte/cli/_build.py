"""``flyte build FILE NAME``: build (or, with ``--dry-run``, render) the images a file defines.

``NAME`` is a module-level ``flyte.Image`` variable, or an environment (by variable or by its
``name``), whose image is built; ``--all`` takes every environment and image of the file. With
``--output DIR`` each image's Dockerfile and build context are written to ``DIR/<image tag>/``,
ready for ``docker buildx build`` elsewhere; a dry run without ``--output`` prints the Dockerfile.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

import click

__all__ = ["build", "images_in_module"]


def _env_image(env: Any) -> Any:
    from flyte._image import Image

    image = getattr(env, "image", None)
    if image is None or image == "auto":
        return Image.from_debian_base()
    return image


def images_in_module(module: Any) -> Dict[str, Tuple[str, Any]]:
    """``{label: (kind, image)}`` for every ``Image`` variable and environment of ``module``.

    Labels are variable names (and environment names); ``kind`` is ``"image"`` or ``"environment"``.
    """
    from flyte._environment import Environment
    from flyte._image import Image

    found: Dict[str, Tuple[str, Any]] = {}
    for var, value in vars(module).items():
        if isinstance(value, Image):
            found[var] = ("image", value)
        elif isinstance(value, Environment):
            found[var] = ("environment", _env_image(value))
            found.setdefault(value.name, ("environment", _env_image(value)))
    return found


def _select(module: Any, name: Optional[str], take_all: bool, file: str) -> List[Tuple[str, Any]]:
    from flyte.errors import ValidationError

    found = images_in_module(module)
    if take_all:
        chosen = list(found.items())
    elif name is None:
        raise click.UsageError("give an image or environment NAME, or --all")
    elif name not in found:
        raise ValidationError("NAME", name, f"an Image or environment of {file}: {sorted(found) or 'none defined'}")
    else:
        chosen = [(name, found[name])]
    out: List[Tuple[str, Any]] = []
    seen = set()
    for label, (_, image) in chosen:
        if isinstance(image, str):
            click.echo(f"{label}: image {image} is used as is; nothing to build", err=True)
            continue
        if id(image) in seen:
            continue
        seen.add(id(image))
        out.append((label, image))
    return out


@click.command("build")
@click.argument("file", type=click.Path(dir_okay=False))
@click.argument("name", required=False)
@click.option("--all", "take_all", is_flag=True, help="Build the images of every environment and Image in FILE.")
@click.option("--dry-run", is_flag=True, help="Only render the Dockerfile and compute the image URI.")
@click.option("--force", is_flag=True, help="Build even if the image exists already.")
@click.option(
    "--output", "output", type=click.Path(file_okay=False), default=None,
    help="Write each image's Dockerfile and build context to OUTPUT/<tag>/.",
)
@click.option(
    "--root-dir", default=None, type=click.Path(file_okay=False),
    help="Source root: FILE's module name is its path relative to it (default: the working directory).",
)
def build(
    file: str,
    name: Optional[str],
    take_all: bool,
    dry_run: bool,
    force: bool,
    output: Optional[str],
    root_dir: Optional[str],
) -> None:
    """Build the image NAME (an Image variable or an environment) defined in FILE.

    \b
      flyte build --dry-run hello.py env          # print the Dockerfile of env's image
      flyte build --dry-run --all --output out/ hello.py
    """
    from flyte._build import build as build_image
    from flyte._dockerfile import plan_image_build, write_build_context
    from flyte.cli._loader import load_module_from_file

    module = load_module_from_file(file, Path(root_dir).resolve() if root_dir else None)
    selected = _select(module, name, take_all, file)
    for label, image in selected:
        result = build_image(image, dry_run=dry_run, force=force)
        if output is not None and result.dockerfile is not None:
            plan = plan_image_build(image)
            folder = Path(output) / (image.tag if getattr(image, "_is_cloned", False) else label)
            dockerfile = write_build_context(plan, folder)
            click.echo(f"{label}\t{result.uri}\t{dockerfile}")
        elif dry_run and output is None and len(selected) == 1 and result.dockerfile is not None:
            click.echo(result.dockerfile, nl=False)
            click.echo(f"# image: {result.uri}", err=True)
        else:
            click.echo(f"{label}\t{result.uri}")
