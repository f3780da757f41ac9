"""Compatibility package: the published SDK's ``flyte._internal`` paths that its plugins import.

Only what plugins written for the published SDK read lives here, each name an alias of this
SDK's own code (docs/ARCHITECTURE.md, "Compatibility aliases").
"""
