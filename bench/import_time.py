"""Start-up cost: `import flyte` and `flyte.init()` in fresh processes, against `python -c pass`.

Median of 7 fresh processes each. Run with every plugin installed (the .venv of scripts/setup).

    .venv/bin/python bench/import_time.py
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time

RUNS = 7


def wall(code: str) -> float:
    samples = []
    for _ in range(RUNS):
        t0 = time.perf_counter()
        subprocess.run([sys.executable, "-c", code], check=True)
        samples.append(time.perf_counter() - t0)
    return statistics.median(samples)


def in_process(code: str) -> float:
    samples = []
    for _ in range(RUNS):
        out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True).stdout
        samples.append(float(out.strip()))
    return statistics.median(samples)


def main() -> None:
    base = wall("pass")
    imp = wall("import flyte")
    init = in_process("import time, flyte; t=time.perf_counter(); flyte.init(); print(time.perf_counter()-t)")
    heavy = subprocess.run(
        [sys.executable, "-c", "import sys, flyte; flyte.init(); print(','.join(m for m in ('ray','pyspark','torch','fastapi','uvicorn','kubernetes','grpc','pandas','numpy','pyarrow') if m in sys.modules))"],
        check=True, capture_output=True, text=True,
    ).stdout.strip()
    print(f"python -c pass         {base * 1e3:7.1f} ms")
    print(f"python -c import flyte {imp * 1e3:7.1f} ms  (+{(imp - base) * 1e3:.1f} ms, ratio {imp / base:.2f}x)")
    print(f"flyte.init()           {init * 1e3:7.1f} ms  (in process, after import)")
    print(f"heavy modules imported: {heavy or 'none'}")


if __name__ == "__main__":
    main()
