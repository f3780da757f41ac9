"""The SDK's version, read from the installed distribution's metadata when available."""

__version__ = "0.1.0"
