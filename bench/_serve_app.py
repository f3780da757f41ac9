"""The app bench/serve.py serves both ways: with `flyte serve` and with plain `uvicorn`."""

import uvicorn
from fastapi import FastAPI

from flyte.app.extras import FastAPIAppEnvironment

app = FastAPI()


@app.get("/health")
def health() -> dict:
    return {"status": "ok"}


# The same uvicorn settings as the plain side: one worker, no access log, warnings only.
bench_app = FastAPIAppEnvironment(
    name="bench-app", app=app, port=0, uvicorn_config=uvicorn.Config(app, access_log=False, log_level="warning")
)
