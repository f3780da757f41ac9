"""Hello, flyte: a parent task fans out to typed child tasks and gathers their results.

    flyte run examples/hello.py main --n 10
"""

import asyncio

import flyte

env = flyte.TaskEnvironment(name="hello", resources=flyte.Resources(cpu=1, memory="512Mi"))


@env.task
async def square(x: int) -> int:
    """Square one number."""
    return x * x


@env.task
def describe(values: list[int]) -> str:
    """A sync task: runs in a worker thread, so async parents can await it."""
    return f"{len(values)} squares, sum {sum(values)}, max {max(values)}"


@env.task
async def main(n: int = 10) -> str:
    """Square 0..n-1 concurrently, then summarize."""
    squares = await asyncio.gather(*(square(i) for i in range(n)))
    with flyte.group("summary"):
        return await describe.aio(list(squares))


if __name__ == "__main__":
    flyte.init()
    run = flyte.run(main, n=10)
    print(run.outputs()[0])
