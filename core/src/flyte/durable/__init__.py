"""Durable replacements for time functions: ``now``, ``sleep`` and ``time``.

``time.time()``, ``datetime.now()`` and ``asyncio.sleep()`` make a task behave differently
each time it runs. These record what they returned (and when a sleep started) on the action,
and replay it when the same action runs again in the run (a retry): a retried task sees the
same ``now()``, and a ``sleep`` whose time already elapsed returns at once. Locally the
records are kept in the run state and, when runs are recorded, in the local store.

Each works called (``flyte.durable.time()``) and awaited (``await flyte.durable.time.aio()``).
"""

from __future__ import annotations

from flyte.durable._time import now, sleep, time

__all__ = ["now", "sleep", "time"]
