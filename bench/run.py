"""The one benchmark table: surveykit against a plain baseline for each case, in the same run.

Runs the scale benchmarks and prints one table, every figure a ratio measured in this run, with
each side's peak memory (each case runs in its own process):

- ``incidents`` (bench/scale_incidents.py): counts and year-over-year growth on 1M, 10M and 50M
  generated rows on each engine, against a bare DuckDB ``GROUP BY`` on the same Parquet file and
  against plain pandas; ``read_incidents`` on a 1M-row CSV against ``pandas.read_csv``;
- ``survey`` (bench/scale_survey.py): every question by country on 1M weighted responses against
  a pandas weighted group-by; raking 1M rows against the same raking on the table of cell totals;
- ``responses`` (bench/scale_responses.py): reading 1M stored responses against ``read_sql``.

    python bench/run.py [--quick] [--only incidents,survey,responses] [--markdown]

``--quick`` runs small sizes in well under a minute, to check the benchmarks themselves work.
"""

from __future__ import annotations

import argparse
import importlib
import sys
import time
from pathlib import Path

from _sides import machine, table

AREAS = {
    "incidents": "bench.scale_incidents",
    "survey": "bench.scale_survey",
    "responses": "bench.scale_responses",
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, to check the benchmarks run")
    parser.add_argument("--only", default=",".join(AREAS), help="areas to run, comma-separated")
    parser.add_argument("--markdown", action="store_true", help="print a Markdown table")
    args = parser.parse_args(argv)
    areas = [a.strip() for a in args.only.split(",") if a.strip()]
    unknown = sorted(set(areas) - set(AREAS))
    if unknown:
        parser.error(f"unknown areas {unknown}; choose from {sorted(AREAS)}")
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    rows: list[dict] = []
    started = time.perf_counter()
    for area in areas:
        module = importlib.import_module(AREAS[area])
        print(f"running {area} ...", file=sys.stderr, flush=True)
        rows += module.rows(quick=args.quick)
    print(f"surveykit benchmarks on {machine()}; {time.perf_counter() - started:.0f} s in all")
    print(table(rows, args.markdown))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
