"""Timeouts, retries and secrets: call a flaky "service" and keep going.

    export FLYTE_SECRET_API_TOKEN=s3cr3t
    flyte run examples/resilient_service_call.py main --calls 5

The secret is resolved on this machine at run time (environment or ~/.flyte/secrets/) and is
never written to the run record.
"""

import asyncio
import os

import flyte

env = flyte.TaskEnvironment(name="resilient", secrets=[flyte.Secret(key="api-token", as_env_var="API_TOKEN")])


@env.task(timeout=2, retries=1)
async def call_service(i: int) -> str:
    """Every third call hangs past the timeout and is cancelled; the rest answer."""
    token = os.environ["API_TOKEN"]
    if i % 3 == 2:
        await asyncio.sleep(30)
    return f"call {i}: ok (token of {len(token)} chars)"


@env.task
async def main(calls: int = 5) -> list[str]:
    """Make the calls concurrently; report timeouts instead of failing the run."""
    results = []
    async for r in flyte.map.aio(call_service, range(calls)):
        results.append(r if isinstance(r, str) else f"failed: {type(r).__name__}")
    return results


if __name__ == "__main__":
    os.environ.setdefault("FLYTE_SECRET_API_TOKEN", "example-token")
    flyte.init()
    for line in flyte.run(main, calls=5).outputs()[0]:
        print(line)
