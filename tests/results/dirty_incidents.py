"""The dirty incident logs of tests/test_incidents.py, and the script that stored their expected output.

The logs (5,000 rows, fixed seed) mix every kind of bad and odd cell: impossible and partial dates,
mixed date forms, unknown countries, blanks, repeated and clashing ids, NUL bytes and Windows-1252
bytes. The tests write them with :func:`write`; the expected frames (``*_expected.parquet``),
problems (``*_problems.csv.gz``) and counts were produced by the reader before it moved its checks
to Arrow (main at 4344abc), with

    PYTHONPATH=/work/main python3 tests/results/dirty_incidents.py
"""

from __future__ import annotations

import random
import sys
import warnings
from pathlib import Path

HERE = Path(__file__).parent

_DATES = [
    "2015-02-29",
    "2016-02-29",
    "2015-04-31",
    "2015-13-01",
    "2015-00-10",
    "2015",
    "2015-03",
    "2015-3",
    "2015-13",
    "2015/3/4",
    "3/4/2015",
    "2015-03-04 10:00",
    "2015-03-04T10:00:00Z",
    "1969-12-31",
    "2031-01-01",
    " 2015-03-04",
    "2015-03-04 ",
    "2015-3-4",
    "",
    "unknown",
    "n/a",
    "1970",
    "2015-03-04 25:00",
    "20150304",
    "2015-03-04x",
]
_STAMPS = [
    "",
    "2015-02-29 10:00:00",
    "2015-01-01 24:00:00",
    "2015-01-01T10:00:00+02:00",
    "2015/01/02 10:00",
    "yesterday",
    "2015-01-01 23:59:60",
    "2015-01-01",
    "2015-01-01 10:00",
    " 2015-01-01 10:00:00",
    "2015-06-01 12:00:00.5",
    "N/A",
    "2015-01-01 10:00:00Z",
]
_COUNTRIES = ["US", "gb", "UK", " de ", "XX", "", "Unknown", "Côte d'Ivoire", "ZZ", "za", "-"]
_REGIONS = ["", "154", "Northern Europe", "150154", "999", "Europe", "541511", "21", "unknown"]
_TYPES = ["phishing", "BEC", "Spear phishing", "weird", "", "ransomware", "Malware", "n/a"]
_ROLES = ["", "CEO", "chief financial officer", "janitor", "hr"]
_SEVERITIES = ["low", "Med", "SEVERE", "x", "", "critical"]
_LOSSES = ["", "1000", "$1,000.50", "-5", "inf", "abc", "1e3", "1234.567", "€ 12 000", "0.1", "12,5"]
_SOURCES = ["", "helpdesk", "  ", "x" * 300, "Zürich desk", "\t=1+1"]


def _stamp(rng: random.Random) -> str:
    return f"{rng.randint(2014, 2017)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d} " + (
        f"{rng.randint(0, 23):02d}:{rng.randint(0, 59):02d}:{rng.randint(0, 59):02d}"
    )


def rows(n: int = 5000, seed: int = 11, odd_share: float = 0.12) -> list[list[str]]:
    """The dirty log's rows, header first; ``odd_share`` of the cells are odd."""
    rng = random.Random(seed)
    odd = lambda: rng.random() < odd_share  # noqa: E731
    header = [
        "id", "date", "year", "country", "region", "type", "impersonated", "severity", "detected",
        "resolved", "loss", "source",
    ]  # fmt: skip
    out = [header]
    for i in range(n):
        date = f"{rng.randint(2014, 2017)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"
        detected = _stamp(rng)
        resolved = detected[:11] + "23:59:59" if rng.random() < 0.8 else ""
        ident = f"INC-{i:05d}"
        if odd():
            ident = rng.choice(["", "   ", f"INC-{rng.randint(0, i):05d}", "y" * 140, f"INC-{i} ", "\tINC"])
        row = [
            ident,
            rng.choice(_DATES) if odd() else date,
            rng.choice(["2014", "2015", "x", "1900", ""]) if odd() else "",
            rng.choice(_COUNTRIES) if odd() else rng.choice(["US", "GB", "ZA"]),
            rng.choice(_REGIONS) if odd() else "",
            rng.choice(_TYPES) if odd() else rng.choice(["phishing", "malware"]),
            rng.choice(_ROLES) if odd() else "",
            rng.choice(_SEVERITIES) if odd() else "low",
            rng.choice(_STAMPS) if odd() else detected,
            rng.choice(_STAMPS) if odd() else resolved,
            rng.choice(_LOSSES) if odd() else rng.choice(["", "", "", "250", "99.99"]),
            rng.choice(_SOURCES) if odd() else "",
        ]
        if rng.random() < 0.01:
            row = [""] * len(header)  # a blank line
        elif rng.random() < 0.004:
            row[rng.randrange(1, len(header))] += "\x00"
        out.append(row)
    # An exact repeat and a clash on the same id.
    out.append(list(out[10]))
    clash = list(out[20])
    clash[3] = "AU" if clash[3] != "AU" else "US"
    out.append(clash)
    return out


def write(path: Path, encoding: str, with_ids: bool = True, odd_share: float = 0.12) -> Path:
    """Write the dirty log; ``with_ids=False`` leaves the id column out (content ids)."""
    import csv

    lines = rows(odd_share=odd_share)
    if not with_ids:
        lines = [line[1:] for line in lines]
    with path.open("w", newline="", encoding=encoding) as handle:
        csv.writer(handle).writerows(lines)
    return path


# Windows-1252 with ids (read by the pandas reader), UTF-8 without ids (read by pyarrow), and a tidy
# UTF-8 log (only blank lines, NUL bytes, a repeat and a clash) whose cells are nearly all canonical.
LOGS = {
    "dirty_incidents_cp1252": ("cp1252", True, 0.12),
    "dirty_incidents_utf8": ("utf-8", False, 0.12),
    "tidy_incidents_utf8": ("utf-8", True, 0.0),
}


def main() -> None:
    import tempfile

    import pandas as pd

    from surveykit import validate_incidents

    folder = Path(tempfile.mkdtemp())
    for name, (encoding, with_ids, odd_share) in LOGS.items():
        path = write(folder / f"{name}.csv", encoding, with_ids, odd_share)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            checked = validate_incidents(path)
        checked.incidents.to_parquet(HERE / f"{name}_expected.parquet")
        problems = checked.problems_frame()
        problems["row"] = problems["row"].astype(str)
        problems.to_csv(HERE / f"{name}_problems.csv.gz", index=False)
        print(name, len(checked.incidents), len(problems), checked.duplicates, file=sys.stderr)
        pd.Series({"duplicates": checked.duplicates, "rows": checked.rows}).to_json(
            HERE / f"{name}_counts.json"
        )


if __name__ == "__main__":
    main()
