"""Reports: the advisory (PDF, HTML), the results workbook and every chart, for the current filters."""

import tempfile
from pathlib import Path

import streamlit as st

from app_pages._filters import Selection, cached_responses, choose
from app_pages._shared import get_store, require_analyst, responses_or_stop
from surveykit import SurveykitError, build_report, default_instrument

MIME = {
    ".pdf": "application/pdf",
    ".html": "text/html",
    ".xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    ".png": "image/png",
    ".svg": "image/svg+xml",
}


@st.cache_data(show_spinner=False, max_entries=16)
def _report(url: str, count: int, key: str, compare: str | None, _selection: Selection) -> dict[str, bytes]:
    """Every file of the report, by its path in the report folder."""
    store = get_store()
    with tempfile.TemporaryDirectory() as folder:
        files = build_report(
            cached_responses(store),
            Path(folder) / "report",
            incidents=store.incidents(),
            wave=_selection.wave,
            compare_wave=compare,
            margins=_selection.margins or None,
            filters=_selection.filters,
            instrument=store.latest_instrument(default_instrument()),
        )
        paths = [files.pdf, files.html, files.workbook, *files.charts]
        return {path.relative_to(files.html.parent).as_posix(): path.read_bytes() for path in paths}


def _download(label: str, name: str, data: bytes, key: str, column=st) -> None:
    column.download_button(label, data, file_name=name, mime=MIME[Path(name).suffix], key=key)


require_analyst()
st.title("Reports")
store = get_store()
count = responses_or_stop(store)
instrument = store.latest_instrument(default_instrument())
selection = choose(store, cached_responses(store), instrument)
st.caption(
    selection.statement(instrument) + " The filters are those of the sidebar, shared with the Dashboard."
)
earlier = [w for w in store.waves() if w < selection.wave]
compare = st.selectbox(
    "Compare with the wave",
    ["(none)", *earlier],
    index=len(earlier),
    key="reports_compare",
    help="The report states the change between the two waves when its interval supports it.",
)
compare_wave = None if compare == "(none)" else compare

try:
    with st.status("Building the report…", expanded=False) as status:
        files = _report(store.url, count, selection.key, compare_wave, selection)
        status.update(label="The report is ready.", state="complete")
except SurveykitError as error:
    st.error(f"The report could not be built: {error}")
    st.stop()

stem = f"whaling-advisory-{selection.wave}"
st.subheader("Advisory report")
left, middle, right = st.columns(3)
_download("Report (PDF)", f"{stem}.pdf", files["report.pdf"], "reports_pdf", left)
_download("Report (HTML)", f"{stem}.html", files["report.html"], "reports_html", middle)
_download("Results workbook (Excel)", f"{stem}-results.xlsx", files["results.xlsx"], "reports_xlsx", right)

st.subheader("Charts")
charts = sorted({Path(name).stem for name in files if name.startswith("charts/")})
for chart in charts:
    name, png, svg = st.columns([3, 1, 1], vertical_alignment="center")
    name.write(chart.replace("_", " ").capitalize())
    _download("PNG", f"{chart}.png", files[f"charts/{chart}.png"], f"reports_png_{chart}", png)
    _download("SVG", f"{chart}.svg", files[f"charts/{chart}.svg"], f"reports_svg_{chart}", svg)
