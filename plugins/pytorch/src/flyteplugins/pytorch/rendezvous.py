"""Serve a c10d rendezvous store for PyTorch tasks on several machines.

``python -m flyteplugins.pytorch.rendezvous --port 29400`` on one machine; then on every machine
of the job ``FLYTE_TORCH_RDZV_ENDPOINT=that-host:29400 flyte run train.py main``. Each task process
is one node; the store assigns the group ranks. Stop it with Ctrl-C (or SIGTERM).
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from typing import List, Optional

__all__ = ["main"]


def main(argv: Optional[List[str]] = None) -> int:
    """Serve the store until interrupted; prints ``c10d rendezvous listening on HOST:PORT``."""
    parser = argparse.ArgumentParser(prog="python -m flyteplugins.pytorch.rendezvous", description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="0.0.0.0", help="address to listen on (default: every interface)")
    parser.add_argument("--port", type=int, default=29400, help="port (0: one the kernel picks; default 29400)")
    args = parser.parse_args(argv)
    from flyteplugins.pytorch._session import require_torch

    torch = require_torch()
    store = torch.distributed.TCPStore(args.host, args.port, is_master=True, wait_for_workers=False)
    print(f"c10d rendezvous listening on {args.host}:{store.port}", flush=True)
    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    try:
        while not done.wait(0.5):
            pass
    except KeyboardInterrupt:
        pass
    del store
    return 0


if __name__ == "__main__":
    sys.exit(main())
