"""tox.ini stays honest: every path it installs or tests exists, and every test folder has an env."""

from __future__ import annotations

import configparser
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _tox() -> configparser.ConfigParser:
    cfg = configparser.ConfigParser(interpolation=None)
    cfg.read(ROOT / "tox.ini")
    return cfg


def _paths(text: str):
    return re.findall(r"\{toxinidir\}/([\w./-]+)", text)


def test_every_listed_env_is_defined_and_every_defined_env_is_listed():
    cfg = _tox()
    listed = [e.strip() for e in cfg["tox"]["envlist"].split(",")]
    defined = [s.split(":", 1)[1] for s in cfg.sections() if s.startswith("testenv:")]
    assert sorted(listed) == sorted(defined)


def test_every_path_tox_names_exists():
    cfg = _tox()
    missing = []
    for section in cfg.sections():
        for key in ("commands_pre", "commands"):
            for rel in _paths(cfg[section].get(key, "")):
                if not (ROOT / rel).exists():
                    missing.append(f"[{section}] {key}: {rel}")
    assert missing == []


def test_every_test_folder_has_an_env():
    cfg = _tox()
    tested = {rel.rstrip("/") for s in cfg.sections() for rel in _paths(cfg[s].get("commands", ""))}
    folders = {"tests/core"} | {f"tests/plugins/{p.name}" for p in (ROOT / "tests" / "plugins").iterdir() if p.is_dir()}
    assert sorted(folders - tested) == []
