"""Validation of task settings shared by ``TaskTemplate`` construction and ``override()``."""

from __future__ import annotations

import re
from typing import Any, Dict, Optional

from flyte.errors import TypeValidationError, ValidationError


def normalize_task_fields(task: Any) -> None:
    """Validate a task's settings in place; errors name the task, the field and what is allowed."""
    owner = f"task {task.name}"
    from flyte._cache import cache_from_request
    from flyte._retry import RetryStrategy
    from flyte._timeout import timeout_seconds

    cache_from_request(task.cache)
    r = task.retries
    if isinstance(r, bool) or not isinstance(r, (int, RetryStrategy)):
        raise TypeValidationError("retries", r, "an int >= 0 or a flyte.RetryStrategy", owner=owner)
    if isinstance(r, int) and r < 0:
        raise ValidationError("retries", r, "an int >= 0", owner=owner)
    timeout_seconds(task.timeout)
    if task.env_vars is not None and (
        not isinstance(task.env_vars, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in task.env_vars.items())
    ):
        raise TypeValidationError("env_vars", task.env_vars, "dict[str, str]", owner=owner)
    if task.secrets is not None:
        from flyte._secret import secrets_from_request

        secrets_from_request(task.secrets)
    if not isinstance(task.max_inline_io_bytes, int) or task.max_inline_io_bytes <= 0:
        raise ValidationError("max_inline_io_bytes", task.max_inline_io_bytes, "a positive int (bytes)", owner=owner)
    check_service_account(getattr(task, "service_account", None), owner)


def check_override(task: Any, changes: Dict[str, Any]) -> Dict[str, Any]:
    """Apply the reusable rules of ``override()`` and return the fields to replace."""
    owner = f"task {task.name} override()"
    reusable_off = changes.get("reusable") == "off"
    if reusable_off:
        changes["reusable"] = None
    elif "reusable" in changes and changes["reusable"] is not None:
        from flyte._reusable import ReusePolicy

        if not isinstance(changes["reusable"], ReusePolicy):
            raise TypeValidationError("reusable", changes["reusable"], "a flyte.ReusePolicy or 'off'", owner=owner)
    if task.reusable is not None and not reusable_off:
        # A reused container keeps its environment's service account, as published.
        if changes.get("service_account") is not None and changes["service_account"] != task.service_account:
            raise ValidationError(
                "service_account",
                changes["service_account"],
                "the environment's service account: a task of a reusable environment can override it only "
                "together with reusable='off' in the same override() call",
                owner=owner,
            )
        for key in ("resources", "env_vars", "secrets"):
            if changes.get(key) is not None:
                raise ValidationError(
                    key,
                    changes[key],
                    "a task of a reusable environment can override resources, env_vars and secrets only "
                    "together with reusable='off' in the same override() call",
                    owner=owner,
                )
    if "resources" in changes and changes["resources"] is not None:
        from flyte._resources import Resources

        if not isinstance(changes["resources"], Resources):
            raise TypeValidationError("resources", changes["resources"], Resources, owner=owner)
    if "plugin_config" in changes:
        raise ValidationError(
            "plugin_config", changes["plugin_config"], "plugin_config is set on the TaskEnvironment only", owner=owner
        )
    for key in ("triggers", "links"):
        if key in changes and not isinstance(changes[key], tuple):
            changes[key] = (changes[key],)
    # None means "keep what the task has" for every optional override parameter.
    return {k: v for k, v in changes.items() if v is not None or k == "reusable"}


# A Kubernetes service account name is a DNS-1123 subdomain: at most 253 characters, lowercase
# letters, digits, '-' and '.', starting and ending with a letter or digit.
_SERVICE_ACCOUNT_RE = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
MAX_SERVICE_ACCOUNT = 253


def check_service_account(value: Any, owner: str) -> Optional[str]:
    """``value`` if it is None or a valid Kubernetes service account name, else a ValidationError."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise TypeValidationError("service_account", value, "a Kubernetes service account name (str) or None", owner=owner)
    if len(value) > MAX_SERVICE_ACCOUNT or not _SERVICE_ACCOUNT_RE.fullmatch(value):
        raise ValidationError(
            "service_account",
            value,
            f"a Kubernetes service account name: at most {MAX_SERVICE_ACCOUNT} characters, lowercase letters, "
            "digits, '-' and '.', starting and ending with a letter or digit",
            owner=owner,
        )
    return value
