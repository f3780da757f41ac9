"""The one configuration object of this process, and where it comes from.

Resolution order for every setting: explicit argument (given to ``flyte.init``), then the
``FLYTE_*`` environment variable, then the config file (``--config`` / ``FLYTE_CONFIG`` /
``.flyte/config.yaml`` found upward from the working directory), then the default.

This module sits with the value types: the context, storage, the engine and the serializers
read the configuration from here. ``flyte.init`` (:mod:`flyte._initialize`) resolves a new one
and installs it with :func:`set_config`.
"""

from __future__ import annotations

import logging
import os
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, Optional

from flyte.errors import ValidationError

__all__ = ["Config", "default_home", "find_config_file", "get_config", "reset_config", "set_config"]

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def _env_bool(name: str) -> Optional[bool]:
    raw = os.environ.get(name)
    if raw is None:
        return None
    low = raw.strip().lower()
    if low in _TRUE:
        return True
    if low in _FALSE:
        return False
    raise ValidationError(name, raw, "one of 1/0, true/false, yes/no, on/off")


def default_home() -> Path:
    """Where flyte keeps its local state: ``FLYTE_HOME``, else ``~/.flyte``."""
    return Path(os.environ.get("FLYTE_HOME") or (Path.home() / ".flyte"))


@dataclass(frozen=True)
class Config:
    """The resolved configuration of this process."""

    org: Optional[str] = None
    project: Optional[str] = None
    domain: Optional[str] = None
    root_dir: Path = field(default_factory=Path.cwd)
    log_level: int = logging.WARNING
    local_persistence: bool = False
    load_plugin_type_transformers: bool = True
    store_path: Optional[Path] = None
    raw_data_path: Optional[str] = None
    images: Dict[str, str] = field(default_factory=dict)
    k8s: Dict[str, Any] = field(default_factory=dict)
    source: Optional[Path] = None
    file_data: Dict[str, Any] = field(default_factory=dict, repr=False)
    """The config file's top-level mapping as read (plugins read their own sections from it)."""

    def section(self, name: str) -> Dict[str, Any]:
        """The config file's ``name:`` mapping (``ray:``, ``spark:``, ...); empty when absent."""
        return _section(self.file_data, name, self.source)

    def default_store_path(self) -> Path:
        """The local store's path: the configured one, else ``FLYTE_LOCAL_STORE``, else under the home."""
        if self.store_path is not None:
            return Path(self.store_path)
        env = os.environ.get("FLYTE_LOCAL_STORE")
        if env:
            return Path(env).expanduser()
        return default_home() / "local.db"

    def default_raw_data_path(self) -> str:
        """Where runs write data: the configured path, else ``FLYTE_RAW_DATA_PATH``, else under the home."""
        if self.raw_data_path:
            return self.raw_data_path
        env = os.environ.get("FLYTE_RAW_DATA_PATH")
        if env:
            return env
        return str(default_home() / "data")


_lock = threading.Lock()
_config: Optional[Config] = None


def find_config_file(start: Optional[Path] = None) -> Optional[Path]:
    """``FLYTE_CONFIG`` if set, else ``.flyte/config.yaml`` in the working directory or above."""
    env = os.environ.get("FLYTE_CONFIG")
    if env:
        p = Path(env).expanduser()
        if not p.is_file():
            raise ValidationError("FLYTE_CONFIG", env, "a path to an existing YAML config file")
        return p
    here = (start or Path.cwd()).resolve()
    for d in (here, *here.parents):
        cand = d / ".flyte" / "config.yaml"
        if cand.is_file():
            return cand
    return None


def _read_config_file(path: Path) -> Dict[str, Any]:
    import yaml

    try:
        data = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as e:
        raise ValidationError("config file", str(path), f"valid YAML ({e})") from e
    if not isinstance(data, dict):
        raise ValidationError("config file", str(path), "a YAML mapping at the top level")
    return data


def _section(file_data: Dict[str, Any], name: str, source: Optional[Path]) -> Dict[str, Any]:
    value = file_data.get(name) or {}
    if not isinstance(value, dict):
        raise ValidationError(f"config file {name}", value, f"a mapping of settings (in {source})")
    return value


def _resolve(file_data: Dict[str, Any], source: Optional[Path], **explicit: Any) -> Config:
    task_cfg = _section(file_data, "task", source)
    local_cfg = _section(file_data, "local", source)
    images = _section(file_data, "images", source)
    k8s = _section(file_data, "kubernetes", source)

    def pick(name: str, env: str, *file_values: Any) -> Any:
        if explicit.get(name) is not None:
            return explicit[name]
        if env in os.environ:
            return os.environ[env]
        for v in file_values:
            if v is not None:
                return v
        return None

    persistence = explicit.get("local_persistence")
    if persistence is None:
        persistence = _env_bool("FLYTE_LOCAL_PERSISTENCE")
    if persistence is None:
        persistence = local_cfg.get("persistence", False)
        if not isinstance(persistence, bool):
            raise ValidationError("config file local.persistence", persistence, f"true or false (in {source})")

    log_level = explicit.get("log_level")
    if log_level is None and os.environ.get("FLYTE_LOG_LEVEL"):
        raw = os.environ["FLYTE_LOG_LEVEL"]
        log_level = int(raw) if raw.isdigit() else logging.getLevelName(raw.upper())
        if not isinstance(log_level, int):
            raise ValidationError("FLYTE_LOG_LEVEL", raw, "a level name (DEBUG, INFO, WARNING, ERROR) or number")
    store = pick("store_path", "FLYTE_LOCAL_STORE", local_cfg.get("store"))
    root = explicit.get("root_dir")
    return Config(
        org=pick("org", "FLYTE_ORG", task_cfg.get("org")),
        project=pick("project", "FLYTE_PROJECT", task_cfg.get("project")),
        domain=pick("domain", "FLYTE_DOMAIN", task_cfg.get("domain")),
        root_dir=Path(root) if root is not None else Path.cwd(),
        log_level=log_level if log_level is not None else logging.WARNING,
        local_persistence=bool(persistence),
        load_plugin_type_transformers=explicit.get("load_plugin_type_transformers", True),
        store_path=Path(store).expanduser() if store else None,
        raw_data_path=pick("raw_data_path", "FLYTE_RAW_DATA_PATH", local_cfg.get("raw_data_path")),
        images=dict(images),
        k8s=dict(k8s),
        source=source,
        file_data=dict(file_data),
    )


def get_config() -> Config:
    """The active configuration; resolved from the environment and config file if init was not called."""
    global _config
    cfg = _config
    if cfg is None:
        with _lock:
            if _config is None:
                path = find_config_file()
                _config = _resolve(_read_config_file(path) if path else {}, path)
            cfg = _config
    return cfg


def set_config(cfg: Config) -> None:
    """Install ``cfg`` as the active configuration (``flyte.init`` does)."""
    global _config
    with _lock:
        _config = cfg


def reset_config() -> None:
    """Forget the active configuration; the next :func:`get_config` resolves it anew."""
    global _config
    with _lock:
        _config = None
