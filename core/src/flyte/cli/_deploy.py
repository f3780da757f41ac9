"""``flyte deploy``: serialize environments and their tasks for a cluster.

    flyte deploy --dry-run FILE ENV_NAME...        the named environments (variable or env name)
    flyte deploy --dry-run --all FILE              every environment in the file
    flyte deploy --dry-run --recursive DIR         every environment in every .py file under DIR
    flyte deploy --dry-run --all --output OUT FILE writes OUT/<task>.pb, .json and .yaml
                                                   (and OUT/<app>.yaml for app environments)

Files are imported as modules named by their path relative to the root directory
(``--root-dir``, default the working directory), the names under which a container imports
them again (the same names ``flyte run`` gives them; see :mod:`flyte._loader`). Dependencies
(``depends_on``) are deployed with the environments that name them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

import click

from flyte.cli._loader import load_python_files

__all__ = ["deploy", "load_python_files"]


def environments_in(modules: List[Any]) -> Dict[str, Any]:
    """Environments held by module-level variables, keyed by variable name (first one wins)."""
    from flyte._environment import Environment

    found: Dict[str, Any] = {}
    seen: set = set()
    for module in modules:
        for var, value in vars(module).items():
            if isinstance(value, Environment) and id(value) not in seen:
                seen.add(id(value))
                found.setdefault(var, value)
    return found


def _select(found: Dict[str, Any], names: Tuple[str, ...], where: str) -> List[Any]:
    by_env_name = {env.name: env for env in found.values()}
    chosen: List[Any] = []
    for n in names:
        env = found.get(n) or by_env_name.get(n)
        if env is None:
            listing = ", ".join(sorted(found)) or "(none)"
            raise click.BadParameter(f"no environment {n!r} in {where}; environments there: {listing}", param_hint="ENV_NAMES")
        if all(env is not c for c in chosen):
            chosen.append(env)
    return chosen


def _kv(values: Tuple[str, ...]) -> Dict[str, str]:
    from flyte.errors import ValidationError

    out: Dict[str, str] = {}
    for item in values:
        name, sep, uri = item.partition("=")
        if not sep:
            name, uri = "default", item
        if not name or not uri:
            raise ValidationError("--image", item, "NAME=URI (or a bare URI for the default image)", owner="flyte deploy")
        out[name] = uri
    return out


@click.command("deploy")
@click.option("--dry-run", "dry_run", is_flag=True, help="Serialize only; send nothing (required: no cluster is configured).")
@click.option("--all", "all_envs", is_flag=True, help="Deploy every environment found in PATH.")
@click.option("--recursive", "-r", is_flag=True, help="Load every .py file under PATH (a folder), recursively.")
@click.option(
    "--output",
    "output_dir",
    type=click.Path(file_okay=False),
    default=None,
    help="With --dry-run: write <task>.pb, <task>.json and <task>.yaml here.",
)
@click.option("--version", default=None, help="Version of the deployment (default: a hash of the code and images).")
@click.option("--project", default=None, help="Project to deploy to.")
@click.option("--domain", default=None, help="Domain to deploy to.")
@click.option("--root-dir", default=None, type=click.Path(file_okay=False), help="Source root: module names are relative to it (default: the working directory).")
@click.option("--image", "images", multiple=True, metavar="NAME=URI", help="Image URI for an Image.from_ref_name name (repeatable).")
@click.option("--copy-style", default="loaded_modules", type=click.Choice(["loaded_modules", "all", "none"]), help="Accepted for compatibility; code bundles are not built.")
@click.option("--ignore-load-errors", "-i", is_flag=True, help="Deploy what loaded even when some files failed to import.")
@click.argument("path", type=click.Path(exists=True))
@click.argument("env_names", nargs=-1)
def deploy(
    dry_run: bool,
    all_envs: bool,
    recursive: bool,
    output_dir: Optional[str],
    version: Optional[str],
    project: Optional[str],
    domain: Optional[str],
    root_dir: Optional[str],
    images: Tuple[str, ...],
    copy_style: str,
    ignore_load_errors: bool,
    path: str,
    env_names: Tuple[str, ...],
) -> None:
    """Deploy environments from PATH: the ENV_NAMES given, or all of them with --all / --recursive."""
    import flyte
    from flyte._deploy import deploy as deploy_envs
    from flyte._deploy import write_dry_run

    target = Path(path)
    if output_dir is not None and not dry_run:
        raise click.UsageError("--output writes a dry run; add --dry-run")
    if env_names and (all_envs or recursive):
        raise click.UsageError("name environments or use --all/--recursive, not both")
    if target.is_dir() and not (all_envs or recursive):
        raise click.UsageError(f"{path} is a folder: use --all (its .py files) or --recursive (everything under it)")
    root = Path(root_dir).resolve() if root_dir else Path.cwd().resolve()
    flyte.init(root_dir=root, project=project, domain=domain, images=_kv(images) or None)

    modules, failures = load_python_files(target, root, recursive)
    for f, err in failures:
        click.echo(f"Failed to load {f}: {err}", err=True)
    if failures and not ignore_load_errors:
        raise click.ClickException(
            f"{len(failures)} file(s) failed to load (first: {failures[0][0]}: {failures[0][1]}); "
            "use --ignore-load-errors to deploy the rest"
        )
    found = environments_in(modules)
    if all_envs or recursive:
        chosen = list({id(e): e for e in found.values()}.values())
    elif env_names:
        chosen = _select(found, env_names, path)
    else:
        listing = "\n".join(f"  {var:<24} {env.name}" for var, env in sorted(found.items())) or "  (none)"
        click.echo(f"Usage: flyte deploy [OPTIONS] {path} ENV_NAME...\n\nEnvironments in {path}:\n{listing}")
        raise click.exceptions.Exit(2)
    if not chosen:
        click.echo(f"No environments found in {path}")
        return

    deployments = deploy_envs(*chosen, dryrun=dry_run, version=version, copy_style=copy_style)
    unqualified = set()
    for d in deployments:
        for env in d.envs.values():
            click.echo(f"Environment {env.get_name()}: {len(env.deployed_entities)} task(s), version {d.version}")
            if getattr(env, "manifests", None):  # an app environment
                click.echo(f"  app {env.get_name():<28} {', '.join(m['kind'] for m in env.manifests)}")
            for t in env.deployed_entities:
                row = dict(t.table_repr())
                click.echo(f"  {row['name']:<32} {row['task type']:<10} {row['image']}")
                image = row["image"]
                # Images flyte builds (an Image, or "auto") need a registry a cluster can pull from.
                built_here = not isinstance(t.task.image, str) or t.task.image == "auto"
                if built_here and image and "/" not in image.rsplit(":", 1)[0]:
                    unqualified.add(image)
    for image in sorted(unqualified):
        # Without a registry a cluster pulls from Docker Hub, which does not hold a built image.
        click.echo(
            f"Warning: image {image} names no registry; build and push it (flyte build), or set "
            "images.default in .flyte/config.yaml / Image(registry=...) to an image with this SDK installed",
            err=True,
        )
    if output_dir is not None:
        written = write_dry_run(deployments, output_dir)
        click.echo(f"Wrote {len(written)} file(s) to {output_dir}")
