"""What the scale benchmarks share: each side of a case in a fresh interpreter, and the table.

Every case of ``bench/run.py`` runs surveykit and its baseline in fresh processes, so each
side's peak memory is its own, and keeps the fastest run of each side.
"""

from __future__ import annotations

import inspect
import json
import os
import platform
import subprocess
import sys
from collections.abc import Sequence
from typing import Any

__all__ = ["COLUMNS", "PEAK_MB_SOURCE", "fastest", "machine", "peak_mb", "run_fresh", "table", "table_row"]


def peak_mb() -> float:
    """This process's peak resident memory in MB since it started its program.

    Linux's ``ru_maxrss`` survives ``exec``, so a child would report its parent's size at the
    fork when that is larger; the high-water mark of the process's own memory (``VmHWM``) does
    not. ``ru_maxrss`` elsewhere (kilobytes on Linux, bytes on macOS). Its imports are its own,
    so that its source (:data:`PEAK_MB_SOURCE`) runs anywhere.
    """
    import resource
    import sys
    from pathlib import Path

    status = Path("/proc/self/status")
    if status.exists():
        for line in status.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 2**20 if sys.platform == "darwin" else peak / 1024


PEAK_MB_SOURCE = inspect.getsource(peak_mb)
""":func:`peak_mb` as source, for the scripts a benchmark runs with ``python -c``."""


def run_fresh(arguments: Sequence[str], what: str) -> Any:
    """Run ``python *arguments`` in a fresh interpreter; the JSON its last line of output prints.

    Raises
    ------
    RuntimeError
        Naming ``what`` and ending with the child's error output, when it fails.
    """
    done = subprocess.run([sys.executable, *arguments], capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{what} failed:\n{done.stderr[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def fastest(runs: Sequence[dict[str, float]]) -> dict[str, float]:
    """The fastest of one side's runs, with the largest peak memory of them all."""
    best = min(runs, key=lambda run: run["seconds"])
    return {**best, "peak_mb": max(run["peak_mb"] for run in runs)}


def table_row(
    area: str,
    case: str,
    rows: int,
    engine: str,
    ours: dict[str, float],
    baseline: str,
    theirs: dict[str, float],
) -> dict[str, object]:
    """One row of the benchmark table: both sides' seconds and peak memory, and their ratio."""
    return {
        "area": area,
        "case": case,
        "rows": rows,
        "engine": engine,
        "surveykit_s": ours["seconds"],
        "baseline": baseline,
        "baseline_s": theirs["seconds"],
        "ratio": ours["seconds"] / theirs["seconds"],
        "surveykit_peak_mb": ours["peak_mb"],
        "baseline_peak_mb": theirs["peak_mb"],
    }


COLUMNS = [
    ("area", "area", "{}"),
    ("case", "case", "{}"),
    ("rows", "rows", "{:,}"),
    ("engine", "engine", "{}"),
    ("surveykit_s", "surveykit s", "{:.2f}"),
    ("baseline", "baseline", "{}"),
    ("baseline_s", "baseline s", "{:.2f}"),
    ("ratio", "ratio", "{:.2f}x"),
    ("surveykit_peak_mb", "surveykit peak MB", "{:,.0f}"),
    ("baseline_peak_mb", "baseline peak MB", "{:,.0f}"),
]


def machine() -> str:
    """Cores, memory and Python of this machine, for the table's heading."""
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return (
        f"{os.cpu_count()} cores, {memory:.0f} GiB memory, Python {platform.python_version()}, "
        f"{platform.system()} {platform.machine()}"
    )


def cell(row: dict, key: str, form: str) -> str:
    value = row.get(key)
    if value is None or value == "":
        return "-"
    try:
        return form.format(value)
    except (ValueError, TypeError):
        return str(value)


def table(rows: list[dict], markdown: bool) -> str:
    """The rows as an aligned text table, or a Markdown table."""
    header = [title for _, title, _ in COLUMNS]
    body = [[cell(row, key, form) for key, _, form in COLUMNS] for row in rows]
    if markdown:
        lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
        lines += ["| " + " | ".join(line) + " |" for line in body]
        return "\n".join(lines)
    widths = [max(len(h), *(len(line[i]) for line in body)) if body else len(h) for i, h in enumerate(header)]
    lines = ["  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True))]
    lines.append("  ".join("-" * w for w in widths))
    lines += ["  ".join(c.ljust(w) for c, w in zip(line, widths, strict=True)) for line in body]
    return "\n".join(lines)
