"""A hyperparameter sweep with flyte.map: sync tasks, a concurrency limit, retries and traces.

    flyte run examples/hyperparameter_sweep.py sweep --trials 12 --concurrency 4
"""

import math
import random
from functools import partial

import flyte

env = flyte.TaskEnvironment(name="sweep")


@flyte.trace
def loss_curve(lr: float, steps: int) -> list[float]:
    """A traced helper: its timing is recorded under the calling action."""
    return [math.exp(-lr * s) + 0.01 * s * lr for s in range(steps)]


@env.task(retries=2)
def train(lr: float, steps: int) -> float:
    """Train one (fake) model; flaky on purpose for one learning rate, which retries absorb."""
    curve = loss_curve(lr, steps)
    if flyte.ctx().attempt_number == 0 and abs(lr - 0.3) < 1e-9:
        raise RuntimeError("simulated preemption")
    return min(curve)


@env.task
def sweep(trials: int = 12, concurrency: int = 4, steps: int = 50) -> dict[str, float]:
    """Try `trials` learning rates, at most `concurrency` at a time; report the best."""
    rates = [round(0.05 * (i + 1), 2) for i in range(trials)]
    losses = list(flyte.map(partial(train, steps=steps), rates, concurrency=concurrency))
    best = min(range(trials), key=lambda i: losses[i])
    return {"best_lr": rates[best], "best_loss": losses[best], "trials": float(trials)}


if __name__ == "__main__":
    flyte.init()
    random.seed(0)
    print(flyte.run(sweep, trials=12, concurrency=4).outputs()[0])
