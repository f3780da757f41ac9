"""The plugin kit: what every engine plugin needs, implemented once (public via ``flyte.extend``).

One concept per module:

==================  =========================================================================
``targets``         where a task runs: inside a job, an address, ``FLYTE_<ENGINE>_ADDRESS``, here
``runtime``         the per-process runtime owner: shared, reference counted, idle timeout, exit
``children``        child processes: die with us (PDEATHSIG), stop by PID, readiness waits
``deathsig``        ``PR_SET_PDEATHSIG`` in a child between fork and exec (Linux)
``supervisor``      the one long-lived thread that starts child processes and runs timers
``watchdog``        kills what a runtime started once this process is gone, even by SIGKILL
``signals``         SIGINT/SIGTERM handlers chained to the ones installed before
``runs``            run boundaries (a timeout of 0 stops a runtime when the run ends)
``probe``           a fast TCP reachability check of a cluster address
``modules``         an optional module, or an error naming the pip package
``sizing``          a local runtime's size from ``flyte.Resources``
``cancel``          opening a resource in a thread without leaking it on cancellation
``session``         ``EngineSession`` and ``SessionTaskTemplate`` (pre / execute / post)
``remote``          running a task as a remote command (inputs, command, outputs or error)
==================  =========================================================================

Secret values are masked in captured output by :mod:`flyte._redact` (a leaf module, since the
engine notes the values). This package imports nothing at import time; each module imports only lower layers (errors,
values, context, storage, serializers, the task model), never ``flyte.init`` or the CLI.
"""
