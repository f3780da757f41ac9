"""The ``flyte`` command line interface (entry point: :func:`flyte.cli.main.main`)."""
