"""Core's own distribution name and the check plugins run against the flyte they import."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import warnings
from importlib.metadata import version
from pathlib import Path

import pytest

import flyte
import flyte.extend
from flyte._distribution import CORE_DISTRIBUTION, installed_version
from flyte.errors import DistributionConflictWarning, PluginError, ValidationError
from flyte.testing import fake_distribution

if sys.version_info < (3, 11):  # pragma: no cover - reading pyproject.toml needs stdlib tomllib
    pytest.skip("reads pyproject.toml with tomllib (Python 3.11+)", allow_module_level=True)
import tomllib  # noqa: E402

REPO = Path(__file__).resolve().parents[2]


def _pyproject(rel: str) -> dict:
    return tomllib.loads((REPO / rel / "pyproject.toml").read_text())


def test_core_has_a_distribution_name_of_its_own_and_one_version():
    project = _pyproject("core")["project"]
    assert project["name"] == CORE_DISTRIBUTION == "flyte-sdk-core"
    assert project["version"] == flyte.__version__ == version(CORE_DISTRIBUTION)
    assert installed_version(CORE_DISTRIBUTION) == flyte.__version__


def test_no_published_sdk_is_installed_next_to_core():
    # "flyte" is the published SDK's distribution: with it installed, two distributions own flyte/.
    assert installed_version("flyte") is None


@pytest.mark.parametrize("name", sorted(p.name for p in (REPO / "plugins").iterdir() if (p / "pyproject.toml").exists()))
def test_every_plugin_depends_on_core_by_its_name_with_a_range(name):
    deps = _pyproject(f"plugins/{name}")["project"]["dependencies"]
    assert f"{CORE_DISTRIBUTION}>=0.1,<0.2" in deps
    assert not any(d.split(">")[0].split("<")[0].split("=")[0].strip() == "flyte" for d in deps), deps


def test_require_core_accepts_a_range_holding_this_core():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        flyte.extend.require_core("flyte-plugin-x", ">=0.1,<0.2")
        flyte.extend.require_core("flyte-plugin-x", f"=={flyte.__version__}")
        flyte.extend.require_core("flyte-plugin-x", ">= 0.0.1, != 0.0.5")


def test_require_core_outside_the_range_names_plugin_core_and_range():
    with pytest.raises(PluginError) as e:
        flyte.extend.require_core("flyte-plugin-x", ">=0.2,<0.3")
    msg = str(e.value)
    assert "flyte-plugin-x needs flyte-sdk-core>=0.2,<0.3" in msg
    assert f"flyte-sdk-core {flyte.__version__}" in msg and "pip install" in msg


def test_require_core_rejects_a_spec_that_is_no_range():
    with pytest.raises(ValidationError, match=r"require_core\('flyte-plugin-x'\): invalid spec='~0.1'"):
        flyte.extend.require_core("flyte-plugin-x", "~0.1")


def test_the_published_sdk_installed_as_well_is_a_warning_naming_both(tmp_path, monkeypatch):
    fake_distribution(tmp_path, "flyte", version="2.12.1")
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.warns(DistributionConflictWarning) as w:
        flyte.extend.require_core("flyte-plugin-x", ">=0.1,<0.2")
    msg = str(w[0].message)
    assert "flyte-sdk-core" in msg and "flyte 2.12.1" in msg and "published SDK" in msg
    assert "pip uninstall" in msg


def test_the_published_plugin_of_the_same_import_name_is_a_warning_naming_both(tmp_path, monkeypatch):
    fake_distribution(tmp_path, "flyteplugins-ray", version="2.12.1")
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.warns(DistributionConflictWarning) as w:
        flyte.extend.require_core("flyte-plugin-ray", ">=0.1,<0.2", package="flyteplugins.ray")
    msg = str(w[0].message)
    assert "flyteplugins.ray is installed twice" in msg
    assert "flyte-plugin-ray" in msg and "flyteplugins-ray 2.12.1" in msg
    # Another plugin's package is not affected.
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        flyte.extend.require_core("flyte-plugin-types", ">=0.1,<0.2", package="flyteplugins.types")


def test_a_plugin_under_the_published_sdk_fails_naming_both_distributions(tmp_path):
    # A stand-in for the published SDK: a flyte package whose flyte.extend has no require_core.
    fake = tmp_path / "published"
    (fake / "flyte").mkdir(parents=True)
    (fake / "flyte" / "__init__.py").write_text("")
    (fake / "flyte" / "extend.py").write_text(textwrap.dedent("""
        def hookimpl(f):
            return f
    """))
    env = {**os.environ, "PYTHONPATH": str(fake)}
    out = subprocess.run(
        [sys.executable, "-c", "import flyteplugins.types.hooks"], capture_output=True, text=True, env=env
    )
    assert out.returncode != 0
    assert "ImportError: flyte-plugin-types needs flyte-sdk-core>=0.1,<0.2" in out.stderr
    assert "the published 'flyte' SDK" in out.stderr


def test_the_version_flag_reports_this_core():
    out = subprocess.run([str(Path(sys.executable).parent / "flyte"), "--version"], capture_output=True, text=True)
    assert out.returncode == 0 and out.stdout.strip() == f"flyte {flyte.__version__}"
