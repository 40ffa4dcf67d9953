"""The incident statistics on pandas, DuckDB and Spark: the same frame, warnings and errors.

Every engine summarises the log (counts by group and date, durations by group) and the same
statistics run on the summary, so each test runs one call on every engine and source form
(DataFrame, CSV, Parquet, a folder, a DuckDB relation, a Spark DataFrame) and compares the
frames with ``assert_frame_equal`` and the warnings or error messages as text. The pandas
DataFrame result is itself checked against counts done by hand here.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterator
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest

from surveykit import (
    ImportValidationError,
    IncompleteDataWarning,
    SurveykitError,
    growth_trend,
    incident_counts,
    read_incidents,
    time_to_resolve,
    trend_line,
    yoy_growth,
)
from surveykit.incidents.schema import INCIDENT_COLUMNS, INCIDENT_DTYPES
from surveykit.incidents.sources import condensed_log, summarise_incidents
from surveykit.incidents.summary import tally

pyspark = pytest.importorskip("pyspark")


@pytest.fixture(scope="session")
def spark() -> Iterator[object]:
    """One local Spark session (two cores, UTC) for the whole run."""
    from pyspark.sql import SparkSession

    session = (
        SparkSession.builder.master("local[2]")
        .appName("surveykit-tests")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.ui.enabled", "false")
        .config("spark.sql.shuffle.partitions", "2")
        .getOrCreate()
    )
    yield session
    session.stop()


def canonical_log(n: int = 3000, seed: int = 11) -> pd.DataFrame:
    """A canonical log over 2014-2016 with missing months and days, open incidents, no country."""
    rng = np.random.default_rng(seed)
    year = rng.choice([2014, 2015, 2016], n, p=[0.25, 0.35, 0.4])
    month = rng.integers(1, 13, n)
    day = rng.integers(1, 29, n)
    no_month = rng.random(n) < 0.03
    no_day = no_month | (rng.random(n) < 0.05)
    detected = pd.to_datetime(
        {"year": year, "month": month, "day": day, "hour": rng.integers(0, 24, n)}
    ) + pd.to_timedelta(rng.integers(0, 3600, n), unit="s")
    wait = pd.to_timedelta(np.round(rng.gamma(1.5, 20.0, n) * 3600), unit="s")
    resolved = (detected + wait).where(rng.random(n) > 0.1)
    frame = pd.DataFrame(
        {
            "incident_id": [f"i{k}" for k in range(n)],
            "year": year,
            "month": pd.array(np.where(no_month, None, month), dtype="Int64"),
            "day": pd.array(np.where(no_day, None, day), dtype="Int64"),
            "occurred_on": pd.NaT,
            "country": rng.choice(["GB", "US", "ZA", None], n, p=[0.4, 0.4, 0.15, 0.05]),
            "region": None,
            "incident_type": rng.choice(["phishing", "malware", "whaling_bec"], n),
            "impersonated_role": None,
            "severity": rng.choice(["low", "high"], n),
            "detected_at": detected,
            "resolved_at": resolved,
            "loss_amount": np.nan,
            "source": "tests",
        }
    )
    return frame[INCIDENT_COLUMNS].astype(INCIDENT_DTYPES)


def write_sources(log: pd.DataFrame, folder: Path) -> dict[str, Path]:
    """The log as one CSV, one Parquet file and a folder of two Parquet files."""
    csv = folder / "log.csv"
    log.to_csv(csv, index=False, date_format="%Y-%m-%d %H:%M:%S")
    parquet = folder / "log.parquet"
    # Microsecond times: what Parquet readers other than pandas (Spark) take.
    log.to_parquet(parquet, coerce_timestamps="us")
    parts = folder / "parts"
    parts.mkdir()
    half = len(log) // 2
    log.iloc[:half].to_parquet(parts / "a.parquet", coerce_timestamps="us")
    log.iloc[half:].to_parquet(parts / "b.parquet", coerce_timestamps="us")
    return {"csv": csv, "parquet": parquet, "folder": parts}


def outcome(call: Callable[[], pd.DataFrame]) -> tuple[object, list[str]]:
    """The frame (or the error as text) and the warnings of one call."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            result: object = call()
        except SurveykitError as error:
            result = f"{type(error).__name__}: {error}"
    return result, sorted(f"{w.category.__name__}: {w.message}" for w in caught)


def assert_same(expected: tuple[object, list[str]], got: tuple[object, list[str]], label: str) -> None:
    if isinstance(expected[0], pd.DataFrame):
        assert isinstance(got[0], pd.DataFrame), f"{label}: {got[0]}"
        pd.testing.assert_frame_equal(got[0], expected[0], obj=label)
    else:
        assert got[0] == expected[0], label
    assert got[1] == expected[1], label


def every_source(log: pd.DataFrame, folder: Path, spark: object) -> dict[str, tuple[object, str]]:
    """``label: (source, engine)`` for the log on every engine and in every form."""
    files = write_sources(log, folder)
    return {
        "pandas csv": (files["csv"], "pandas"),
        "pandas parquet": (files["parquet"], "pandas"),
        "duckdb frame": (log, "duckdb"),
        "duckdb csv": (files["csv"], None),  # DuckDB: the default for a path
        "duckdb parquet": (files["parquet"], "duckdb"),
        "duckdb folder": (files["folder"], "duckdb"),
        "duckdb relation": (duckdb.read_parquet(str(files["parquet"])), None),
        "spark csv": (files["csv"], "spark"),
        "spark folder": (files["folder"], "spark"),
        "spark frame": (spark.read.parquet(str(files["parquet"])), None),  # type: ignore[attr-defined]
    }


CALLS: dict[str, Callable[..., pd.DataFrame]] = {
    "monthly counts by country": lambda log, **kw: incident_counts(log, "month", by="country", **kw),
    "yearly counts, days": lambda log, **kw: incident_counts(log, by="incident_type", exposure="days", **kw),
    "yoy growth by type": lambda log, **kw: yoy_growth(log, "quarter", by="incident_type", **kw),
    "yoy growth to date": lambda log, **kw: yoy_growth(log, as_of="2016-06-30", **kw),
    "trend by severity": lambda log, **kw: growth_trend(log, by="severity", **kw),
    "time to resolve by type": lambda log, **kw: time_to_resolve(log, by="incident_type", **kw),
    "time to resolve by country": lambda log, **kw: time_to_resolve(
        log, by="country", unit="days", as_of="2017-03-01", **kw
    ),
}


# Spark takes a second or more per call on two cores: it runs the calls that read differently;
# the forms that only read the file differently run the first call.
ONCE = {"pandas parquet", "duckdb folder", "spark folder"}
ON_SPARK = {"monthly counts by country", "time to resolve by type"}


def test_every_engine_returns_the_same_frames_and_warnings(tmp_path: Path, spark: object) -> None:
    log = canonical_log()
    sources = every_source(log, tmp_path, spark)
    for name, call in CALLS.items():
        expected = outcome(lambda call=call: call(log))
        assert isinstance(expected[0], pd.DataFrame), name
        for label, (source, engine) in sources.items():
            if label.startswith("spark") and name not in ON_SPARK:
                continue
            if label in ONCE and name != "monthly counts by country":
                continue
            got = outcome(lambda call=call, source=source, engine=engine: call(source, engine=engine))
            assert_same(expected, got, f"{name}, {label}")


def test_the_pandas_counts_match_a_count_by_hand() -> None:
    log = canonical_log()
    with pytest.warns(IncompleteDataWarning, match=rf"{int(log['month'].isna().sum())} incidents left out"):
        counts = incident_counts(log, "month", by="country", min_n=0, caution_n=0)
    dated = log[log["month"].notna()]
    by_hand = dated.groupby(["country", "year", "month"], dropna=False).size().rename("by_hand").reset_index()
    by_hand["period"] = [f"{y}-{m:02d}" for y, m in zip(by_hand["year"], by_hand["month"], strict=True)]
    both = counts.merge(by_hand, on=["country", "period"], how="left")
    assert (both["count"] == both["by_hand"].fillna(0)).all()
    assert counts["count"].sum() == len(dated)
    assert counts["country"].dtype == "string"


def test_time_to_resolve_rests_on_every_incident_once() -> None:
    log = canonical_log()
    result = time_to_resolve(log, by="incident_type", min_n=0, caution_n=0)
    first = result.drop_duplicates("incident_type").set_index("incident_type")
    by_hand = log.groupby("incident_type")["resolved_at"].agg(["size", "count"])
    assert (first["n"] == by_hand["size"]).all()
    assert (first["n_resolved"] == by_hand["count"]).all()
    # With every incident resolved and an odd number of them, the Kaplan-Meier median is the
    # sample median.
    closed = log.assign(resolved_at=log["resolved_at"].fillna(log["detected_at"])).iloc[:-1]
    waits = (closed["resolved_at"] - closed["detected_at"]).dt.total_seconds() / 3600
    assert time_to_resolve(closed).loc[0, "estimate"] == pytest.approx(np.median(waits), rel=1e-12)


def dirty_csv(folder: Path, changes: dict[str, object], rows: int = 3) -> Path:
    """The canonical log as CSV with ``changes`` written into its first ``rows`` rows."""
    log = canonical_log(600).astype(object)
    for column, value in changes.items():
        log.loc[: rows - 1, column] = value
    path = folder / "dirty.csv"
    log.to_csv(path, index=False, date_format="%Y-%m-%d %H:%M:%S")
    return path


DIRTY = {
    "unknown country": ({"country": "XX"}, lambda log, **kw: incident_counts(log, by="country", **kw)),
    "month 13": ({"month": 13}, lambda log, **kw: yoy_growth(log, **kw)),
    "year as text": ({"year": "soon"}, lambda log, **kw: incident_counts(log, **kw)),
    "a day without a month": ({"month": None}, lambda log, **kw: growth_trend(log, **kw)),
    "a missing month": ({"month": None, "day": None}, lambda log, **kw: growth_trend(log, **kw)),
    "30 February": ({"month": 2, "day": 30}, lambda log, **kw: incident_counts(log, "quarter", **kw)),
    "resolved before detected": (
        {"resolved_at": "2014-01-01 00:00:00", "detected_at": "2015-01-01 00:00:00"},
        lambda log, **kw: time_to_resolve(log, **kw),
    ),
    "an unreadable time": ({"detected_at": "yesterday"}, lambda log, **kw: time_to_resolve(log, **kw)),
    "zero exposure": (
        {},
        lambda log, **kw: incident_counts(log, exposure={2014: 10, 2015: 0, 2016: 1}, **kw),
    ),
    "a year with no incidents": ({"year": 2012}, lambda log, **kw: incident_counts(log, by="severity", **kw)),
}


ON_SPARK |= {"unknown country", "year as text", "an unreadable time", "resolved before detected"}


@pytest.mark.parametrize("case", list(DIRTY))
def test_dirty_rows_give_the_same_error_or_warning_on_every_engine(
    case: str, tmp_path: Path, spark: object
) -> None:
    changes, call = DIRTY[case]
    path = dirty_csv(tmp_path, changes)
    expected = outcome(lambda: call(path, engine="pandas"))
    engines = ("duckdb", "spark") if case in ON_SPARK else ("duckdb",)
    for engine in engines:
        assert_same(expected, outcome(lambda engine=engine: call(path, engine=engine)), f"{case}, {engine}")
    if case in {"a missing month", "a year with no incidents"}:
        assert isinstance(expected[0], pd.DataFrame)
    else:
        assert isinstance(expected[0], str), expected[0]


def test_dirty_values_are_counted_and_named() -> None:
    log = canonical_log(200).astype({"country": object, "month": object})
    log.loc[:4, "country"] = "XX"
    log.loc[5:6, "country"] = "gb"
    log.loc[7, "month"] = 13
    with pytest.raises(ImportValidationError) as error:
        incident_counts(log, "month", by="country")
    assert str(error.value) == (
        "1 incidents have a month that is not a whole number from 1 to 12 (13); "
        "7 incidents have a country that is not one of its codes (XX, gb); "
        "list every row with surveykit.validate_incidents."
    )


def test_an_unknown_engine_and_a_missing_file_are_one_line_errors(tmp_path: Path) -> None:
    with pytest.raises(SurveykitError, match=r"engine must be one of \['pandas', 'duckdb', 'spark'\]"):
        incident_counts(canonical_log(50), engine="polars")  # type: ignore[arg-type]
    with pytest.raises(SurveykitError, match="No incident log at"):
        incident_counts(tmp_path / "missing.parquet")
    (tmp_path / "notes.json").write_text("{}")
    with pytest.raises(SurveykitError, match=r"'notes\.json' is not a CSV or Parquet file"):
        incident_counts(tmp_path / "notes.json")
    with pytest.raises(SurveykitError, match="holds no CSV or Parquet file"):
        incident_counts(tmp_path, engine="duckdb")
    broken = tmp_path / "broken.parquet"
    broken.write_bytes(b"PAR1 not really")
    with pytest.raises(SurveykitError) as error:
        incident_counts(broken)
    assert "\n" not in str(error.value) and "broken.parquet" in str(error.value)


def test_a_summary_made_once_gives_the_same_statistics(tmp_path: Path) -> None:
    log = canonical_log()
    path = write_sources(log, tmp_path)["parquet"]
    summary = summarise_incidents(path, by=["country", "incident_type"], engine="duckdb")
    assert list(summary.columns) == ["country", "incident_type", "year", "month", "day", "_incidents"]
    assert summary["_incidents"].sum() == len(log)
    assert len(summary) < len(log)
    for call in (
        lambda source, **kw: incident_counts(source, "month", by="country", **kw),
        lambda source, **kw: yoy_growth(source, by="incident_type", **kw),
        lambda source, **kw: growth_trend(source, by=["country", "incident_type"], method="poisson", **kw),
    ):
        expected = outcome(lambda call=call: call(log))
        assert_same(expected, outcome(lambda call=call: call(summary)), "summary on pandas")
        assert_same(expected, outcome(lambda call=call: call(summary, engine="duckdb")), "summary on duckdb")


def test_a_condensed_log_gives_the_report_the_same_statistics(tmp_path: Path) -> None:
    log = canonical_log().astype({"incident_type": object})
    log.loc[log.index % 5 == 0, "incident_type"] = "email_outage"
    log = log.astype({"incident_type": "string"})
    path = write_sources(log, tmp_path)["parquet"]
    small = condensed_log(path, "incident_type", whole=("incident_type", "email_outage"), engine="duckdb")
    assert tally(small).sum() == len(log) and len(small) < len(log)
    outages = log[log["incident_type"] == "email_outage"]
    cases = {
        "counts": (incident_counts, log, small),
        "growth": (yoy_growth, log, small),
        "trend": (trend_line, log, small),
        "outages": (time_to_resolve, outages, small[small["incident_type"] == "email_outage"]),
    }
    for name, (call, full, condensed) in cases.items():
        expected = outcome(lambda call=call, full=full: call(full))
        assert_same(expected, outcome(lambda call=call, condensed=condensed: call(condensed)), name)


def test_report_counts_a_log_too_large_to_read_in_duckdb(tmp_path: Path, monkeypatch) -> None:
    from surveykit.cli import main

    log = canonical_log(2000).astype({"incident_type": object})
    log.loc[log.index % 4 == 0, "incident_type"] = "email_outage"
    path = write_sources(log.astype({"incident_type": "string"}), tmp_path)["parquet"]
    monkeypatch.setenv("SURVEYKIT_LIMIT_MAX_FILE_BYTES", "1000")
    with pytest.raises(SurveykitError, match="more than the 1,000 allowed"):
        read_incidents(path)
    db = str(tmp_path / "demo.db")
    assert main(["--db", db, "demo"]) == 0
    out = tmp_path / "report"
    assert main(["--db", db, "report", "--out", str(out), "--incidents", str(path)]) == 0
    tables = pd.read_excel(out / "results.xlsx", sheet_name=None)
    by_year = next(frame for name, frame in tables.items() if name.lower().startswith("incidents"))
    # The counts of the file (2014-2016), not of the demo store's incidents.
    assert by_year.to_string().count("2016") >= 1
    assert str(int(log["year"].eq(2016).sum())) in by_year.to_string()
    # The chart's source line counts the file's incidents, not the condensed log's rows.
    assert "Source: incident log, 2,000 incidents;" in (out / "charts" / "incidents_by_year.svg").read_text()


def test_implausible_integer_dates_in_parquet_are_reported_alike(tmp_path: Path) -> None:
    # DuckDB packs plausible integer dates into one key; the others come back as stored.
    log = canonical_log(800)
    log.loc[:2, "year"] = pd.NA
    path = tmp_path / "gaps.parquet"
    log.to_parquet(path)
    call = lambda source, **kw: incident_counts(source, "month", by="severity", **kw)  # noqa: E731
    expected = outcome(lambda: call(path, engine="pandas"))
    assert isinstance(expected[0], pd.DataFrame)
    assert_same(expected, outcome(lambda: call(path, engine="duckdb")), "missing years")
    log.loc[3:5, "month"] = 13
    log.loc[6, "day"] = 40
    log.to_parquet(path)
    expected = outcome(lambda: call(path, engine="pandas"))
    assert expected[0] == (
        "ImportValidationError: 3 incidents have a month that is not a whole number from 1 to 12 (13); "
        "1 incidents have a day that is not a whole number from 1 to 31 (40); "
        "list every row with surveykit.validate_incidents."
    )
    assert_same(expected, outcome(lambda: call(path, engine="duckdb")), "implausible dates")
