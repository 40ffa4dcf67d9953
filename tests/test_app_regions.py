"""The regions page through AppTest."""

from __future__ import annotations

from surveykit import Store, demo_margins, load_demo
from tests._apptest import start


def test_regions_page_compares_an_answer_between_countries_and_waves(db):
    with Store(db) as store:
        load_demo(store)
    at = start("app_pages/regions.py", user="analyst")
    assert not at.exception
    # Defaults: the first question, by country, the latest wave.
    at.selectbox(key="regions_question").set_value("whaling_trend").run()
    at.selectbox(key="regions_category").set_value("increased").run()
    finding = at.markdown[0].value
    assert finding.startswith("**Answers differed by country (Rao-Scott F = 2.29, p = 0.015)")
    assert "ranged from 47% in ZA to 70% in US" in finding
    pairs = at.dataframe[0].value
    assert len(pairs) == 6 and {"p_value", "p_adjusted"} <= set(pairs.columns)
    assert (pairs["p_adjusted"] >= pairs["p_value"]).all()
    at.selectbox(key="regions_compare").set_value("2015-12").run()
    assert not at.exception
    assert at.subheader[-1].value == "Change since 2015-12"
    at.selectbox(key="regions_by").set_value("org_size").run()
    assert not at.exception and at.markdown[0].value.startswith("**")


def test_regions_page_needs_a_login(db):
    with Store(db) as store:
        load_demo(store)
    at = start("app_pages/regions.py")
    assert not at.exception
    assert at.warning[0].value == "This page is for analysts. Log in first."
    assert not at.dataframe and not at.selectbox


def test_regions_page_weighting_switch_states_what_is_shown(db):
    with Store(db) as store:
        load_demo(store)
        store.set_margins(demo_margins())
    at = start("app_pages/regions.py", user="analyst")
    at.selectbox(key="regions_question").set_value("whaling_trend").run()
    at.selectbox(key="regions_category").set_value("increased").run()
    assert "Unweighted: every respondent counts once" in at.caption[0].value
    unweighted = at.dataframe[0].value["estimate"].to_numpy()
    at.toggle(key="filters_weighted").set_value(True).run()
    assert not at.exception
    assert "Weighted: raked to population margins by country and organisation size" in at.caption[0].value
    weighted = at.dataframe[0].value["estimate"].to_numpy()
    assert len(weighted) == len(unweighted) and (abs(weighted - unweighted) > 1e-6).any()
