"""flyte's plugin framework.

* :mod:`~flyte._plugins.hookspecs`: the contract (every hook, documented).
* :mod:`~flyte._plugins.manager`: the process-wide pluggy manager and entry-point discovery.
* :mod:`~flyte._plugins.registry`: the task plugin registry (passive: a dict with validation) and
  the per-task-type handlers.
* :mod:`~flyte._plugins.resolve`: ``resolve_task_class`` and ``task_handler``, where the manager
  fills the registry from the hooks and the registry answers.
* :mod:`~flyte._plugins.builtin`: the core's own implementation of the hooks.

Plugin authors import what they need from :mod:`flyte.extend`, not from here.
"""
