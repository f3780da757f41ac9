"""``python -m flyteplugins.ray._nodes SPEC``: a head plus worker nodes on this machine.

Run as a child process of a Ray task's process (see :mod:`flyteplugins.ray.local`): Ray's
``Cluster`` helper installs signal handlers, which only a main thread can, and ties its node
processes to this process's life. Prints ``FLYTE_RAY_NODES_READY <gcs address>`` once every node
is up, and shuts the nodes down on SIGTERM or SIGINT. SPEC is JSON:
``{"head": {...add_node args}, "workers": [{...}, ...]}``.
"""

from __future__ import annotations

import json
import signal
import sys
import threading
from typing import List


def main(argv: List[str]) -> int:
    spec = json.loads(argv[1])
    from ray.cluster_utils import Cluster

    stop = threading.Event()
    cluster = Cluster(initialize_head=True, head_node_args=spec["head"], shutdown_at_exit=True)
    try:
        for args in spec["workers"]:
            cluster.add_node(wait=False, **args)
        cluster.wait_for_nodes()
        # After the nodes: Ray installs its own SIGTERM handler per node, this one replaces them.
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, lambda *_: stop.set())
        print(f"FLYTE_RAY_NODES_READY {cluster.address}", flush=True)
        while not stop.wait(0.5):
            pass
    finally:
        cluster.shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
