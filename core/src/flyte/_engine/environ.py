"""Environment variables of running tasks: set for an attempt, restored afterwards."""

from __future__ import annotations

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
        from flyte._secret import resolve_secret_locally

        for secret in plan.secrets:
            if secret.as_env_var:
                values[secret.as_env_var] = resolve_secret_locally(secret)
                name = f"{secret.group}/{secret.key}" if secret.group else secret.key
                note_secret_values([values[secret.as_env_var]], name=name)  # masked in captured output and the store
    return set_environ(values)


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
