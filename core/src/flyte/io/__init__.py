"""Data types for large data passed between tasks by reference: files, directories, tables.

``File`` and ``Dir`` point at data (a local path or a URI); ``DataFrame`` at tabular data in a
storage format. Only the reference moves between tasks; the data is uploaded once, to the run's
raw data path, and read where it is needed.
"""

from flyte.io._dataframe import PARQUET, DataFrame
from flyte.io._dir import Dir
from flyte.io._file import File
from flyte.io._hashing import HashFunction

__all__ = ["PARQUET", "DataFrame", "Dir", "File", "HashFunction"]
