"""An incident log at a glance: growth by type and by country, counts, trend and time to resolve.

:func:`incident_overview` runs the incident estimators once on a log, filtered to one incident
type or country if asked, up to a period end, for a page or a briefing. Each part is computed on
its own: a log too short for year-over-year growth still gets its trend and time to resolve, and
the reason a part is missing is in :attr:`IncidentOverview.notes`.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import pandas as pd

from surveykit.exceptions import IncompleteDataWarning, SurveykitError
from surveykit.incidents.counts import incident_counts
from surveykit.incidents.durations import resolution_curve, time_to_resolve
from surveykit.incidents.growth import yoy_growth
from surveykit.incidents.trend import trend_line
from surveykit.publishing.findings import growth_finding

__all__ = ["INCIDENT_TYPE_LABELS", "IncidentOverview", "incident_overview"]

INCIDENT_TYPE_LABELS: dict[str, str] = {
    "whaling_bec": "Whaling/BEC",
    "phishing": "Phishing",
    "malware": "Malware",
    "account_compromise": "Account compromise",
    "data_loss": "Data loss",
    "email_outage": "Email outage",
    "other": "Other",
}
"""Display names of the canonical incident types."""


@dataclass(frozen=True)
class IncidentOverview:
    """What :func:`incident_overview` found; a part is None when it could not be computed.

    Attributes
    ----------
    as_of : Timestamp or None
        The period end: every year is counted from 1 January to this day and month.
    window : str
        The period compared, in words: ``"2016"`` or ``"January to June 2016"``.
    log_size : int
        Incidents in the (filtered) log.
    growth_by_type, growth_by_country : DataFrame or None
        :func:`~surveykit.yoy_growth` rows of the period end's year, by ``incident_type`` and by
        ``country``.
    findings : list of str
        A :func:`~surveykit.publishing.findings.growth_finding` sentence for every type, then
        every country (suppressed rows have none).
    counts, growth : DataFrame or None
        :func:`~surveykit.incident_counts` and :func:`~surveykit.yoy_growth` of the whole
        (filtered) log by year, for :func:`~surveykit.plot_counts`.
    trend : DataFrame or None
        :func:`~surveykit.trend_line` up to the period end's month, for :func:`~surveykit.plot_trend`.
    curve, resolve_times : DataFrame or None
        :func:`~surveykit.resolution_curve` and :func:`~surveykit.time_to_resolve` (median and
        90th percentile, in hours) by incident type, over every incident with a detection time.
    notes : list of str
        Incidents left out and parts that could not be computed, with the reason.
    """

    as_of: pd.Timestamp | None
    window: str
    log_size: int
    growth_by_type: pd.DataFrame | None = None
    growth_by_country: pd.DataFrame | None = None
    findings: list[str] = field(default_factory=list)
    counts: pd.DataFrame | None = None
    growth: pd.DataFrame | None = None
    trend: pd.DataFrame | None = None
    curve: pd.DataFrame | None = None
    resolve_times: pd.DataFrame | None = None
    notes: list[str] = field(default_factory=list)


def incident_overview(
    log: pd.DataFrame,
    *,
    as_of: str | date | pd.Timestamp | None = None,
    incident_type: str | None = None,
    country: str | None = None,
    level: float = 0.95,
    min_n: int = 5,
    caution_n: int = 30,
) -> IncidentOverview:
    """Year-over-year growth by type and by country, counts, trend and time to resolve.

    Parameters
    ----------
    log : DataFrame
        Incidents in the canonical schema (``Store.incidents()``).
    as_of : date, optional
        The period end. Each year is counted from 1 January to its day and month (31 December
        compares whole years), and the trend stops at its month. The log's latest incident
        date by default.
    incident_type, country : str, optional
        Keep only this incident type or country (the growth by type is then of that type
        only, and likewise by country).
    level : float
        Confidence level of every interval.
    min_n, caution_n : int
        Disclosure thresholds, as for :func:`~surveykit.incident_counts`.

    Returns
    -------
    IncidentOverview

    Raises
    ------
    SurveykitError
        If no incident is left after filtering.
    """
    if incident_type is not None:
        log = log[(log["incident_type"] == incident_type).fillna(False).to_numpy(dtype=bool)]
    if country is not None:
        log = log[(log["country"] == country).fillna(False).to_numpy(dtype=bool)]
    if log.empty:
        chosen = " and ".join(str(v) for v in (incident_type, country) if v is not None)
        raise SurveykitError(f"No stored incidents of {chosen}; choose another filter.")
    notes: list[str] = []
    end = _period_end(log) if as_of is None else pd.Timestamp(as_of)
    whole_year = end is not None and (end.month, end.day) == (12, 31)
    window = "" if end is None else str(end.year) if whole_year else f"January to {end:%B %Y}"
    if end is not None and end.month == 1:
        window = f"1 to {end.day} January {end.year}"
    options: dict[str, Any] = {"level": level, "min_n": min_n, "caution_n": caution_n}
    found: dict[str, pd.DataFrame | None] = {}

    def attempt(part: str, what: str, compute: Callable[[], pd.DataFrame]) -> None:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", IncompleteDataWarning)
            try:
                found[part] = compute()
            except SurveykitError as error:
                found[part] = None
                notes.append(f"No {what}: {error}")
        for warning in caught:
            if issubclass(warning.category, IncompleteDataWarning):
                text = f"{what[:1].upper()}{what[1:]}: {warning.message}"
                if text not in notes:
                    notes.append(text)

    current = end.year if end is not None else None
    # Whole years need no cut-off day, which would leave out incidents dated to the year only.
    cut = None if whole_year else end
    years = log if current is None else log[(log["year"] <= current).fillna(False).to_numpy(dtype=bool)]

    def latest(frame: pd.DataFrame) -> pd.DataFrame:
        return frame[frame["period"] == str(current)].reset_index(drop=True)

    attempt(
        "by_type",
        "growth by incident type",
        lambda: latest(yoy_growth(years, by="incident_type", as_of=cut, **options)),
    )
    attempt(
        "by_country",
        "growth by country",
        lambda: latest(yoy_growth(years, by="country", as_of=cut, **options)),
    )
    attempt("counts", "counts by year", lambda: incident_counts(years, as_of=cut, **options))
    attempt("growth", "growth by year", lambda: yoy_growth(years, as_of=cut, **options))
    trend_end = None if end is None else f"{end:%Y-%m}"
    attempt("trend", "monthly trend", lambda: trend_line(log[_up_to(log, end)], end=trend_end, **options))
    attempt(
        "curve",
        "time-to-resolve curve",
        lambda: resolution_curve(log, "incident_type", unit="hours", **options),
    )
    attempt(
        "resolve_times",
        "time to resolve",
        lambda: time_to_resolve(log, "incident_type", unit="hours", **options),
    )
    findings = []
    for part, column in (("by_type", "incident_type"), ("by_country", "country")):
        frame = found.get(part)
        if frame is None:
            continue
        for _, row in frame.iterrows():
            group = row[column]
            label = INCIDENT_TYPE_LABELS.get(str(group), str(group))
            what = (
                f"{label[:1].lower()}{label[1:]} incidents"
                if column == "incident_type"
                else f"incidents in {group}"
            )
            sentence = growth_finding({**row, "period": window}, what, level=level)
            if sentence is not None:
                findings.append(sentence)
    return IncidentOverview(
        as_of=end,
        window=window,
        log_size=len(log),
        growth_by_type=found.get("by_type"),
        growth_by_country=found.get("by_country"),
        findings=findings,
        counts=found.get("counts"),
        growth=found.get("growth"),
        trend=found.get("trend"),
        curve=found.get("curve"),
        resolve_times=found.get("resolve_times"),
        notes=notes,
    )


def _period_end(log: pd.DataFrame) -> pd.Timestamp | None:
    """The latest incident date: its day when known, else the end of its month or year."""
    dated = log[log["year"].notna()]
    if dated.empty:
        return None
    year = int(dated["year"].max())
    latest = dated[dated["year"] == year]
    if latest["month"].isna().all():
        return pd.Timestamp(year=year, month=12, day=31)
    month = int(latest["month"].max())
    day = latest.loc[latest["month"] == month, "day"].max()
    first = pd.Timestamp(year=year, month=month, day=1)
    return first.replace(day=int(day)) if pd.notna(day) else first + pd.offsets.MonthEnd(0)


def _up_to(log: pd.DataFrame, end: pd.Timestamp | None) -> pd.Series:
    """Rows dated no later than ``end``'s month (all rows without an end)."""
    if end is None:
        return pd.Series(True, index=log.index)
    month = log["year"].astype("Float64") * 12 + log["month"].astype("Float64")
    return (month <= end.year * 12 + end.month).fillna(True).astype(bool)
