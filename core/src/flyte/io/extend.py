"""For plugin authors: the classes to implement dataframe handlers (encoders and decoders)."""

from flyte.io._dataframe import DataFrameDecoder, DataFrameEncoder, DataFrameTransformerEngine

__all__ = ["DataFrameDecoder", "DataFrameEncoder", "DataFrameTransformerEngine"]
