"""Incident statistics at scale: surveykit on pandas, DuckDB and Spark against bare queries.

Generated logs (fixed hashes, no randomness), written by DuckDB itself so 50M rows take seconds:

- counts + YoY growth by country: ``summarise_incidents(path, by="country", engine=...)`` (one
  pass of the engine), then ``incident_counts`` and ``yoy_growth`` on the summary, against a
  bare DuckDB ``SELECT country, year, month, count(*) ... GROUP BY ALL`` on the same Parquet
  file and against plain pandas (``read_parquet`` of the three columns + ``groupby``);
- reading: ``read_incidents`` (full validation) + ``incident_counts`` on a CSV against
  ``pandas.read_csv(engine="pyarrow")`` + the same ``groupby``; each side best of five fresh
  processes, the two sides taking turns, as a tenth of a second is within this case's noise on a
  shared machine.

Every case runs in a fresh subprocess, so its peak memory (``VmHWM``; for Spark the
Python driver plus the JVM's ``VmHWM``) is its own. Spark's session start (about 20 s) is not
timed: it is paid once per application, not per query.

    python bench/scale_incidents.py [--quick]
"""

from __future__ import annotations

import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from _sides import PEAK_MB_SOURCE, fastest, run_fresh, table, table_row

__all__ = ["Case", "cases", "rows"]

#: Sizes of the full run and of ``quick=True``.
SIZES = (1_000_000, 10_000_000, 50_000_000)
QUICK_SIZES = (100_000,)
#: Engines run at each size: pandas and Spark up to 10M rows, DuckDB at every size.
_ENGINES_UP_TO = {"pandas": 10_000_000, "spark": 10_000_000, "duckdb": 50_000_000}
_COUNTRIES = ["US", "GB", "ZA", "AU", "DE", "FR", "NL", "IE"]
_TYPES = ["phishing", "whaling_bec", "malware", "email_outage", "account_compromise"]

_MEASURE = """
import json, time, warnings
warnings.simplefilter("ignore")
PATH = {path!r}
{peak}
{setup}
started = time.perf_counter()
{body}
elapsed = time.perf_counter() - started
print(json.dumps({{"seconds": elapsed, "peak_mb": peak_mb() + extra_peak_mb(), "incidents": int(incidents)}}))
"""

_NO_EXTRA = "extra_peak_mb = lambda: 0.0"

_SURVEYKIT = """
import surveykit as sk
from surveykit.incidents.sources import summarise_incidents
"""
_SURVEYKIT_BODY = """
summary = summarise_incidents(PATH, by="country", engine={engine!r})
counts = sk.incident_counts(summary, by="country")
growth = sk.yoy_growth(summary, by="country")
incidents = counts["count"].sum()
"""

_SPARK_SETUP = """
import surveykit as sk
from surveykit.incidents.sources import summarise_incidents
from pyspark.sql import SparkSession
spark = (SparkSession.builder.master("local[*]").config("spark.sql.session.timeZone", "UTC")
         .config("spark.ui.enabled", "false").config("spark.driver.memory", "2g").getOrCreate())
spark.range(1).count()  # start the JVM and the executors before timing

def extra_peak_mb():
    pid = spark.sparkContext._gateway.proc.pid
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0
"""

_DUCKDB_BASELINE = """
import duckdb
"""
_DUCKDB_BASELINE_BODY = """
table = duckdb.sql(
    f"SELECT country, year, month, count(*) AS n FROM read_parquet('{PATH}') GROUP BY ALL"
).df()
incidents = table["n"].sum()
"""

_PANDAS_BASELINE = """
import pandas as pd
"""
_PANDAS_BASELINE_BODY = """
frame = pd.read_parquet(PATH, columns=["country", "year", "month"])
table = frame.groupby(["country", "year", "month"], dropna=False).size()
incidents = table.sum()
"""

_READ = """
from surveykit import incident_counts, read_incidents
"""
_READ_BODY = """
log = read_incidents(PATH)
counts = incident_counts(log, by="country")
incidents = counts["count"].sum()
"""

_READ_BASELINE_BODY = """
frame = pd.read_csv(PATH, engine="pyarrow")
year = frame["date"].str.slice(0, 4).astype(int)
table = frame.groupby([year, frame["country"]]).size()
incidents = table.sum()
"""


@dataclass(frozen=True)
class Case:
    """One row of the benchmark table: surveykit and its baseline on the same generated file."""

    area: str
    case: str
    rows: int
    engine: str
    baseline: str
    make: Callable[[Path], Path]
    surveykit: tuple[str, str]
    reference: tuple[str, str]
    repeats: int = 1  # fresh processes per side; the fastest counts

    def run(self, folder: Path) -> dict[str, object]:
        """Generate the file (once per folder), run both sides in fresh subprocesses."""
        path = self.make(folder)
        # The sides take turns, so each meets the machine (its cache, its free memory) as the other did.
        runs = [
            (_measure(path, *self.surveykit), _measure(path, *self.reference)) for _ in range(self.repeats)
        ]
        ours = fastest([mine for mine, _ in runs])
        base = fastest([theirs for _, theirs in runs])
        if ours["incidents"] != base["incidents"]:
            raise RuntimeError(
                f"{self.case}: surveykit counted {ours['incidents']}, baseline {base['incidents']}"
            )
        return table_row(self.area, self.case, self.rows, self.engine, ours, self.baseline, base)


def _measure(path: Path, setup: str, body: str) -> dict[str, float]:
    if "extra_peak_mb" not in setup:
        setup = setup + _NO_EXTRA
    script = _MEASURE.format(path=str(path), peak=PEAK_MB_SOURCE, setup=setup, body=body)
    return run_fresh(["-c", script], f"{path.name}")


def _in_list(values: list[str], salt: int) -> str:
    quoted = ", ".join(f"'{v}'" for v in values)
    return f"[{quoted}][1 + (hash(i * 7 + {salt}) % {len(values)})::INTEGER]"


def parquet_log(rows: int) -> Callable[[Path], Path]:
    """A maker of a canonical ``rows``-row Parquet log, generated by DuckDB (about 1% with no month)."""

    def make(folder: Path) -> Path:
        path = folder / f"incidents_{rows}.parquet"
        if path.exists():
            return path
        import duckdb

        query = f"""
        COPY (
          WITH base AS (
            SELECT i,
                   2014 + (hash(i * 7 + 1) % 3)::INTEGER AS year,
                   1 + (hash(i * 7 + 2) % 12)::INTEGER AS month,
                   1 + (hash(i * 7 + 3) % 28)::INTEGER AS day,
                   (hash(i * 7 + 4) % 86400)::INTEGER AS second,
                   hash(i * 7 + 5) % 100 AS undated
            FROM range({rows}) t(i)
          )
          SELECT 'INC-' || i AS incident_id,
                 year,
                 CASE WHEN undated = 0 THEN NULL ELSE month END AS month,
                 CASE WHEN undated = 0 THEN NULL ELSE day END AS day,
                 CASE WHEN undated = 0 THEN NULL ELSE make_date(year, month, day) END AS occurred_on,
                 {_in_list(_COUNTRIES, 6)} AS country,
                 NULL::VARCHAR AS region,
                 {_in_list(_TYPES, 8)} AS incident_type,
                 NULL::VARCHAR AS impersonated_role,
                 {_in_list(["low", "medium", "high", "critical"], 9)} AS severity,
                 make_timestamp(year, month, day, 0, 0, 0) + to_seconds(second) AS detected_at,
                 CASE WHEN hash(i * 7 + 10) % 50 = 0 THEN NULL
                      ELSE make_timestamp(year, month, day, 0, 0, 0)
                           + to_seconds(second + (hash(i * 7 + 11) % 604800)::INTEGER) END AS resolved_at,
                 NULL::DOUBLE AS loss_amount,
                 'bench' AS source
          FROM base
        ) TO '{path}' (FORMAT parquet)
        """
        duckdb.connect().execute(query)
        return path

    return make


def csv_log(rows: int) -> Callable[[Path], Path]:
    """A maker of a ``rows``-row helpdesk-style CSV log (id, date, country, type, opened, closed)."""

    def make(folder: Path) -> Path:
        path = folder / f"helpdesk_{rows}.csv"
        if path.exists():
            return path
        import duckdb

        source = parquet_log(rows)(folder)
        query = f"""
        COPY (
          SELECT incident_id AS id,
                 coalesce(strftime(occurred_on, '%Y-%m-%d'), year::VARCHAR) AS date,
                 country, incident_type AS type, severity,
                 strftime(detected_at, '%Y-%m-%d %H:%M:%S') AS opened,
                 strftime(resolved_at, '%Y-%m-%d %H:%M:%S') AS closed
          FROM read_parquet('{source}')
        ) TO '{path}' (FORMAT csv, HEADER)
        """
        duckdb.connect().execute(query)
        return path

    return make


def cases(sizes: tuple[int, ...] = SIZES) -> list[Case]:
    """The benchmark cases for the given log sizes (reading: the smallest size up to 1M)."""
    found = []
    for size in sizes:
        make = parquet_log(size)
        for engine, most in _ENGINES_UP_TO.items():
            if size > most:
                continue
            setup = _SPARK_SETUP if engine == "spark" else _SURVEYKIT
            ours = (setup, _SURVEYKIT_BODY.format(engine=engine))
            baseline = (
                ("pandas read_parquet + groupby", (_PANDAS_BASELINE, _PANDAS_BASELINE_BODY))
                if engine == "pandas"
                else ("bare DuckDB GROUP BY", (_DUCKDB_BASELINE, _DUCKDB_BASELINE_BODY))
            )
            found.append(
                Case(
                    "incidents", "counts + YoY growth by country", size, engine, baseline[0], make, ours,
                    baseline[1],
                )
            )  # fmt: skip
    read_size = min(min(sizes), 1_000_000)
    found.append(
        Case(
            "incidents",
            "read_incidents (CSV, full validation) + counts",
            read_size,
            "pandas",
            "pandas.read_csv(pyarrow) + groupby",
            csv_log(read_size),
            (_READ, _READ_BODY),
            (_PANDAS_BASELINE, _READ_BASELINE_BODY),
            repeats=5,
        )
    )
    return found


def rows(quick: bool = False) -> list[dict[str, object]]:
    """Run every case (``quick``: 100,000 rows only) and return one dict per row of the table."""
    with tempfile.TemporaryDirectory(prefix="surveykit-scale-") as folder:
        return [case.run(Path(folder)) for case in cases(QUICK_SIZES if quick else SIZES)]


if __name__ == "__main__":
    print(table(rows(quick="--quick" in sys.argv[1:]), markdown=False))
