"""VERIS JSON incidents mapped to the canonical incident schema.

VERIS (the Vocabulary for Event Recording and Incident Sharing, behind the VERIS Community
Database and the Verizon DBIR) records one incident per JSON object. This module reads a single
object, an array of objects, or a directory with one object per file (the VCDB layout,
``*.json`` or ``*.JSON``, not recursive; only regular files: a symbolic link is reported, not
followed) and maps each record as follows; "Unknown", "Other" and absent values become missing.
A file nested deeper than :attr:`~surveykit._limits.Limits.max_json_depth` or larger than
:attr:`~surveykit._limits.Limits.max_file_bytes` is reported as a problem, not read.

============================  ==========================================================
canonical column              VERIS source
============================  ==========================================================
incident_id                   ``incident_id``; records sharing ``plus.master_id`` are one
                              incident: the first (by file name) is kept, the rest counted
                              as duplicates
year, month, day              ``timeline.incident.{year, month, day}``
country                       first known ``victim.country`` (ISO 3166-1 alpha-2)
region                        first known ``victim.region`` (six-digit UN M.49
                              region+sub-region, stored as the three-digit sub-region code)
incident_type                 rules below
impersonated_role             missing: VERIS does not record who was impersonated
severity                      ``impact.overall_rating``: Insignificant, Distracting -> low;
                              Painful -> medium; Damaging -> high; Catastrophic -> critical
detected_at                   incident date (midnight UTC, day known) + ``timeline.discovery``
resolved_at                   detected_at + ``timeline.containment``
loss_amount                   ``impact.overall_amount``, else the sum of ``impact.loss[].amount``
                              (in ``impact.iso_currency_code``; not converted)
source                        the file name (with the record number for arrays)
============================  ==========================================================

Incident type, first matching rule:

1. ``whaling_bec``: ``action.social.variety`` has Phishing or Pretexting, ``vector`` has Email,
   and either ``target`` has Executive or Finance or ``attribute.integrity.variety`` has
   Misrepresentation or Fraudulent transaction.
2. ``phishing``: social variety Phishing, or Pretexting by Email.
3. ``malware``: any ``action.malware``.
4. ``account_compromise``: ``action.hacking.variety`` has Use of stolen creds or Brute force.
5. ``data_loss``: ``attribute.confidentiality.data_disclosure`` is Yes, or ``action.error`` or
   ``action.physical`` has Loss, Misdelivery or Theft.
6. ``email_outage``: ``attribute.availability.variety`` has Interruption or Loss and an asset
   variety is ``S - Mail``.
7. ``other``: any other known action; missing when the only action is Unknown.

Impossible values are kept at the precision that is valid rather than rejecting the incident
(the public VCDB has a few), each listed in :attr:`VerisRecords.repairs`:

- a month outside 1 to 12 is dropped, keeping the year;
- a day without a month is dropped, keeping the year;
- a day that the month does not have (29 February 2015, 31 April) is dropped, keeping the year
  and month;
- a six-digit region whose sub-region is not an M.49 code (``"019201"``) keeps the region
  (``019``); any other region that is not an M.49 code (a NAICS code such as ``"522110"``) is
  left missing.

A record without a usable year is never repaired: it is reported as a problem.

Durations ``{unit, value}`` use Seconds to Weeks exactly, a month as 30.4375 days and a year as
365.25 days; a unit without a value (VERIS allows "Days" alone) gives no time.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import pandas as pd

from surveykit._limits import current_limits
from surveykit.exceptions import Problem, Repair, SurveykitError
from surveykit.incidents._parsing import MAX_YEAR, MIN_YEAR, region_code
from surveykit.incidents.schema import M49_REGIONS

__all__ = ["VerisRecords", "read_veris", "veris_incident_type", "veris_to_incident"]

_UNKNOWN = {"unknown", "other", "na", "n/a", ""}
_SEVERITY = {
    "insignificant": "low",
    "distracting": "low",
    "painful": "medium",
    "damaging": "high",
    "catastrophic": "critical",
}
_UNIT_SECONDS = {
    "seconds": 1.0,
    "minutes": 60.0,
    "hours": 3600.0,
    "days": 86400.0,
    "weeks": 7 * 86400.0,
    "months": 30.4375 * 86400.0,
    "years": 365.25 * 86400.0,
}


@dataclass
class VerisRecords:
    """VERIS records read from a file, array or directory, mapped to canonical raw values.

    Attributes
    ----------
    rows : list of dict
        One mapping per valid record, keyed by canonical column.
    labels : list of str
        Where each row came from (file name, with the record number for arrays).
    problems : list of Problem
        Files or records that are not valid VERIS, named with the reason.
    duplicates : int
        Records dropped because an earlier one has the same ``plus.master_id``.
    repairs : list of Repair
        Impossible dates and regions kept at the precision that is valid (see the module notes).
    """

    rows: list[dict[str, Any]] = field(default_factory=list)
    labels: list[str] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    duplicates: int = 0
    repairs: list[Repair] = field(default_factory=list)


def read_veris(path: str | Path, *, progress: bool | Callable[[float, str], None] = False) -> VerisRecords:
    """Read VERIS incidents from a JSON file (object or array) or a directory of JSON files.

    Parameters
    ----------
    path : str or Path
        A ``.json`` file or a directory of ``*.json``/``*.JSON`` files (VCDB layout).
    progress : bool or callable
        True shows a progress bar over the files on stderr; a callable is called as
        ``progress(share_done, message)`` about a hundred times over the files (for an app's
        progress bar).

    Raises
    ------
    SurveykitError
        If the path does not exist or a directory holds no JSON files.
    """
    path = Path(path)
    limits = current_limits()
    out = VerisRecords()
    if path.is_dir():
        files, refused = _folder_files(path)
        out.problems.extend(refused)
        if not files and not refused:
            raise SurveykitError(f"{path}: no *.json files in this folder (VCDB layout expected).")
    elif path.is_file():
        files = [path]
    else:
        raise SurveykitError(f"No VERIS file or folder at {str(path)!r}.")
    seen_master: set[str] = set()
    iterator: Any = files
    if progress is True:
        from tqdm.auto import tqdm

        iterator = tqdm(files, desc=f"Reading {path.name}", unit=" files", file=sys.stderr)
    step = max(1, len(files) // 100)
    for number, file in enumerate(iterator):
        if callable(progress) and number % step == 0:
            progress(number / len(files), f"Reading file {number + 1:,} of {len(files):,}")
        name = file.name
        size = file.stat().st_size
        if size > limits.max_file_bytes:
            reason = f"the file has {size:,} bytes, more than the {limits.max_file_bytes:,} allowed"
            out.problems.append(Problem(name, "", "", reason))
            continue
        try:
            document = json.loads(file.read_bytes().decode("utf-8-sig"))
        except UnicodeDecodeError as exc:
            out.problems.append(Problem(name, "", "", f"not UTF-8 text ({exc.reason})"))
            continue
        except json.JSONDecodeError as exc:
            reason = f"not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}"
            out.problems.append(Problem(name, "", "", reason))
            continue
        except RecursionError:
            document = _TOO_DEEP
        if document is _TOO_DEEP or _depth(document, limits.max_json_depth) > limits.max_json_depth:
            reason = f"arrays and objects nested more than {limits.max_json_depth} deep; not a VERIS record"
            out.problems.append(Problem(name, "", "", reason))
            continue
        if isinstance(document, list):
            records = [(f"{name} record {i + 1}", r) for i, r in enumerate(document)]
        else:
            records = [(name, document)]
        for label, record in records:
            problem = _check_record(label, record)
            if problem is not None:
                out.problems.append(problem)
                continue
            master = _get(record, "plus", "master_id")
            if isinstance(master, str) and master.strip():
                if master in seen_master:
                    out.duplicates += 1
                    continue
                seen_master.add(master)
            row, repairs = _repaired(veris_to_incident(record), label)
            out.repairs.extend(repairs)
            row["source"] = label
            out.rows.append(row)
            out.labels.append(label)
    return out


_TOO_DEEP = object()


def _folder_files(folder: Path) -> tuple[list[Path], list[Problem]]:
    """The regular ``*.json`` files directly inside ``folder``; links and escapes are refused.

    A symbolic link (or a file whose resolved path is outside the folder) could bring in any
    file the importing user can read, so it is reported instead of read.
    """
    root = folder.resolve()
    files: list[Path] = []
    refused: list[Problem] = []
    with os.scandir(folder) as entries:
        for entry in entries:
            if not entry.name.lower().endswith(".json"):
                continue
            if entry.is_symlink():
                reason = "a symbolic link; only regular files inside the folder are read"
                refused.append(Problem(entry.name, "", "", reason))
                continue
            if not entry.is_file(follow_symlinks=False):
                continue
            if Path(entry.path).resolve().parent != root:
                refused.append(Problem(entry.name, "", "", "resolves to a file outside the folder; not read"))
                continue
            files.append(Path(entry.path))
    return sorted(files), sorted(refused, key=lambda p: str(p.row))


def _depth(document: Any, limit: int) -> int:
    """How deep arrays and objects nest in a parsed JSON document (stops counting past ``limit``)."""
    deepest = 0
    stack: list[tuple[Any, int]] = [(document, 1)]
    while stack:
        value, level = stack.pop()
        if isinstance(value, dict | list):
            deepest = max(deepest, level)
            if deepest > limit:
                return deepest
            children = value.values() if isinstance(value, dict) else value
            stack.extend((child, level + 1) for child in children)
    return deepest


def veris_to_incident(record: Mapping[str, Any]) -> dict[str, Any]:
    """Map one VERIS record to canonical incident values (not yet validated).

    Parameters
    ----------
    record : mapping
        A parsed VERIS JSON object.

    Returns
    -------
    dict
        Keyed by canonical column (``source`` excluded); unknown values are None.
    """
    incident = _get(record, "timeline", "incident") or {}
    year, month, day = (incident.get(k) for k in ("year", "month", "day"))
    victim = record.get("victim")
    if isinstance(victim, list):  # VERIS 1.2 allowed several victims; the first is primary
        victim = victim[0] if victim else {}
    victim = victim if isinstance(victim, Mapping) else {}
    detected = resolved = None
    start = _day_start(year, month, day)
    if start is not None:
        discovery = _duration(_get(record, "timeline", "discovery"))
        if discovery is not None:
            detected = start + discovery
            containment = _duration(_get(record, "timeline", "containment"))
            if containment is not None:
                resolved = detected + containment
    rating = _get(record, "impact", "overall_rating")
    return {
        "incident_id": record.get("incident_id"),
        "year": year,
        "month": month,
        "day": day,
        "country": _first_known(victim.get("country")),
        "region": _first_known(victim.get("region"), unknown={"000000"}),
        "incident_type": veris_incident_type(record),
        "impersonated_role": None,
        "severity": _SEVERITY.get(rating.lower()) if isinstance(rating, str) else None,
        "detected_at": detected,
        "resolved_at": resolved,
        "loss_amount": _loss(record),
    }


def veris_incident_type(record: Mapping[str, Any]) -> str | None:
    """The canonical incident type of a VERIS record (see the module notes for the rules)."""
    action = record.get("action") if isinstance(record.get("action"), Mapping) else {}
    social = action.get("social") if isinstance(action.get("social"), Mapping) else None
    if social is not None:
        variety = _values(social.get("variety"))
        vector = _values(social.get("vector"))
        target = _values(social.get("target"))
        integrity = _values(_get(record, "attribute", "integrity", "variety"))
        email = "email" in vector
        lure = variety & {"phishing", "pretexting"}
        if (
            email
            and lure
            and (
                target & {"executive", "finance"}
                or integrity & {"misrepresentation", "fraudulent transaction"}
            )
        ):
            return "whaling_bec"
        if "phishing" in variety or ("pretexting" in variety and email):
            return "phishing"
    if "malware" in action:
        return "malware"
    if _values(_get(action, "hacking", "variety")) & {"use of stolen creds", "brute force"}:
        return "account_compromise"
    disclosure = _get(record, "attribute", "confidentiality", "data_disclosure")
    lost = (_values(_get(action, "error", "variety")) | _values(_get(action, "physical", "variety"))) & {
        "loss",
        "misdelivery",
        "theft",
    }
    if (isinstance(disclosure, str) and disclosure.lower() == "yes") or lost:
        return "data_loss"
    availability = _values(_get(record, "attribute", "availability", "variety"))
    assets = _get(record, "asset", "assets")
    asset_kinds = (
        {str(a.get("variety", "")).lower() for a in assets if isinstance(a, Mapping)}
        if isinstance(assets, list)
        else set()
    )
    if availability & {"interruption", "loss"} and "s - mail" in asset_kinds:
        return "email_outage"
    known = [k for k in action if k.lower() != "unknown"]
    return "other" if known else None


def _check_record(label: str, record: object) -> Problem | None:
    if not isinstance(record, Mapping):
        kind = type(record).__name__
        return Problem(label, "", "", f"not a VERIS incident: expected a JSON object, found {kind}")
    incident_id = record.get("incident_id")
    if not isinstance(incident_id, str) or not incident_id.strip():
        return Problem(label, "incident_id", _show(incident_id), "not valid VERIS: incident_id is missing")
    timeline = _get(record, "timeline", "incident")
    if not isinstance(timeline, Mapping) or "year" not in timeline:
        return Problem(
            label, "timeline.incident.year", "", "not valid VERIS: timeline.incident.year is required"
        )
    return None


def _repaired(row: dict[str, Any], label: str) -> tuple[dict[str, Any], list[Repair]]:
    """The row with impossible date parts and non-M.49 regions dropped, and a Repair for each.

    Dates are repaired only when the year is usable: a record without one is rejected instead,
    and its month or day would say nothing about when the incident happened.
    """
    row = dict(row)
    repairs: list[Repair] = []
    year = _whole(row["year"])
    if year is not None and MIN_YEAR <= year <= MAX_YEAR:
        month, day = row["month"], row["day"]
        if not _absent(month) and not 1 <= (_whole(month) or 0) <= 12:
            kept = f"not a month (1 to 12); kept the year {year}"
            repairs.append(Repair(label, "timeline.incident.month", _show(month), kept))
            month = row["month"] = None
        if not _absent(day):
            if _absent(month):
                kept = f"a day without a month; kept the year {year}"
                repairs.append(Repair(label, "timeline.incident.day", _show(day), kept))
                row["day"] = None
            elif not _is_date(year, _whole(month), _whole(day)):
                period = f"{year}-{_whole(month):02d}"
                kept = f"{period} has no day {_show(day)}; kept the year and month {period}"
                repairs.append(Repair(label, "timeline.incident.day", _show(day), kept))
                row["day"] = None
    region = row["region"]
    if region is not None:
        code, kept = _region_repair(region)
        if kept:
            repairs.append(Repair(label, "victim.region", _show(region), kept))
            row["region"] = code
    return row, repairs


def _region_repair(text: str) -> tuple[str | None, str]:
    """The region to keep and what was kept ('' when the value is valid as it is)."""
    if region_code(text) is not None:
        return text, ""
    top, sub = text[:3], text[3:]
    if len(text) == 6 and text.isdigit() and top in M49_REGIONS:
        return top + "000", f"{sub} is not a UN M.49 sub-region; kept the region {top} ({M49_REGIONS[top]})"
    return None, "not a UN M.49 region code; region left missing"


def _whole(value: object) -> int | None:
    """A whole number as an int (VERIS stores numbers; hand-made files may quote them)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    return None


def _absent(value: object) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _is_date(year: int, month: int | None, day: int | None) -> bool:
    if month is None or day is None:
        return False
    try:
        date(year, month, day)
    except ValueError:
        return False
    return True


def _show(value: object) -> str:
    return "" if value is None else str(value)[:60]


def _get(record: object, *keys: str) -> Any:
    for key in keys:
        if not isinstance(record, Mapping):
            return None
        record = record.get(key)
    return record


def _values(value: object) -> set[str]:
    if isinstance(value, str):
        return {value.lower()}
    if isinstance(value, list):
        return {str(v).lower() for v in value}
    return set()


def _first_known(value: object, unknown: set[str] | None = None) -> str | None:
    items = value if isinstance(value, list) else [value]
    for item in items:
        if isinstance(item, str) and item.strip().lower() not in _UNKNOWN and item not in (unknown or set()):
            return item.strip()
    return None


def _day_start(year: object, month: object, day: object) -> pd.Timestamp | None:
    if not all(isinstance(v, int) and not isinstance(v, bool) for v in (year, month, day)):
        return None
    try:
        return pd.Timestamp(year=year, month=month, day=day)
    except ValueError:
        return None  # the validator reports the impossible date


def _duration(value: object) -> pd.Timedelta | None:
    if not isinstance(value, Mapping):
        return None
    unit = value.get("unit")
    amount = value.get("value")
    if not isinstance(unit, str) or unit.lower() not in _UNIT_SECONDS:
        return None
    if not isinstance(amount, int | float) or isinstance(amount, bool) or amount < 0:
        return None
    return pd.Timedelta(seconds=float(amount) * _UNIT_SECONDS[unit.lower()])


def _loss(record: Mapping[str, Any]) -> float | None:
    overall = _get(record, "impact", "overall_amount")
    if isinstance(overall, int | float) and not isinstance(overall, bool):
        return float(overall)
    losses = _get(record, "impact", "loss")
    if isinstance(losses, list):
        amounts = [
            x["amount"] for x in losses if isinstance(x, Mapping) and isinstance(x.get("amount"), int | float)
        ]
        if amounts:
            return float(sum(amounts))
    return None
