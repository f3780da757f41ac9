"""``FastAPIAppEnvironment``: an app environment serving a ``fastapi.FastAPI`` app with uvicorn.

Pure description, like every environment: FastAPI is imported to check ``app`` (the caller
made one, so it is loaded already), uvicorn only when the app is served.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Mapping, Optional

import flyte.app
from flyte.errors import TypeValidationError
from flyte.extend import require_module

if TYPE_CHECKING:
    import fastapi
    import uvicorn

    from flyteplugins.app._server import UvicornAppServer

__all__ = ["FastAPIAppEnvironment"]

INSTALL = "flyte-plugin-app"


@dataclass(kw_only=True)
class FastAPIAppEnvironment(flyte.app.AppEnvironment):
    """An app environment serving a FastAPI app.

    Example::

        app = FastAPI()

        @app.get("/health")
        def health() -> dict:
            return {"ok": True}

        env = FastAPIAppEnvironment(name="api", app=app, port=0)
        handle = flyte.serve(env)        # uvicorn on a thread of this process

    Args:
        app: The ``fastapi.FastAPI`` app.
        uvicorn_config: A ``uvicorn.Config`` whose settings (log level, access log, limits, ...)
            serve the app; its host and port are replaced by the environment's (the socket is
            bound by flyte). Default: uvicorn's defaults with the access log on.
        type: ``"FastAPI"``.

    Every other argument is :class:`flyte.app.AppEnvironment`'s. ``on_startup`` /
    ``on_shutdown`` functions run on the server's event loop before uvicorn starts and after it
    stopped; the app's own lifespan runs inside uvicorn as usual.
    """

    app: "fastapi.FastAPI"
    type: Optional[str] = "FastAPI"
    uvicorn_config: Optional["uvicorn.Config"] = None

    def __post_init__(self) -> None:
        fastapi = require_module("fastapi", INSTALL, purpose="FastAPIAppEnvironment needs the 'fastapi' package")
        owner = f"FastAPIAppEnvironment({getattr(self, 'name', None)!r})"
        if not isinstance(self.app, fastapi.FastAPI):
            raise TypeValidationError("app", self.app, "a fastapi.FastAPI app", owner=owner)
        if self.uvicorn_config is not None:
            uvicorn = require_module("uvicorn", INSTALL, purpose="FastAPIAppEnvironment needs the 'uvicorn' package")
            if not isinstance(self.uvicorn_config, uvicorn.Config):
                raise TypeValidationError("uvicorn_config", self.uvicorn_config, "a uvicorn.Config or None", owner=owner)
        super().__post_init__()
        docs = flyte.app.Link(path="/docs", title="FastAPI OpenAPI Docs", is_relative=True)
        if docs not in self.links:
            self.links = [docs, *self.links]

    def local_server(
        self, *, host: str, port: int, parameters: Mapping[str, Optional[str]], env: Mapping[str, str], echo: bool = False
    ) -> "UvicornAppServer":
        """uvicorn serving :attr:`app` on a thread of this process, on a socket bound by flyte."""
        from flyteplugins.app._server import UvicornAppServer

        return UvicornAppServer(
            self.name, host, port, app=self.app, uvicorn_config=self.uvicorn_config, parameters=parameters, env=env,
            on_startup=self._on_startup, on_shutdown=self._on_shutdown,
        )
