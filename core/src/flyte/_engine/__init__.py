"""The local engine: controller, runs, the local store."""
