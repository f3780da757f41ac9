"""PyTorch distributed task type: torch elastic locally, a rendezvous endpoint, or a Kubeflow PyTorchJob."""

__all__: list[str] = []
