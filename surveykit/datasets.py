"""Seeded demo data shaped like the published whaling advisories.

The figures the generator aims at come from the Mimecast whaling advisory of January 2016
(survey of about 450 IT experts in the US, UK, South Africa and Australia, December 2015:
55% saw more whaling in the last three months; the CEO was impersonated in 72% of cases and
the CFO in 36%), PwC's Global State of Information Security Survey 2016 (54% of organisations
have a CISO; 38% more incidents detected in 2015 than in 2014), and outages of cloud email
lasting from an hour to a week. Regional differences are built in, large enough to detect
with a sample of this size and small enough to be plausible. Population margins are
illustrative counts of organisations, not official statistics.

Everything is generated from a seed, so the same call gives the same data on every machine.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from surveykit.collection.instrument import MULTI_SEP, Instrument
from surveykit.collection.loading import default_instrument
from surveykit.collection.store import Store
from surveykit.incidents.schema import INCIDENT_DTYPES

__all__ = [
    "DEMO_ANALYST",
    "DEMO_OPEN_WAVE",
    "DEMO_WAVES",
    "DemoLoadReport",
    "demo_incidents",
    "demo_margins",
    "demo_responses",
    "load_demo",
]

DEMO_WAVES: dict[str, int] = {"2015-12": 450, "2016-12": 520}
"""Demo survey waves and their number of respondents."""
DEMO_ANALYST: tuple[str, str] = ("analyst", "demo")
"""The demo analyst login (username, password) :func:`load_demo` creates, as ``surveykit demo``
and ``surveykit serve --demo`` do; everyone who has read the README knows it, so the app warns
while it signs in (:func:`surveykit.collection.sessions.demo_login_present`)."""

DEMO_OPEN_WAVE = "2017-12"
"""The wave :func:`load_demo` opens to anyone, so the survey form takes answers out of the box."""

_COUNTRIES = ["US", "GB", "ZA", "AU"]
_SAMPLE_COUNTRY = [0.38, 0.28, 0.16, 0.18]
_SIZES = ["lt250", "250_999", "1000_4999", "5000_plus"]
_SAMPLE_SIZE = [0.30, 0.30, 0.25, 0.15]
# Illustrative population of organisations, used as raking margins.
_POP_COUNTRY = {"US": 120_000, "GB": 40_000, "ZA": 12_000, "AU": 28_000}
_POP_SIZE = {"lt250": 140_000, "250_999": 38_000, "1000_4999": 16_000, "5000_plus": 6_000}

# Share reporting more whaling, by country, in the first wave; the second wave adds a few points.
_MORE_WHALING = {"US": 0.59, "GB": 0.56, "ZA": 0.45, "AU": 0.52}
_WAVE_SHIFT = {"2015-12": 0.0, "2016-12": 0.04}
_SIZE_SHIFT = np.array([-0.04, 0.0, 0.03, 0.06])
_CISO = {"US": 0.59, "GB": 0.55, "ZA": 0.44, "AU": 0.50}
_ROLE_RATES = {
    "ceo": 0.72, "cfo": 0.36, "other_exec": 0.17, "hr": 0.10, "it": 0.08, "legal": 0.05,
}  # fmt: skip
_CONTROL_RATES = {
    "exec_training": 0.46, "simulated_tests": 0.27, "external_banner": 0.52,
    "lookalike_alerts": 0.21, "defensive_domains": 0.33, "payment_verification": 0.58,
}  # fmt: skip
_SECTORS = ["finance", "healthcare", "retail", "manufacturing", "public", "technology", "education", "other"]
_SECTOR_P = [0.20, 0.10, 0.10, 0.14, 0.12, 0.18, 0.06, 0.10]
_ROLES = ["it_leader", "security", "it_staff", "executive", "other"]
_ROLE_P = [0.34, 0.30, 0.26, 0.05, 0.05]

_INCIDENT_YEARS = {2014: 1000, 2015: 1380, 2016: 1560}
_INCIDENT_TYPES = {
    "phishing": 0.35, "whaling_bec": 0.20, "malware": 0.18,
    "account_compromise": 0.12, "data_loss": 0.07, "email_outage": 0.08,
}  # fmt: skip
_INCIDENT_COUNTRY = {"US": 0.45, "GB": 0.25, "ZA": 0.12, "AU": 0.18}
# UN M.49 sub-region codes of the demo countries.
_M49 = {"US": "021", "GB": "154", "ZA": "018", "AU": "053"}
_MEDIAN_HOURS = {
    "phishing": 6.0, "whaling_bec": 30.0, "malware": 20.0,
    "account_compromise": 12.0, "data_loss": 72.0, "email_outage": 5.0,
}  # fmt: skip


def demo_margins() -> dict[str, dict[str, int]]:
    """Population margins for raking the demo survey: organisations by country and by size.

    Returns
    -------
    dict
        ``{"country": {...}, "org_size": {...}}``, counts summing to the same total.
    """
    return {"country": dict(_POP_COUNTRY), "org_size": dict(_POP_SIZE)}


def demo_responses(
    n: int | None = None,
    *,
    waves: Sequence[str] | None = None,
    seed: int = 2016,
    instrument: Instrument | None = None,
) -> pd.DataFrame:
    """Generate demo survey responses as a tidy frame, one row per respondent.

    Parameters
    ----------
    n : int, optional
        Respondents per wave; by default 450 in December 2015 and 520 in December 2016.
    waves : sequence of str, optional
        Waves to generate, from ``DEMO_WAVES``; all by default.
    seed : int
        Random seed.
    instrument : Instrument, optional
        Instrument whose columns to produce; the bundled one by default.

    Returns
    -------
    DataFrame
        Same layout as :meth:`surveykit.Store.responses`.
    """
    instrument = instrument or default_instrument()
    waves = list(waves) if waves is not None else list(DEMO_WAVES)
    unknown = [w for w in waves if w not in DEMO_WAVES]
    if unknown:
        raise ValueError(f"Unknown demo waves {unknown}; choose from {list(DEMO_WAVES)}")
    rng = np.random.default_rng(seed)
    frames = [_wave(rng, wave, n or DEMO_WAVES[wave], instrument) for wave in waves]
    return pd.concat(frames, ignore_index=True)


def _wave(rng: np.random.Generator, wave: str, n: int, instrument: Instrument) -> pd.DataFrame:
    country = rng.choice(_COUNTRIES, size=n, p=_SAMPLE_COUNTRY)
    size_index = rng.choice(len(_SIZES), size=n, p=_SAMPLE_SIZE)
    size = np.asarray(_SIZES)[size_index]
    p_more = np.vectorize(_MORE_WHALING.get)(country) + _WAVE_SHIFT[wave] + _SIZE_SHIFT[size_index]
    rest = 1 - p_more
    trend = _pick(rng, ["increased", "same", "decreased", "dont_know"], [p_more, rest * 0.62, rest * 0.15])

    p_received = 0.62 + 0.05 * size_index + np.where(trend == "increased", 0.12, 0.0)
    received = _pick(rng, ["yes", "no", "dont_know"], [p_received, 0.7 * (1 - p_received)])
    asked_roles = received == "yes"
    roles = {name: (rng.random(n) < rate) & asked_roles for name, rate in _ROLE_RATES.items()}
    roles["none_dont_know"] = asked_roles & ~np.logical_or.reduce(list(roles.values()))

    p_ciso = np.vectorize(_CISO.get)(country) + 0.05 * (size_index - 1.2) + _WAVE_SHIFT[wave] / 2
    ciso = _pick(rng, ["yes", "no", "dont_know"], [p_ciso, 0.97 - p_ciso])
    csuite = _pick(rng, ["yes", "no", "dont_know"], [np.full(n, 0.35), np.full(n, 0.58)])

    controls = {
        name: rng.random(n) < np.clip(rate + 0.04 * (size_index - 1.5), 0.01, 0.99)
        for name, rate in _CONTROL_RATES.items()
    }
    continuity = _pick(rng, ["yes", "no", "dont_know"], [np.full(n, 0.41), np.full(n, 0.49)])
    outages = rng.poisson(1.1, size=n)
    longest = np.round(np.clip(rng.lognormal(np.log(4.0), 1.1, size=n), 0.5, 168.0), 1)

    scale = np.array([3.0, 8.0, 20.0, 45.0])[size_index]
    previous = rng.negative_binomial(2.0, 2.0 / (2.0 + scale))
    current = rng.negative_binomial(2.0, 2.0 / (2.0 + scale * 1.38))

    days = rng.integers(1, 32, size=n)
    hours = rng.integers(0, 24 * 3600, size=n)
    submitted = pd.to_datetime(f"{wave}-01") + pd.to_timedelta(days - 1, "D") + pd.to_timedelta(hours, "s")
    respondent = [f"{wave}-{i:06d}-{x:08x}" for i, x in enumerate(rng.integers(0, 2**32, size=n))]

    answers: dict[str, object] = {
        "country": country,
        "org_size": size,
        "sector": rng.choice(_SECTORS, size=n, p=_SECTOR_P),
        "role": rng.choice(_ROLES, size=n, p=_ROLE_P),
        "whaling_trend": trend,
        "whaling_received": received,
        "ciso_present": ciso,
        "ciso_in_csuite": np.where(ciso == "yes", csuite, None),
        "email_continuity": continuity,
        "outages_12m": outages,
        "longest_outage_hours": np.where(outages > 0, longest, np.nan),
        "incidents_12m": current,
        "incidents_prev_12m": previous,
    }
    for name, ticked in roles.items():
        answers[f"impersonated_roles{MULTI_SEP}{name}"] = np.where(asked_roles, ticked, None)
    for name, ticked in controls.items():
        answers[f"controls{MULTI_SEP}{name}"] = ticked

    frame = pd.DataFrame(
        {
            "respondent_id": pd.array(respondent, dtype="string"),
            "wave": pd.array([wave] * n, dtype="string"),
            "submitted_at": submitted.astype("datetime64[ns]"),
            "instrument_id": pd.array([instrument.id] * n, dtype="string"),
            "instrument_version": pd.array([instrument.version] * n, dtype="Int64"),
        }
    )
    template = instrument.tidy([])
    for column in instrument.columns:
        values = answers.get(column)
        frame[column] = pd.Series(values, dtype=template[column].dtype) if values is not None else pd.NA
        frame[column] = frame[column].astype(template[column].dtype)
    return frame


def _pick(rng: np.random.Generator, names: list[str], probabilities: list[np.ndarray]) -> np.ndarray:
    """Draw one category per row; the last category takes the remaining probability."""
    edges = np.cumsum(np.vstack(probabilities), axis=0)
    index = (rng.random(edges.shape[1]) >= edges).sum(axis=0)
    return np.asarray(names)[index]


def demo_incidents(seed: int = 2016) -> pd.DataFrame:
    """Generate a demo incident log for 2014 to 2016 in the canonical incident schema.

    About 38% more incidents occur in 2015 than in 2014, monthly counts are overdispersed,
    and email outages last from an hour to a week; a few recent incidents are unresolved.

    Parameters
    ----------
    seed : int
        Random seed.
    """
    rng = np.random.default_rng(seed)
    parts = []
    for year, total in _INCIDENT_YEARS.items():
        # Dirichlet-multinomial months: yearly totals as published, monthly counts overdispersed.
        monthly = rng.multinomial(total, rng.dirichlet(np.full(12, 25.0)))
        months = np.repeat(np.arange(1, 13), monthly)
        parts.append(pd.DataFrame({"year": year, "month": months}))
    frame = pd.concat(parts, ignore_index=True)
    n = len(frame)
    days_in_month = pd.to_datetime(
        {"year": frame["year"], "month": frame["month"], "day": 1}
    ).dt.days_in_month
    frame["day"] = (rng.random(n) * days_in_month).astype(int) + 1
    occurred = pd.to_datetime(frame[["year", "month", "day"]])
    country = rng.choice(list(_INCIDENT_COUNTRY), size=n, p=list(_INCIDENT_COUNTRY.values()))
    kind = rng.choice(list(_INCIDENT_TYPES), size=n, p=list(_INCIDENT_TYPES.values()))
    role_names = list(_ROLE_RATES)
    role_p = np.array(list(_ROLE_RATES.values()))
    role = np.where(kind == "whaling_bec", rng.choice(role_names, size=n, p=role_p / role_p.sum()), None)
    detected = occurred + pd.to_timedelta(rng.integers(0, 72 * 3600, size=n), "s")
    median = np.vectorize(_MEDIAN_HOURS.get)(kind)
    hours = rng.lognormal(np.log(median), np.where(kind == "email_outage", 1.3, 1.0))
    hours = np.where(kind == "email_outage", np.clip(hours, 1.0, 168.0), hours)
    resolved = detected + pd.to_timedelta(np.round(hours * 3600), "s")
    horizon = pd.Timestamp("2016-12-31 23:59:59")
    unresolved = (resolved > horizon) | (rng.random(n) < 0.02)
    loss = np.where(
        (kind == "whaling_bec") & (rng.random(n) < 0.4),
        np.round(rng.lognormal(np.log(30_000), 1.2, n), 2),
        np.nan,
    )
    severity = rng.choice(["low", "medium", "high", "critical"], size=n, p=[0.35, 0.4, 0.2, 0.05])
    log = pd.DataFrame(
        {
            "incident_id": pd.array([f"DEMO-{i:06d}" for i in range(1, n + 1)], dtype="string"),
            "year": pd.array(frame["year"], dtype="Int64"),
            "month": pd.array(frame["month"], dtype="Int64"),
            "day": pd.array(frame["day"], dtype="Int64"),
            "occurred_on": occurred,
            "country": pd.array(country, dtype="string"),
            "region": pd.array(np.vectorize(_M49.get)(country), dtype="string"),
            "incident_type": pd.array(kind, dtype="string"),
            "impersonated_role": pd.array(role, dtype="string"),
            "severity": pd.array(severity, dtype="string"),
            "detected_at": detected,
            "resolved_at": resolved.where(~unresolved),
            "loss_amount": pd.array(loss, dtype="Float64"),
            "source": pd.array(["demo"] * n, dtype="string"),
        }
    )
    return log.astype(INCIDENT_DTYPES)


@dataclass(frozen=True)
class DemoLoadReport:
    """What :func:`load_demo` added to a store."""

    responses_added: int
    incidents_added: int
    analyst_created: bool
    wave_opened: str | None = None
    margins_set: bool = False


def load_demo(
    store: Store, *, seed: int = 2016, analyst: tuple[str, str] | None = DEMO_ANALYST
) -> DemoLoadReport:
    """Load the demo survey waves, incident log and a demo analyst login into a store, and open
    a wave for new answers.

    The demo responses fill the waves 2015-12 and 2016-12. The wave ``DEMO_OPEN_WAVE``
    ("2017-12", sorting after them) is opened to anyone with no closing date, unless the store
    already manages a wave of that name (then its dates are left as an administrator set them).
    The demo population margins (:func:`demo_margins`) are stored for weighting when the store
    has none. Loading twice adds nothing: responses carry fixed idempotency keys and incidents fixed ids.
    Answers left blank are left out of the stored answers, as earlier versions of the demo
    stored them, so reloading into a store filled by an earlier instrument version adds nothing.

    Parameters
    ----------
    store : Store
        Target store.
    seed : int
        Random seed of the demo data.
    analyst : (username, password) or None
        Demo analyst login created when the store has no analyst yet, by default
        ``DEMO_ANALYST`` (``analyst`` / ``demo``); None creates none. Only ``surveykit demo``
        and ``surveykit serve --demo`` load the demo, and the app warns while this login works.
    """
    instrument = default_instrument()
    frame = demo_responses(seed=seed, instrument=instrument)
    records = instrument.records(frame)
    rows = [
        {
            "answers": {k: v for k, v in instrument.clean_answers(answers).items() if v is not None},
            "wave": str(wave),
            "idempotency_key": f"demo-{seed}-{respondent}",
            "submitted_at": submitted.to_pydatetime(),
            "source": "demo",
        }
        for answers, wave, respondent, submitted in zip(
            records, frame["wave"], frame["respondent_id"], frame["submitted_at"], strict=True
        )
    ]
    results = store.add_responses(instrument, rows)
    incidents_added = store.add_incidents(demo_incidents(seed=seed))
    created = False
    if analyst is not None and not store.has_analysts():
        store.add_analyst(*analyst)
        created = True
    opened = None
    if store.wave_status(DEMO_OPEN_WAVE) == "unmanaged":
        store.open_wave(DEMO_OPEN_WAVE, open_to_anyone=True)
        opened = DEMO_OPEN_WAVE
    margins_set = not store.margins()
    if margins_set:
        store.set_margins(demo_margins())
    return DemoLoadReport(sum(r.created for r in results), incidents_added, created, opened, margins_set)
