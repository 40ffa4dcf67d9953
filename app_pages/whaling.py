"""Whaling trend: the share of respondents who saw more whaling, by wave, with 95% intervals."""

import streamlit as st

from app_pages._shared import get_store, require_analyst
from surveykit import SurveyDesign
from surveykit.publishing.style import SUPPRESSED_TEXT, format_share

require_analyst()
st.title("Whaling trend")
st.caption(
    "Share of respondents reporting more whaling (business email compromise) emails over the "
    "last three months, with 95% confidence intervals. Unweighted."
)

responses = get_store().responses()
if responses.empty:
    st.info("No responses yet. Load the demo data with `surveykit demo` or collect some.")
    st.stop()

shares = SurveyDesign(responses).proportions("whaling_trend", by="wave")
more = shares[shares["category"] == "increased"]
if more.empty:  # proportions reports only categories someone chose
    st.info(
        f"None of the {len(responses):,} respondents reported more whaling (answered 'increased'), "
        "so there is no share to show."
    )
    st.stop()

for column, row in zip(st.columns(len(more)), more.itertuples(), strict=True):
    suppressed = row.flag == "suppressed"
    shown = SUPPRESSED_TEXT if suppressed else format_share(row.estimate, row.ci_low, row.ci_high)
    column.metric(f"Saw more whaling, {row.wave}", shown)
    column.caption(f"n = {row.n}")
st.dataframe(
    more[["wave", "estimate", "ci_low", "ci_high", "n", "method", "flag"]],
    hide_index=True,
    column_config={
        name: st.column_config.NumberColumn(format="percent") for name in ("estimate", "ci_low", "ci_high")
    },
)
