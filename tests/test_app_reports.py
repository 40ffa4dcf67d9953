"""The reports page through AppTest: every download, for the filters chosen in the sidebar."""

from __future__ import annotations

import io
import xml.etree.ElementTree as ET

import openpyxl
import pytest
from streamlit.runtime.memory_media_file_storage import MemoryMediaFileStorage

from surveykit import Store, demo_margins, load_demo
from tests._apptest import start


@pytest.fixture
def served(monkeypatch) -> dict[str, tuple[bytes, str, str | None]]:
    """What the page handed to Streamlit for download: file id -> (bytes, MIME type, file name)."""
    files: dict[str, tuple[bytes, str, str | None]] = {}
    original = MemoryMediaFileStorage.load_and_get_id

    def record(self, data, mimetype, kind, filename=None):
        file_id = original(self, data, mimetype, kind, filename)
        files[file_id] = (data, mimetype, filename)
        return file_id

    monkeypatch.setattr(MemoryMediaFileStorage, "load_and_get_id", record)
    return files


def test_reports_page_offers_every_download_for_the_current_filters(db, served):
    with Store(db) as store:
        load_demo(store)
        store.set_margins(demo_margins())
        responses = store.responses()
    # The sidebar's filters (carried over from the Dashboard in a browser session).
    at = start("app_pages/reports.py", user="analyst")
    at.multiselect(key="filters_country").set_value(["GB"])
    at.toggle(key="filters_weighted").set_value(True).run()
    assert not at.exception and not at.error
    assert "country: United Kingdom" in at.caption[0].value
    assert at.caption[0].value.startswith("Weighted: raked to population margins")
    downloads = {}
    for button in at.get("download_button"):
        file_id = button.proto.url.rsplit("/", 1)[-1].split(".")[0]
        downloads[button.key] = served[file_id]
    expected = {
        "reports_pdf": "application/pdf",
        "reports_html": "text/html",
        "reports_xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    }
    for key, mime in expected.items():
        data, served_mime, _ = downloads[key]
        assert served_mime == mime and len(data) > 1000
    assert downloads["reports_pdf"][0].startswith(b"%PDF-")
    assert "United Kingdom" in downloads["reports_html"][0].decode("utf-8")
    # The workbook holds the filtered n: GB respondents of 2016-12 who received whaling emails.
    book = openpyxl.load_workbook(io.BytesIO(downloads["reports_xlsx"][0]))
    sheet = book["impersonated_roles"]
    header = [cell.value for cell in sheet[1]]
    n = {sheet.cell(row=r, column=header.index("n") + 1).value for r in range(2, sheet.max_row + 1)}
    gb = responses[(responses["wave"] == "2016-12") & (responses["country"] == "GB")]
    assert n == {int((gb["whaling_received"] == "yes").sum())}
    charts = [key.removeprefix("reports_png_") for key in downloads if key.startswith("reports_png_")]
    assert {"whaling_by_wave", "impersonated_roles", "email_controls"} <= set(charts)
    for chart in charts:
        png, mime, name = downloads[f"reports_png_{chart}"]
        assert mime == "image/png" and name == f"{chart}.png"
        assert png.startswith(b"\x89PNG\r\n\x1a\n")
        svg, mime, _ = downloads[f"reports_svg_{chart}"]
        assert mime == "image/svg+xml"
        assert ET.fromstring(svg).tag.endswith("svg")


def test_reports_page_needs_a_login_and_responses(db):
    at = start("app_pages/reports.py")
    assert not at.exception
    assert at.warning[0].value == "This page is for analysts. Log in first."
    assert not at.get("download_button")
    at = start("app_pages/reports.py", user="analyst")
    assert not at.exception and at.info[0].value.startswith("No responses yet.")
