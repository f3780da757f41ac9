"""App environments: long-running servers (APIs, model servers) next to the tasks.

``AppEnvironment`` describes an app; ``flyte.serve(env)`` serves it on this machine and
``flyte deploy --dry-run`` maps it to a Kubernetes Deployment and Service. FastAPI apps are
``flyte.app.extras.FastAPIAppEnvironment``, from the ``flyte-plugin-app`` distribution.
"""

from flyte.app._app_environment import AppEnvironment
from flyte.app._endpoints import AppNotServedError
from flyte.app._parameter import Parameter
from flyte.app._types import RESERVED_PORTS, Domain, Link, Port, Scaling, Timeouts

__all__ = [
    "RESERVED_PORTS",
    "AppEnvironment",
    "AppNotServedError",
    "Domain",
    "Link",
    "Parameter",
    "Port",
    "Scaling",
    "Timeouts",
]
