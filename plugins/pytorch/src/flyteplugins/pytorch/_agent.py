"""One node of a PyTorch task: ``python .../flyteplugins/pytorch/_agent.py SPEC NODE``.

Runs torch's elastic agent as a library (``torch.distributed.launcher.api.elastic_launch``, what
``torchrun`` runs) with the launch settings the task process wrote, starting
``nproc_per_node`` ranks (:mod:`flyteplugins.pytorch._worker`). The ranks' output is teed to this
process's output, each line prefixed ``[rankN]:``. The outcome goes to ``report-NODE.json``:
which ranks failed with which exit code, or why the agent itself failed (a rendezvous that
timed out, say). Exit code 0 on success, 1 when ranks failed, 2 when the agent failed.
"""

from __future__ import annotations

import json
import os
import sys
from typing import Any, Dict

# Started as a script (by path, so that the agent imports neither flyte nor this package: it
# only needs torch): its folder must not shadow top-level modules of the same names.
if sys.path and os.path.abspath(sys.path[0] or ".") == os.path.dirname(os.path.abspath(__file__)):
    sys.path.pop(0)


def _report(spec: Dict[str, Any], node: str, report: Dict[str, Any]) -> None:
    path = os.path.join(spec["errors"], f"report-{node}.json")
    with open(path + ".tmp", "w") as f:
        json.dump(report, f)
    os.replace(path + ".tmp", path)


def main(spec_path: str, node: str) -> int:
    with open(spec_path) as f:
        spec: Dict[str, Any] = json.load(f)
    launch = dict(spec["launch"])
    if launch.get("rdzv_endpoint_by_node"):
        launch["rdzv_endpoint"] = launch["rdzv_endpoint_by_node"][int(node)]
    launch.pop("rdzv_endpoint_by_node", None)
    from torch.distributed.elastic.multiprocessing import DefaultLogsSpecs, Std
    from torch.distributed.elastic.multiprocessing.errors import ChildFailedError
    from torch.distributed.launcher.api import LaunchConfig, elastic_launch

    log_dir = os.path.join(spec["logs"], f"node-{node}")
    config = LaunchConfig(
        min_nodes=launch["min_nodes"],
        max_nodes=launch["max_nodes"],
        nproc_per_node=launch["nproc_per_node"],
        run_id=launch["run_id"],
        rdzv_endpoint=launch["rdzv_endpoint"],
        rdzv_backend=launch["rdzv_backend"],
        rdzv_configs=dict(launch["rdzv_configs"]),
        max_restarts=launch["max_restarts"],
        monitor_interval=launch["monitor_interval"],
        local_addr=launch.get("local_addr"),
        logs_specs=DefaultLogsSpecs(log_dir=log_dir, tee=Std.ALL),
        log_line_prefix_template="[rank${rank}]:",
    )
    argv = ["-u", "-m", "flyteplugins.pytorch._worker", spec_path]
    try:
        elastic_launch(config, sys.executable)(*argv)
    except ChildFailedError as e:
        failures = {
            str(rank): {"exitcode": f.exitcode, "local_rank": f.local_rank, "pid": f.pid}
            for rank, f in e.failures.items()
        }
        _report(spec, node, {"ok": False, "failures": failures})
        return 1
    except BaseException as e:  # the rendezvous or the agent itself
        _report(spec, node, {"ok": False, "error": f"{type(e).__name__}: {e}"})
        if isinstance(e, KeyboardInterrupt):
            return 130
        return 2
    _report(spec, node, {"ok": True})
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2]))
