"""flyteplugins-polars: a polars DataFrame and LazyFrame written as parquet by one task, read by the next."""

from __future__ import annotations

import polars as pl

import flyte

env = flyte.TaskEnvironment(name="published_polars")


@env.task
async def make_frame(n: int) -> pl.DataFrame:
    return pl.DataFrame({"a": list(range(n)), "b": [x * 2 for x in range(n)]})


@env.task
async def make_lazy(n: int) -> pl.LazyFrame:
    return pl.DataFrame({"a": list(range(n))}).lazy().with_columns((pl.col("a") * 3).alias("c"))


@env.task
async def summarize(df: pl.DataFrame, lf: pl.LazyFrame) -> dict[str, object]:
    collected = lf.collect()
    return {
        "df_type": type(df).__name__,
        "lf_type": type(lf).__name__,
        "b_sum": int(df["b"].sum()),
        "c_sum": int(collected["c"].sum()),
        "columns": df.columns + collected.columns,
    }


@env.task
async def pipeline(n: int) -> dict[str, object]:
    return await summarize(await make_frame(n), await make_lazy(n))
