"""One rank of a PyTorch task: ``python -m flyteplugins.pytorch._worker SPEC``.

Started by torch's elastic agent (:mod:`flyteplugins.pytorch._agent`) with ``RANK``,
``LOCAL_RANK``, ``WORLD_SIZE``, ``GROUP_RANK``, ``MASTER_ADDR`` / ``MASTER_PORT`` set. It imports
the task's module as the task process did, loads the inputs the task process wrote (pickled by
our own process tree, decision 17 of ``docs/ARCHITECTURE.md``), calls the task's function (an
``async`` one on a fresh event loop), and each node's local rank 0 writes its return value. A failing rank writes
its exception as JSON, for the task's error message, and exits 1.
"""

from __future__ import annotations

import asyncio
import importlib
import inspect
import json
import os
import pickle
import signal
import sys
import traceback
from typing import Any, Dict


def _die_with_parent() -> None:
    # The agent stops its workers itself; should it be killed outright, the kernel stops us.
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGKILL, 0, 0, 0)  # PR_SET_PDEATHSIG
        if os.getppid() == 1:
            os._exit(1)
    except (OSError, AttributeError):
        pass


def _find_task(module: Any, name: str) -> Any:
    for value in vars(module).values():
        if getattr(value, "name", None) == name and callable(getattr(value, "func", None)):
            return value
    raise LookupError(f"module {module.__name__!r} has no task named {name!r}")


def _write(path: str, data: bytes) -> None:
    tmp = f"{path}.{os.getpid()}.tmp"
    with open(tmp, "wb") as f:
        f.write(data)
    os.replace(tmp, path)


def _set_collective_timeout() -> None:
    seconds = os.environ.get("FLYTE_NCCL_COLLECTIVE_TIMEOUT_SEC")
    if not seconds:
        return
    from datetime import timedelta

    import torch.distributed.constants as constants
    import torch.distributed.distributed_c10d as c10d

    # Both names: distributed_c10d binds the constant at import.
    constants.default_pg_nccl_timeout = timedelta(seconds=int(seconds))  # type: ignore[attr-defined]
    c10d.default_pg_nccl_timeout = timedelta(seconds=int(seconds))  # type: ignore[attr-defined]


def main(spec_path: str) -> int:
    _die_with_parent()
    with open(spec_path) as f:
        spec: Dict[str, Any] = json.load(f)
    rank = int(os.environ.get("RANK", "0"))
    try:
        if spec["root"] not in sys.path:
            sys.path.insert(0, spec["root"])
        module = importlib.import_module(spec["module"])
        task = _find_task(module, spec["task"])
        with open(spec["inputs"], "rb") as f:
            kwargs = pickle.load(f)
        _set_collective_timeout()
        func = task.func
        if inspect.iscoroutinefunction(func):
            result = asyncio.run(func(**kwargs))
        else:
            result = func(**kwargs)
        # Every node's first rank writes its value; the task returns the lowest rank's (rank 0's
        # where this process runs it; a node that joined a job returns its own first rank's).
        if int(os.environ.get("LOCAL_RANK", "0")) == 0:
            _write(os.path.join(spec["results"], f"rank-{rank}.pkl"), pickle.dumps(result))
        return 0
    except BaseException as e:  # every failure of the body is reported, SystemExit included
        report = {
            "rank": rank,
            "type": type(e).__name__,
            "message": str(e),
            "traceback": traceback.format_exc(),
            "restart": int(os.environ.get("TORCHELASTIC_RESTART_COUNT", "0")),
        }
        traceback.print_exc()
        sys.stderr.flush()
        _write(os.path.join(spec["errors"], f"rank-{rank}.json"), json.dumps(report).encode())
        return 1
    finally:
        sys.stdout.flush()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
