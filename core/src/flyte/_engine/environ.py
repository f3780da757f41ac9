"""Environment variables of running tasks: set for an attempt, restored afterwards."""

from __future__ import annotations

import logging
import os
import threading
from typing import Any, Dict, Optional, Tuple

__all__ = ["set_environ"]


def _apply_environment(plan: Any) -> Any:
    """Set the task's env vars and resolved secrets for the duration of one attempt.

    Local tasks share this process, so the variables are process-wide while the task runs
    (tasks of other environments running at the same moment see them too); afterwards every
    variable set here that still holds our value gets its previous value back. Secret values
    are never recorded anywhere.
    """
    values = dict(plan.env)
    if plan.secrets:
        from flyte._redact import note_secret_values
        from flyte._secret import SecretNotFoundError, resolve_secret_locally

        strict = strict_secrets()  # read for every task with secrets: a malformed value always fails
        for secret in plan.secrets:
            if secret.as_env_var:
                try:
                    values[secret.as_env_var] = resolve_secret_locally(secret)
                except SecretNotFoundError as e:
                    # Laptop first (decision 31): a secret only the cluster has is a warning here.
                    if strict:
                        raise
                    _warn_missing_secret(secret, e)
                    continue
                name = f"{secret.group}/{secret.key}" if secret.group else secret.key
                note_secret_values([values[secret.as_env_var]], name=name)  # masked in captured output and the store
    return set_environ(values)


_STRICT_TRUE = {"1", "true", "yes", "on"}
_STRICT_FALSE = {"0", "false", "no", "off", ""}


def strict_secrets() -> bool:
    """Whether a declared secret missing on this machine fails the task instead of warning.

    ``FLYTE_STRICT_SECRETS`` (1/0, true/false, yes/no, on/off) wins over the config file's
    ``secrets: {strict: ...}``; the default is False, as the published SDK runs such a task.
    """
    from flyte.errors import ValidationError

    raw = os.environ.get("FLYTE_STRICT_SECRETS")
    if raw is not None:
        low = raw.strip().lower()
        if low in _STRICT_TRUE:
            return True
        if low in _STRICT_FALSE:
            return False
        raise ValidationError("FLYTE_STRICT_SECRETS", raw, "one of 1/0, true/false, yes/no, on/off")
    from flyte._config import get_config

    cfg = get_config()
    value = cfg.section("secrets").get("strict", False)
    if not isinstance(value, bool):
        raise ValidationError("secrets.strict", value, f"true or false (in the config file {cfg.source})")
    return value


_warned_lock = threading.Lock()
_warned: Dict[Tuple[str, str], None] = {}  # (run name, secret) already warned about, insertion-ordered


def _warn_missing_secret(secret: Any, error: Exception) -> None:
    """One warning per missing secret and run: the secret, the variable and the places looked at."""
    from flyte._context import current_task_context

    tctx = current_task_context.get()
    run_name = tctx.action.run_name if tctx is not None else ""
    what = f"{secret.group}/{secret.key}" if secret.group else secret.key
    with _warned_lock:
        if (run_name, what) in _warned:
            return
        _warned[(run_name, what)] = None
        if len(_warned) > 4096:  # a long-lived process runs many runs; keep the memory bounded
            _warned.pop(next(iter(_warned)))
    looked = str(error).split("looked at: ", 1)[-1]
    logging.getLogger("flyte").warning(
        "secret %r is not available on this machine; $%s is not set for the task (looked at: %s). "
        "The task runs without it; set FLYTE_STRICT_SECRETS=1 to make this an error",
        what,
        secret.as_env_var,
        looked,
    )


_env_lock = threading.Lock()
# key -> (the value before any task set it, [(owner token, value), ...] most recent last)
_env_owners: Dict[str, Tuple[Optional[str], list]] = {}


def set_environ(values: Dict[str, str]) -> Any:
    """Set environment variables; return a function undoing it.

    Overlapping setters of one variable stack: the variable holds the most recent live setter's
    value, and the value from before the first one once all are done.
    """
    token = object()
    with _env_lock:
        for k, v in values.items():
            original, owners = _env_owners.setdefault(k, (os.environ.get(k), []))
            owners.append((token, v))
            os.environ[k] = v

    def restore() -> None:
        with _env_lock:
            for k in values:
                entry = _env_owners.get(k)
                if entry is None:
                    continue
                original, owners = entry
                owners[:] = [(t, v) for t, v in owners if t is not token]
                if owners:
                    os.environ[k] = owners[-1][1]
                    continue
                del _env_owners[k]
                if original is None:
                    os.environ.pop(k, None)
                else:
                    os.environ[k] = original

    return restore
