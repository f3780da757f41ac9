"""Ray task type: local Ray, an existing Ray cluster, or a KubeRay RayJob."""

__all__: list[str] = []
