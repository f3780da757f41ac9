"""``flyte.init`` and the one configuration object it resolves.

Resolution order for every setting: explicit argument, then ``FLYTE_*`` environment variable,
then the config file (``--config`` / ``FLYTE_CONFIG`` / ``.flyte/config.yaml`` found upward from
the working directory), then the default.
"""

from __future__ import annotations

import logging
import os
import threading
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Dict, List, Optional

from flyte.errors import InitializationError, ValidationError

__all__ = [
    "Config",
    "current_domain",
    "current_project",
    "get_config",
    "init",
    "init_from_config",
    "is_initialized",
]

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

    def default_store_path(self) -> Path:
        if self.store_path is not None:
            return Path(self.store_path)
        env = os.environ.get("FLYTE_LOCAL_STORE")
        if env:
            return Path(env).expanduser()
        return default_home() / "local.db"

    def default_raw_data_path(self) -> str:
        if self.raw_data_path:
            return self.raw_data_path
        env = os.environ.get("FLYTE_RAW_DATA_PATH")
        if env:
            return env
        return str(default_home() / "data")


_lock = threading.Lock()
_config: Optional[Config] = None
_initialized = False


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


def _apply(cfg: Config) -> None:
    global _config, _initialized
    with _lock:
        _config = cfg
        _initialized = True
    logging.getLogger("flyte").setLevel(cfg.log_level)
    if cfg.load_plugin_type_transformers and os.environ.get("FLYTE_DISABLE_PLUGIN_AUTOLOAD", "") not in ("1", "true"):
        from flyte._plugins.manager import load_type_plugins

        load_type_plugins()


def is_initialized() -> bool:
    """True once ``flyte.init`` (or one of its variants) has run in this process."""
    return _initialized


def reset() -> None:
    """Forget the configuration (tests)."""
    global _config, _initialized
    with _lock:
        _config = None
        _initialized = False


def current_project() -> str:
    """The project of the running task, else of the configuration."""
    from flyte._context import current_task_context

    tctx = current_task_context.get()
    if tctx is not None and tctx.action.project:
        return tctx.action.project
    cfg = get_config()
    if not cfg.project:
        raise InitializationError(
            "ProjectNotSet", "user", "No project is set: pass flyte.init(project=...) or set FLYTE_PROJECT"
        )
    return cfg.project


def current_domain() -> str:
    """The domain of the running task, else of the configuration."""
    from flyte._context import current_task_context

    tctx = current_task_context.get()
    if tctx is not None and tctx.action.domain:
        return tctx.action.domain
    cfg = get_config()
    if not cfg.domain:
        raise InitializationError(
            "DomainNotSet", "user", "No domain is set: pass flyte.init(domain=...) or set FLYTE_DOMAIN"
        )
    return cfg.domain


def _init_impl(
    org: Optional[str] = None,
    project: Optional[str] = None,
    domain: Optional[str] = None,
    root_dir: Optional[Path] = None,
    log_level: Optional[int] = None,
    log_format: Optional[str] = None,
    reset_root_logger: bool = False,
    user_log_level: Optional[int] = None,
    endpoint: Optional[str] = None,
    storage: Any = None,
    images: Optional[Dict[str, str]] = None,
    load_plugin_type_transformers: bool = True,
    local_persistence: Optional[bool] = None,
    **ignored: Any,
) -> None:
    if endpoint:
        raise InitializationError(
            "RemoteNotSupported",
            "user",
            f"endpoint={endpoint!r}: this SDK runs tasks on the local engine; remote control planes are not supported",
        )
    path = find_config_file()
    data = _read_config_file(path) if path else {}
    cfg = _resolve(
        data,
        path,
        org=org,
        project=project,
        domain=domain,
        root_dir=root_dir,
        log_level=log_level,
        load_plugin_type_transformers=load_plugin_type_transformers,
        local_persistence=local_persistence,
    )
    if images:
        cfg = replace(cfg, images={**cfg.images, **images})
    _apply(cfg)


def _init_from_config_impl(
    path_or_config: Any = None,
    root_dir: Optional[Path] = None,
    log_level: Optional[int] = None,
    log_format: Any = None,
    project: Optional[str] = None,
    domain: Optional[str] = None,
    storage: Any = None,
    batch_size: int = 1000,
    image_builder: Any = None,
    images: Any = None,
    sync_local_sys_paths: bool = True,
    **ignored: Any,
) -> None:
    if isinstance(path_or_config, Config):
        cfg = path_or_config
        overrides = {k: v for k, v in dict(root_dir=root_dir, log_level=log_level, project=project, domain=domain).items() if v is not None}
        if overrides:
            cfg = replace(cfg, **overrides)
        _apply(cfg)
        return
    if path_or_config is None:
        path = find_config_file()
    else:
        path = Path(path_or_config).expanduser()
        if not path.is_file():
            raise InitializationError(
                "ConfigFileNotFound", "user", f"path_or_config={str(path_or_config)!r}: no such config file"
            )
    data = _read_config_file(path) if path else {}
    cfg = _resolve(data, path, root_dir=root_dir, log_level=log_level, project=project, domain=domain)
    _apply(cfg)


def _make_syncified() -> tuple:
    from flyte.syncify import SyncAndAio

    def init(
        org: Optional[str] = None,
        project: Optional[str] = None,
        domain: Optional[str] = None,
        root_dir: Optional[Path] = None,
        log_level: Optional[int] = None,
        log_format: Optional[str] = None,
        reset_root_logger: bool = False,
        user_log_level: Optional[int] = None,
        endpoint: Optional[str] = None,
        headless: bool = False,
        insecure: bool = False,
        storage: Any = None,
        batch_size: int = 1000,
        image_builder: str = "local",
        images: Optional[Dict[str, str]] = None,
        sync_local_sys_paths: bool = True,
        load_plugin_type_transformers: bool = True,
        local_persistence: bool = False,
        # Remote-connection settings of the published signature: accepted, unused locally.
        insecure_skip_verify: bool = False,
        ca_cert_file_path: Optional[str] = None,
        auth_type: str = "Pkce",
        command: Optional[List[str]] = None,
        proxy_command: Optional[List[str]] = None,
        api_key: Optional[str] = None,
        client_id: Optional[str] = None,
        client_credentials_secret: Optional[str] = None,
        auth_client_config: Any = None,
        rpc_retries: int = 3,
        http_proxy_url: Optional[str] = None,
        disable_keyring: bool = False,
        image_registry: Optional[str] = None,
        source_config_path: Optional[Path] = None,
        local_tracked: bool = False,
        local_tracked_strict: bool = False,
        scopes: Optional[List[str]] = None,
    ) -> None:
        """Initialize flyte for this process.

        With no arguments it configures the local engine from the environment and the config
        file. ``local_persistence=True`` records runs, actions and logs in the local SQLite
        store (the cache is always persisted); ``load_plugin_type_transformers=False`` skips
        type plugins registered under the ``flyte.plugins.types`` entry point group.
        """
        _init_impl(
            org=org,
            project=project,
            domain=domain,
            root_dir=root_dir,
            log_level=log_level,
            endpoint=endpoint,
            images=images,
            load_plugin_type_transformers=load_plugin_type_transformers,
            local_persistence=local_persistence or None,
        )

    def init_from_config(
        path_or_config: Any = None,
        root_dir: Optional[Path] = None,
        log_level: Optional[int] = None,
        log_format: Any = "console",
        project: Optional[str] = None,
        domain: Optional[str] = None,
        storage: Any = None,
        batch_size: int = 1000,
        image_builder: Any = None,
        images: Any = None,
        sync_local_sys_paths: bool = True,
    ) -> None:
        """Initialize flyte from a config file (or ``Config`` object)."""
        _init_from_config_impl(path_or_config, root_dir=root_dir, log_level=log_level, project=project, domain=domain)

    return SyncAndAio(init), SyncAndAio(init_from_config)


init, init_from_config = _make_syncified()


def _make_remote_inits() -> tuple:
    from flyte.syncify import SyncAndAio

    def init_in_cluster(
        org: Optional[str] = None,
        project: Optional[str] = None,
        domain: Optional[str] = None,
        api_key: Optional[str] = None,
        endpoint: Optional[str] = None,
        insecure: bool = False,
    ) -> Dict[str, Any]:
        """Initialize inside a task container: project and domain from arguments or the environment.

        Containers started from this SDK's manifests run tasks with the local engine inside the
        pod, so no control-plane connection is made; ``endpoint``/``api_key`` are not supported.
        """
        if endpoint or api_key:
            raise InitializationError(
                "RemoteNotSupported",
                "user",
                "init_in_cluster(endpoint=..., api_key=...): connecting to a remote control plane is not supported",
            )
        _init_impl(org=org, project=project, domain=domain)
        return {"org": org, "project": project, "domain": domain}

    def _remote_only(name: str) -> Any:
        def fn(*args: Any, **kwargs: Any) -> Any:
            raise InitializationError(
                "RemoteNotSupported",
                "user",
                f"flyte.{name} authenticates to a remote control plane, which this SDK does not connect to; "
                "use flyte.init() for the local engine and `flyte deploy --dry-run` to produce cluster manifests",
            )

        fn.__name__ = name
        fn.__doc__ = f"Not supported: ``{name}`` authenticates to a remote control plane."
        return fn

    return (
        SyncAndAio(init_in_cluster),
        SyncAndAio(_remote_only("init_from_api_key")),
        SyncAndAio(_remote_only("init_passthrough")),
    )


init_in_cluster, init_from_api_key, init_passthrough = _make_remote_inits()
