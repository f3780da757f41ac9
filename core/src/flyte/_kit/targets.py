"""Where an engine task runs from this process: inside a job, an existing cluster, or here.

Every distributed plugin picks its target the same way (:func:`resolve_target`):

1. inside a job of the engine (a Ray job driver, a Spark driver started by ``spark-submit``, a
   rank started by the training operator), detected by an environment variable the engine sets:
   the task is part of that job;
2. else the address in the task's config;
3. else ``FLYTE_<ENGINE>_ADDRESS`` from the environment, else ``address`` in the config file's
   ``<engine>:`` section (:mod:`flyte._kit.settings`);
4. else this machine.

An address is ``scheme://...`` (dispatched on the scheme) or a bare ``host:port`` (or one of a
few words like ``auto``); anything else is a validation error naming the field or environment
variable, the value and the forms allowed.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any, Mapping, Optional, Sequence

from flyte.errors import TypeValidationError, ValidationError

__all__ = ["IN_JOB", "LOCAL", "Target", "check_address", "resolve_target"]

LOCAL = "local"
"""The kind of the target "this machine"."""

IN_JOB = "in-job"
"""The default kind of the target "inside a job of the engine"."""


@dataclass(frozen=True)
class Target:
    """Where a task runs: ``kind`` (``"local"``, ``"in-job"`` or a plugin's kind of address)
    and the ``address`` (None for local and in-job targets).

    ``source`` says where the address came from (the config field or the environment variable).
    """

    kind: str
    address: Optional[str] = None
    source: Optional[str] = None

    @property
    def is_local(self) -> bool:
        return self.kind == LOCAL


def _forms(schemes: Mapping[str, str], bare: Optional[str], words: Sequence[str]) -> str:
    parts = [f"'{s}://...'" for s in schemes]
    if bare is not None:
        parts.append("'host:port'")
    parts.extend(repr(w) for w in words)
    return "an address of the form " + ", ".join(parts)


def check_address(
    value: Any,
    *,
    field: str,
    owner: str,
    schemes: Mapping[str, str],
    bare: Optional[str] = None,
    words: Sequence[str] = (),
    allowed: Optional[str] = None,
) -> Optional[str]:
    """``value`` stripped, None when empty; else a validation error naming ``field``.

    ``schemes`` maps each allowed URL scheme to a target kind; ``bare`` is the kind of a
    ``host:port`` address (None: not allowed); ``words`` are special addresses (``"auto"``)
    of kind ``bare``; ``allowed`` replaces the generated description of the allowed forms.
    """
    forms = allowed or _forms(schemes, bare, words)
    if value is None:
        return None
    if not isinstance(value, str):
        raise TypeValidationError(field, value, f"a str: {forms}", owner=owner)
    text = value.strip()
    if not text:
        return None
    if text in words:
        return text
    scheme, sep, rest = text.partition("://")
    if sep:
        if scheme not in schemes or not rest.strip("/"):
            raise ValidationError(field, value, forms, owner=owner)
        return text
    host, colon, port = text.rpartition(":")
    if bare is None or not colon or not host or not port.isdigit():
        raise ValidationError(field, value, forms, owner=owner)
    return text


def resolve_target(
    engine: str,
    config_address: Any = None,
    *,
    schemes: Mapping[str, str],
    bare: Optional[str] = None,
    words: Sequence[str] = (),
    in_job_env: Sequence[str] = (),
    in_job_kind: str = IN_JOB,
    field: str = "address",
    owner: str = "config",
    env_var: Optional[str] = None,
    allowed: Optional[str] = None,
) -> Target:
    """The :class:`Target` of a task of ``engine`` (see the module docs for the order).

    Args:
        engine: The engine's name; the environment variable is ``FLYTE_<ENGINE>_ADDRESS``
            unless ``env_var`` names another.
        config_address: The address in the task's config (None or empty: none).
        schemes: Allowed URL schemes, each mapped to the kind of target it means
            (``{"ray": "client", "http": "jobs"}``).
        bare: The kind of a ``host:port`` address or of one of ``words``; None: not allowed.
        words: Special addresses, such as ``"auto"``.
        in_job_env: Environment variables whose presence means "inside a job of the engine".
        in_job_kind: The kind of that target.
        field: The config field of the address, for errors.
        owner: The config's name, for errors.
        allowed: Text describing the allowed forms, for errors (default: generated).
    """
    if any(os.environ.get(var) for var in in_job_env):
        return Target(in_job_kind, None, next(var for var in in_job_env if os.environ.get(var)))
    check = dict(schemes=schemes, bare=bare, words=words, allowed=allowed)
    address = check_address(config_address, field=field, owner=owner, **check)  # type: ignore[arg-type]
    source = f"{owner}.{field}"
    if address is None:
        from flyte._kit.settings import engine_setting

        if env_var and os.environ.get(env_var, "").strip():
            value, source = os.environ[env_var], env_var
        else:
            value, source = engine_setting(engine, "address")
        where = "environment" if source.startswith("FLYTE_") else "config file"
        address = check_address(value, field=source, owner=where, **check)  # type: ignore[arg-type]
    if address is None:
        return Target(LOCAL)
    scheme, sep, _ = address.partition("://")
    kind = schemes[scheme] if sep else bare
    assert kind is not None
    return Target(kind, address, source)
