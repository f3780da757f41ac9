"""Compatibility package: ``flyte._internal.runtime`` of the published SDK (see :mod:`flyte._internal`)."""
