"""A small prediction API served next to a task that calls it.

    flyte serve examples/app_predict.py predict_app      # serve it in the foreground (Ctrl-C stops)
    python examples/app_predict.py                        # serve it, run the task against it, stop it
    flyte deploy --dry-run --all --output out examples/app_predict.py   # its Deployment and Service
"""

from __future__ import annotations

import json
import urllib.request

from fastapi import FastAPI
from pydantic import BaseModel

import flyte
import flyte.app
from flyte.app.extras import FastAPIAppEnvironment

api = FastAPI(title="predict")


class Features(BaseModel):
    values: list[float]


@api.get("/health")
def health() -> dict:
    return {"status": "ok"}


@api.post("/predict")
def predict(features: Features) -> dict:
    # A stand-in model: the mean of the features, with a label.
    score = sum(features.values) / max(len(features.values), 1)
    return {"score": score, "label": "high" if score > 0.5 else "low"}


predict_app = FastAPIAppEnvironment(
    name="predict-api",
    app=api,
    port=8080,
    scaling=flyte.app.Scaling(replicas=(1, 3)),
    resources=flyte.Resources(cpu="1", memory="512Mi"),
)

env = flyte.TaskEnvironment(name="scoring", depends_on=[predict_app])


@env.task
def score(values: list[float]) -> str:
    """Ask the prediction API for a label; the app's endpoint is where it is served."""
    body = json.dumps({"values": values}).encode()
    req = urllib.request.Request(predict_app.endpoint + "/predict", data=body, headers={"content-type": "application/json"})
    with urllib.request.urlopen(req, timeout=10) as resp:
        return json.loads(resp.read())["label"]


if __name__ == "__main__":
    # port=0: a free port, so this runs next to anything already on 8080. The endpoint is looked
    # up by the app's name, so the task reads the served URL through predict_app too.
    local = predict_app.clone_with("predict-api", port=0)
    with flyte.with_servecontext(mode="local").serve(local).ephemeral_ctx_sync():
        print("served at", local.endpoint)
        run = flyte.run(score, values=[0.2, 0.9, 0.7])
        print("label:", run.outputs())
