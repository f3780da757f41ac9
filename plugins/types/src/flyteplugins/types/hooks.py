"""The plugin's hook: the module the ``flyte.plugins.types`` entry point names.

Importing it imports no data library; numpy, pandas and pyarrow are imported inside the hook,
when flyte first needs its type transformers.
"""

from __future__ import annotations

import logging
from typing import Any

try:
    from flyte.extend import hookimpl, require_core
except ImportError as e:  # the published flyte SDK has neither: name both distributions
    raise ImportError(
        "flyte-plugin-types needs flyte-sdk-core>=0.1,<0.2, but the 'flyte' it imported is another distribution "
        "(the published 'flyte' SDK?); install this project's core: "
        "pip uninstall -y flyte && pip install ./core (this project's checkout)"
    ) from e

# Checked when the plugin is first used (this module loads with its first task or type).
require_core("flyte-plugin-types", ">=0.1,<0.2", package="flyteplugins.types")

logger = logging.getLogger(__name__)


def register_numpy(engine: Any) -> None:
    """Register the ``numpy.ndarray`` transformer with ``engine`` (once)."""
    import numpy as np

    from flyteplugins.types.numpy_array import NumpyArrayTransformer

    if np.ndarray not in engine.get_available_transformers():
        engine.register(NumpyArrayTransformer())


def register_parquet_handlers() -> None:
    """Register the pandas and pyarrow parquet handlers of ``flyte.io.DataFrame`` (once each)."""
    from flyte.io.extend import DataFrameDecoder, DataFrameTransformerEngine

    from flyteplugins.types.parquet import HANDLERS

    for handler_cls in HANDLERS:
        handler = handler_cls()
        table = DataFrameTransformerEngine.DECODERS if isinstance(handler, DataFrameDecoder) else DataFrameTransformerEngine.ENCODERS
        if handler.supported_format in table.get(handler.python_type, {}).get("", {}):
            continue  # already registered (by this plugin, or replaced by the user)
        DataFrameTransformerEngine.register(handler)


# The defining module and name of each type this plugin handles: a lookup of one of them (or
# a subclass) loads the plugin's transformers, so loading the plugin imports no data library.
LAZY_TYPES = {
    "numpy.ndarray": "numpy",
    "pandas.core.frame.DataFrame": "parquet",
    "pyarrow.lib.Table": "parquet",
}


@hookimpl
def flyte_register_type_transformers(engine: Any) -> None:
    """numpy arrays as .npy blobs; pandas DataFrames and pyarrow Tables as parquet datasets."""
    register_lazy = getattr(engine, "register_lazy", None)
    if register_lazy is None:  # an engine without deferred loading: register now
        register_numpy(engine)
        register_parquet_handlers()
        return

    def load(kind: str) -> None:
        if kind == "numpy":
            register_numpy(engine)
        else:
            register_parquet_handlers()

    for type_path, kind in LAZY_TYPES.items():
        register_lazy(type_path, lambda kind=kind: load(kind))
