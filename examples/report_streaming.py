"""A report that streams: the task's HTML report is rewritten on every flush.

Adapted from the published SDK's reports example (shorter waits). Run it and open the file
the last line names in a browser while it runs:

    flyte run examples/report_streaming.py stream_report --epochs 5
"""

import asyncio

import flyte
import flyte.report

env = flyte.TaskEnvironment(name="simple_streaming_reports")


@env.task(report=True)
async def stream_report(epochs: int = 10) -> str:
    await flyte.report.log.aio("<h1>Simple streaming report</h1>", do_flush=True)
    print(f"Simple streaming report started for {epochs} epochs.", flush=True)

    for epoch in range(1, epochs + 1):
        await flyte.report.log.aio(f"<p>epoch {epoch}</p>", do_flush=True)
        await asyncio.sleep(0.1)  # update every tenth of a second

    await flyte.report.log.aio("Done.", do_flush=True)
    print("Simple streaming report completed", flush=True)
    return "Simple streaming report completed"


@env.task
async def main():
    await stream_report(epochs=10)


if __name__ == "__main__":
    flyte.init()
    run = flyte.run(main)
    print(f"Run Name: {run.name}", flush=True)
    print(f"Run URL: {run.url}", flush=True)
