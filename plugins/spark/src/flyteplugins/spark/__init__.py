"""Spark task type: local Spark, an existing Spark master or Spark Connect, or a SparkApplication."""

__all__: list[str] = []
