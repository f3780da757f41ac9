"""The published extras this SDK does not provide yet fail on import with a clear message."""

from __future__ import annotations

from typing import NoReturn

__all__ = ["unavailable"]

_WHAT = {
    "webhooks": "receiving SaaS webhooks as runs (WebhookAppEnvironment, run_once, Provider)",
    "shell": "typed wrappers of command-line tools in container images",
    "model_streamer": "streaming safetensors weights from object storage onto the GPU",
}


def unavailable(name: str) -> NoReturn:
    """Raise the ``ImportError`` of an extra that is not available yet."""
    raise ImportError(
        f"flyte.extras.{name} ({_WHAT[name]}) is not available in this SDK yet; the available extras are "
        "Sleep, DynamicBatcher, TokenBatcher and ContainerTask (flyte.extras). For a command in a container "
        "image, flyte.extras.ContainerTask covers the common case.",
        name=f"flyte.extras.{name}",
    )
