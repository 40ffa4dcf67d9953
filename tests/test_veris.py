"""VERIS JSON incidents: VCDB directory layout, arrays, mapping rules and bad files."""

from __future__ import annotations

import json
import re
import warnings
from pathlib import Path

import pandas as pd
import pytest

from surveykit import (
    ImportValidationError,
    Store,
    import_incidents,
    incident_counts,
    read_incidents,
    validate_incidents,
)
from surveykit.exceptions import DataRepairWarning
from surveykit.incidents.veris import veris_incident_type, veris_to_incident

BEC = {
    "social": {"variety": ["Pretexting"], "vector": ["Email"], "target": ["Finance"]},
}


def _record(number: int, year: int, country: str = "US", **extra: object) -> dict[str, object]:
    record: dict[str, object] = {
        "schema_version": "1.3.7",
        "incident_id": f"00000000-0000-0000-0000-{number:012d}",
        "timeline": {"incident": {"year": year}},
        "victim": {"country": [country], "region": ["019021"] if country == "US" else ["000000"]},
        "action": {"Unknown": {"notes": ""}},
        "plus": {"master_id": f"m-{number}"},
    }
    record.update(extra)
    return record


@pytest.fixture
def vcdb(tmp_path: Path) -> Path:
    """A VCDB-style folder: one incident per file, 2014: 4, 2015: 6, 2016: 2 valid incidents."""
    folder = tmp_path / "validated"
    folder.mkdir()
    plan = [(2014, "US")] * 2 + [(2014, "GB")] * 2 + [(2015, "US")] * 3 + [(2015, "ZA")] * 2
    plan += [(2015, "Unknown"), (2016, "AU"), (2016, "Other")]
    for number, (year, country) in enumerate(plan, start=1):
        record = _record(number, year, country)
        if number % 3 == 0:  # some with full dates, the rest with the month missing
            record["timeline"] = {"incident": {"year": year, "month": 5, "day": 17}}
        suffix = ".JSON" if number % 4 == 0 else ".json"
        (folder / f"{record['incident_id']}{suffix}").write_text(json.dumps(record))
    # The same incident recorded twice (same plus.master_id): counted once.
    duplicate = _record(99, 2015, plus={"master_id": "m-1"})
    (folder / "zz-duplicate.json").write_text(json.dumps(duplicate))
    (folder / "broken.json").write_text('{"incident_id": "x", "timeline": ')
    (folder / "no-year.json").write_text(json.dumps({"incident_id": "y", "timeline": {"incident": {}}}))
    (folder / "notes.txt").write_text("not JSON, not read")
    return folder


def test_vcdb_folder_counts_and_bad_files(vcdb: Path) -> None:
    checked = validate_incidents(vcdb)
    log = checked.incidents
    assert len(log) == 12 and checked.duplicates == 1
    counts = incident_counts(log).set_index("period")["count"]
    assert counts.to_dict() == {"2014": 4, "2015": 6, "2016": 2}
    assert log["country"].isna().sum() == 2  # "Unknown" and "Other" are missing, not invented
    assert log["month"].notna().sum() == 4 and log["occurred_on"].notna().sum() == 4
    assert set(log.loc[log["country"] == "US", "region"]) == {"021"}
    assert log["incident_type"].isna().all()  # every action is Unknown
    named = {p.row: p.reason for p in checked.problems}
    assert set(named) == {"broken.json", "no-year.json"}
    assert named["broken.json"].startswith("not valid JSON")
    assert "timeline.incident.year is required" in named["no-year.json"]
    with pytest.raises(ImportValidationError, match=r"broken\.json"):
        read_incidents(vcdb)


def test_import_twice_adds_nothing(vcdb: Path, sqlite_url: str) -> None:
    store = Store(sqlite_url)
    first = import_incidents(store, vcdb, skip_invalid=True)
    assert (first.added, first.skipped_duplicates, len(first.rejected)) == (12, 1, 2)
    again = import_incidents(store, vcdb, skip_invalid=True)
    assert (again.added, again.skipped_duplicates) == (0, 13)
    assert store.count_incidents() == 12


def test_array_file_and_single_object(tmp_path: Path) -> None:
    records = [_record(1, 2015), _record(2, 2016, "ZA"), "not an incident"]
    (tmp_path / "many.json").write_text(json.dumps(records))
    checked = validate_incidents(tmp_path / "many.json")
    assert len(checked.incidents) == 2
    assert [(p.row, p.reason) for p in checked.problems] == [
        ("many.json record 3", "not a VERIS incident: expected a JSON object, found str")
    ]
    (tmp_path / "one.json").write_text(json.dumps(_record(3, 2014, "GB")))
    assert read_incidents(tmp_path / "one.json")["country"].tolist() == ["GB"]


def test_bad_country_code_names_the_veris_field(tmp_path: Path) -> None:
    (tmp_path / "a.json").write_text(json.dumps(_record(1, 2015, "USA")))
    problem = validate_incidents(tmp_path / "a.json").problems[0]
    assert (problem.row, problem.column, problem.value) == ("a.json", "victim.country", "USA")


@pytest.mark.parametrize(
    ("action", "attribute", "asset", "expected"),
    [
        (BEC, {}, [], "whaling_bec"),
        ({"social": {"variety": ["Phishing"], "vector": ["Email"], "target": ["Executive"]}}, {}, [],
         "whaling_bec"),
        ({"social": {"variety": ["Pretexting"], "vector": ["Email"], "target": ["End-user"]}},
         {"integrity": {"variety": ["Misrepresentation", "Fraudulent transaction"]}}, [], "whaling_bec"),
        ({"social": {"variety": ["Phishing"], "vector": ["Email"], "target": ["End-user"]}}, {}, [],
         "phishing"),
        ({"social": {"variety": ["Pretexting"], "vector": ["Phone"], "target": ["Finance"]}}, {}, [],
         "other"),
        ({"malware": {"variety": ["Ransomware"]}}, {}, [], "malware"),
        ({"hacking": {"variety": ["Use of stolen creds"]}}, {}, [], "account_compromise"),
        ({"error": {"variety": ["Misdelivery"]}}, {}, [], "data_loss"),
        ({"hacking": {"variety": ["DoS"]}}, {"availability": {"variety": ["Interruption"]}},
         [{"variety": "S - Mail"}], "email_outage"),
        ({"Unknown": {}}, {}, [], None),
    ],
)  # fmt: skip
def test_incident_type_rules(action: dict, attribute: dict, asset: list, expected: str | None) -> None:
    record = _record(1, 2016, action=action, attribute=attribute, asset={"assets": asset})
    assert veris_incident_type(record) == expected


def test_durations_loss_and_severity(tmp_path: Path) -> None:
    record = _record(
        1,
        2016,
        action=BEC,
        timeline={
            "incident": {"year": 2016, "month": 3, "day": 2},
            "discovery": {"unit": "Hours", "value": 5},
            "containment": {"unit": "Days", "value": 2},
        },
        impact={"overall_rating": "Damaging", "loss": [{"variety": "Asset and fraud", "amount": 40000},
                                                      {"variety": "Legal", "amount": 2500}]},
    )  # fmt: skip
    row = veris_to_incident(record)
    assert row["detected_at"] == pd.Timestamp("2016-03-02 05:00")
    assert row["resolved_at"] == pd.Timestamp("2016-03-04 05:00")
    assert row["loss_amount"] == 42500.0 and row["severity"] == "high"
    # A unit without a value ("Days") and unknown containment give no times.
    record["timeline"]["discovery"] = {"unit": "Days"}
    assert veris_to_incident(record)["detected_at"] is None
    # Missing day: the start is unknown, so no timestamps are invented.
    record["timeline"] = {"incident": {"year": 2016, "month": 3}, "discovery": {"unit": "Hours", "value": 1}}
    assert veris_to_incident(record)["detected_at"] is None


# --- values kept at the precision that is valid ------------------------------------------------
# VCDB's validated folder holds a few records with impossible dates or a NAICS code in
# victim.region; each case: the bad timeline/region, the same record without the bad value (what
# the incident must read as), and the repairs expected as (field, value, what was kept).
REPAIR_CASES = {
    "day-without-month.json": (
        {"incident": {"year": 2016, "day": 17}},
        None,
        {"incident": {"year": 2016}},
        None,
        [("timeline.incident.day", "17", "a day without a month; kept the year 2016")],
    ),
    "feb-29-2015.json": (
        {"incident": {"year": 2015, "month": 2, "day": 29}},
        None,
        {"incident": {"year": 2015, "month": 2}},
        None,
        [("timeline.incident.day", "29", "2015-02 has no day 29; kept the year and month 2015-02")],
    ),
    "april-31.json": (
        {"incident": {"year": 2016, "month": 4, "day": 31}},
        None,
        {"incident": {"year": 2016, "month": 4}},
        None,
        [("timeline.incident.day", "31", "2016-04 has no day 31; kept the year and month 2016-04")],
    ),
    "naics-region.json": (
        None,
        ["522110"],
        None,
        ["000000"],
        [("victim.region", "522110", "not a UN M.49 region code; region left missing")],
    ),
    "month-13.json": (
        {"incident": {"year": 2014, "month": 13, "day": 5}},
        None,
        {"incident": {"year": 2014}},
        None,
        [
            ("timeline.incident.month", "13", "not a month (1 to 12); kept the year 2014"),
            ("timeline.incident.day", "5", "a day without a month; kept the year 2014"),
        ],
    ),
    "unknown-sub-region.json": (
        None,
        ["019201", "019021"],
        None,
        ["019000"],
        [("victim.region", "019201", "201 is not a UN M.49 sub-region; kept the region 019 (Americas)")],
    ),
}


def _repair_record(number: int, timeline: dict | None, region: list[str] | None) -> dict[str, object]:
    """A full record (action, impact, discovery) so that any unintended change would show."""
    record = _record(
        number,
        2015,
        action=BEC,
        impact={"overall_rating": "Painful", "overall_amount": 1200},
        timeline={
            "incident": {"year": 2015, "month": 6, "day": 1},
            "discovery": {"unit": "Days", "value": 2},
        },
    )
    if timeline is not None:
        record["timeline"] = {**timeline, "discovery": {"unit": "Days", "value": 2}}
    if region is not None:
        record["victim"] = {"country": ["US"], "region": region}
    return record


def _repair_folders(tmp_path: Path) -> tuple[Path, Path]:
    """The records as found, and the same records with each bad value removed."""
    found, fixed = tmp_path / "found", tmp_path / "fixed"
    found.mkdir()
    fixed.mkdir()
    for number, (name, (timeline, region, good_timeline, good_region, _)) in enumerate(REPAIR_CASES.items()):
        (found / name).write_text(json.dumps(_repair_record(number, timeline, region)))
        (fixed / name).write_text(json.dumps(_repair_record(number, good_timeline, good_region)))
    # an untouched record beside them: read exactly as before
    for folder in (found, fixed):
        (folder / "clean.json").write_text(json.dumps(_repair_record(99, None, None)))
    return found, fixed


def test_impossible_dates_and_regions_are_kept_at_the_valid_precision(tmp_path: Path) -> None:
    found, fixed = _repair_folders(tmp_path)
    with pytest.warns(DataRepairWarning) as caught:
        log = read_incidents(found)
    repairs = [w.message for w in caught if isinstance(w.message, DataRepairWarning)]
    assert len(repairs) == 1  # one warning for the whole folder
    listed = {(r.row, r.column, r.value, r.kept) for r in repairs[0].repairs}
    expected = {(name, *repair) for name, case in REPAIR_CASES.items() for repair in case[4]}
    assert listed == expected
    for name, field, value, _ in expected:
        assert f"{name}, field {field!r} (value {value!r})" in str(repairs[0])
    # Every other value is what the record says once the bad value is removed, and the
    # clean record is untouched.
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        reference = read_incidents(fixed)
    pd.testing.assert_frame_equal(log, reference)
    by_file = log.set_index("source")
    assert by_file.loc["feb-29-2015.json", ["year", "month"]].tolist() == [2015, 2]
    assert pd.isna(by_file.loc["feb-29-2015.json", "day"])
    assert by_file.loc["month-13.json", "year"] == 2014 and pd.isna(by_file.loc["month-13.json", "month"])
    assert pd.isna(by_file.loc["naics-region.json", "region"])
    assert by_file.loc["unknown-sub-region.json", "region"] == "019"
    assert by_file.loc["clean.json", "occurred_on"] == pd.Timestamp("2015-06-01")


@pytest.mark.parametrize("name", list(REPAIR_CASES))
def test_each_repair_alone(tmp_path: Path, name: str) -> None:
    timeline, region, good_timeline, good_region, expected = REPAIR_CASES[name]
    (tmp_path / name).write_text(json.dumps(_repair_record(1, timeline, region)))
    with pytest.warns(DataRepairWarning, match=re.escape(f"{name}, field {expected[0][0]!r}")):
        checked = validate_incidents(tmp_path / name)
    assert checked.problems == [] and len(checked.incidents) == 1
    assert [(r.column, r.value, r.kept) for r in checked.repairs] == expected
    (tmp_path / "good.json").write_text(json.dumps(_repair_record(1, good_timeline, good_region)))
    reference = read_incidents(tmp_path / "good.json").drop(columns="source")
    pd.testing.assert_frame_equal(checked.incidents.drop(columns="source"), reference)


def test_unusable_records_still_fail_the_import_whole(tmp_path: Path, sqlite_url: str) -> None:
    found, _ = _repair_folders(tmp_path)
    (found / "no-year.json").write_text(
        json.dumps(_repair_record(50, {"incident": {"year": None, "month": 2, "day": 30}}, None))
    )
    (found / "a-list.json").write_text(json.dumps([1, 2]))
    store = Store(sqlite_url)
    with pytest.warns(DataRepairWarning), pytest.raises(ImportValidationError) as caught:
        import_incidents(store, found)
    assert store.count_incidents() == 0
    assert {(p.row, p.column) for p in caught.value.problems} == {
        ("no-year.json", "timeline.incident.year"),
        ("a-list.json record 1", ""),
        ("a-list.json record 2", ""),
    }
    with pytest.warns(DataRepairWarning):
        report = import_incidents(store, found, skip_invalid=True)
    assert report.added == len(REPAIR_CASES) + 1 and len(report.rejected) == 3
    assert len(report.repaired) == 7 and "7 values repaired" in report.summary()
