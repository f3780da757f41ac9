"""flyte's plugin framework.

* :mod:`~flyte._plugins.hookspecs`: the contract (every hook, documented).
* :mod:`~flyte._plugins.manager`: the process-wide pluggy manager and entry-point discovery.
* :mod:`~flyte._plugins.registry`: the task plugin registry and ``resolve_task_class``.
* :mod:`~flyte._plugins.builtin`: the core's own implementation of the hooks.

Plugin authors import what they need from :mod:`flyte.extend`, not from here.
"""
