"""``PR_SET_PDEATHSIG`` for the children the kit starts (Linux): they die when this process does.

The signal fires when the *thread* that forked the child exits, which is why children are
started from the kit's one long-lived supervisor thread (:mod:`flyte._kit.supervisor`).
"""

from __future__ import annotations

import os
import sys
from typing import Callable, Optional

__all__ = ["_preexec", "_prctl"]


def _load_prctl() -> Optional[Callable[..., int]]:
    if not sys.platform.startswith("linux"):
        return None
    try:
        import ctypes

        prctl = ctypes.CDLL(None, use_errno=True).prctl
        prctl.restype = ctypes.c_int
        prctl.argtypes = [ctypes.c_int, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong]
        return prctl
    except (OSError, AttributeError):
        return None


# Loaded in the parent: the child, between fork and exec, only calls it.
_prctl = _load_prctl()
_PR_SET_PDEATHSIG = 1


def _preexec(parent_pid: int, death_signal: int) -> Callable[[], None]:
    def in_child() -> None:
        if _prctl is not None:
            _prctl(_PR_SET_PDEATHSIG, death_signal, 0, 0, 0)
            # The parent may have died between fork and prctl: then nobody would signal us.
            if os.getppid() != parent_pid:
                os._exit(1)

    return in_child
