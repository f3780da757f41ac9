"""``flyte.init``: resolve the configuration of this process and install it.

The configuration itself (``Config``, the config file and ``get_config``) lives in
:mod:`flyte._config`, below everything that reads it; this module is part of the composition
root and is imported by nothing below it. Its names from before that split are re-exported.
"""

from __future__ import annotations

import logging
import os
import threading
from dataclasses import replace
from pathlib import Path
from typing import Any, Dict, List, Optional

from flyte._config import (
    Config,
    _read_config_file,
    _resolve,
    default_home,  # noqa: F401 - importable from here as before the split
    find_config_file,
    get_config,
    reset_config,
    set_config,
)
from flyte.errors import InitializationError

__all__ = [
    "Config",
    "current_domain",
    "current_project",
    "get_config",
    "get_storage",
    "init",
    "init_from_config",
    "is_initialized",
]


_lock = threading.Lock()
_initialized = False
_storage: Any = None


def _apply(cfg: Config) -> None:
    global _initialized
    with _lock:
        set_config(cfg)
        _initialized = True
    logging.getLogger("flyte").setLevel(cfg.log_level)
    if cfg.load_plugin_type_transformers and os.environ.get("FLYTE_DISABLE_PLUGIN_AUTOLOAD", "") not in ("1", "true"):
        from flyte._plugins.manager import load_type_plugins

        load_type_plugins()


def is_initialized() -> bool:
    """True once ``flyte.init`` (or one of its variants) has run in this process."""
    return _initialized


def _set_storage(storage: Any) -> None:
    """Keep the ``storage=`` given to ``flyte.init`` (read back by :func:`get_storage`)."""
    global _storage
    if storage is not None:
        from flyte.storage import Storage

        if not isinstance(storage, Storage):
            from flyte.errors import ValidationError

            raise ValidationError("storage", storage, "a flyte.storage.S3, GCS or ABFS record, or None")
    _storage = storage


def get_storage() -> Any:
    """The ``storage=`` record given to the latest ``flyte.init``, or None when none was given.

    Compatibility name of the published SDK, read by plugins written for it
    (``flyteplugins-polars``). This SDK's own storage layer takes credentials from each
    backend's environment; the record is kept for the code that asks. Raises
    :class:`~flyte.errors.InitializationError` before ``flyte.init``, as published.
    """
    if not _initialized:
        raise InitializationError(
            "StorageNotInitializedError",
            "user",
            "flyte.init() has not been called: call it (optionally with storage=flyte.storage.S3(...)) first",
        )
    return _storage


def reset() -> None:
    """Forget the configuration (tests)."""
    global _initialized, _storage
    with _lock:
        reset_config()
        _initialized = False
        _storage = None


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
    _set_storage(storage)
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
    _set_storage(storage)
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
            storage=storage,
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
        _init_from_config_impl(
            path_or_config, root_dir=root_dir, log_level=log_level, project=project, domain=domain, storage=storage
        )

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
