"""Small incident logs built for the incident tests."""

from __future__ import annotations

import numpy as np
import pandas as pd


def year_log(counts: dict[int, int], losses: dict[int, int] | None = None, **columns: object) -> pd.DataFrame:
    """A log with year-only dates and, optionally, losses summing exactly to the given totals."""
    years = np.repeat(list(counts), list(counts.values()))
    frame = pd.DataFrame(
        {
            "year": pd.array(years, dtype="Int64"),
            "month": pd.array([pd.NA] * len(years), dtype="Int64"),
            "day": pd.array([pd.NA] * len(years), dtype="Int64"),
            **columns,
        }
    )
    if losses is not None:
        amount = np.full(len(years), np.nan)
        for year, total in losses.items():
            rows = np.flatnonzero(years == year)
            share, remainder = divmod(total, len(rows))
            amount[rows] = share
            amount[rows[:remainder]] += 1
        frame["loss_amount"] = pd.array(amount, dtype="Float64")
    return frame


def monthly_log(monthly: pd.DataFrame) -> pd.DataFrame:
    """A log with one incident per count in a frame of ``year, month, count`` (day 1)."""
    repeats = monthly["count"].to_numpy()
    return pd.DataFrame(
        {
            "year": pd.array(np.repeat(monthly["year"].to_numpy(), repeats), dtype="Int64"),
            "month": pd.array(np.repeat(monthly["month"].to_numpy(), repeats), dtype="Int64"),
            "day": pd.array(np.ones(repeats.sum(), dtype=int), dtype="Int64"),
        }
    )
