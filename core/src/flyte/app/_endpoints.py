"""Where the apps served by this process answer: app name -> URL, kept by the serving engine.

A leaf (no imports of flyte's own but the errors), so an ``AppEnvironment`` reads its endpoint
without importing the engine that serves it.
"""

from __future__ import annotations

import threading
from typing import Dict, Optional

from flyte.errors import FlyteError

__all__ = ["AppNotServedError", "local_endpoint", "set_local_endpoint"]

ENDPOINT_PATTERN_ENV_VAR = "INTERNAL_APP_ENDPOINT_PATTERN"
"""``{app_fqdn}`` pattern the platform sets where apps are reached by name (the published variable)."""

_lock = threading.Lock()
_endpoints: Dict[str, str] = {}


class AppNotServedError(FlyteError, LookupError):
    """An app's endpoint was asked for, but the app is not served by this process nor reachable by name."""


def set_local_endpoint(name: str, url: Optional[str]) -> None:
    """Record (or, with ``None``, forget) the URL of the app ``name`` served by this process."""
    with _lock:
        if url is None:
            _endpoints.pop(name, None)
        else:
            _endpoints[name] = url


def local_endpoint(name: str) -> Optional[str]:
    """The URL of the app ``name`` when this process serves it."""
    with _lock:
        return _endpoints.get(name)
