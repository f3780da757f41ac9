"""``Link``: how a task names an external page (logs, a dashboard) for each of its actions."""

from __future__ import annotations

from typing import Dict, Optional, Protocol, runtime_checkable

__all__ = ["Link"]


@runtime_checkable
class Link(Protocol):
    """An external link shown next to a task's actions.

    Implementations have a ``name``, an optional ``icon_uri``, and build the URL from the action's
    identity; the URL may keep ``{{ .placeholders }}`` for a backend to fill in.
    """

    name: str
    icon_uri: Optional[str] = ""

    def get_link(
        self,
        run_name: str,
        project: str,
        domain: str,
        context: Dict[str, str],
        parent_action_name: str,
        action_name: str,
        pod_name: str,
        **kwargs: object,
    ) -> str:
        """Return the URL for one action.

        Args:
            run_name: Name of the run.
            project: Project of the run.
            domain: Domain of the run.
            context: The custom context of the action.
            parent_action_name: Name of the parent action.
            action_name: Name of this action.
            pod_name: Name of the pod running it (empty when not on Kubernetes).
            kwargs: Further details; implementations must accept and may ignore them.
        """
        ...
