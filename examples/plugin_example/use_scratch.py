"""Run tasks that use the installed flyte-plugin-scratch plugin on the local engine."""

from fractions import Fraction
from pathlib import Path

import flyte
from flyte_plugin_scratch import ScratchConfig

env = flyte.TaskEnvironment(name="scratch_demo", plugin_config=ScratchConfig(prefix="demo-"))
usage_env = flyte.TaskEnvironment(name="scratch_usage", plugin_config=ScratchConfig(report_usage=True))


@env.task
async def share(total: Fraction, parts: int) -> Fraction:
    """Write each share to the scratch directory, read them back and return one share."""
    scratch = Path(flyte.ctx().data["scratch_dir"])
    for i in range(parts):
        (scratch / f"part-{i}.txt").write_text(str(total / parts))
    return Fraction((scratch / "part-0.txt").read_text())


@usage_env.task
async def fill(n: int) -> int:
    """Leave n bytes in the scratch directory; the plugin makes the task return the usage."""
    (Path(flyte.ctx().data["scratch_dir"]) / "blob").write_bytes(b"x" * n)
    return -1


if __name__ == "__main__":
    flyte.init()
    run = flyte.run(share, total=Fraction(1, 3), parts=4)
    print("share:", run.outputs()[0])
    print("usage:", flyte.run(fill, n=1234).outputs()[0])
