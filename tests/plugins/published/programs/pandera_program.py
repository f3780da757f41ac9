"""flyteplugins-pandera: dataframes typed with a pandera schema are validated where they cross tasks."""

from __future__ import annotations

import pandas as pd
import pandera.pandas as pa
import pandera.polars as pap
import polars as pl
from pandera.typing.pandas import DataFrame, Series
from pandera.typing.polars import DataFrame as PolarsFrame

import flyte


class Readings(pa.DataFrameModel):
    sensor: Series[int] = pa.Field(ge=0)
    value: Series[float]


class PolarsReadings(pap.DataFrameModel):
    sensor: int = pap.Field(ge=0)


env = flyte.TaskEnvironment(name="published_pandera")


@env.task
async def readings(n: int) -> DataFrame[Readings]:
    return pd.DataFrame({"sensor": list(range(n)), "value": [i / 2 for i in range(n)]})


@env.task
async def total(df: DataFrame[Readings]) -> float:
    return float(df["value"].sum())


@env.task
async def pipeline(n: int) -> float:
    return await total(await readings(n))


@env.task
async def bad_readings() -> DataFrame[Readings]:
    return pd.DataFrame({"sensor": [-1], "value": [1.0]})


@env.task
async def polars_readings(n: int) -> PolarsFrame[PolarsReadings]:
    return pl.DataFrame({"sensor": list(range(n))})


@env.task
async def polars_count(df: PolarsFrame[PolarsReadings]) -> int:
    return df.height


@env.task
async def polars_pipeline(n: int) -> int:
    return await polars_count(await polars_readings(n))
