"""The dashboard page through AppTest: cards against independent computations, filters, weighting."""

from __future__ import annotations

import numpy as np
import pytest
from statsmodels.stats.proportion import proportion_confint

from surveykit import Store, default_instrument, demo_margins, load_demo, rake
from tests._apptest import ANSWERS, start


def texts(at) -> list[str]:
    return [m.value for m in at.markdown]


def respondents(at) -> str:
    return next(m.value for m in at.metric if m.label == "Respondents")


def card_text(at, ending: str) -> str:
    return next(t for t in texts(at) if t.endswith(ending))


def test_cards_match_wilson_intervals_and_filters_change_n(db):
    with Store(db) as store:
        load_demo(store)
        responses = store.responses()
    at = start("app_pages/dashboard.py", user="analyst")
    assert not at.exception
    assert respondents(at) == "520"  # the latest wave with responses
    assert at.caption[0].value.startswith("Unweighted: every respondent counts once. Wave 2016-12;")
    wave = responses[responses["wave"] == "2016-12"]
    for ending, hit, base in [
        (", saw more whaling", wave["whaling_trend"] == "increased", wave),
        ("have a CISO", wave["ciso_present"] == "yes", wave),
        (
            "had chief financial officer (CFO) impersonated",
            wave["impersonated_roles__cfo"].fillna(False).astype(bool),
            None,
        ),
    ]:
        base = wave[wave["whaling_received"] == "yes"] if base is None else base
        count = int(hit.sum())
        low, high = proportion_confint(count, len(base), alpha=0.05, method="wilson")
        expected = f"{count / len(base):.0%} (95% CI {100 * low:.0f}\u2013{100 * high:.0f}%), n = {len(base)}"
        assert card_text(at, ending).startswith(expected)
    # Labels from the instrument, never raw ids.
    options = at.multiselect(key="filters_country").options
    assert "United Kingdom" in options and "GB" not in options
    at.multiselect(key="filters_country").set_value(["GB"]).run()
    assert not at.exception
    gb = wave[wave["country"] == "GB"]
    assert respondents(at) == str(len(gb))
    assert "country: United Kingdom" in at.caption[0].value
    count = int((gb["whaling_trend"] == "increased").sum())
    assert card_text(at, "saw more whaling").startswith(f"{count / len(gb):.0%} (95% CI ")
    at.selectbox(key="filters_wave").set_value("2015-12").run()
    assert respondents(at) == str(
        int(((responses["wave"] == "2015-12") & (responses["country"] == "GB")).sum())
    )


def test_the_weighting_switch_rakes_each_wave_and_says_so(db):
    with Store(db) as store:
        load_demo(store)
        store.set_margins(demo_margins())
        responses = store.responses()
    at = start("app_pages/dashboard.py", user="analyst")
    unweighted = card_text(at, "saw more whaling")
    at.toggle(key="filters_weighted").set_value(True).run()
    assert not at.exception
    assert at.caption[0].value.startswith(
        "Weighted: raked to population margins by country and organisation size. Wave 2016-12"
    )
    weighted = card_text(at, "saw more whaling")
    assert weighted != unweighted
    # By hand: the wave raked to the margins on its own, the weighted mean of "increased".
    wave = responses[responses["wave"] == "2016-12"]
    weights = rake(wave, demo_margins())
    share = np.average(wave["whaling_trend"] == "increased", weights=weights)
    assert weighted.startswith(f"{share:.0%} (95% CI ") and weighted.endswith("n = 520, saw more whaling")


def test_filters_and_weighting_follow_the_analyst_from_page_to_page(db):
    # Found in the browser: opening Reports after the Dashboard showed wave 2015-12 (the first),
    # not the wave chosen, because a widget drawn by another page starts from its default.
    with Store(db) as store:
        load_demo(store)
    at = start("app_pages/dashboard.py", user="analyst")
    at.selectbox(key="filters_wave").set_value("2015-12").run()
    at.multiselect(key="filters_country").set_value(["GB"]).run()
    at.toggle(key="filters_weighted").set_value(True).run()
    at.switch_page("app_pages/regions.py").run()
    assert not at.exception
    assert at.toggle(key="filters_weighted").value is True
    assert "Weighted: raked to population margins by country" in at.caption[0].value
    at.switch_page("app_pages/dashboard.py").run()
    assert not at.exception
    assert at.selectbox(key="filters_wave").value == "2015-12"
    assert at.multiselect(key="filters_country").value == ["GB"]
    assert at.caption[0].value.startswith("Weighted: raked to population margins by country and organisation")
    assert "Wave 2015-12; country: United Kingdom" in at.caption[0].value


def test_without_margins_the_switch_is_off_with_a_note(db):
    with Store(db) as store:
        load_demo(store)
        store.set_margins({})  # the demo stores its margins
    at = start("app_pages/dashboard.py", user="analyst")
    assert not at.exception
    assert at.toggle(key="filters_weighted").disabled
    assert "No population margins are stored" in " ".join(c.value for c in at.sidebar.caption)


@pytest.mark.filterwarnings("ignore::surveykit.SmallSampleWarning")
def test_small_cells_are_suppressed_and_nobody_saw_more_whaling(db):
    answers = dict(ANSWERS, impersonated_roles=["ceo"], outages_12m=0)
    with Store(db) as store:
        instrument = default_instrument()
        for wave, trend in [("2015-12", "same"), ("2016-12", "decreased"), ("2016-12", "dont_know")]:
            store.submit(instrument, dict(answers, whaling_trend=trend), wave=wave)
    at = start("app_pages/dashboard.py", user="analyst")
    assert not at.exception
    assert respondents(at) == "2"
    shown = texts(at)
    assert card_text(at, "saw more whaling") == "n too small (n = 2), saw more whaling"
    assert not any(t[:1].isdigit() for t in shown)  # no figure at all
    assert at.info[0].value.startswith("No respondent in this selection reported more whaling")


def test_caution_cells_carry_the_mark_and_its_note(db):
    with Store(db) as store:
        instrument = default_instrument()
        for i in range(12):
            trend = "increased" if i % 3 else "same"
            store.submit(
                instrument,
                dict(ANSWERS, whaling_trend=trend, impersonated_roles=["ceo"], outages_12m=0),
                wave="2016-12",
            )
    at = start("app_pages/dashboard.py", user="analyst")
    assert not at.exception
    assert card_text(at, "saw more whaling").startswith("67%\u2020 (95% CI ")
    assert "\u2020 fewer than 30 respondents: interpret with caution" in [c.value for c in at.caption]


def test_a_new_submission_shows_up_and_an_empty_store_says_so(db):
    at = start("app_pages/dashboard.py", user="analyst")
    assert not at.exception
    assert at.info[0].value.startswith("No responses yet.")
    with Store(db) as store:
        load_demo(store)
    at.run()
    assert respondents(at) == "520"
    with Store(db) as store:
        store.submit(
            default_instrument(), dict(ANSWERS, impersonated_roles=["ceo"], outages_12m=0), wave="2016-12"
        )
    at.run()
    assert not at.exception and respondents(at) == "521"


def test_a_deletion_or_a_renamed_wave_shows_up_although_the_count_is_the_same(db):
    with Store(db) as store:
        load_demo(store)
    at = start("app_pages/dashboard.py", user="analyst")
    assert at.selectbox(key="filters_wave").options == ["2015-12", "2016-12"]
    with Store(db) as store:
        newest = store.response_index()["respondent_id"].iloc[0]
        store.delete_responses(respondent_ids=[newest])
        store.submit(
            default_instrument(), dict(ANSWERS, impersonated_roles=["ceo"], outages_12m=0), wave="2017-06"
        )
    at.run()  # 520 responses again, one of them in a new wave: the cached frame must not be shown
    assert not at.exception
    assert at.selectbox(key="filters_wave").options == ["2015-12", "2016-12", "2017-06"]
    with Store(db) as store:
        store.rename_wave("2016-12", "2016-Q4")
    at.run()
    assert not at.exception
    assert at.selectbox(key="filters_wave").options == ["2015-12", "2016-Q4", "2017-06"]


def test_signed_out_shows_the_sign_in_form_and_no_figures(db):
    with Store(db) as store:
        load_demo(store)
    at = start("app_pages/dashboard.py")
    assert not at.exception
    assert at.warning[0].value == "This page is for analysts. Log in first."
    assert not at.metric and not at.get("imgs")
