"""Turning tasks into what runs them elsewhere: flyteidl2 protos, Kubernetes objects, the container entrypoint."""
