"""Type transformers for numpy, pandas and pyarrow, registered through entry points."""

__all__: list[str] = []
