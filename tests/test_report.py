"""The advisory report (surveykit/publishing/report.py and ``surveykit report``).

Every file is opened with its own reader: the HTML as text (self-contained: no network), the PDF
with pypdf (pages, the key-finding sentences as selectable text), the workbook with openpyxl,
the SVG charts as XML and the PNG charts with PIL. The report's pages are rendered to PNG under
tests/output/report/ for a person to look at.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from pathlib import Path

import openpyxl
import pypdfium2 as pdfium
import pytest
from PIL import Image
from pypdf import PdfReader

import surveykit as sk
from surveykit.cli import main

OUTPUT = Path(__file__).parent / "output" / "report"


@pytest.fixture(scope="module")
def reports(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """``surveykit report`` run twice on the same demo store, into two folders."""
    root = tmp_path_factory.mktemp("report")
    db = f"sqlite:///{root / 'demo.db'}"
    assert main(["--db", db, "demo"]) == 0
    outs = []
    for name in ("first", "second"):
        out = root / name
        args = ["--db", db, "report", "--out", str(out), "--compare-wave", "2015-12", "--weighted"]
        assert main([*args, "--margins", "demo"]) == 0
        outs.append(out)
    return outs[0], outs[1]


def test_report_writes_every_file(reports: tuple[Path, Path]) -> None:
    out, _ = reports
    names = {p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file()}
    assert {"report.html", "report.pdf", "results.xlsx"} <= names
    charts = {n for n in names if n.startswith("charts/")}
    for chart in ("whaling_by_wave", "whaling_change", "impersonated_roles", "whaling_by_country",
                  "incidents_by_year", "incident_trend", "outage_time_to_resolve"):  # fmt: skip
        assert {f"charts/{chart}.png", f"charts/{chart}.svg"} <= charts


def test_the_same_input_gives_byte_identical_files(reports: tuple[Path, Path]) -> None:
    first, second = reports
    for path in sorted(p for p in first.rglob("*") if p.is_file()):
        assert path.read_bytes() == (second / path.relative_to(first)).read_bytes(), path.name


def test_html_is_self_contained_with_inline_svg(reports: tuple[Path, Path]) -> None:
    html = (reports[0] / "report.html").read_text(encoding="utf-8")
    assert html.count("<svg") >= 7
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", html)
    assert "<script" not in html
    assert "Key findings" in html and "Methodology" in html
    # Each chart's clip paths keep their own ids once inlined, or charts would clip each other.
    clips = re.findall(r'<clipPath id="([^"]+)"', html)
    assert clips and len(clips) == len(set(clips))


def test_pdf_has_selectable_key_findings(reports: tuple[Path, Path]) -> None:
    reader = PdfReader(reports[0] / "report.pdf")
    assert len(reader.pages) >= 5
    text = " ".join(" ".join(page.extract_text().split()) for page in reader.pages)
    # The demo's findings: a significant rise between waves, no significant regional difference.
    assert "63% of respondents (95% CI 56–68%, n = 520) saw more whaling emails" in text
    # Each wave raked to the margins on its own, as the app does (51%; raking the two waves
    # pooled gave 52%).
    assert "The share who saw more whaling rose from 51% in 2015-12 to 63% in 2016-12" in text
    assert "No significant difference by country in the share who saw more whaling" in text
    assert "No significant change in detected incidents in 2016 on a year earlier" in text
    assert "Kish effective sample size" in text


def test_the_library_rakes_each_wave_like_the_cli_and_the_app(
    reports: tuple[Path, Path], tmp_path: Path
) -> None:
    # One default everywhere: build_report, `surveykit report` and the app rake each wave to the
    # margins on its own (51% in 2015-12; the two waves raked pooled give 52%).
    files = sk.build_report(
        sk.demo_responses(),
        tmp_path / "out",
        incidents=sk.demo_incidents(),
        compare_wave="2015-12",
        margins=sk.demo_margins(),
    )
    sentence = "The share who saw more whaling rose from 51% in 2015-12 to 63% in 2016-12"
    assert sentence in files.html.read_text(encoding="utf-8")
    assert sentence in (reports[0] / "report.html").read_text(encoding="utf-8")


def test_workbook_holds_the_tables_and_charts(reports: tuple[Path, Path]) -> None:
    book = openpyxl.load_workbook(reports[0] / "results.xlsx")
    assert book.sheetnames[0] == "Contents" and book.sheetnames[-1] == "Notes"
    assert {"impersonated_roles", "whaling_by_country", "incident_growth"} <= set(book.sheetnames)
    assert len(book["Charts"]._images) >= 7  # openpyxl keeps embedded images here
    roles = book["impersonated_roles"]
    header = [cell.value for cell in roles[1]]
    estimate = roles.cell(row=2, column=header.index("estimate") + 1)
    assert estimate.number_format == "0.0%"


def test_charts_are_valid_svg_and_300_dpi_png(reports: tuple[Path, Path]) -> None:
    charts = reports[0] / "charts"
    root = ET.parse(charts / "whaling_by_country.svg").getroot()
    assert root.tag.endswith("svg")
    assert "Rao-Scott" in ET.tostring(root, encoding="unicode")
    with Image.open(charts / "whaling_by_wave.png") as image:
        assert image.size[0] == 2100  # 7 inches at 300 dpi
        assert round(image.info["dpi"][0]) == 300


def test_report_pages_render_for_a_person_to_look_at(reports: tuple[Path, Path]) -> None:
    OUTPUT.mkdir(parents=True, exist_ok=True)
    document = pdfium.PdfDocument(str(reports[0] / "report.pdf"))
    try:
        for number in range(len(document)):
            image = document[number].render(scale=1.5).to_pil()
            image.save(OUTPUT / f"page{number + 1}.png")
            assert image.size[0] > 800
    finally:
        document.close()


def test_report_refuses_an_unknown_wave_and_weighting_without_margins(tmp_path: Path, capsys) -> None:
    with pytest.raises(sk.SurveykitError, match=r"wave '2030-12' has no responses; waves in the store"):
        sk.build_report(sk.demo_responses(), tmp_path / "out", wave="2030-12")
    db = f"sqlite:///{tmp_path / 'demo.db'}"
    assert main(["--db", db, "demo"]) == 0
    with sk.Store(db) as store:
        store.set_margins({})
    assert main(["--db", db, "report", "--out", str(tmp_path / "r"), "--weighted"]) == 2
    assert "--weighted needs population margins and the store has none" in capsys.readouterr().err


def test_a_wave_where_everyone_gave_the_same_answer_is_reported_without_a_test(tmp_path: Path) -> None:
    # The app's end-to-end run found "The report could not be built: column 'whaling_trend'
    # needs at least two observed levels" for a wave where every respondent saw more whaling.
    responses = sk.demo_responses()
    latest = responses["wave"] == "2016-12"
    responses.loc[latest, "whaling_trend"] = "increased"
    files = sk.build_report(responses, tmp_path / "out", wave="2016-12")
    html = files.html.read_text()
    assert "Every respondent in 2016-12 gave the same answer about the whaling trend" in html
    assert "Rao-Scott" not in html.split("Methodology")[0]
