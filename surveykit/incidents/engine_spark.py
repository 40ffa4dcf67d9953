"""The Apache Spark engine of the incident summaries (see :mod:`surveykit.incidents.sources`).

A Spark DataFrame is grouped on its own session; a path (CSV or Parquet file or folder) is read
by the active session, or by a local one (``local[*]``) started for the purpose. CSV cells are
read as text, empty cells missing. Times are read in UTC: surveykit sets the session's
``spark.sql.session.timeZone`` to ``UTC`` when it starts the session and reads every time as
microseconds since the epoch, so the results do not depend on the machine's time zone.
A pandas DataFrame is handed to Spark through Arrow.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
import pyarrow as pa
from pyspark.errors import PySparkException
from pyspark.sql import DataFrame as SparkFrame
from pyspark.sql import SparkSession
from pyspark.sql import functions as F
from pyspark.sql.utils import AnalysisException

from surveykit.exceptions import SurveykitError
from surveykit.incidents.summary import (
    DATE_COLUMNS,
    DURATION,
    EVENT,
    INCIDENTS,
    DurationBounds,
    IncidentSource,
    source_files,
)

__all__ = [
    "columns",
    "date_groups",
    "duration_bounds",
    "duration_groups",
    "frame",
    "rows_where",
    "session",
]

_COUNT = "__surveykit_incidents"


def session() -> SparkSession:
    """The active Spark session, or a local one in UTC."""
    active = SparkSession.getActiveSession()
    if active is not None:
        return active
    return (
        SparkSession.builder.master("local[*]")
        .appName("surveykit")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.ui.enabled", "false")
        .getOrCreate()
    )


def frame(source: IncidentSource) -> SparkFrame:
    """The source as a Spark DataFrame (a Spark DataFrame is returned as it is)."""
    if isinstance(source, SparkFrame):
        return source
    spark = session()
    if isinstance(source, pd.DataFrame):
        return spark.createDataFrame(pa.Table.from_pandas(source, preserve_index=False))
    files, kind = source_files(source)
    names = [str(f) for f in files]
    try:
        if kind == "parquet":
            return spark.read.parquet(*names)
        return spark.read.csv(names, header=True, inferSchema=False)
    except (AnalysisException, PySparkException) as exc:
        raise SurveykitError(f"Spark cannot read {names[0]!r} as {kind}: {_first_line(exc)}") from None


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def columns(source: IncidentSource) -> list[str]:
    """The source's column names."""
    return list(frame(source).columns)


def _collect(spark_frame: SparkFrame) -> pd.DataFrame:
    # Through Arrow, as pyarrow converts it: toPandas() warns about newer pandas versions.
    try:
        return spark_frame.toArrow().to_pandas()
    except PySparkException as exc:
        raise SurveykitError(f"Spark could not summarise the log: {_first_line(exc)}") from None


def date_groups(source: IncidentSource, groups: list[str]) -> pd.DataFrame:
    """``[groups...], year, month, day, _incidents``: incidents per distinct group and date."""
    keys = [*groups, *DATE_COLUMNS]
    log = frame(source)
    # A summarised log counts its rows' incidents.
    count = F.sum(INCIDENTS).cast("long") if INCIDENTS in log.columns else F.count(F.lit(1))
    counted = log.groupBy(*[F.col(f"`{c}`") for c in keys]).agg(count.alias(_COUNT))
    return _collect(counted).rename(columns={_COUNT: INCIDENTS})


def _nanoseconds(spark_frame: SparkFrame, name: str) -> Any:
    """Column ``name`` as nanoseconds since the epoch (null when missing or unreadable)."""
    column = F.col(f"`{name}`")
    kind = spark_frame.schema[name].dataType.typeName()
    if kind not in {"timestamp", "timestamp_ntz", "date"}:
        column = F.expr(f"try_cast(`{name}` AS TIMESTAMP)")
    return F.unix_micros(column.cast("timestamp")) * F.lit(1000)


def duration_bounds(source: IncidentSource) -> DurationBounds:
    """Counts and latest times of the incidents with a detection time."""
    log = frame(source)
    d, r = _nanoseconds(log, "detected_at"), _nanoseconds(log, "resolved_at")
    has_d, has_r = F.col("`detected_at`").isNotNull(), F.col("`resolved_at`").isNotNull()
    row = log.select(d.alias("d"), r.alias("r"), has_d.alias("has_d"), has_r.alias("has_r")).agg(
        F.count("d"),
        F.max("d"),
        F.max(F.when(F.col("d").isNotNull(), F.col("r"))),
        F.count(F.when(F.col("r") < F.col("d"), 1)),
        F.count(F.when((F.col("has_d") & F.col("d").isNull()) | (F.col("has_r") & F.col("r").isNull()), 1)),
    )
    detected, latest_d, latest_r, backwards, unreadable = _collect(row).iloc[0].tolist()
    return DurationBounds(
        detected=int(detected),
        latest_detected=pd.Timestamp(int(latest_d)) if pd.notna(latest_d) else pd.NaT,
        latest_resolved=pd.Timestamp(int(latest_r)) if pd.notna(latest_r) else pd.NaT,
        backwards=int(backwards),
        unreadable=int(unreadable),
    )


def duration_groups(source: IncidentSource, groups: list[str], cutoff: pd.Timestamp) -> pd.DataFrame:
    """``[groups...], _duration_ns, _event, _incidents`` of incidents detected by ``cutoff``."""
    log = frame(source)
    limit = int(pd.Timestamp(cutoff).as_unit("ns").value)
    d, r = _nanoseconds(log, "detected_at"), _nanoseconds(log, "resolved_at")
    keyed = log.select(*[F.col(f"`{c}`") for c in groups], d.alias("_d"), r.alias("_r"))
    keyed = keyed.where(F.col("_d").isNotNull() & (F.col("_d") <= F.lit(limit)))
    keyed = keyed.select(
        *[F.col(f"`{c}`") for c in groups],
        (F.coalesce(F.col("_r"), F.lit(limit)) - F.col("_d")).alias(DURATION),
        F.col("_r").isNotNull().alias(EVENT),
    )
    counted = keyed.groupBy(*[F.col(f"`{c}`") for c in [*groups, DURATION, EVENT]]).agg(
        F.count(F.lit(1)).alias(_COUNT)
    )
    return _collect(counted).rename(columns={_COUNT: INCIDENTS})


def rows_where(source: IncidentSource, names: list[str], column: str, value: str) -> pd.DataFrame:
    """The columns ``names`` of the rows whose ``column`` equals ``value``."""
    log = frame(source)
    picked = log.where(F.col(f"`{column}`") == F.lit(value)).select(*[F.col(f"`{c}`") for c in names])
    return _collect(picked)
