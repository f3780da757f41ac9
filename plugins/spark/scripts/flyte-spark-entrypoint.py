#!/usr/bin/env python3
"""The main program of a Spark task's SparkApplication: run the task's container command.

The Spark operator runs ``spark-submit ... local://<venv>/bin/flyte-spark-entrypoint.py
<command...>`` in the driver pod; this script replaces itself with ``<command...>`` (the task's
``flyte-execute ...``), keeping its environment, so the task finds the application's JVM
(``PYSPARK_GATEWAY_PORT``) and uses its session instead of starting one. Installed next to the
interpreter by ``pip install flyte-plugin-spark``.
"""

import os
import shutil
import sys


def main() -> None:
    args = sys.argv[1:]
    if not args:
        sys.stderr.write("usage: flyte-spark-entrypoint.py COMMAND [ARG...] (the task's container command)\n")
        sys.exit(2)
    # The command's own scripts (flyte-execute) sit next to this interpreter in the image.
    here = os.path.dirname(os.path.abspath(sys.executable))
    path = os.environ.get("PATH", "")
    os.environ["PATH"] = here + (os.pathsep + path if path else "")
    program = shutil.which(args[0]) or args[0]
    os.execv(program, [program, *args[1:]])


if __name__ == "__main__":
    main()
