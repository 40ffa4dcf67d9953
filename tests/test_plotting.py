"""Charts of result frames (surveykit/publishing/plotting.py).

Every chart is drawn from real result frames of the demo data and saved under
tests/output/charts/ for a person to look at. The checks read the drawn figure back: bars and
whiskers equal the frame's numbers, suppressed cells are words and not bars, caution cells carry
the mark, no text overlaps another or leaves the figure, and saved files are what their suffix
says, byte for byte the same on every save.
"""

from __future__ import annotations

import itertools
import re
import warnings
import xml.etree.ElementTree as ET
from functools import cache
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.collections import LineCollection
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle
from matplotlib.text import Text
from PIL import Image

import surveykit as sk
from surveykit.publishing.style import CAUTION_MARK, FIGURE_WIDTH, SUPPRESSED_TEXT

OUTPUT = Path(__file__).parent / "output" / "charts"
INSTRUMENT = sk.default_instrument()
WAVES = {"2015-12": "Dec 2015", "2016-12": "Dec 2016"}
TYPES = {
    "phishing": "Phishing",
    "whaling_bec": "Whaling / BEC",
    "data_loss": "Data loss",
    "email_outage": "Email outage",
}
SIZES = {"lt250": "Fewer than 250", "250_999": "250-999", "1000_4999": "1,000-4,999", "5000_plus": "5,000+"}
SOURCE = (
    "Source: whaling posture survey (demo data), Dec 2015 and Dec 2016 waves; n = 970 IT experts in "
    "the US, UK, South Africa and Australia, raked to organisations by country and size."
)


def choices(question: str) -> dict[str, str]:
    return {choice.name: choice.label for choice in INSTRUMENT[question].choices}


def wording(question: str) -> str:
    return " ".join(INSTRUMENT[question].text.split())


@cache
def design() -> sk.SurveyDesign:
    return sk.SurveyDesign(sk.demo_responses()).rake(sk.demo_margins())


@cache
def thin_design() -> sk.SurveyDesign:
    """South African respondents only, with thresholds that suppress the largest organisations
    (27 respondents) and flag the next smallest (38) for caution."""
    responses = sk.demo_responses()
    return sk.SurveyDesign(responses[responses["country"] == "ZA"], min_n=28, caution_n=40)


@cache
def log() -> pd.DataFrame:
    return sk.demo_incidents()


def durations() -> tuple[pd.Series, pd.Series, pd.Series]:
    """Hours from detection to resolution (open incidents censored when the log ends)."""
    incidents = log()
    detected = pd.to_datetime(incidents["detected_at"])
    resolved = pd.to_datetime(incidents["resolved_at"])
    end = max(detected.max(), resolved.max())
    hours = (resolved.fillna(end) - detected).dt.total_seconds() / 3600
    return hours, resolved.notna(), incidents["incident_type"]


def quietly(estimator, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", sk.SmallSampleWarning)
        return estimator(*args, **kwargs)


# ------------------------------------------------------------------------------- the charts
def share_chart() -> Figure:
    shares = design().proportions("whaling_trend", by="wave")
    return sk.plot_share(
        shares[shares["category"] == "increased"],
        title="More organisations saw whaling rise: 63% in December 2016",
        subtitle=wording("whaling_trend") + " (share answering \u201cincreased\u201d)",
        source=SOURCE,
        labels=WAVES,
    )


def categories_chart() -> Figure:
    return sk.plot_categories(
        design().proportions("impersonated_roles"),
        title="Attackers impersonate the CEO in two cases out of three",
        subtitle=wording("impersonated_roles") + " (respondents whose organisation received whaling emails)",
        source=SOURCE,
        labels=choices("impersonated_roles"),
    )


def regions_chart() -> Figure:
    return sk.plot_regions(
        design().proportions("whaling_trend", by="country"),
        "country",
        test=design().test_independence("country", "whaling_trend"),
        categories=["increased", "same", "decreased", "dont_know"],
        subtitle=wording("whaling_trend"),
        source=SOURCE,
        labels={**choices("whaling_trend"), **choices("country")},
    )


def change_chart() -> Figure:
    return sk.plot_change(
        design().change("whaling_trend", "increased", by="country"),
        subtitle="Share answering \u201cincreased\u201d: " + wording("whaling_trend"),
        source=SOURCE,
        labels={**choices("whaling_trend"), **choices("country"), **WAVES},
    )


def counts_chart() -> Figure:
    return sk.plot_counts(
        sk.incident_counts(log()),
        sk.yoy_growth(log()),
        title="Incidents rose 38% in 2015; the rise in 2016 is within the noise",
        subtitle="Email security incidents recorded per year",
        source="Source: demo incident log, 2014-2016, 3,940 incidents.",
    )


def trend_chart() -> Figure:
    return sk.plot_trend(
        sk.trend_line(log()),
        subtitle="Email security incidents per month (dots) and the fitted log-linear trend",
        source="Source: demo incident log, January 2014 to December 2016.",
    )


def trend_by_country_chart() -> Figure:
    return sk.plot_trend(
        sk.trend_line(log(), by="country"),
        by="country",
        title="Incidents grew in every country",
        subtitle="Email security incidents per month (dots) and the fitted trend, by country of the victim",
        source="Source: demo incident log, January 2014 to December 2016.",
        labels=choices("country"),
    )


def resolve_chart() -> Figure:
    hours, resolved, kind = durations()
    curves = pd.concat(
        {name: sk.kaplan_meier(hours[kind == name], resolved[kind == name]) for name in TYPES},
        names=["incident_type"],
    ).reset_index(0)
    return sk.plot_time_to_resolve(
        curves,
        by="incident_type",
        max_time=14 * 24,
        title="Phishing is fixed within hours, data loss takes days",
        subtitle="Share of incidents not yet resolved, by hours since detection (first two weeks)",
        source="Source: demo incident log, 2014-2016.",
        labels=TYPES,
    )


def resolve_log_chart() -> Figure:
    hours, resolved, kind = durations()
    curves = pd.concat(
        {name: sk.kaplan_meier(hours[kind == name], resolved[kind == name]) for name in TYPES},
        names=["incident_type"],
    ).reset_index(0)
    return sk.plot_time_to_resolve(curves, by="incident_type", time_scale="log", labels=TYPES)


def thin_share_chart() -> Figure:
    shares = quietly(thin_design().proportions, "whaling_trend", by="org_size")
    increased = shares[shares["category"] == "increased"].set_index("org_size").loc[list(SIZES)]
    return sk.plot_share(
        increased.reset_index(),  # drawn in the frame's order: smallest organisations first
        title="In South Africa, estimates by organisation size rest on few respondents",
        subtitle=wording("whaling_trend") + " South Africa, by organisation size.",
        labels=SIZES,
        caution_n=40,
    )


def thin_regions_chart() -> Figure:
    return sk.plot_regions(
        quietly(thin_design().proportions, "ciso_present", by="org_size"),
        "org_size",
        categories=["yes", "no", "dont_know"],
        subtitle=wording("ciso_present") + " South Africa, by organisation size.",
        labels={**choices("ciso_present"), **SIZES},
        caution_n=40,
    )


def thin_change_chart() -> Figure:
    responses = sk.demo_responses()
    thin = sk.SurveyDesign(responses[responses["country"] == "ZA"], min_n=13)
    return sk.plot_change(
        quietly(thin.change, "whaling_trend", "increased", by="org_size"),
        labels={**choices("whaling_trend"), **SIZES, **WAVES},
    )


CHARTS = {
    "share": share_chart,
    "categories": categories_chart,
    "regions": regions_chart,
    "change": change_chart,
    "counts": counts_chart,
    "trend": trend_chart,
    "trend_by_country": trend_by_country_chart,
    "time_to_resolve": resolve_chart,
    "time_to_resolve_log": resolve_log_chart,
    "share_small_samples": thin_share_chart,
    "regions_small_samples": thin_regions_chart,
    "change_small_samples": thin_change_chart,
}


# ------------------------------------------------------------------------------- helpers
def drawn_texts(fig: Figure) -> list[Text]:
    """Every text a reader sees, after drawing the figure."""
    fig.canvas.draw()
    texts = []
    for text in fig.findobj(Text):
        if not (text.get_visible() and text.get_text().strip()):
            continue
        if text.axes is not None and not text.axes.get_visible():
            continue
        texts.append(text)
    return texts


def assert_readable(fig: Figure) -> None:
    """No text is cut off by the figure's edge, and no two texts overlap."""
    texts = drawn_texts(fig)
    renderer = fig.canvas.get_renderer()
    page = fig.bbox
    boxes = []
    for text in texts:
        box = text.get_window_extent(renderer)
        assert page.x0 - 0.5 <= box.x0 and box.x1 <= page.x1 + 0.5, (
            f"cut off at the side: {text.get_text()!r}"
        )
        assert page.y0 - 0.5 <= box.y0 and box.y1 <= page.y1 + 0.5, (
            f"cut off at top/bottom: {text.get_text()!r}"
        )
        boxes.append((text.get_text(), box.padded(-0.5)))
    for (first, a), (second, b) in itertools.combinations(boxes, 2):
        assert not a.overlaps(b), f"{first!r} overlaps {second!r}"


def texts_of(fig: Figure) -> list[str]:
    return [text.get_text() for text in drawn_texts(fig)]


def bars_of(ax) -> list[Rectangle]:
    return [patch for patch in ax.patches if isinstance(patch, Rectangle)]


def whiskers_of(ax) -> list[np.ndarray]:
    return [np.asarray(s) for c in ax.collections if isinstance(c, LineCollection) for s in c.get_segments()]


def hand_made(flags: list[str], n: list[int]) -> pd.DataFrame:
    """A frame in the vocabulary that no estimator produced."""
    estimate = [0.61, 0.27, 0.12, np.nan][: len(flags)]
    frame = pd.DataFrame(
        {
            "variable": "favourite_colour",
            "category": ["blue", "green", "red", "grey"][: len(flags)],
            "estimate": estimate,
            "se": [0.02, 0.03, 0.04, np.nan][: len(flags)],
            "ci_low": [0.55, 0.2, 0.05, np.nan][: len(flags)],
            "ci_high": [0.66, 0.35, 0.25, np.nan][: len(flags)],
            "n": n,
            "method": "made up",
            "flag": flags,
        }
    )
    return frame


# ------------------------------------------------------------------------------- tests
@pytest.mark.parametrize("name", list(CHARTS))
def test_every_chart_is_drawn_from_demo_results_readable_and_saved(name: str) -> None:
    fig = CHARTS[name]()
    assert isinstance(fig, Figure)
    assert fig.get_figwidth() == pytest.approx(FIGURE_WIDTH)
    assert_readable(fig)
    OUTPUT.mkdir(parents=True, exist_ok=True)
    path = sk.save_chart(fig, OUTPUT / f"{name}.png")
    assert path == OUTPUT / f"{name}.png"
    with Image.open(path) as image:
        assert image.format == "PNG"
        assert image.size[0] == round(FIGURE_WIDTH * 300)
        assert image.size[1] == round(fig.get_figheight() * 300)
        assert image.info["dpi"] == pytest.approx((300, 300), abs=0.01)
    words = " ".join(" ".join(texts_of(fig)).split())
    assert re.search(r"95% (pointwise )?confidence interval", words)  # every chart states the level


def test_svg_is_xml_holding_the_title(tmp_path: Path) -> None:
    fig = categories_chart()
    path = sk.save_chart(fig, tmp_path / "roles.svg")
    root = ET.parse(path).getroot()
    assert root.tag.endswith("svg")
    words = " ".join("".join(node.itertext()) for node in root.iter() if node.tag.endswith("text"))
    assert "Attackers impersonate the CEO in two cases out of three" in words
    assert "Chief executive (CEO)" in words and "n = 718" in words
    assert path.read_bytes() == sk.save_chart(fig, tmp_path / "again.svg").read_bytes()


def test_pdf_and_png_are_byte_identical_on_every_save(tmp_path: Path) -> None:
    fig = change_chart()
    first = sk.save_chart(fig, tmp_path / "change.pdf").read_bytes()
    assert first.startswith(b"%PDF")
    assert sk.save_chart(fig, tmp_path / "again.pdf").read_bytes() == first
    assert b"CreationDate" not in first
    # A second figure drawn from the same frame is the same file too.
    assert sk.save_chart(change_chart(), tmp_path / "redrawn.pdf").read_bytes() == first
    png = sk.save_chart(fig, tmp_path / "change.png").read_bytes()
    assert sk.save_chart(fig, tmp_path / "again.PNG").read_bytes() == png


def test_an_unknown_suffix_names_the_choices(tmp_path: Path) -> None:
    fig = share_chart()
    with pytest.raises(sk.SurveykitError, match=r"\['\.pdf', '\.png', '\.svg'\].*'\.jpg'"):
        sk.save_chart(fig, tmp_path / "chart.jpg")
    with pytest.raises(sk.SurveykitError, match="no suffix"):
        sk.save_chart(fig, tmp_path / "chart")
    assert not list(tmp_path.iterdir())


def test_charts_draw_the_frame_they_are_given_and_call_no_estimator(monkeypatch) -> None:
    def refuse(*args, **kwargs):
        raise AssertionError("a chart called an estimator")

    for name in ("proportions", "change", "crosstab", "test_independence", "mean"):
        monkeypatch.setattr(sk.SurveyDesign, name, refuse)
    for name in ("incident_counts", "yoy_growth", "kaplan_meier", "trend_line", "growth_trend"):
        monkeypatch.setattr(sk, name, refuse)
    frame = hand_made(["ok", "ok", "caution"], [400, 400, 20])
    fig = sk.plot_categories(frame)
    (ax,) = fig.axes
    bars = sorted(bars_of(ax), key=lambda bar: -bar.get_width())
    assert [bar.get_width() for bar in bars] == [0.61, 0.27, 0.12]  # the frame's numbers, as given
    whiskers = sorted(whiskers_of(ax), key=lambda segment: -segment[:, 0].max())
    ends = [tuple(segment[:, 0]) for segment in whiskers]
    assert ends == [pytest.approx(e) for e in [(0.55, 0.66), (0.2, 0.35), (0.05, 0.25)]]
    labels = texts_of(fig)
    assert {"61%", "27%", f"12%{CAUTION_MARK}", "n = 400", "n = 20"} <= set(labels)
    # Sorted by estimate, largest on top: the y labels run blue, green, red.
    assert [t.get_text() for t in ax.get_yticklabels()] == ["blue", "green", "red"]


def test_a_suppressed_cell_is_words_not_a_bar() -> None:
    frame = hand_made(["ok", "ok", "caution", "suppressed"], [400, 400, 20, 3])
    fig = sk.plot_categories(frame, caution_n=25)
    (ax,) = fig.axes
    assert len(bars_of(ax)) == 3 and len(whiskers_of(ax)) == 3
    row_of = {t.get_text(): i for i, t in enumerate(ax.get_yticklabels())}
    assert row_of["grey"] == 3  # suppressed cells sort last
    drawn_rows = {round(bar.get_y() + bar.get_height() / 2) for bar in bars_of(ax)}
    assert row_of["grey"] not in drawn_rows
    words = [t for t in ax.texts if t.get_text().startswith(SUPPRESSED_TEXT)]
    assert [t.get_text() for t in words] == [f"{SUPPRESSED_TEXT} (n = 3)"]
    assert words[0].xy[1] == row_of["grey"]
    footer = " ".join(texts_of(fig))
    assert f"{CAUTION_MARK} fewer than 25 respondents: interpret with caution" in footer
    assert_readable(fig)


def test_small_samples_from_real_frames_are_marked_and_suppressed() -> None:
    shares = quietly(thin_design().proportions, "whaling_trend", by="org_size")
    increased = shares[shares["category"] == "increased"].reset_index(drop=True)
    assert set(increased["flag"]) == {"ok", "caution", "suppressed"}
    fig = sk.plot_share(increased, labels=SIZES, caution_n=40)
    (ax,) = fig.axes
    shown = increased[increased["flag"] != "suppressed"]
    assert sorted(bar.get_height() for bar in bars_of(ax)) == sorted(shown["estimate"])
    assert sorted(bar.get_x() + bar.get_width() / 2 for bar in bars_of(ax)) == list(shown.index)
    texts = texts_of(fig)
    assert any(t.startswith(SUPPRESSED_TEXT) for t in texts)
    cautious = increased.loc[increased["flag"] == "caution", "estimate"].iloc[0]
    assert f"{100 * cautious:.0f}%{CAUTION_MARK}" in texts
    assert any("fewer than 40 respondents: interpret with caution" in t for t in texts)

    regions = thin_regions_chart()
    panel_texts = [t.get_text() for ax in regions.axes for t in ax.texts]
    assert panel_texts.count(SUPPRESSED_TEXT) == 3  # the suppressed size in each of three panels
    assert sum(t.endswith(CAUTION_MARK) for t in panel_texts) == 3

    change = thin_change_chart()
    assert any(t.startswith(SUPPRESSED_TEXT) for t in texts_of(change))


def test_change_says_when_a_difference_is_not_significant() -> None:
    frame = design().change("whaling_trend", "increased", by="country")
    fig = sk.plot_change(frame, labels=choices("country"))
    texts = texts_of(fig)
    includes_zero = (frame["ci_low"] <= 0) & (frame["ci_high"] >= 0)
    assert texts.count("no significant change") == int(includes_zero.sum()) > 0
    for difference in frame.loc[~includes_zero, "estimate"]:
        assert f"+{100 * difference:.0f} pts" in texts
    # Both waves' shares as drawn dots, the difference as a whisker on the second panel.
    shares, diffs = fig.axes[:2]
    dots = sorted(x for line in shares.lines if line.get_marker() == "o" for x in line.get_xdata())
    assert dots == pytest.approx(sorted([*frame["estimate_from"], *frame["estimate_to"]]))
    ranges = sorted(tuple(s[:, 0]) for c in diffs.collections for s in c.get_segments())
    assert ranges == pytest.approx(sorted(zip(frame["ci_low"], frame["ci_high"], strict=True)))
    # Without a title the chart states the finding; without a source it gives the base.
    single = design().change("whaling_trend", "increased")
    texts = texts_of(sk.plot_change(single, labels=choices("whaling_trend")))
    assert "\u201cIncreased\u201d rose from 52% to 63%" in texts
    assert any(t.endswith("Base: 970 respondents.") for t in texts)


def test_regions_report_the_rao_scott_test() -> None:
    test = design().test_independence("country", "whaling_trend")
    fig = regions_chart()
    texts = texts_of(fig)
    assert any(f"F({test.ndf:.2f}, {test.ddf:.0f}) = {test.statistic:.2f}" in t for t in texts)
    assert any("No significant difference" in t for t in texts)  # p = 0.20
    panels = [ax for ax in fig.axes if ax.get_visible()]
    assert [ax.get_title(loc="left") for ax in panels] == [
        "Increased",
        "About the same",
        "Decreased",
        "Don't know",
    ]
    xlims = {ax.get_xlim() for ax in panels}
    assert len(xlims) == 1  # one shared axis
    frame = design().proportions("whaling_trend", by="country")
    increased = frame[frame["category"] == "increased"]
    assert sorted(bar.get_width() for bar in bars_of(panels[0])) == sorted(increased["estimate"])


def test_counts_carry_each_years_growth() -> None:
    counts, growth = sk.incident_counts(log()), sk.yoy_growth(log())
    fig = counts_chart()
    (ax,) = fig.axes
    assert sorted(bar.get_height() for bar in bars_of(ax)) == sorted(counts["estimate"])
    texts = texts_of(fig)
    assert "+38%" in texts and "(95% CI 13\u201368%)" in texts
    row = growth.iloc[1]
    assert f"+{100 * row['estimate']:.0f}%" in texts
    assert f"(95% CI \u2212{-100 * row['ci_low']:.0f}% to +{100 * row['ci_high']:.0f}%)" in texts


def test_trend_draws_the_fitted_line_and_band_of_the_frame() -> None:
    fitted = sk.trend_line(log())
    fig = sk.plot_trend(fitted)
    (ax,) = fig.axes
    lines = [line for line in ax.lines if line.get_linestyle() == "-"]
    assert len(lines) == 1
    assert np.allclose(lines[0].get_ydata(), fitted["estimate"])
    dots = [line for line in ax.lines if line.get_marker() == "o"]
    assert np.array_equal(dots[0].get_ydata(), fitted["count"].to_numpy(dtype=float))
    growth = fitted["annual_growth"].iloc[0]
    assert f"Incidents grew by {100 * growth:.0f}% a year" in texts_of(fig)


def test_time_to_resolve_marks_censored_incidents() -> None:
    hours, resolved, _ = durations()
    curve = sk.kaplan_meier(hours, resolved)
    fig = sk.plot_time_to_resolve(curve)
    (ax,) = fig.axes
    marks = [line for line in ax.lines if line.get_marker() == "+"]
    censored = curve[curve["n_censor"] > 0]
    assert np.array_equal(marks[0].get_xdata(), censored["time"].to_numpy())
    assert np.allclose(marks[0].get_ydata(), censored["estimate"])
    assert ax.get_xlabel() == "Hours since detection"
    assert any(t.startswith("All incidents (n = 3,940)") for t in texts_of(fig))


@pytest.mark.parametrize(
    "draw",
    [
        lambda ax: sk.plot_share(hand_made(["ok", "ok"], [50, 60]), ax=ax),
        lambda ax: sk.plot_categories(design().proportions("impersonated_roles"), ax=ax),
        lambda ax: sk.plot_regions(design().proportions("ciso_present", by="country"), "country", ax=ax),
        lambda ax: sk.plot_change(design().change("whaling_trend", "increased"), ax=ax),
        lambda ax: sk.plot_counts(sk.incident_counts(log()), sk.yoy_growth(log()), ax=ax),
        lambda ax: sk.plot_trend(sk.trend_line(log()), ax=ax),
        lambda ax: sk.plot_time_to_resolve(sk.kaplan_meier(*durations()[:2]), time_scale="log", ax=ax),
    ],
    ids=["share", "categories", "regions", "change", "counts", "trend", "time_to_resolve"],
)
def test_charts_draw_on_the_axes_given(draw, request) -> None:
    fig = Figure(figsize=(8, 6), layout="constrained")
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    assert draw(ax) is ax.figure is fig
    assert_readable(fig)
    OUTPUT.mkdir(parents=True, exist_ok=True)
    sk.save_chart(fig, OUTPUT / f"on_axes_{request.node.callspec.id}.png")


def test_bad_frames_and_options_say_how_to_fix_them() -> None:
    shares = design().proportions("whaling_trend", by="wave")
    with pytest.raises(sk.SurveykitError, match=r"one breakdown.*2 groups of \['wave'\].*plot_regions"):
        sk.plot_categories(shares)
    with pytest.raises(sk.SurveykitError, match="frame column 'flag' is not in the data"):
        sk.plot_share(shares.drop(columns="flag"))
    with pytest.raises(sk.SurveykitError, match=r"categories \['maybe'\] are not in the frame"):
        sk.plot_regions(design().proportions("whaling_trend", by="country"), "country", categories=["maybe"])
    with pytest.raises(sk.SurveykitError, match=r"one series.*by="):
        sk.plot_trend(sk.trend_line(log(), by="country"))
    with pytest.raises(sk.SurveykitError, match=r"one series.*groups of \['country'\]"):
        sk.plot_counts(sk.incident_counts(log(), by="country"))
    with pytest.raises(sk.SurveykitError, match=r"time_scale must be one of \['linear', 'log'\]; got 'days'"):
        sk.plot_time_to_resolve(quietly(sk.kaplan_meier, [1.0, 2.0], [True, True]), time_scale="days")
    with pytest.raises(sk.SurveykitError, match="level must be a number strictly between 0 and 1"):
        sk.plot_share(shares[shares["category"] == "increased"], level=95)
    with pytest.raises(sk.SurveykitError, match="at least one row"):
        sk.plot_share(shares.iloc[:0])


def test_charts_leave_the_frame_alone() -> None:
    frame = design().proportions("impersonated_roles")
    before = frame.copy()
    sk.plot_categories(frame)
    pd.testing.assert_frame_equal(frame, before)
