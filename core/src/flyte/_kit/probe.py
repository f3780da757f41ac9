"""A fast reachability check of a cluster address."""

from __future__ import annotations

import asyncio
import socket
from typing import Mapping, Optional, Tuple
from urllib.parse import urlsplit

from flyte.errors import ClusterUnreachableError

__all__ = ["DEFAULT_PORTS", "host_port", "probe_tcp"]

DEFAULT_PORTS: Mapping[str, int] = {"http": 80, "https": 443}
"""Ports of the schemes every engine shares; plugins add their own (``{"ray": 10001}``)."""


def host_port(address: str, default_ports: Optional[Mapping[str, int]] = None) -> Tuple[str, int]:
    """``(host, port)`` of ``scheme://host[:port]/...`` or ``host:port``; port 0 when unknown."""
    ports = {**DEFAULT_PORTS, **(default_ports or {})}
    if "://" in address:
        parts = urlsplit(address)
        try:
            port = parts.port
        except ValueError:
            port = None
        return (parts.hostname or "").strip("[]"), port or ports.get(parts.scheme, 0)
    host, _, port_text = address.rpartition(":")
    return host.strip("[]"), int(port_text) if port_text.isdigit() else 0


async def probe_tcp(
    address: str,
    default_ports: Optional[Mapping[str, int]] = None,
    *,
    timeout: float = 5.0,
    hint: str = "",
) -> None:
    """Raise :class:`flyte.errors.ClusterUnreachableError` naming ``address`` unless it accepts a
    TCP connection within ``timeout`` seconds.

    ``default_ports`` maps a URL scheme to the port used when the address has none; ``hint``
    (for example "RayJobConfig.address or FLYTE_RAY_ADDRESS") says where the address came from.
    """
    host, port = host_port(address, default_ports)
    if not host or not port:
        raise ClusterUnreachableError(address, "the address names no host and port", hint=hint)

    def connect() -> None:
        with socket.create_connection((host, port), timeout=timeout):
            pass

    try:
        await asyncio.wait_for(asyncio.to_thread(connect), timeout + 1)
    except (OSError, asyncio.TimeoutError) as e:
        if isinstance(e, (asyncio.TimeoutError, socket.timeout)):
            reason = "no answer"
        else:
            reason = str(e) or type(e).__name__
        raise ClusterUnreachableError(address, f"{reason} within {timeout:g}s", hint=hint) from e
