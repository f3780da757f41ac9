"""flyte-plugin-types: numpy, pandas and pyarrow values as task inputs and outputs.

The transformers register through the ``flyte_register_type_transformers`` hook in
:mod:`flyteplugins.types.hooks` (entry point group ``flyte.plugins.types``); importing this
package imports no data library.
"""

__all__: list = []
