"""Secrets: references to values kept in a secret store, resolved only when a task runs.

A ``Secret`` names a secret (``key``, optional ``group``) and says how the task sees it: as an
environment variable (``as_env_var``) or as a file (``mount``). It never holds the value, so a
task spec, a manifest or a log line can include it safely. Locally, ``resolve_secret_locally``
reads the value from the environment or from files under ``$FLYTE_SECRETS_DIR``.
"""

from __future__ import annotations

import os
import pathlib
import re
from dataclasses import dataclass
from typing import List, Optional, Union

from flyte.errors import RuntimeUserError, TypeValidationError, ValidationError

__all__ = [
    "SECRETS_MOUNT_PATH",
    "Secret",
    "SecretNotFoundError",
    "SecretRequest",
    "resolve_secret_locally",
    "secrets_from_request",
]

SECRETS_MOUNT_PATH = "/etc/flyte/secrets"
"""Where secret files are mounted in a task container (the only mount path supported)."""

_ENV_VAR_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
# Names as a Kubernetes Secret allows them (keys) and a bit more for groups (path-like stores).
_KEY_RE = re.compile(r"^[A-Za-z0-9._-]+$")
_MAX_KEY = 253  # the longest key of a Kubernetes secret
_GROUP_RE = re.compile(r"^[A-Za-z0-9._/-]+$")


def _env_name(*parts: str) -> str:
    """Upper-case the parts, join them with ``_``, and turn anything not alphanumeric into ``_``."""
    name = re.sub(r"[^A-Z0-9]", "_", "_".join(parts).upper())
    return f"_{name}" if name[:1].isdigit() else name


@dataclass(frozen=True)
class Secret:
    """A reference to a secret, injected into a task as an environment variable or a file.

    Example::

        @env.task(secrets="openai-key")                   # read it as os.environ["OPENAI_KEY"]
        @env.task(secrets=Secret("openai-key", as_env_var="OPENAI_API_KEY"))

    Args:
        key: Name of the secret in the secret store (letters, digits, ``.``, ``_``, ``-``).
        group: Optional group (namespace) of the secret in stores that have them.
        mount: Mount the secret as a file under this directory instead; only ``/etc/flyte/secrets``.
        as_env_var: Name of the environment variable holding the value. When neither ``mount`` nor
            ``as_env_var`` is given it is ``<GROUP>_<KEY>`` (or ``<KEY>``) upper-cased, with every
            other character than letters and digits turned into ``_``.
    """

    key: str
    group: Optional[str] = None
    mount: Optional[pathlib.Path] = None
    as_env_var: Optional[str] = None

    def __post_init__(self) -> None:
        owner = "Secret"
        if not isinstance(self.key, str) or not _KEY_RE.match(self.key):
            raise ValidationError("key", self.key, "a non-empty name of letters, digits, '.', '_' or '-'", owner=owner)
        if len(self.key) > _MAX_KEY:
            from flyte.errors import warn_likely_mistake

            warn_likely_mistake(
                "key", self.key,
                f"a secret key of at most {_MAX_KEY} characters (got {len(self.key)}): a Kubernetes secret key cannot be longer",
                owner=owner,
            )
        if self.group is not None and (not isinstance(self.group, str) or not _GROUP_RE.match(self.group)):
            raise ValidationError(
                "group", self.group, "None or a non-empty name of letters, digits, '.', '_', '-' or '/'", owner=owner
            )
        if self.mount is not None:
            if not isinstance(self.mount, (str, pathlib.PurePath)):
                raise TypeValidationError("mount", self.mount, "a path", owner=owner)
            if pathlib.PurePosixPath(self.mount) != pathlib.PurePosixPath(SECRETS_MOUNT_PATH):
                raise ValidationError("mount", str(self.mount), f"{SECRETS_MOUNT_PATH!r} (the only mount path)", owner=owner)
            object.__setattr__(self, "mount", pathlib.Path(SECRETS_MOUNT_PATH))
        if self.as_env_var is None and self.mount is None:
            parts = (self.group, self.key) if self.group else (self.key,)
            object.__setattr__(self, "as_env_var", _env_name(*parts))
        if self.as_env_var is not None and (not isinstance(self.as_env_var, str) or not _ENV_VAR_RE.match(self.as_env_var)):
            raise ValidationError(
                "as_env_var", self.as_env_var,
                "an environment variable name: letters, digits and '_', not starting with a digit", owner=owner,
            )

    def stable_hash(self) -> str:
        """A hex digest of the reference that is the same in every process."""
        import hashlib

        text = "|".join((self.key, self.group or "", str(self.mount or ""), self.as_env_var or ""))
        return hashlib.sha256(text.encode("utf-8")).hexdigest()

    def __hash__(self) -> int:
        return int(self.stable_hash()[:16], 16)


SecretRequest = Union[str, Secret, List[Union[str, Secret]]]
"""What ``secrets=`` accepts: a key, a ``Secret``, or a list of them."""


def secrets_from_request(secrets: Optional[SecretRequest]) -> List[Secret]:
    """Turn a ``secrets=`` argument into a list of ``Secret`` (a string is the secret's key)."""
    if secrets is None:
        return []
    if isinstance(secrets, (str, Secret)):
        secrets = [secrets]
    if not isinstance(secrets, (list, tuple)):
        raise TypeValidationError("secrets", secrets, "a secret key, a flyte.Secret, or a list of them")
    out: List[Secret] = []
    for s in secrets:
        if isinstance(s, str):
            out.append(Secret(key=s))
        elif isinstance(s, Secret):
            out.append(s)
        else:
            raise TypeValidationError("secrets", s, "a secret key (str) or a flyte.Secret")
    return out


class SecretNotFoundError(RuntimeUserError, KeyError):
    """A secret could not be found in any of the places looked at; the message lists them all."""

    def __init__(self, message: str):
        super().__init__("SecretNotFound", message)

    def __str__(self) -> str:  # KeyError would quote the message
        return self.message


def _secrets_dir() -> pathlib.Path:
    # FLYTE_SECRETS_DIR, else the secrets folder of the flyte home (FLYTE_HOME moves it too).
    from flyte._config import default_home

    return pathlib.Path(os.environ.get("FLYTE_SECRETS_DIR") or default_home() / "secrets").expanduser()


def _env_candidates(secret: Secret) -> List[str]:
    names = [secret.as_env_var] if secret.as_env_var else []
    if secret.group:
        names.append(_env_name("FLYTE_SECRET", secret.group, secret.key))
    names += [_env_name("FLYTE_SECRET", secret.key), _env_name(secret.key)]
    return list(dict.fromkeys(names))


def _file_candidates(secret: Secret) -> List[pathlib.Path]:
    root = _secrets_dir()
    files = [root / secret.group / secret.key] if secret.group else []
    return files + [root / secret.key]


def _strip_newline(text: str) -> str:
    # `echo value > file` adds one; a secret value never ends with a newline on purpose.
    if text.endswith("\r\n"):
        return text[:-2]
    return text[:-1] if text.endswith("\n") else text


def _non_empty(what: str, value: str, where: str) -> str:
    # An empty value is almost always a mistake (an unset shell variable exported, an empty file):
    # failing here names it, where a task would fail later on a confusing authentication error.
    if value == "":
        raise ValidationError(f"secret {what!r}", value, f"a non-empty value (it is empty in {where})")
    return value


def resolve_secret_locally(secret: Union[Secret, str]) -> str:
    """Read a secret's value on this machine.

    Looks, in order, at the environment variables ``as_env_var``, ``FLYTE_SECRET_<GROUP>_<KEY>``,
    ``FLYTE_SECRET_<KEY>`` and ``<KEY>`` (upper-cased, non-alphanumerics as ``_``), then at the files
    ``<group>/<key>`` and ``<key>`` under ``$FLYTE_SECRETS_DIR`` (default ``$FLYTE_HOME/secrets``, that
    is ``~/.flyte/secrets`` when ``FLYTE_HOME`` is not set); one trailing newline of a file is
    dropped. Raises :class:`SecretNotFoundError` listing every place, and
    :class:`~flyte.errors.ValidationError` for a secret that is present but empty.
    """
    if isinstance(secret, str):
        secret = Secret(key=secret)
    if not isinstance(secret, Secret):
        raise TypeValidationError("secret", secret, "a flyte.Secret or a secret key")
    env_names = _env_candidates(secret)
    what = f"{secret.group}/{secret.key}" if secret.group else secret.key
    for name in env_names:
        value = os.environ.get(name)
        if value is not None:
            return _non_empty(what, value, f"${name}")
    files = _file_candidates(secret)
    for path in files:
        if path.is_file():
            return _non_empty(what, _strip_newline(path.read_text(encoding="utf-8")), f"file {path}")
    looked = [f"env ${n}" for n in env_names] + [f"file {p}" for p in files]
    raise SecretNotFoundError(f"secret {what!r} not found; looked at: {', '.join(looked)}")
