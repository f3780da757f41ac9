"""FastAPI app environments served by flyte.serve, locally and on Kubernetes.

``FastAPIAppEnvironment(name=..., app=FastAPI(...))`` is also reachable as
``flyte.app.extras.FastAPIAppEnvironment`` (the published path). Importing this package imports
neither FastAPI nor uvicorn: FastAPI is checked when an environment is made, uvicorn is
imported when the app is served.
"""

try:
    from flyte.extend import require_core as _require_core
except ImportError as e:  # the published flyte SDK has no require_core: name both distributions
    raise ImportError(
        "flyte-plugin-app needs flyte-sdk-core>=0.1,<0.2, but the 'flyte' it imported is another distribution "
        "(the published 'flyte' SDK?); install this project's core: "
        "pip uninstall -y flyte && pip install ./core (this project's checkout)"
    ) from e

_require_core("flyte-plugin-app", ">=0.1,<0.2", package="flyteplugins.app")

from flyteplugins.app.environment import FastAPIAppEnvironment  # noqa: E402

__all__ = ["FastAPIAppEnvironment"]
