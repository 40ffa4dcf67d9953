"""Reading and counting a large incident log against plain pandas in the same run.

Writes an N-row CSV log (default 1,000,000), then in fresh subprocesses (so each peak memory
is its own) runs

- surveykit: ``read_incidents(path)`` (sniffing, full validation, canonical schema, ids) and
  ``incident_counts(log, by="country")``;
- baseline: ``pandas.read_csv(path, engine="pyarrow")`` and ``groupby([year, country]).size()``
  on the year taken from the date column.

Prints seconds (best of three fresh processes each), the ratio and peak resident memory of each.

    python bench/bench_incidents.py [N]
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

_SURVEYKIT = """
import time, warnings
from surveykit import read_incidents, incident_counts
started = time.perf_counter()
log = read_incidents(PATH)
read = time.perf_counter() - started
counts = incident_counts(log, by="country")
total = time.perf_counter() - started
RESULT = {"read": read, "total": total, "rows": int(counts["count"].sum())}
"""

_BASELINE = """
import time
import pandas as pd
started = time.perf_counter()
frame = pd.read_csv(PATH, engine="pyarrow")
read = time.perf_counter() - started
year = frame["date"].str.slice(0, 4).astype(int)
counts = frame.groupby([year, frame["country"]]).size()
total = time.perf_counter() - started
RESULT = {"read": read, "total": total, "rows": int(counts.sum())}
"""


def write_log(path: Path, n: int, seed: int = 1) -> None:
    """An N-row helpdesk-style log: id, date, country, type, opened/closed times, loss."""
    rng = np.random.default_rng(seed)
    start = pd.Timestamp("2014-01-01").value // 10**9
    occurred = start + rng.integers(0, 3 * 365 * 86400, size=n)
    opened = occurred + rng.integers(0, 72 * 3600, size=n)
    closed = opened + rng.integers(600, 7 * 86400, size=n)
    unresolved = rng.random(n) < 0.02
    loss = np.where(rng.random(n) < 0.1, np.round(rng.lognormal(9, 1.2, n), 2), np.nan)

    def stamp(seconds: np.ndarray, fmt: str) -> pd.Index:
        return pd.to_datetime(seconds, unit="s").strftime(fmt)

    frame = pd.DataFrame(
        {
            "id": [f"INC-{i:07d}" for i in range(n)],
            "date": stamp(occurred, "%Y-%m-%d"),
            "country": rng.choice(["US", "GB", "ZA", "AU", "DE", "FR"], size=n),
            "type": rng.choice(["phishing", "whaling_bec", "malware", "email_outage"], size=n),
            "severity": rng.choice(["low", "medium", "high", "critical"], size=n),
            "opened": stamp(opened, "%Y-%m-%d %H:%M:%S"),
            "closed": np.where(unresolved, "", stamp(closed, "%Y-%m-%d %H:%M:%S")),
            "loss": loss,
        }
    )
    frame.to_csv(path, index=False)


def _run(code: str, path: Path) -> dict[str, float]:
    script = code.replace("PATH", repr(str(path))) + "\nimport json, resource\n"
    script += "RESULT['peak_mb'] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024\n"
    script += "print(json.dumps(RESULT))\n"
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def main(n: int = 1_000_000) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "log.csv"
        started = time.perf_counter()
        write_log(path, n)
        print(
            f"wrote {n:,} rows ({path.stat().st_size / 1e6:.0f} MB) in {time.perf_counter() - started:.1f} s"
        )
        ours = min((_run(_SURVEYKIT, path) for _ in range(3)), key=lambda run: run["total"])
        base = min((_run(_BASELINE, path) for _ in range(3)), key=lambda run: run["total"])
    assert ours["rows"] == base["rows"] == n
    print(f"{'':28}{'surveykit':>12}{'pandas':>12}{'ratio':>8}")
    for key, label in (("read", "read (s)"), ("total", "read + count (s)"), ("peak_mb", "peak memory (MB)")):
        print(f"{label:28}{ours[key]:12.2f}{base[key]:12.2f}{ours[key] / base[key]:8.2f}")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000)
