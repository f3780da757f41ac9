"""The version of this core (distribution ``flyte-sdk-core``).

A constant rather than a metadata lookup, so ``import flyte`` reads no distribution metadata; a
test keeps it equal to ``core/pyproject.toml`` and to the installed distribution's version.
"""

__version__ = "0.1.0"
