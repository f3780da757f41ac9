"""FastAPI app environments served by flyte.serve, locally and on Kubernetes."""

__all__: list[str] = []
