"""Two apps served at once, one calling the other: a FastAPI front and a plain command back end.

    python examples/app_two.py
    flyte serve examples/app_two.py front        # the front alone (the back end must be up)
"""

from __future__ import annotations

import json
import sys
import urllib.request

from fastapi import FastAPI

import flyte
import flyte.app
from flyte.app.extras import FastAPIAppEnvironment

# The back end: Python's own HTTP server as a `command` app, a child process stopped by PID.
# It listens on $PORT (the port flyte picked, since port=0).
back = flyte.app.AppEnvironment(
    name="files",
    command=[sys.executable, "-c", "import os, http.server as h; h.test(h.SimpleHTTPRequestHandler, port=int(os.environ['PORT']), bind='127.0.0.1')"],
    port=0,
)

front_api = FastAPI()


@front_api.get("/health")
def health() -> dict:
    return {"ok": True}


@front_api.get("/listing")
def listing() -> dict:
    with urllib.request.urlopen(back.endpoint + "/", timeout=5) as resp:
        return {"backend_status": resp.status, "bytes": len(resp.read())}


front = FastAPIAppEnvironment(name="front", app=front_api, port=0, depends_on=[back])


if __name__ == "__main__":
    ctx = flyte.with_servecontext(mode="local")
    with ctx.serve(back).ephemeral_ctx_sync(), ctx.serve(front).ephemeral_ctx_sync():
        print("back end at", back.endpoint, "front at", front.endpoint)
        with urllib.request.urlopen(front.endpoint + "/listing", timeout=5) as resp:
            print(json.loads(resp.read()))
