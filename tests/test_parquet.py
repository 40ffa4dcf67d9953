"""Parquet in and out: read_incidents and import-incidents read it, export-incidents writes it.

A Parquet file is checked like a workbook: the same value rules, and the input limits of
surveykit._limits (file size, rows, columns, cell length, NUL bytes, over-long ids), each a
one-line SurveykitError naming the file, never a pyarrow traceback.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from surveykit import ImportValidationError, Store, SurveykitError, demo_incidents, read_incidents
from surveykit.cli import main
from surveykit.incidents.parquet import write_incidents_parquet
from surveykit.incidents.reading import validate_incidents


def test_a_written_log_reads_back_unchanged(tmp_path: Path) -> None:
    log = demo_incidents()
    path = tmp_path / "log.parquet"
    write_incidents_parquet(log, path)
    pd.testing.assert_frame_equal(read_incidents(path), log)
    # A file pandas wrote (nanosecond times) reads the same.
    log.to_parquet(tmp_path / "pandas.parquet")
    pd.testing.assert_frame_equal(read_incidents(tmp_path / "pandas.parquet"), log)


def test_typed_and_text_cells_are_checked_like_a_workbook(tmp_path: Path) -> None:
    table = pa.table(
        {
            "Ticket": ["T-1", "T-2", "T-3", "T-4"],
            "Raised": pa.array(
                [
                    pd.Timestamp("2015-03-02"),
                    pd.Timestamp("2016-01-05 10:00"),
                    None,
                    pd.Timestamp("2015-07-01"),
                ]
            ),
            "country": ["uk", "US", "XX", None],
            "type": ["bec", "phishing", "malware", "ransomware"],
            "loss": [1000.0, None, 5.5, -3.0],
        }
    )
    path = tmp_path / "typed.parquet"
    pq.write_table(table, path)
    checked = validate_incidents(path, mapping={"Ticket": "incident_id", "Raised": "occurred_on"})
    assert sorted((p.row, p.column, p.value) for p in checked.problems) == [
        (3, "Raised", ""),
        (3, "country", "XX"),
        (4, "loss", "-3.0"),
    ]
    kept = checked.incidents.set_index("incident_id")
    assert kept.loc["T-1", "country"] == "GB" and kept.loc["T-1", "incident_type"] == "whaling_bec"
    assert kept.loc["T-2", "occurred_on"] == pd.Timestamp("2016-01-05")
    assert (kept.loc["T-2", "year"], kept.loc["T-2", "month"], kept.loc["T-2", "day"]) == (2016, 1, 5)
    with pytest.raises(ImportValidationError, match=r"typed\.parquet: 3 problems"):
        read_incidents(path, mapping={"Ticket": "incident_id", "Raised": "occurred_on"})


def _one_line(error: BaseException, name: str) -> str:
    text = str(error)
    assert "\n" not in text and "Traceback" not in text and len(text) < 300, text
    assert name in text, text
    return text


HOSTILE = {
    "not parquet": lambda path: path.write_bytes(b"year,month\n2015,3\n"),
    "truncated": lambda path: path.write_bytes(_parquet_bytes()[:-20]),
    "magic only": lambda path: path.write_bytes(b"PAR1" + b"\x00" * 64 + b"PAR1"),
    "empty": lambda path: path.write_bytes(b""),
}


def _parquet_bytes() -> bytes:
    sink = pa.BufferOutputStream()
    pq.write_table(pa.table({"year": [2015, 2016], "country": ["GB", "US"]}), sink)
    return sink.getvalue().to_pybytes()


@pytest.mark.parametrize("case", list(HOSTILE))
def test_a_malformed_file_is_one_short_line(tmp_path: Path, case: str) -> None:
    path = tmp_path / "bad.parquet"
    HOSTILE[case](path)
    with pytest.raises(SurveykitError) as error:
        read_incidents(path)
    assert "not a readable Parquet file" in _one_line(error.value, "bad.parquet")


def test_the_input_limits_hold_for_parquet(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "log.parquet"
    rows = 50
    pq.write_table(
        pa.table({"id": [f"i{k}" for k in range(rows)], "year": [2015] * rows, "note": ["x"] * rows}), path
    )
    assert len(read_incidents(path)) == rows
    limits = {
        "MAX_ROWS": ("20", "50 rows, more than the 19 allowed"),
        "MAX_COLUMNS": ("2", "3 columns, more than the 2 allowed"),
        "MAX_FILE_BYTES": ("100", "more than the 100 allowed"),
    }
    for name, (value, message) in limits.items():
        monkeypatch.setenv(f"SURVEYKIT_LIMIT_{name}", value)
        with pytest.raises(SurveykitError) as error:
            read_incidents(path)
        assert message in _one_line(error.value, "log.parquet")
        monkeypatch.delenv(f"SURVEYKIT_LIMIT_{name}")
    long = tmp_path / "long.parquet"
    pq.write_table(pa.table({"id": ["a", "b" * 40_000], "year": [2015, 2016]}), long)
    with pytest.raises(SurveykitError) as error:
        read_incidents(long)
    assert "row 2, column 'id': the value has 40,000 characters" in _one_line(error.value, "long.parquet")
    nested = tmp_path / "nested.parquet"
    pq.write_table(pa.table({"year": [2015], "tags": [["a", "b"]]}), nested)
    with pytest.raises(SurveykitError) as error:
        read_incidents(nested)
    assert "holds lists or records" in _one_line(error.value, "nested.parquet")


def test_nul_bytes_and_over_long_ids_are_problems_of_their_row(tmp_path: Path) -> None:
    path = tmp_path / "hostile.parquet"
    pq.write_table(
        pa.table({"id": ["ok", "x" * 200, "nul"], "year": ["2015", "2015", "20\x0015"]}),
        path,
    )
    checked = validate_incidents(path)
    reasons = {(p.row, p.column, p.reason.split(";")[0]) for p in checked.problems}
    assert (2, "id", "incident_id may have at most 128 characters") in reasons
    assert (3, "year", "the value contains a NUL byte (binary data, or a file saved as UTF-16)") in reasons
    assert list(checked.incidents["incident_id"]) == ["ok"]


def test_import_and_export_incidents_through_the_command_line(tmp_path: Path, capsys) -> None:
    db = str(tmp_path / "cli.db")
    source = tmp_path / "log.parquet"
    log = demo_incidents().head(300).assign(source=['=HYPERLINK("http://x")'] + ["demo"] * 299)
    write_incidents_parquet(log, source)
    assert main(["--db", db, "import-incidents", str(source)]) == 0
    assert "log.parquet: 300 incidents added" in capsys.readouterr().out
    out = tmp_path / "out.parquet"
    assert main(["--db", db, "export-incidents", str(out)]) == 0
    assert "Wrote 300 incidents to" in capsys.readouterr().out
    with Store(db) as store:
        stored = store.incidents()
    # Times in microseconds, the unit every Parquet reader takes.
    written = pd.read_parquet(out)
    assert all(
        str(written[c].dtype) == "datetime64[us]" for c in ["occurred_on", "detected_at", "resolved_at"]
    )
    pd.testing.assert_frame_equal(written.astype(stored.dtypes.to_dict()), stored)
    pd.testing.assert_frame_equal(read_incidents(out), stored)
    assert main(["--db", db, "export-incidents", str(tmp_path / "out.csv")]) == 0
    text = pd.read_csv(tmp_path / "out.csv", dtype=str, keep_default_na=False)
    assert text.loc[text["incident_id"] == "DEMO-000001", "source"].item() == '\'=HYPERLINK("http://x")'
    assert len(text) == 300


def test_export_incidents_refuses_an_unknown_extension_in_one_line(tmp_path: Path) -> None:
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "surveykit.cli",
            "--db",
            str(tmp_path / "x.db"),
            "export-incidents",
            "out.xlsx",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
    )
    assert result.returncode == 2
    assert result.stderr.strip() == (
        "surveykit: error: export-incidents writes .parquet or .csv files; got 'out.xlsx'"
    )
