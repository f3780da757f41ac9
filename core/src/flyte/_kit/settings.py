"""An engine plugin's settings: ``FLYTE_<ENGINE>_<NAME>`` from the environment, else the config file.

The config file (``.flyte/config.yaml``, ``FLYTE_CONFIG``) may hold one section per engine::

    ray:
      address: ray://head:10001
      idle_timeout: 120

so that moving from a laptop to a cluster is a change of configuration, not of code. The
environment wins over the file, as everywhere in flyte.
"""

from __future__ import annotations

from typing import Optional, Tuple

__all__ = ["engine_setting"]


def engine_setting(engine: str, name: str) -> Tuple[Optional[str], str]:
    """``(value, where)`` of setting ``name`` of ``engine``; ``(None, env var)`` when unset.

    ``where`` names the environment variable or the config file entry the value came from, for
    error messages.
    """
    from flyte._config import get_config
    import os

    var = f"FLYTE_{engine.upper()}_{name.upper()}"
    value = os.environ.get(var)
    if value is not None and value.strip():
        return value, var
    cfg = get_config()
    section = cfg.section(engine.lower())
    if name.lower() in section and section[name.lower()] is not None:
        return str(section[name.lower()]), f"{engine.lower()}.{name.lower()} in {cfg.source}"
    return None, var
