"""flyteplugins-jsonl: JSON-lines files (plain and zstd) and sharded directories between tasks."""

from __future__ import annotations

import flyte
from flyteplugins.jsonl import JsonlDir, JsonlFile

env = flyte.TaskEnvironment(name="published_jsonl")


@env.task
async def write_rows(n: int) -> JsonlFile:
    f = JsonlFile.new_remote("rows.jsonl")
    async with f.writer() as w:
        for i in range(n):
            await w.write({"i": i, "sq": i * i})
    return f


@env.task
async def write_compressed(n: int) -> JsonlFile:
    f = JsonlFile.new_remote("rows.jsonl.zst")
    async with f.writer() as w:
        for i in range(n):
            await w.write({"i": i})
    return f


@env.task
async def write_shards(n: int) -> JsonlDir:
    d = JsonlDir.new_remote("shards")
    async with d.writer(max_records_per_shard=2) as w:
        for i in range(n):
            await w.write({"i": i})
    return d


@env.task
async def read_all(rows: JsonlFile, compressed: JsonlFile, shards: JsonlDir) -> dict[str, object]:
    return {
        "rows_type": type(rows).__name__,
        "shards_type": type(shards).__name__,
        "sq_sum": sum([r["sq"] async for r in rows.iter_records()]),
        "sq_sum_sync": sum(r["sq"] for r in rows.iter_records_sync()),
        "compressed_sum": sum([r["i"] async for r in compressed.iter_records()]),
        "shard_sum": sum([r["i"] async for r in shards.iter_records()]),
    }


@env.task
async def pipeline(n: int) -> dict[str, object]:
    return await read_all(await write_rows(n), await write_compressed(n), await write_shards(n))
