"""2 gloo ranks doing all_reduces through flyte, against ``torchrun --nproc_per_node 2`` running the same code.

Both sides start cold (rank start-up, torch import and teardown included) and run the same body:
``--reduces`` (default 200) ``all_reduce``s of a tensor of ``--floats`` (default 1M) float32:

* flyte: ``flyte.run`` of a PyTorch task (``Elastic(nnodes=1, nproc_per_node=2)``) from this
  process; the plugin starts torch's elastic agent and its two ranks, and returns rank 0's value;
* torchrun: ``torchrun --nproc_per_node 2 bench/pytorch_plugin.py --rank-body`` as a subprocess.

Runs alternate (flyte first on even rounds, torchrun first on odd ones); each figure is the
median of ``--repeat`` (default 5). Prints the ratio flyte / torchrun.

    .venv/bin/python bench/pytorch_plugin.py [--reduces 200] [--floats 1000000] [--repeat 5]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import List

import flyte
from flyteplugins.pytorch import Elastic

# torchrun's own default monitor interval (0.1 s), so both agents notice finished ranks alike.
env = flyte.TaskEnvironment(name="bench_torch", plugin_config=Elastic(nnodes=1, nproc_per_node=2, monitor_interval=0.1))


def all_reduces(reduces: int, floats: int) -> float:
    """The body both sides run: ``reduces`` all_reduces of ``floats`` float32; returns a checksum."""
    import torch
    import torch.distributed as dist

    dist.init_process_group("gloo")
    try:
        t = torch.ones(floats)
        for _ in range(reduces):
            dist.all_reduce(t)
            t /= dist.get_world_size()  # stays 1.0: the checksum is exact
        return float(t.sum().item())
    finally:
        dist.destroy_process_group()


@env.task
def bench_all_reduce(reduces: int, floats: int) -> float:
    """The body as a flyte PyTorch task."""
    return all_reduces(reduces, floats)


def run_flyte(reduces: int, floats: int) -> float:
    start = time.perf_counter()
    assert flyte.run(bench_all_reduce, reduces=reduces, floats=floats).outputs()[0] == float(floats)
    return time.perf_counter() - start


def run_torchrun(reduces: int, floats: int) -> float:
    torchrun = Path(sys.executable).parent / "torchrun"
    cmd = [str(torchrun), "--nproc_per_node", "2", "--monitor-interval", "0.1", __file__, "--rank-body", "--reduces", str(reduces), "--floats", str(floats)]
    start = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, env=dict(os.environ, OMP_NUM_THREADS="1"))
    return time.perf_counter() - start


def fmt(values: List[float]) -> str:
    return ", ".join(f"{t:.2f}" for t in values)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reduces", type=int, default=200)
    parser.add_argument("--floats", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--rank-body", action="store_true", help="run the body as a torchrun rank (the baseline)")
    args = parser.parse_args()
    if args.rank_body:
        value = all_reduces(args.reduces, args.floats)
        assert value == float(args.floats)
        return
    os.environ.setdefault("FLYTE_TORCH_IDLE_TIMEOUT", "0")
    flyte.init()
    flyte_times: List[float] = []
    torchrun_times: List[float] = []
    for i in range(args.repeat):
        if i % 2 == 0:
            flyte_times.append(run_flyte(args.reduces, args.floats))
            torchrun_times.append(run_torchrun(args.reduces, args.floats))
        else:
            torchrun_times.append(run_torchrun(args.reduces, args.floats))
            flyte_times.append(run_flyte(args.reduces, args.floats))
    f, t = statistics.median(flyte_times), statistics.median(torchrun_times)
    print(f"2 gloo ranks, {args.reduces} all_reduces of {args.floats} floats, start-up included, median of {args.repeat}:")
    print(f"  flyte.run (elastic agent) : {f:7.2f} s   ({fmt(flyte_times)})")
    print(f"  torchrun --nproc_per_node 2: {t:7.2f} s   ({fmt(torchrun_times)})")
    print(f"  ratio flyte/torchrun: {f / t:.3f}x   (target <= 1.1x)")


if __name__ == "__main__":
    main()
