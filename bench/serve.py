"""`GET /health` on an app served by `flyte serve` against plain `uvicorn` serving the same FastAPI
app, in the same run, as ratios (the machine's load cancels out).

Both sides are one uvicorn worker with the access log off, in their own process on 127.0.0.1
(`flyte serve --port P bench/_serve_app.py bench_app` / `python -m uvicorn bench._serve_app:app`).
The load is bounded: C keep-alive connections, each sending one request after the other for D
seconds, from an asyncio client in this process (a raw HTTP/1.1 client: lighter than any
library, so the servers, not the client, are measured). Runs are interleaved (ours, plain,
plain, ours, ...) and the median of R runs is reported, with start-to-ready time: from starting
the command to the first answer of `/health` (wall time, and the server process's CPU time by
then, which a busy machine distorts less).

    .venv/bin/python bench/serve.py [--runs 5] [--seconds 3] [--connections 16]

Targets: requests per second >= 0.98x uvicorn's, start-to-ready <= 1.2x.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Dict, List, Tuple

REPO = Path(__file__).resolve().parents[1]
BIN = REPO / ".venv" / "bin"
REQUEST = b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def command(side: str, port: int) -> List[str]:
    if side == "flyte":
        return [str(BIN / "flyte"), "serve", "--port", str(port), "bench/_serve_app.py", "bench_app"]
    return [str(BIN / "python"), "-m", "uvicorn", "bench._serve_app:app", "--host", "127.0.0.1", "--port", str(port),
            "--workers", "1", "--no-access-log", "--log-level", "warning"]


def answers(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5) as s:
            s.sendall(REQUEST)
            return s.recv(64).startswith(b"HTTP/1.1 200")
    except OSError:
        return False


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (from /proc: less sensitive to a busy machine than wall time)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def start(side: str) -> Tuple[subprocess.Popen, int, float, float]:
    port = free_port()
    t0 = time.perf_counter()
    proc = subprocess.Popen(command(side, port), cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            env={**os.environ, "PYTHONPATH": str(REPO)})
    while not answers(port):
        if proc.poll() is not None:
            raise SystemExit(f"{side} server exited with {proc.returncode}")
        if time.perf_counter() - t0 > 60:
            raise SystemExit(f"{side} server not ready in 60 s")
        time.sleep(0.005)
    return proc, port, time.perf_counter() - t0, cpu_seconds(proc.pid)


def stop(proc: subprocess.Popen) -> None:
    proc.send_signal(signal.SIGINT)
    try:
        proc.wait(15)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


async def _connection(port: int, until: float, latencies: List[float]) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        while time.perf_counter() < until:
            t0 = time.perf_counter()
            writer.write(REQUEST)
            head = await reader.readuntil(b"\r\n\r\n")
            length = 0
            for line in head.split(b"\r\n"):
                if line[:15].lower() == b"content-length:":
                    length = int(line[15:])
            await reader.readexactly(length)
            latencies.append(time.perf_counter() - t0)
    finally:
        writer.close()


async def _load(port: int, seconds: float, connections: int) -> Tuple[float, float, float]:
    latencies: List[float] = []
    await asyncio.gather(*(_connection(port, time.perf_counter() + 0.3, []) for _ in range(connections)))  # warm-up
    t0 = time.perf_counter()
    await asyncio.gather(*(_connection(port, t0 + seconds, latencies) for _ in range(connections)))
    elapsed = time.perf_counter() - t0
    latencies.sort()
    return len(latencies) / elapsed, latencies[len(latencies) // 2] * 1e3, latencies[int(len(latencies) * 0.99)] * 1e3


def one_run(side: str, seconds: float, connections: int) -> Dict[str, float]:
    proc, port, ready, cpu = start(side)
    try:
        rps, p50, p99 = asyncio.run(_load(port, seconds, connections))
    finally:
        stop(proc)
    return {"rps": rps, "p50_ms": p50, "p99_ms": p99, "ready_s": ready, "ready_cpu_s": cpu}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--connections", type=int, default=16)
    args = parser.parse_args()
    results: Dict[str, List[Dict[str, float]]] = {"flyte": [], "uvicorn": []}
    for i in range(args.runs):
        order = ("flyte", "uvicorn") if i % 2 == 0 else ("uvicorn", "flyte")
        for side in order:
            r = one_run(side, args.seconds, args.connections)
            results[side].append(r)
            print(f"run {i + 1} {side:<8} {r['rps']:8.0f} req/s  p50 {r['p50_ms']:6.2f} ms  p99 {r['p99_ms']:6.2f} ms  "
                  f"ready {r['ready_s']:.2f} s ({r['ready_cpu_s']:.2f} s CPU)", flush=True)
    med = {side: {k: statistics.median(r[k] for r in rs) for k in rs[0]} for side, rs in results.items()}
    print(f"\nmedian of {args.runs} interleaved runs, {args.connections} connections x {args.seconds:g} s, 1 worker, no access log")
    print(f"{'':10}{'req/s':>10}{'p50 ms':>10}{'p99 ms':>10}{'ready s':>10}{'ready CPU s':>13}")
    for side in ("flyte", "uvicorn"):
        m = med[side]
        print(f"{side:<10}{m['rps']:>10.0f}{m['p50_ms']:>10.2f}{m['p99_ms']:>10.2f}{m['ready_s']:>10.2f}{m['ready_cpu_s']:>13.2f}")
    f, u = med["flyte"], med["uvicorn"]
    print(f"\nrequests/s ratio flyte/uvicorn: {f['rps'] / u['rps']:.3f} (target >= 0.98)")
    print(f"p50 latency ratio: {f['p50_ms'] / u['p50_ms']:.3f}; p99 latency ratio: {f['p99_ms'] / u['p99_ms']:.3f}")
    print(f"start-to-ready ratio flyte/uvicorn: {f['ready_s'] / u['ready_s']:.3f} (target <= 1.2); "
          f"CPU to ready: {f['ready_cpu_s'] / u['ready_cpu_s']:.3f}")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
