"""Regions: one answer compared between countries, organisation sizes or sectors, honestly tested."""

import streamlit as st

from app_pages._filters import cached_design, cached_responses, weighting_switch
from app_pages._shared import get_store, require_analyst, responses_or_stop, result_headers, show_chart
from surveykit import SurveykitError, default_instrument, plot_change, plot_regions
from surveykit.publishing.breakdowns import regional_breakdown
from surveykit.survey.selection import weighting_statement

require_analyst()
st.title("Regions")
store = get_store()
responses_or_stop(store)
responses = cached_responses(store)
instrument = store.latest_instrument(default_instrument())
GROUPS = {"country": "Country", "org_size": "Organisation size", "sector": "Sector"}
questions = [q.id for q in instrument.questions if q.type == "select_one" and q.id not in GROUPS]
wording = {q.id: q.text if len(q.text) <= 90 else q.text[:89].rstrip() + "…" for q in instrument.questions}
default = questions.index("whaling_trend") if "whaling_trend" in questions else 0
waves = sorted(responses["wave"].dropna().unique())

left, middle, right = st.columns(3)
question = left.selectbox(
    "Question", questions, index=default, key="regions_question", format_func=wording.get
)
by = middle.selectbox("Compare by", list(GROUPS), key="regions_by", format_func=GROUPS.get)
choices = {c.name: c.label for c in instrument[question].choices}
category = right.selectbox("Answer", list(choices), key="regions_category", format_func=choices.get)
left, right = st.columns(2)
wave = left.selectbox("Wave", waves, index=len(waves) - 1, key="regions_wave")
earlier = [w for w in waves if w < wave]
compare = right.selectbox("Change since", ["(none)", *earlier], key="regions_compare")
margins = weighting_switch(store)
st.caption(f"{instrument[question].text} {weighting_statement(margins)}; 95% confidence intervals.")
try:
    design = cached_design(store, margins)
except SurveykitError as error:  # a wave that cannot be raked to the margins
    st.error(f"{error} Switch the weighting off to see unweighted figures.")
    st.stop()

try:
    result = regional_breakdown(
        design,
        question,
        category,
        by,
        wave=wave,
        compare_wave=None if compare == "(none)" else compare,
        what=f"the share answering \u201c{choices[category]}\u201d",
        order=list(choices),
    )
except ValueError as error:  # a SurveykitError: no one answered, too few levels...
    st.warning(str(error))
    st.stop()

st.markdown(f"**{result.finding}**")
labels = (
    {**choices, **{c.name: c.label for c in instrument[by].choices}}
    if by in instrument.question_ids
    else choices
)
show_chart(
    plot_regions(
        result.shares,
        by,
        test=result.test,
        labels=labels,
        title=GROUPS[by],
        subtitle=instrument[question].text,
    )
)
st.subheader("Pairwise differences")
st.caption(
    "The second group's share minus the first's, in percentage points, each with its own 95% "
    "interval; p-values adjusted for multiple comparisons (Holm)."
)
named = {"from": labels, "to": labels}
st.dataframe(
    result.pairwise[
        ["from", "to", "estimate", "ci_low", "ci_high", "p_value", "p_adjusted", "n_from", "n_to", "flag"]
    ].replace(named),
    hide_index=True,
    column_config=result_headers(
        "Difference",
        to="Second",
        p_adjusted=st.column_config.NumberColumn("p (Holm)", format="%.3f"),
        n_from="n (first)",
        n_to="n (second)",
        **{"from": "First"},  # a keyword Python reserves
    ),
)
if result.change is not None:
    st.subheader(f"Change since {compare}")
    show_chart(plot_change(result.change, labels=labels))
