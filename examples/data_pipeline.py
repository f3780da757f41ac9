"""A small ETL pipeline: files in and out, dataclasses, caching and custom context.

    flyte run examples/data_pipeline.py pipeline --rows 200
    flyte run examples/data_pipeline.py pipeline --rows 200   # the extract step is cached
"""

import csv
import random
import tempfile
from dataclasses import dataclass
from pathlib import Path

import flyte
from flyte.io import File

env = flyte.TaskEnvironment(name="data-pipeline", cache="auto")


@dataclass
class Stats:
    rows: int
    mean: float
    best_region: str
    source: str


@env.task
async def extract(rows: int, seed: int = 7) -> File:
    """Write a CSV of fake sales; cached, so the same inputs never run twice."""
    rng = random.Random(seed)
    with tempfile.TemporaryDirectory() as tmp:  # from_local copies the file; the folder then goes
        path = Path(tmp) / "sales.csv"
        with path.open("w", newline="") as f:
            w = csv.writer(f)
            w.writerow(["region", "amount"])
            for _ in range(rows):
                w.writerow([rng.choice(["north", "south", "east", "west"]), round(rng.uniform(5, 500), 2)])
        return await File.from_local(str(path))


@env.task(cache="disable")
async def transform(sales: File) -> Stats:
    """Aggregate the CSV: mean amount and best region by total."""
    totals: dict[str, float] = {}
    amounts = []
    async with sales.open("rb") as fh:
        text = (await fh.read()).decode()
    for row in csv.DictReader(text.splitlines()):
        amount = float(row["amount"])
        amounts.append(amount)
        totals[row["region"]] = totals.get(row["region"], 0.0) + amount
    source = flyte.get_custom_context().get("source", "unknown")
    return Stats(rows=len(amounts), mean=sum(amounts) / len(amounts), best_region=max(totals, key=totals.get), source=source)


@env.task(cache="disable")
async def pipeline(rows: int = 200) -> Stats:
    """Extract, then transform with a custom context that follows the sub-action."""
    raw = await extract(rows)
    with flyte.custom_context(source="synthetic"):
        return await transform(raw)


if __name__ == "__main__":
    flyte.init()
    print(flyte.run(pipeline, rows=200).outputs()[0])
