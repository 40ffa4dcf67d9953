"""Dashboard: the headline figures of a wave, filtered and weighted as chosen in the sidebar."""

import io

import streamlit as st

from app_pages._filters import Selection, cached_responses, choose, selected_design
from app_pages._shared import get_store, require_analyst, responses_or_stop
from surveykit import SurveykitError, default_instrument, plot_categories, plot_share
from surveykit.publishing.headlines import Overview, overview
from surveykit.publishing.style import caution_note, format_count
from surveykit.survey.selection import describe_filters, weighting_statement


@st.cache_data(show_spinner="Computing the figures…", max_entries=32)
def _overview(url: str, count: int, key: str, _selection: Selection) -> Overview:
    store = get_store()
    return overview(
        selected_design(store, _selection),
        store.latest_instrument(default_instrument()),
        wave=_selection.wave,
    )


@st.cache_data(show_spinner="Drawing the charts…", max_entries=32)
def _charts(
    url: str, count: int, key: str, _figures: Overview, _source: str
) -> list[tuple[bytes | None, str]]:
    """Each chart as PNG bytes (as ``show_chart`` draws it, but cached), or why it could not be drawn."""
    instrument = get_store().latest_instrument(default_instrument())
    labels = {
        c.name: c.label
        for q in ("impersonated_roles", "controls", "ciso_present")
        for c in instrument[q].choices
    }
    wave = f"wave {_figures.wave}"
    charts = [
        ("whaling_trend", _figures.trend, plot_share, "Share who saw more whaling, by wave", "every wave"),
        ("impersonated_roles", _figures.roles, plot_categories, "Who attackers impersonated", wave),
        ("controls", _figures.controls, plot_categories, "Controls against whaling in place", wave),
        ("ciso_present", _figures.ciso, plot_categories, "Organisations with a CISO", wave),
    ]
    out: list[tuple[bytes | None, str]] = []
    for name, frame, plot, title, waves in charts:
        if frame is None:
            continue
        source = f"Source: surveykit whaling survey, {waves}; {_source}"
        try:
            figure = plot(frame, labels=labels, title=title, subtitle=instrument[name].text, source=source)
        except ValueError as error:  # a SurveykitError, or a frame the chart cannot draw
            out.append((None, f"The chart \u201c{title}\u201d could not be drawn: {error}"))
            continue
        buffer = io.BytesIO()
        figure.savefig(buffer, format="png", dpi=200)
        out.append((buffer.getvalue(), title))
    return out


require_analyst()
st.title("Dashboard")
store = get_store()
count = responses_or_stop(store)
responses = cached_responses(store)
instrument = store.latest_instrument(default_instrument())
selection = choose(store, responses, instrument)
statement = selection.statement(instrument)
st.caption(statement)
try:
    figures = _overview(store.url, count, selection.key, selection)
except SurveykitError as error:
    st.warning(str(error))
    st.stop()

st.metric(
    "Respondents",
    format_count(figures.respondents),
    help=f"In wave {selection.wave}, with the filters chosen.",
)
cards = figures.headlines
for group, rows in cards.groupby("group", sort=False):
    st.subheader(group)
    columns = st.columns(3)
    for index, row in enumerate(rows.itertuples()):
        box = columns[index % 3].container(border=True)
        box.markdown(f"**{row.title}**")
        box.write(row.text)
        box.caption(f"Of {row.base}.")
if (cards["flag"] == "caution").any():
    st.caption(caution_note())
if figures.trend is None:
    st.info(
        "No respondent in this selection reported more whaling (answered \u201cIncreased\u201d), "
        "so there is no trend to show."
    )
st.subheader("Charts")
source = (
    f"{weighting_statement(selection.margins).lower()}; {describe_filters(selection.filters, instrument)}."
)
for png, title in _charts(store.url, count, selection.key, figures, source):
    if png is None:
        st.warning(title)
    else:
        st.image(png, width="stretch")
