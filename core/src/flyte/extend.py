"""The public API for plugin authors.

Everything a package needs to add a task type or a type transformer to flyte, in one place:

* ``TaskTemplate`` / ``AsyncFunctionTaskTemplate``: the classes a task plugin subclasses,
  overriding ``pre`` / ``post`` (bring an engine up and down), ``custom_config`` and
  ``container_args`` (describe it to a cluster).
* ``TaskPluginRegistry``: where a plugin maps its config type to its task class, from the
  ``flyte_register_task_plugins`` hook or at import time.
* ``hookimpl`` / ``hookspec``: the pluggy markers of the hook contract
  (``flyte._plugins.hookspecs``, documented in ``docs/PLUGINS.md``).
* ``TypeTransformer`` / ``TypeEngine``: the base class and registry of type transformers.
* Serialization helpers: ``get_proto_resources``, ``get_proto_extended_resources``,
  ``pod_spec_from_resources``, ``PRIMARY_CONTAINER_DEFAULT_NAME``, and ``container_command``
  (the one answer to "what command runs this task in a container").
* Kubernetes mapping helpers: ``K8sSettings``, ``TaskParts``, ``replica_pod_template``,
  ``finish_pod_spec``, ``object_metadata`` and the per-container helpers, for plugins that
  build their own custom resources (``docs/PLUGINS.md``, "Kubernetes mapping helpers").
* ``ImageBuildEngine``, ``download_code_bundle``, ``is_initialized``, ``lazy_module``.
* ``task_module_location`` / ``ModuleLocation``: the module name and import root of a task's
  code, for plugins that ship it to a job or worker (a Ray job's working directory, say).
* ``require_core``: the check a plugin runs when first used, that the ``flyte`` it imports is
  this core (distribution ``flyte-sdk-core``) in the version range it was built for.
* ``register_lazy``: defer a type transformer until a type of that name is first looked up, so
  loading a plugin imports no data library.
* The plugin kit (``SessionTaskTemplate``, ``runtime_owner``, ``start_child``, ``resolve_target``,
  ``probe_tcp``, ``container_call``, ...): what every engine plugin needs, implemented once
  (``docs/PLUGINS.md``, "The plugin kit").

Names are resolved on first access, so ``import flyte.extend`` imports none of them.
"""

from __future__ import annotations

import importlib
from functools import reduce
from typing import TYPE_CHECKING, Any, Dict, List, Tuple

from flyte._plugins.hookspecs import hookimpl, hookspec

if TYPE_CHECKING:
    from flyte._bundle import download_code_bundle
    from flyte._distribution import require_core
    from flyte._image_build import ImageBuildEngine, ImageBuilder, ImageChecker
    from flyte._initialize import is_initialized
    from flyte._kit.cancel import open_cancellably
    from flyte._kit.children import ChildProcess, ChildStartError, start_child, stop_pids
    from flyte._kit.modules import MissingModuleError, require_module
    from flyte._kit.probe import host_port, probe_tcp
    from flyte._redact import note_secret_values, redact
    from flyte._kit.remote import RemoteCall, RemoteTaskError, container_call, module_root
    from flyte._kit.remote import collect as collect_outputs
    from flyte._kit.remote import prepare as prepare_remote_call
    from flyte._kit.remote import read_error as read_remote_error
    from flyte._kit.runtime import Lease, RuntimeConflictError, RuntimeOwner, idle_timeout, runtime_owner
    from flyte._kit.runtime import stop_all as stop_runtimes
    from flyte._kit.session import EngineSession, SessionTaskTemplate
    from flyte._kit.sizing import LocalSize, local_size
    from flyte._kit.supervisor import call as run_on_supervisor
    from flyte._kit.targets import Target, check_address, resolve_target
    from flyte._app_local import AppStartError, LocalAppServer, PortInUseError, ThreadAppServer
    from flyte._lazy import lazy_module
    from flyte._loader import ModuleLocation, task_module_location
    from flyte._plugins.registry import TaskPluginRegistry
    from flyte._pod import PRIMARY_CONTAINER_DEFAULT_NAME
    from flyte._serialize.resources import (
        get_proto_extended_resources,
        get_proto_resources,
        pod_spec_from_resources,
    )
    from flyte._task import AsyncFunctionTaskTemplate, TaskTemplate
    from flyte.types import TypeEngine, TypeTransformer

    register_lazy = TypeEngine.register_lazy
    # Kubernetes mapping helpers and the container command.
    from flyte._serialize.container import container_command
    from flyte._serialize.devices import device_scheduling
    from flyte._serialize.k8s import (
        TaskParts,
        apply_shm,
        check_no_nulls,
        container_resources,
        dns_label,
        env_list,
        finish_pod_spec,
        label_value,
        merge_pod_template,
        object_metadata,
        replica_pod_template,
        resolve_image_uri,
        task_pod,
        task_pod_spec,
    )
    from flyte._serialize.k8s_settings import K8sSettings

__all__ = [
    "PRIMARY_CONTAINER_DEFAULT_NAME",
    "AsyncFunctionTaskTemplate",
    "ImageBuildEngine",
    "ImageBuilder",
    "ImageChecker",
    "TaskPluginRegistry",
    "TaskTemplate",
    "TypeEngine",
    "TypeTransformer",
    "download_code_bundle",
    "get_proto_extended_resources",
    "get_proto_resources",
    "hookimpl",
    "hookspec",
    "is_initialized",
    "lazy_module",
    "pod_spec_from_resources",
    # Kubernetes mapping helpers, for plugins that build their own custom resources.
    "K8sSettings",
    "apply_shm",
    "container_resources",
    "device_scheduling",
    "merge_pod_template",
    "task_pod_spec",
    # User code: where a task's module imports from (to ship its code to a job or worker).
    "ModuleLocation",
    "task_module_location",
    # Packaging: a plugin checks at first use that the flyte it imports is this core.
    "require_core",
    # Type transformers registered by type name, loaded on the first lookup of that type.
    "register_lazy",
    # Kubernetes mapping shared by every plugin's custom resources, and the container command.
    "TaskParts",
    "check_no_nulls",
    "container_command",
    "dns_label",
    "env_list",
    "finish_pod_spec",
    "label_value",
    "object_metadata",
    "replica_pod_template",
    "resolve_image_uri",
    "task_pod",
    # The plugin kit (flyte._kit): targets, runtime ownership, child processes, sessions,
    # remote calls; see docs/PLUGINS.md "The plugin kit".
    "ChildProcess",
    "ChildStartError",
    "EngineSession",
    "LocalSize",
    "Lease",
    "MissingModuleError",
    "RemoteCall",
    "RemoteTaskError",
    "RuntimeConflictError",
    "RuntimeOwner",
    "SessionTaskTemplate",
    "Target",
    "check_address",
    "collect_outputs",
    "container_call",
    "host_port",
    "idle_timeout",
    "local_size",
    "module_root",
    "note_secret_values",
    "open_cancellably",
    "prepare_remote_call",
    "read_remote_error",
    "probe_tcp",
    "redact",
    "require_module",
    "resolve_target",
    "run_on_supervisor",
    "runtime_owner",
    "start_child",
    "stop_pids",
    "stop_runtimes",
    # Apps served on this machine (flyte.serve).
    "AppStartError",
    "LocalAppServer",
    "PortInUseError",
    "ThreadAppServer",
]

# name -> (module, attribute); imported on first access so this facade stays light and
# importable while any one of these modules is broken.
_LAZY: Dict[str, Tuple[str, str]] = {
    "PRIMARY_CONTAINER_DEFAULT_NAME": ("flyte._pod", "PRIMARY_CONTAINER_DEFAULT_NAME"),
    "AsyncFunctionTaskTemplate": ("flyte._task", "AsyncFunctionTaskTemplate"),
    "TaskTemplate": ("flyte._task", "TaskTemplate"),
    "ImageBuildEngine": ("flyte._image_build", "ImageBuildEngine"),
    "ImageBuilder": ("flyte._image_build", "ImageBuilder"),
    "ImageChecker": ("flyte._image_build", "ImageChecker"),
    "TaskPluginRegistry": ("flyte._plugins.registry", "TaskPluginRegistry"),
    "TypeEngine": ("flyte.types", "TypeEngine"),
    "TypeTransformer": ("flyte.types", "TypeTransformer"),
    "download_code_bundle": ("flyte._bundle", "download_code_bundle"),
    "get_proto_extended_resources": ("flyte._serialize.resources", "get_proto_extended_resources"),
    "get_proto_resources": ("flyte._serialize.resources", "get_proto_resources"),
    "pod_spec_from_resources": ("flyte._serialize.resources", "pod_spec_from_resources"),
    "is_initialized": ("flyte._initialize", "is_initialized"),
    "lazy_module": ("flyte._lazy", "lazy_module"),
    "K8sSettings": ("flyte._serialize.k8s_settings", "K8sSettings"),
    "container_resources": ("flyte._serialize.k8s", "container_resources"),
    "device_scheduling": ("flyte._serialize.devices", "device_scheduling"),
    "apply_shm": ("flyte._serialize.k8s", "apply_shm"),
    "merge_pod_template": ("flyte._serialize.k8s", "merge_pod_template"),
    "task_pod_spec": ("flyte._serialize.k8s", "task_pod_spec"),
    # User code: where a task's module imports from.
    "ModuleLocation": ("flyte._loader", "ModuleLocation"),
    "task_module_location": ("flyte._loader", "task_module_location"),
    # Packaging.
    "require_core": ("flyte._distribution", "require_core"),
    # Lazy type registration (the attribute may be dotted: a classmethod of TypeEngine).
    "register_lazy": ("flyte.types", "TypeEngine.register_lazy"),
    # Kubernetes mapping shared by every plugin's custom resources, and the container command.
    "TaskParts": ("flyte._serialize.k8s", "TaskParts"),
    "check_no_nulls": ("flyte._serialize.k8s", "check_no_nulls"),
    "container_command": ("flyte._serialize.container", "container_command"),
    "dns_label": ("flyte._serialize.k8s", "dns_label"),
    "env_list": ("flyte._serialize.k8s", "env_list"),
    "finish_pod_spec": ("flyte._serialize.k8s", "finish_pod_spec"),
    "label_value": ("flyte._serialize.k8s", "label_value"),
    "object_metadata": ("flyte._serialize.k8s", "object_metadata"),
    "replica_pod_template": ("flyte._serialize.k8s", "replica_pod_template"),
    "resolve_image_uri": ("flyte._serialize.k8s", "resolve_image_uri"),
    "task_pod": ("flyte._serialize.k8s", "task_pod"),
    # The plugin kit.
    "ChildProcess": ("flyte._kit.children", "ChildProcess"),
    "ChildStartError": ("flyte._kit.children", "ChildStartError"),
    "EngineSession": ("flyte._kit.session", "EngineSession"),
    "LocalSize": ("flyte._kit.sizing", "LocalSize"),
    "Lease": ("flyte._kit.runtime", "Lease"),
    "MissingModuleError": ("flyte._kit.modules", "MissingModuleError"),
    "RemoteCall": ("flyte._kit.remote", "RemoteCall"),
    "RemoteTaskError": ("flyte._kit.remote", "RemoteTaskError"),
    "RuntimeConflictError": ("flyte._kit.runtime", "RuntimeConflictError"),
    "RuntimeOwner": ("flyte._kit.runtime", "RuntimeOwner"),
    "SessionTaskTemplate": ("flyte._kit.session", "SessionTaskTemplate"),
    "Target": ("flyte._kit.targets", "Target"),
    "check_address": ("flyte._kit.targets", "check_address"),
    "collect_outputs": ("flyte._kit.remote", "collect"),
    "container_call": ("flyte._kit.remote", "container_call"),
    "host_port": ("flyte._kit.probe", "host_port"),
    "idle_timeout": ("flyte._kit.runtime", "idle_timeout"),
    "local_size": ("flyte._kit.sizing", "local_size"),
    "module_root": ("flyte._kit.remote", "module_root"),
    "note_secret_values": ("flyte._redact", "note_secret_values"),
    "open_cancellably": ("flyte._kit.cancel", "open_cancellably"),
    "prepare_remote_call": ("flyte._kit.remote", "prepare"),
    "read_remote_error": ("flyte._kit.remote", "read_error"),
    "probe_tcp": ("flyte._kit.probe", "probe_tcp"),
    "redact": ("flyte._redact", "redact"),
    "require_module": ("flyte._kit.modules", "require_module"),
    "resolve_target": ("flyte._kit.targets", "resolve_target"),
    "run_on_supervisor": ("flyte._kit.supervisor", "call"),
    "runtime_owner": ("flyte._kit.runtime", "runtime_owner"),
    "start_child": ("flyte._kit.children", "start_child"),
    "stop_pids": ("flyte._kit.children", "stop_pids"),
    "stop_runtimes": ("flyte._kit.runtime", "stop_all"),
    # Apps served on this machine (flyte.serve).
    "AppStartError": ("flyte._app_local", "AppStartError"),
    "LocalAppServer": ("flyte._app_local", "LocalAppServer"),
    "PortInUseError": ("flyte._app_local", "PortInUseError"),
    "ThreadAppServer": ("flyte._app_local", "ThreadAppServer"),
}


def __getattr__(name: str) -> Any:
    try:
        module_name, attr = _LAZY[name]
    except KeyError:
        raise AttributeError(f"module 'flyte.extend' has no attribute {name!r}") from None
    value = reduce(getattr, attr.split("."), importlib.import_module(module_name))
    globals()[name] = value  # later accesses skip this function
    return value


def __dir__() -> List[str]:
    return sorted(set(globals()) | set(__all__))
