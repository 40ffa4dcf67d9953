"""Incidents: import a log after seeing what is wrong with it, then its growth, trend and time to resolve.

The upload is checked as soon as it arrives (nothing is stored); the analyst sees a preview, every
bad row and the counts, and stores the incidents with the import button. The analysis below reads
the stored log, cached on the number of incidents stored.
"""

import io

import pandas as pd
import streamlit as st
from matplotlib.figure import Figure

from app_pages._shared import get_store, require_analyst, result_headers
from surveykit import SurveykitError, plot_counts, plot_time_to_resolve, plot_trend
from surveykit.incidents.importing import import_validated
from surveykit.incidents.overview import INCIDENT_TYPE_LABELS, IncidentOverview, incident_overview
from surveykit.incidents.uploads import UPLOAD_TYPES, CheckedUpload, problems_csv, validate_upload

PREVIEW_ROWS = 20
PROBLEMS_SHOWN = 20  # more than this and the full list is also offered as a CSV download
# Plain headers for the growth tables (the columns keep the result vocabulary's names).
GROWTH_HEADERS = result_headers(
    "Growth",
    incident_type="Incident type",
    country="Country",
    period="Year",
    count="Incidents",
    previous_count="Year before",
    rate_ratio=st.column_config.NumberColumn("Rate ratio", format="%.3f"),
)


@st.cache_data(show_spinner="Loading the stored incidents...")
def stored_log(url: str, count: int) -> pd.DataFrame:
    """The stored incidents; ``count`` keys the cache, so an import reloads them."""
    return get_store().incidents()


@st.cache_data(show_spinner="Computing growth, trend and time to resolve...")
def overview(
    url: str, count: int, as_of: str | None, incident_type: str | None, country: str | None
) -> IncidentOverview:
    return incident_overview(
        stored_log(url, count), as_of=as_of, incident_type=incident_type, country=country
    )


@st.cache_data(show_spinner="Drawing the charts...")
def charts(
    url: str, count: int, as_of: str | None, incident_type: str | None, country: str | None
) -> dict[str, bytes]:
    """The counts, trend and time-to-resolve charts as PNG (drawn once per filter, like show_chart)."""
    result = overview(url, count, as_of, incident_type, country)
    source = f"Source: stored incident log, {result.log_size:,} incidents."
    figures = {}
    if result.counts is not None:
        partial = not result.window.isdigit() and result.as_of is not None
        figures["counts"] = plot_counts(
            result.counts,
            result.growth,
            title=f"Incidents, January to {result.as_of:%B} of each year" if partial else "Incidents by year",
            subtitle="Stored incidents with exact Poisson intervals, and growth on a year earlier",
            source=source,
        )
    if result.trend is not None:
        figures["trend"] = plot_trend(
            result.trend,
            subtitle="Incidents per month with the fitted log-linear trend and its 95% band",
            source=f"{source} Trend: {result.trend['method'].iloc[0]}.",
        )
    if result.curve is not None:
        figures["curve"] = plot_time_to_resolve(
            result.curve,
            by="incident_type",
            labels=INCIDENT_TYPE_LABELS,
            max_time=24 * 14,
            title="How long incidents stayed open",
            subtitle="Share of incidents not yet resolved, by hours since detection (all periods)",
            source=f"{source} Kaplan-Meier.",
        )
    return {key: chart_png(figure) for key, figure in figures.items()}


def chart_png(figure: Figure) -> bytes:
    """The figure whole as PNG, as :func:`app_pages._shared.show_chart` draws it, to be cached."""
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=200)
    return buffer.getvalue()


def check_upload(uploaded, mapping: str, date_format: str) -> CheckedUpload | None:
    """The upload validated once per file and options (kept in the session); None after an error."""
    key = (uploaded.file_id, mapping, date_format)
    kept = st.session_state.get("incidents_checked")
    if kept is not None and kept[0] == key:
        return kept[1]
    bar = st.progress(0.0, text=f"Reading {uploaded.name}")
    try:
        checked = validate_upload(
            uploaded.name,
            uploaded.getvalue(),
            mapping=parse_mapping(mapping),
            date_format=date_format.strip() or None,
            progress=lambda done, text: bar.progress(min(max(done, 0.0), 1.0), text=text),
        )
    except SurveykitError as error:
        bar.empty()
        st.error(str(error))
        return None
    bar.empty()
    st.session_state["incidents_checked"] = (key, checked)
    return checked


def plural(count: int, noun: str) -> str:
    """``"1 row"``, ``"2,000 rows"``."""
    return f"{count:,} {noun}{'' if count == 1 else 's'}"


def parse_mapping(text: str) -> dict[str, str] | None:
    """``Header = column`` lines as a mapping (errors raise SurveykitError)."""
    mapping = {}
    for line in text.splitlines():
        if not line.strip():
            continue
        header, sep, column = line.partition("=")
        if not sep or not header.strip() or not column.strip():
            raise SurveykitError(
                f"Column mapping: write each line as 'Header in the file = column'; got {line!r}."
            )
        mapping[header.strip()] = column.strip()
    return mapping or None


require_analyst()
st.title("Incidents")
store = get_store()

# --- import ---------------------------------------------------------------------------------------
st.header("Import an incident log")
done = st.session_state.pop("incidents_imported", None)
if done is not None:
    st.success(
        f"Imported {plural(done.added, 'incident')} from {done.source}"
        + (
            f"; {plural(len(done.already_stored), 'incident')} already stored (same incident id) skipped."
            if done.already_stored
            else "."
        )
    )
    if done.already_stored:
        with st.expander(f"Ids already stored ({len(done.already_stored):,})"):
            st.dataframe(pd.DataFrame({"incident_id": done.already_stored}), hide_index=True)
    if done.conflicts:
        st.warning(
            f"{plural(len(done.conflicts), 'stored incident')} had different details in {done.source}; "
            "the stored versions were kept. Check which is right before relying on them."
        )
        with st.expander(f"Conflicting ids ({len(done.conflicts):,})"):
            st.dataframe(pd.DataFrame({"incident_id": done.conflicts}), hide_index=True)
    if done.rejected:
        st.info(f"{plural(len({p.row for p in done.rejected}), 'bad row')} left out, as asked.")

upload_round = st.session_state.setdefault("incidents_upload_round", 0)
uploaded = st.file_uploader(
    "Incident log",
    type=list(UPLOAD_TYPES),
    key=f"incidents_upload_{upload_round}",
    help=(
        "A CSV or XLSX file with a header row (incident id, date, country, type...); one VERIS "
        "JSON record or a list of them; or a ZIP of a VCDB-style folder of VERIS JSON files. "
        "Nothing is stored until you press Import."
    ),
)
with st.expander("Reading options"):
    mapping_text = st.text_area(
        "Column mapping",
        key="incidents_mapping",
        placeholder="Date raised = occurred_on\nTicket = incident_id",
        help="For headers the importer does not recognise: one 'Header in the file = column' per line.",
    )
    date_format = st.text_input(
        "Date format",
        key="incidents_date_format",
        placeholder="%d/%m/%Y",
        help="For text dates that are not ISO (2016-03-31): day-first and month-first are never guessed.",
    )
skip_bad = st.checkbox(
    "Skip bad rows",
    key="incidents_skip_bad",
    help="Import the valid rows and leave out the bad ones. Unticked, a file with a bad row is not imported.",
)

checked = None
if uploaded is not None:
    try:
        checked = check_upload(uploaded, mapping_text, date_format)
    except SurveykitError as error:  # the column mapping
        st.error(str(error))

count = store.count_incidents()
if checked is not None:
    validation = checked.validation
    stored_ids = stored_log(store.url, count)["incident_id"] if count else pd.Series(dtype="string")
    already = int(validation.incidents["incident_id"].isin(stored_ids).sum())
    new = checked.valid - already
    for note in checked.notes:
        st.warning(note)
    cols = st.columns(5)
    cols[0].metric("Rows read", f"{checked.records:,}")
    cols[1].metric("Valid", f"{checked.valid:,}")
    cols[2].metric("Bad rows", f"{checked.bad_rows:,}")
    cols[3].metric("Repeated in the file", f"{validation.duplicates:,}")
    cols[4].metric("Already stored", f"{already:,}")
    if validation.problems:
        st.subheader("Problems")
        st.error(
            f"{plural(checked.bad_rows, 'row')} of {checked.name} with problems "
            f"({plural(len(validation.problems), 'problem')} in all). Rows are numbered from 1 at the first "
            "row under the header; VERIS problems name the file."
        )
        st.dataframe(
            validation.problems_frame(), hide_index=True, height=min(38 + 35 * len(validation.problems), 400)
        )
        if len(validation.problems) > PROBLEMS_SHOWN:
            st.download_button(
                f"Download all {len(validation.problems):,} problems (CSV)",
                problems_csv(validation),
                file_name=f"{checked.name.rsplit('.', 1)[0]}-problems.csv",
                mime="text/csv",
                key="incidents_problems_csv",
            )
    if validation.repairs:
        with st.expander(f"{len(validation.repairs):,} VERIS values kept at the precision that is valid"):
            st.dataframe(
                pd.DataFrame(
                    [vars(r) for r in validation.repairs], columns=["row", "column", "value", "kept"]
                ),
                hide_index=True,
            )
    if checked.valid:
        st.subheader("Preview")
        st.caption(f"The first {min(PREVIEW_ROWS, checked.valid)} valid incidents as they will be stored.")
        st.dataframe(validation.incidents.head(PREVIEW_ROWS), hide_index=True)
    blocked = ""
    if validation.problems and not skip_bad:
        blocked = (
            f"{checked.name} cannot be imported as it is: {plural(checked.bad_rows, 'row')} with problems. "
            "Fix them and upload the file again, or tick **Skip bad rows** to import the "
            f"{plural(new, 'valid new incident')} only."
        )
    elif not checked.valid:
        blocked = f"{checked.name} has no valid incidents: nothing to import."
    elif not new:
        blocked = f"Every incident in {checked.name} is already stored (same incident id): nothing to import."
    if blocked:
        st.warning(blocked)
    elif already:
        st.caption(f"{plural(already, 'incident')} already stored (same incident id) will be skipped.")
    if st.button(
        f"Import {plural(new, 'incident')}", key="incidents_import", type="primary", disabled=bool(blocked)
    ):
        bar = st.progress(0.0, text="Storing")
        try:
            report = import_validated(
                store,
                validation,
                skip_invalid=skip_bad,
                progress=lambda share, text: bar.progress(share, text=text),
            )
        except SurveykitError as error:
            bar.empty()
            st.error(str(error))
        else:
            st.session_state["incidents_imported"] = report
            st.session_state["incidents_upload_round"] = upload_round + 1
            st.session_state.pop("incidents_checked", None)
            st.rerun()

# --- analysis -------------------------------------------------------------------------------------
st.header("The stored log")
if not count:
    st.info("No incidents stored yet: import a log above, or load the demo data with `surveykit demo`.")
    st.stop()
log = stored_log(store.url, count)
months = sorted(
    {f"{y}-{m:02d}" for y, m in zip(log["year"], log["month"], strict=True) if pd.notna(y) and pd.notna(m)}
)
types = sorted(log["incident_type"].dropna().unique())
countries = sorted(log["country"].dropna().unique())
left, middle, right = st.columns(3)
end_month = left.selectbox(
    "Period end",
    list(reversed(months)) or [None],
    key="incidents_end",
    format_func=lambda m: "Latest" if m is None else pd.Timestamp(f"{m}-01").strftime("%B %Y"),
    help=(
        "Each year is counted from 1 January to the end of this month, so a part year is compared "
        "with the same months a year earlier."
    ),
)
incident_type = middle.selectbox(
    "Incident type",
    [None, *types],
    key="incidents_type",
    format_func=lambda t: "All types" if t is None else INCIDENT_TYPE_LABELS.get(t, t),
)
country = right.selectbox(
    "Country",
    [None, *countries],
    key="incidents_country",
    format_func=lambda c: "All countries" if c is None else c,
)
as_of = (
    None if end_month is None else f"{(pd.Timestamp(f'{end_month}-01') + pd.offsets.MonthEnd(0)):%Y-%m-%d}"
)
try:
    result = overview(store.url, count, as_of, incident_type, country)
except SurveykitError as error:
    st.warning(str(error))
    st.stop()

st.caption(
    f"{result.log_size:,} incidents"
    + (f" of {INCIDENT_TYPE_LABELS.get(incident_type, incident_type)}" if incident_type else "")
    + (f" in {country}" if country else "")
    + f"; growth compares {result.window} with the same months a year earlier "
    "(rate ratio - 1, 95% confidence intervals)."
)
for note in result.notes:
    st.info(note)

st.subheader(f"Growth in {result.window}")
for sentence in result.findings:
    st.markdown(f"- {sentence}")
GROWTH_COLUMNS = [
    "period",
    "estimate",
    "se",
    "ci_low",
    "ci_high",
    "n",
    "method",
    "flag",
    "count",
    "previous_count",
    "rate_ratio",
    "p_value",
]
tables = (
    ("incident_type", "By incident type", result.growth_by_type),
    ("country", "By country", result.growth_by_country),
)
for column, title, table in tables:
    if table is None:
        continue
    st.markdown(f"**{title}**")
    shown = table[[column, *GROWTH_COLUMNS]]
    if column == "incident_type":
        shown = shown.assign(
            incident_type=shown["incident_type"].map(lambda t: INCIDENT_TYPE_LABELS.get(t, t))
        )
    st.dataframe(shown, hide_index=True, column_config=GROWTH_HEADERS)

for key, subheader in (
    ("counts", "Incidents by year"),
    ("trend", "Monthly trend"),
    ("curve", "Time to resolve"),
):
    png = charts(store.url, count, as_of, incident_type, country).get(key)
    if png is not None:
        st.subheader(subheader)
        st.image(png, width="stretch")
if result.curve is not None:
    if result.resolve_times is not None:
        st.dataframe(
            result.resolve_times.assign(
                incident_type=result.resolve_times["incident_type"].map(
                    lambda t: INCIDENT_TYPE_LABELS.get(t, t)
                )
            ),
            hide_index=True,
        )
