"""What ``pre`` opens for a PyTorch task attempt: the ranks, run by one elastic agent per node.

:class:`ElasticSession` is an :class:`flyte.extend.EngineSession` whose ``execute`` runs the
task's function as ranks rather than in this process:

* it writes the inputs (pickled: they travel only to processes we spawn, decision 17), the
  launch settings and the task's module location to a temporary folder;
* it starts each node's agent (:mod:`flyteplugins.pytorch._agent`) with the kit's
  ``start_child`` (they die with this process, even by SIGKILL), passes their output, prefixed by
  rank, to the task's log, and keeps each rank's last lines;
* rank 0's return value is the task's output (a node that joined a job returns its first rank's); a failing rank fails the task with
  :class:`RankFailedError` naming the rank, its exit code or exception and its last log lines.

``stop`` (the engine's ``post``, also after a failure, timeout or Ctrl-C) stops the agents and
their ranks by PID and removes the folder.
"""

from __future__ import annotations

import asyncio
import collections
import json
import os
import pickle
import queue
import re
import shutil
import sys
import tempfile
from dataclasses import dataclass, field
from typing import Any, Deque, Dict, List, Optional

from flyte.errors import ClusterUnreachableError, RuntimeUserError
from flyte.extend import ChildProcess, EngineSession, MissingModuleError, require_module, start_child

__all__ = [
    "ElasticSession",
    "LaunchPlan",
    "RankFailedError",
    "TorchNotInstalledError",
    "TorchRendezvousUnreachableError",
    "check_torch",
    "require_torch",
]

# The agent runs as a script: it needs torch only, not flyte (whose import would delay the ranks).
_AGENT_SCRIPT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "_agent.py")
_RANK_LINE = re.compile(r"^\[rank(\d+)\]:(.*)$")
_LAST_LINES = 20


class TorchNotInstalledError(MissingModuleError):
    """torch is not importable where a PyTorch task runs."""


def check_torch() -> None:
    """Raise :class:`TorchNotInstalledError` unless ``torch`` can be imported, without importing it
    (the ranks import it; this process need not pay for it)."""
    import importlib.util

    try:
        found = importlib.util.find_spec("torch") is not None
    except (ImportError, ValueError):
        found = False
    if not found:
        require_torch()


class RankFailedError(RuntimeUserError):
    """A rank of a PyTorch task failed (or its node's agent did); the message names the rank, its
    exit code or exception, and its last log lines."""


class TorchRendezvousUnreachableError(ClusterUnreachableError):
    """The rendezvous endpoint a PyTorch task should join does not answer."""

    def __init__(self, address: str, reason: str, hint: str = ""):
        super().__init__(address, reason, hint=hint, code="TorchRendezvousUnreachable")
        where = f" (set by {hint})" if hint else ""
        self.args = (
            f"cannot reach the c10d rendezvous at {address} ({reason}). Check the endpoint{where} and that a "
            "c10d store serves it (python -m flyteplugins.pytorch.rendezvous --port PORT on one machine)",
        )


def require_torch() -> Any:
    """The ``torch`` module, or :class:`TorchNotInstalledError` saying how to install it."""
    return require_module(
        "torch",
        install="flyte-plugin-pytorch (the CPU build: pip install torch --index-url https://download.pytorch.org/whl/cpu)",
        purpose="PyTorch tasks need the 'torch' package",
        error=TorchNotInstalledError,
    )


@dataclass
class LaunchPlan:
    """How a task attempt's ranks are launched (what the agents get, per node started here).

    ``nodes`` is the number of agents started by this process (all of them locally, one when
    joining a rendezvous or inside an operator's job); ``node_ranks`` the recorded node rank of
    each (None: assigned by the rendezvous only).
    """

    target: str
    min_nodes: int
    max_nodes: int
    nproc_per_node: int
    rdzv_backend: str
    rdzv_endpoint: str
    run_id: str
    rdzv_configs: Dict[str, Any]
    max_restarts: int
    monitor_interval: float
    nodes: int = 1
    node_ranks: List[Optional[int]] = field(default_factory=lambda: [None])
    local_addr: Optional[str] = None
    env: Dict[str, str] = field(default_factory=dict)

    def data(self) -> Dict[str, Any]:
        """What the task's context data says about the job."""
        return {
            "torch_target": self.target,
            "rdzv_endpoint": self.rdzv_endpoint,
            "rdzv_id": self.run_id,
            "nnodes": f"{self.min_nodes}:{self.max_nodes}",
            "nproc_per_node": self.nproc_per_node,
            "node_rank": self.node_ranks[0] if self.nodes == 1 else None,
        }


class ElasticSession(EngineSession):
    """The ranks of one task attempt (see the module docs)."""

    runs_body_here = False

    def __init__(self, plan: LaunchPlan, store: Any = None):
        super().__init__(plan.data())
        self.plan = plan
        self._store = store  # a c10d store this process hosts for local nodes (kept alive here)
        self._agents: List[ChildProcess] = []
        self._dir: Optional[str] = None
        self._lines: "queue.SimpleQueue[str]" = queue.SimpleQueue()
        self._rank_lines: Dict[int, Deque[str]] = collections.defaultdict(lambda: collections.deque(maxlen=_LAST_LINES))
        self._agent_lines: Deque[str] = collections.deque(maxlen=_LAST_LINES)

    # -- output -------------------------------------------------------------------------------
    def _on_line(self, line: str) -> None:
        # From the agents' reader threads: kept per rank, printed by the task's own coroutine
        # (so the lines land in the action's log).
        m = _RANK_LINE.match(line)
        if m:
            self._rank_lines[int(m.group(1))].append(m.group(2))
        else:
            self._agent_lines.append(line)
        self._lines.put(line)

    def _drain(self) -> None:
        wrote = False
        while True:
            try:
                line = self._lines.get_nowait()
            except queue.Empty:
                break
            sys.stdout.write(line + "\n")
            wrote = True
        if wrote:
            sys.stdout.flush()

    # -- run ----------------------------------------------------------------------------------
    def _prepare(self, task: Any, kwargs: Dict[str, Any]) -> str:
        from flyte.extend import task_module_location

        location = task_module_location(task)
        if location is None:
            raise RankFailedError(
                "TorchTaskNotImportable",
                f"task {task.name}: its ranks import the task's module, but its function is not defined at "
                "the top level of an importable module (define the task in a .py file, not interactively)",
            )
        self._dir = tempfile.mkdtemp(prefix="flyte-torch-")
        for sub in ("errors", "logs", "results"):
            os.mkdir(os.path.join(self._dir, sub))
        inputs = os.path.join(self._dir, "inputs.pkl")
        with open(inputs, "wb") as f:
            pickle.dump(dict(kwargs), f)
        plan = self.plan
        spec = {
            "task": task.name,
            "module": location.name,
            "root": str(location.root),
            "inputs": inputs,
            "results": os.path.join(self._dir, "results"),
            "errors": os.path.join(self._dir, "errors"),
            "logs": os.path.join(self._dir, "logs"),
            "launch": {
                "min_nodes": plan.min_nodes,
                "max_nodes": plan.max_nodes,
                "nproc_per_node": plan.nproc_per_node,
                "run_id": plan.run_id,
                "rdzv_endpoint": plan.rdzv_endpoint,
                "rdzv_backend": plan.rdzv_backend,
                "rdzv_configs": plan.rdzv_configs,
                "max_restarts": plan.max_restarts,
                "monitor_interval": plan.monitor_interval,
                "local_addr": plan.local_addr,
            },
        }
        path = os.path.join(self._dir, "spec.json")
        with open(path, "w") as f:
            json.dump(spec, f)
        return path

    def _agent_env(self, root: str, node_rank: Optional[int]) -> Dict[str, str]:
        env = dict(os.environ)
        env.update(self.plan.env)
        env["PYTHONUNBUFFERED"] = "1"
        # As torchrun: one thread per rank unless told otherwise, so ranks do not oversubscribe.
        if "OMP_NUM_THREADS" not in os.environ and self.plan.nproc_per_node > 1:
            env["OMP_NUM_THREADS"] = "1"
        env["FLYTE_TORCH_TARGET"] = self.plan.target  # where the ranks know they run
        if node_rank is not None:
            env["FLYTE_TORCH_NODE_RANK"] = str(node_rank)
        env["PYTHONPATH"] = os.pathsep.join(p for p in (root, env.get("PYTHONPATH", "")) if p)
        return env

    async def execute(self, task: Any, kwargs: Dict[str, Any]) -> Any:
        spec_path = await asyncio.to_thread(self._prepare, task, kwargs)
        with open(spec_path) as f:
            root = json.load(f)["root"]
        try:
            for i in range(self.plan.nodes):
                argv = [sys.executable, "-u", _AGENT_SCRIPT, spec_path, str(i)]
                agent = await asyncio.to_thread(
                    start_child,
                    f"torch elastic agent of task {task.name} (node {i})",
                    argv,
                    env=self._agent_env(root, self.plan.node_ranks[i]),
                    on_line=self._on_line,
                )
                self._agents.append(agent)
            await self._wait()
        finally:
            self._drain()
        return await asyncio.to_thread(self._outcome, task)

    async def _wait(self) -> None:
        while True:
            self._drain()
            codes = [a.returncode for a in self._agents]
            if all(c is not None for c in codes):
                return
            if any(c not in (None, 0) for c in codes):
                # One node failed: the others would only wait for it at their next rendezvous.
                await asyncio.sleep(0.5)
                await asyncio.to_thread(self._stop_agents)
                return
            await asyncio.sleep(0.05)

    def _outcome(self, task: Any) -> Any:
        assert self._dir is not None
        for agent in self._agents:
            agent.stop(timeout=2.0)  # exited: reaps it, stops strays of its group, waits for its last lines
        self._drain()
        codes = [a.returncode for a in self._agents]
        results = os.path.join(self._dir, "results")
        written = sorted((int(n[5:-4]), n) for n in os.listdir(results) if n.startswith("rank-") and n.endswith(".pkl"))
        if all(c == 0 for c in codes) and written:
            # The lowest rank here: rank 0 when it runs in this process (written by our own ranks,
            # decision 17).
            with open(os.path.join(results, written[0][1]), "rb") as f:
                return pickle.load(f)
        raise self._failure(task, codes)

    def _failure(self, task: Any, codes: List[Optional[int]]) -> RankFailedError:
        assert self._dir is not None
        errors_dir = os.path.join(self._dir, "errors")
        exceptions: Dict[int, Dict[str, Any]] = {}
        failures: Dict[int, Dict[str, Any]] = {}
        agent_errors: List[str] = []
        for name in sorted(os.listdir(errors_dir)):
            with open(os.path.join(errors_dir, name)) as f:
                doc = json.load(f)
            if name.startswith("rank-"):
                exceptions[int(doc["rank"])] = doc
            elif name.startswith("report-") and not doc.get("ok"):
                for rank, failure in (doc.get("failures") or {}).items():
                    failures[int(rank)] = failure
                if doc.get("error"):
                    agent_errors.append(f"node {name[7:-5]}: {doc['error']}")
        ranks = sorted(set(failures) | set(exceptions))
        # Ranks the agent stopped because another failed (SIGTERM, no exception of their own)
        # go last, on one line: the failing rank is the news.
        stopped = [r for r in ranks if r not in exceptions and failures.get(r, {}).get("exitcode") == -15]
        primary = [r for r in ranks if r not in stopped] or stopped
        parts: List[str] = []
        code = "RankFailed"
        for rank in primary:
            what = []
            failure = failures.get(rank)
            if failure is not None:
                what.append(f"exit code {failure['exitcode']}")
            exc = exceptions.get(rank)
            if exc is not None:
                what.append(f"{exc['type']}: {exc['message']}")
                code = exc["type"]
            lines = list(self._rank_lines.get(rank, ()))[-10:]
            tail = "\n".join(f"    | {line}" for line in lines) or "    | (no output)"
            parts.append(f"rank {rank} failed ({', '.join(what) or 'no exit code'}); its last log lines:\n{tail}")
        others = [r for r in stopped if r not in primary]
        if others:
            parts.append(f"rank(s) {', '.join(map(str, others))} stopped by the elastic agent after that failure")
        if not parts:
            detail = "; ".join(agent_errors) or f"the elastic agents exited with {codes}"
            tail = "\n".join(f"    | {line}" for line in self._agent_lines) or "    | (no output)"
            parts.append(f"{detail}; the agent's last log lines:\n{tail}")
            code = "ElasticAgentFailed"
        where = f"{self.plan.nodes} node(s) x {self.plan.nproc_per_node} rank(s), rendezvous {self.plan.rdzv_endpoint}"
        return RankFailedError(code, f"PyTorch task {task.name} ({where}): " + "\n".join(parts))

    # -- stop ---------------------------------------------------------------------------------
    def _stop_agents(self) -> None:
        for agent in self._agents:
            agent.stop(timeout=5.0)

    def release(self) -> None:
        self._stop_agents()
        self._store = None  # the last reference: the store's server stops
        if self._dir is not None:
            shutil.rmtree(self._dir, ignore_errors=True)
            self._dir = None

