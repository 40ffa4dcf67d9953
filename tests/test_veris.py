"""VERIS JSON incidents: VCDB directory layout, arrays, mapping rules and bad files."""

from __future__ import annotations

import json
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
