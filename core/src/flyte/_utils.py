"""Compatibility alias: the published SDK's ``flyte._utils`` path of ``lazy_module``.

Plugins written for the published SDK (``flyteplugins-polars``, ``flyteplugins-pandera``) import
``lazy_module`` from here. The function is :func:`flyte._lazy.lazy_module`; plugins built on this
SDK get it from :mod:`flyte.extend`.
"""

from __future__ import annotations

from flyte._lazy import lazy_module

__all__ = ["lazy_module"]
