"""Demo data: shaped like the published figures, deterministic, and loadable once.

Targets: Mimecast whaling advisory (January 2016; ~450 IT experts, December 2015): 55% saw more
whaling, CEO impersonated in 72% and CFO in 36% of cases. PwC GSISS 2016: 54% have a CISO, 38%
more incidents detected in 2015 than 2014. Tolerances are about two binomial standard errors
at the wave's sample size, so a generator that drifts from the published shape fails.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from surveykit import (
    Instrument,
    Store,
    default_instrument,
    demo_incidents,
    demo_margins,
    demo_responses,
    load_demo,
)
from surveykit.datasets import DEMO_OPEN_WAVE


@pytest.fixture(scope="module")
def responses() -> pd.DataFrame:
    return demo_responses()


def test_layout_matches_the_store(responses):
    instrument = default_instrument()
    assert list(responses.columns) == [
        "respondent_id", "wave", "submitted_at", "instrument_id", "instrument_version", *instrument.columns,
    ]  # fmt: skip
    assert responses.groupby("wave").size().to_dict() == {"2015-12": 450, "2016-12": 520}
    assert set(responses["country"]) == {"US", "GB", "ZA", "AU"}
    assert responses["respondent_id"].is_unique


def test_first_wave_sits_near_the_published_figures(responses):
    wave = responses[responses["wave"] == "2015-12"]
    more = (wave["whaling_trend"] == "increased").mean()
    assert abs(more - 0.55) < 2 * np.sqrt(0.55 * 0.45 / len(wave))
    received = wave[wave["whaling_received"] == "yes"]
    for role, published in [("ceo", 0.72), ("cfo", 0.36)]:
        share = received[f"impersonated_roles__{role}"].astype(bool).mean()
        assert abs(share - published) < 2.5 * np.sqrt(published * (1 - published) / len(received)), role
    ciso = (wave["ciso_present"] == "yes").mean()
    assert abs(ciso - 0.54) < 2 * np.sqrt(0.54 * 0.46 / len(wave))


def test_regional_difference_is_real_but_modest(responses):
    table = pd.crosstab(responses["country"], responses["whaling_trend"] == "increased")
    _chi2, p_value, _, _ = stats.chi2_contingency(table)
    assert p_value < 0.01  # large enough to find
    shares = table[True] / table.sum(axis=1)
    assert shares.max() - shares.min() < 0.30  # small enough to be honest


def test_skip_logic_holds_in_the_demo(responses):
    no_ciso = responses["ciso_present"] != "yes"
    assert responses.loc[no_ciso, "ciso_in_csuite"].isna().all()
    assert responses.loc[~no_ciso, "ciso_in_csuite"].notna().all()
    not_received = responses["whaling_received"] != "yes"
    assert responses.loc[not_received, "impersonated_roles__ceo"].isna().all()
    no_outage = responses["outages_12m"] == 0
    assert responses.loc[no_outage, "longest_outage_hours"].isna().all()


def test_same_seed_same_data():
    pd.testing.assert_frame_equal(demo_responses(seed=7), demo_responses(seed=7))
    assert not demo_responses(seed=7).equals(demo_responses(seed=8))


def test_margins_sum_alike_and_cover_the_sample(responses):
    margins = demo_margins()
    assert sum(margins["country"].values()) == sum(margins["org_size"].values())
    assert set(responses["country"]) <= set(margins["country"])
    assert set(responses["org_size"]) <= set(margins["org_size"])


def test_incident_log_grows_about_38_percent_with_week_long_outages():
    log = demo_incidents()
    per_year = log.groupby("year").size()
    assert per_year[2015] / per_year[2014] == pytest.approx(1.38)
    outages = log[log["incident_type"] == "email_outage"].dropna(subset=["resolved_at"])
    hours = (outages["resolved_at"] - outages["detected_at"]).dt.total_seconds() / 3600
    assert hours.min() >= 1.0 and hours.max() <= 168.0
    assert hours.max() > 72  # some outages last days, as the IMAP outage did
    assert log["resolved_at"].isna().any()  # some incidents are still open (censored)
    monthly = log.groupby(["year", "month"]).size()
    assert monthly.var() > monthly.mean()  # overdispersed, as real logs are
    assert set(log["incident_type"]) == {
        "whaling_bec", "phishing", "malware", "account_compromise", "data_loss", "email_outage",
    }  # fmt: skip


def test_load_demo_is_idempotent(sqlite_url):
    with Store(sqlite_url) as store:
        first = load_demo(store)
        second = load_demo(store)
        assert (first.responses_added, second.responses_added) == (970, 0)
        assert second.incidents_added == 0
        stored = store.responses()
        generated = demo_responses()
        columns = [c for c in generated.columns if c != "respondent_id"]
        pd.testing.assert_frame_equal(stored[columns], generated[columns])


def test_load_demo_opens_a_wave_for_the_form_and_leaves_an_administrators_dates(sqlite_url):
    with Store(sqlite_url) as store:
        report = load_demo(store)
        assert report.wave_opened == DEMO_OPEN_WAVE == store.current_wave() == "2017-12"
        waves = store.list_waves().set_index("wave")
        assert list(waves.index) == ["2015-12", "2016-12", "2017-12"]  # sorts after the demo's data
        assert bool(waves.loc["2017-12", "open_to_anyone"]) and pd.isna(waves.loc["2017-12", "closes_at"])
        store.close_wave("2017-12")
        assert load_demo(store).wave_opened is None
        assert store.wave_status("2017-12") == "closed"


def test_load_demo_stores_the_demo_margins_unless_margins_are_set(sqlite_url):
    # So the app's weighting switch works on the demo out of the box.
    with Store(sqlite_url) as store:
        assert load_demo(store).margins_set
        assert store.margins() == demo_margins()
        store.set_margins({"country": {"US": 10, "GB": 10}})
        assert not load_demo(store).margins_set
        assert store.margins() == {"country": {"US": 10, "GB": 10}}


def _version_1(instrument: Instrument) -> Instrument:
    """The bundled instrument as version 1 defined it: no sections, no "please specify" questions."""
    document = instrument.to_dict()
    for question in document["questions"]:
        question.pop("section", None)
        question.pop("other", None)
    return Instrument.from_dict({**document, "version": 1})


def test_reloading_the_demo_into_a_store_filled_by_instrument_version_1_adds_nothing(sqlite_url):
    old = _version_1(default_instrument())
    frame = demo_responses(instrument=old)
    rows = []
    for _, row in frame.iterrows():  # the answers as the version-1 loader stored them
        answers: dict[str, object] = {}
        for question in old.questions:
            if question.type == "select_multiple":
                ticks = row[question.columns]
                if not ticks.isna().any():
                    answers[question.id] = [c.name for c, t in zip(question.choices, ticks, strict=True) if t]
            elif not pd.isna(row[question.id]):
                value = row[question.id]
                answers[question.id] = value.item() if hasattr(value, "item") else value
        rows.append(
            {
                "answers": old.clean_answers(answers),
                "wave": row["wave"],
                "idempotency_key": f"demo-2016-{row['respondent_id']}",
                "submitted_at": row["submitted_at"].to_pydatetime(),
            }
        )
    with Store(sqlite_url) as store:
        store.add_responses(old, rows)
        assert (frame["sector"] == "other").sum() > 0  # rows the new "please specify" question asks about
        report = load_demo(store)
        assert report.responses_added == 0
        assert store.count_responses() == 970
        assert store.latest_instrument().version == default_instrument().version == 2
