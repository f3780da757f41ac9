"""Spark task type: local Spark, an existing Spark master or Spark Connect, or a SparkApplication."""

__all__: list[str] = []

try:
    from flyte.extend import require_core as _require_core
except ImportError as e:  # the published flyte SDK has no require_core: name both distributions
    raise ImportError(
        "flyte-plugin-spark needs flyte-sdk-core>=0.1,<0.2, but the 'flyte' it imported is another distribution "
        "(the published 'flyte' SDK?); install this project's core: "
        "pip uninstall -y flyte && pip install ./core (this project's checkout)"
    ) from e

# Nothing here is used yet but the package itself: check at its import.
_require_core("flyte-plugin-spark", ">=0.1,<0.2", package="flyteplugins.spark")
