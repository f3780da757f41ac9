"""uvicorn on a thread of this process, as a ``flyte.extend.ThreadAppServer``.

flyte binds the socket (so ``port=0`` names its port at once and a taken port fails before
anything starts) and hands it to ``uvicorn.Server.serve(sockets=[...])``; stopping sets
uvicorn's ``should_exit`` (then ``force_exit``), and uvicorn closes the socket on its way out.
"""

from __future__ import annotations

import logging
import sys
import threading
from typing import Any, Optional

from flyte.extend import ThreadAppServer, require_module

__all__ = ["UvicornAppServer"]

INSTALL = "flyte-plugin-app"
_console_lock = threading.Lock()


def _console_logging(access_log: bool) -> None:
    """Give uvicorn's loggers a console handler when nobody configured them (flyte builds its
    ``uvicorn.Config`` with ``log_config=None``, so that one app's config does not reset the
    loggers of another app being served)."""
    from uvicorn.logging import AccessFormatter, DefaultFormatter

    with _console_lock:
        wanted = [("uvicorn", DefaultFormatter("%(levelprefix)s %(message)s", use_colors=None), sys.stderr)]
        if access_log:
            fmt = '%(levelprefix)s %(client_addr)s - "%(request_line)s" %(status_code)s'
            wanted.append(("uvicorn.access", AccessFormatter(fmt, use_colors=None), sys.stdout))
        for name, formatter, stream in wanted:
            log = logging.getLogger(name)
            if any(isinstance(h, logging.StreamHandler) for h in log.handlers):
                continue
            handler = logging.StreamHandler(stream)
            handler.setFormatter(formatter)
            log.addHandler(handler)
            log.setLevel(logging.INFO)
            log.propagate = False


class UvicornAppServer(ThreadAppServer):
    """Serves a FastAPI (any ASGI) app with uvicorn on the socket flyte bound."""

    prebind = True
    log_names = ("uvicorn",)

    def __init__(self, name: str, host: str, port: int, *, app: Any, uvicorn_config: Any = None, **kwargs: Any):
        super().__init__(name, host, port, **kwargs)
        self.app = app
        self.uvicorn_config = uvicorn_config
        self.server: Any = None

    def _config(self) -> Any:
        uvicorn = require_module("uvicorn", INSTALL, purpose="serving a FastAPIAppEnvironment needs the 'uvicorn' package")
        config = self.uvicorn_config
        if config is None:
            config = uvicorn.Config(self.app, host=self.host, port=self.port, log_config=None)
            _console_logging(access_log=True)
        else:
            # The socket is flyte's: host and port only name it in uvicorn's messages.
            config.host, config.port = self.host, self.port
            if config.log_config is None:
                _console_logging(access_log=bool(config.access_log))
        return config

    async def serve(self) -> None:
        uvicorn = require_module("uvicorn", INSTALL, purpose="serving a FastAPIAppEnvironment needs the 'uvicorn' package")
        self.server = uvicorn.Server(self._config())
        if self._stopping:
            return
        assert self.sock is not None
        await self.server.serve(sockets=[self.sock])
        if not self.server.started and not self._stopping:
            raise RuntimeError("uvicorn stopped before it started serving (see the log lines above)")

    def _answered(self) -> bool:
        return bool(self.server is not None and self.server.started)

    def request_stop(self) -> None:
        server: Optional[Any] = self.server
        if server is None:
            super().request_stop()
            return
        server.should_exit = True

    def force_stop(self) -> None:
        if self.server is not None:
            self.server.force_exit = True
        super().force_stop()
