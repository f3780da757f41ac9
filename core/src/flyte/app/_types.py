"""The value types of an app environment: ``Port``, ``Link``, ``Scaling``, ``Timeouts``, ``Domain``.

Pure data with validation: a bad value is a :class:`~flyte.errors.ValidationError` (or
:class:`~flyte.errors.TypeValidationError`) naming the field, the value and what is allowed.
Names and defaults follow the published ``flyte.app``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta
from typing import Optional, Tuple, Union

from flyte.errors import TypeValidationError, ValidationError

__all__ = ["RESERVED_PORTS", "Domain", "Link", "Port", "Scaling", "Timeouts", "check_port_number"]

RESERVED_PORTS: Tuple[int, ...] = (8012, 8022, 8112, 9090, 9091)
"""Ports the serving platform keeps for itself (its proxies and metrics); apps cannot use them."""

MAX_PORT = 65535
MAX_REQUEST_TIMEOUT = timedelta(hours=1)
# A Kubernetes port name (IANA_SVC_NAME): at most 15 lowercase letters, digits and '-', one letter.
_PORT_NAME_RE = re.compile(r"^(?=.*[a-z])[a-z0-9]([-a-z0-9]*[a-z0-9])?$")


def check_port_number(port: object, owner: str = "Port") -> int:
    """``port`` as an int in 0-65535 and not reserved, else an error naming it and what is allowed."""
    if isinstance(port, bool) or not isinstance(port, int):
        raise TypeValidationError("port", port, "an int in 0-65535 (0 picks a free port)", owner=owner)
    if not 0 <= port <= MAX_PORT:
        raise ValidationError("port", port, f"0-{MAX_PORT} (0 picks a free port)", owner=owner)
    if port in RESERVED_PORTS:
        reserved = ", ".join(str(p) for p in RESERVED_PORTS)
        raise ValidationError("port", port, f"any port in 0-{MAX_PORT} except the reserved {reserved}", owner=owner)
    return port


@dataclass(frozen=True)
class Port:
    """The port an app listens on, with an optional name (the Kubernetes port name, e.g. ``h2c``).

    ``port=0`` serves locally on a free port the kernel picks; on Kubernetes it means 8080.
    """

    port: int
    name: Optional[str] = None

    def __post_init__(self) -> None:
        check_port_number(self.port)
        if self.name is not None and (
            not isinstance(self.name, str) or len(self.name) > 15 or not _PORT_NAME_RE.fullmatch(self.name)
        ):
            raise ValidationError(
                "name", self.name, "a Kubernetes port name: at most 15 lowercase letters, digits or '-', with a letter",
                owner="Port",
            )


@dataclass(frozen=True)
class Link:
    """A link shown with the app: ``path`` (relative to the app's URL when ``is_relative``) and a title."""

    path: str
    title: str
    is_relative: bool = False

    def __post_init__(self) -> None:
        if not isinstance(self.path, str) or not self.path:
            raise ValidationError("path", self.path, "a non-empty URL or path", owner="Link")
        if not isinstance(self.title, str):
            raise TypeValidationError("title", self.title, str, owner="Link")


def _positive_int(field: str, value: object, owner: str) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValidationError(field, value, "an int >= 1", owner=owner)


@dataclass
class Scaling:
    """How many replicas serve the app.

    ``replicas`` is an int (a fixed count) or a ``(min, max)`` pair (autoscaling between them);
    an int ``n`` is kept as ``(n, n)``. The default ``(0, 1)`` scales to zero when idle.
    ``metric`` (``Scaling.Concurrency(n)`` or ``Scaling.RequestRate(n)``) is what the platform
    scales on; ``scaledown_after`` (seconds or a ``timedelta``) how long an idle replica stays.
    """

    @dataclass(frozen=True)
    class Concurrency:
        """Scale up when a replica has more than ``val`` requests in flight."""

        val: int

        def __post_init__(self) -> None:
            _positive_int("val", self.val, "Scaling.Concurrency")

    @dataclass(frozen=True)
    class RequestRate:
        """Scale up when a replica gets more than ``val`` requests per second."""

        val: int

        def __post_init__(self) -> None:
            _positive_int("val", self.val, "Scaling.RequestRate")

    replicas: Union[int, Tuple[int, int]] = (0, 1)
    metric: Optional[Union["Scaling.Concurrency", "Scaling.RequestRate"]] = None
    scaledown_after: Optional[Union[int, timedelta]] = None

    def __post_init__(self) -> None:
        owner = "Scaling"
        r = self.replicas
        if isinstance(r, list):
            r = tuple(r)
        if isinstance(r, int) and not isinstance(r, bool):
            if r < 0:
                raise ValidationError("replicas", r, "an int >= 0 or a (min, max) pair with 0 <= min <= max, max >= 1", owner=owner)
            r = (r, r)
        elif isinstance(r, tuple):
            if len(r) != 2 or not all(isinstance(v, int) and not isinstance(v, bool) for v in r):
                raise ValidationError("replicas", self.replicas, "a (min, max) pair of ints", owner=owner)
            lo, hi = r
            if lo < 0 or hi < 1 or lo > hi:
                raise ValidationError("replicas", self.replicas, "a (min, max) pair with 0 <= min <= max and max >= 1", owner=owner)
        else:
            raise TypeValidationError("replicas", self.replicas, "an int or a (min, max) pair of ints", owner=owner)
        self.replicas = r
        if self.metric is not None and not isinstance(self.metric, (Scaling.Concurrency, Scaling.RequestRate)):
            raise TypeValidationError("metric", self.metric, "Scaling.Concurrency or Scaling.RequestRate", owner=owner)
        s = self.scaledown_after
        if s is not None:
            if isinstance(s, int) and not isinstance(s, bool):
                s = timedelta(seconds=s)
            if not isinstance(s, timedelta):
                raise TypeValidationError("scaledown_after", self.scaledown_after, "seconds (int) or a timedelta", owner=owner)
            if s < timedelta(0):
                raise ValidationError("scaledown_after", self.scaledown_after, "a duration >= 0", owner=owner)
            self.scaledown_after = s

    def get_replicas(self) -> Tuple[int, int]:
        """``(min, max)`` replicas."""
        r = self.replicas
        return (r, r) if isinstance(r, int) else (r[0], r[1])


@dataclass
class Timeouts:
    """Time limits of the app: ``request`` (seconds or a ``timedelta``, at most one hour)."""

    request: Optional[Union[int, timedelta]] = None

    def __post_init__(self) -> None:
        r = self.request
        if r is None:
            return
        if isinstance(r, (int, float)) and not isinstance(r, bool):
            r = timedelta(seconds=r)
        if not isinstance(r, timedelta):
            raise TypeValidationError("request", self.request, "seconds (int) or a timedelta", owner="Timeouts")
        if r < timedelta(0) or r > MAX_REQUEST_TIMEOUT:
            raise ValidationError("request", self.request, "a duration from 0 to 1 hour (3600 seconds)", owner="Timeouts")
        self.request = r


@dataclass
class Domain:
    """Where the platform publishes the app: a ``subdomain`` of its default domain, or a ``custom_domain``."""

    subdomain: Optional[str] = None
    custom_domain: Optional[str] = None

    def __post_init__(self) -> None:
        for name in ("subdomain", "custom_domain"):
            value = getattr(self, name)
            if value is not None and not isinstance(value, str):
                raise TypeValidationError(name, value, "a domain name string", owner="Domain")
