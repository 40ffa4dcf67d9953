"""The house style of every chart, table and report: palette, sizes and number formats.

One colour-blind-safe palette (Okabe and Ito 2008), one type scale, and the formatting of shares
and intervals used wherever a number is shown ("55% (95% CI 51-60%)"). Formatting happens here,
in the display layer, never in the result frames.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from contextlib import contextmanager

import matplotlib as mpl

__all__ = [
    "ACCENT",
    "CAUTION_MARK",
    "FIGURE_WIDTH",
    "GREY",
    "LIGHT_ACCENT",
    "PALETTE",
    "SIZES",
    "SUPPRESSED_TEXT",
    "TEXT",
    "caution_note",
    "chart_style",
    "format_count",
    "format_growth",
    "format_growth_interval",
    "format_interval",
    "format_percent",
    "format_points",
    "format_share",
]

PALETTE: tuple[str, ...] = (
    "#0072B2",  # blue
    "#E69F00",  # orange
    "#009E73",  # bluish green
    "#CC79A7",  # reddish purple
    "#56B4E9",  # sky blue
    "#D55E00",  # vermillion
    "#F0E442",  # yellow
)
"""Okabe-Ito colours, in the order series take them."""

ACCENT = PALETTE[0]
LIGHT_ACCENT = PALETTE[4]
"""The earlier of two waves, beside ACCENT for the later one (lighter, so it reads as "before")."""
GREY = "#767676"  # the lightest grey with 4.5:1 contrast on white (WCAG AA) for small text
TEXT = "#222222"
FIGURE_WIDTH = 7.0
"""Inches: a full text column in print and a readable slide at 300 dpi."""

SIZES: dict[str, float] = {
    "title": 13.0,
    "subtitle": 9.5,
    "headline": 12.0,
    "panel": 9.5,
    "value": 9.5,
    "label": 8.5,
    "tick": 8.5,
    "note": 7.5,
}
"""Type sizes in points: legible in print at 7 inches wide and on a slide."""

SUPPRESSED_TEXT = "n too small"
CAUTION_MARK = "\u2020"  # dagger: "interpret with caution", explained in the source line
_MINUS = "\u2212"

_RC = {
    "font.family": "DejaVu Sans",
    "font.size": 9,
    "axes.titlesize": 12,
    "axes.titleweight": "bold",
    "axes.titlelocation": "left",
    "axes.labelsize": 9,
    "axes.labelcolor": TEXT,
    "axes.edgecolor": "#BBBBBB",
    "axes.linewidth": 0.8,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "axes.axisbelow": True,
    "axes.prop_cycle": mpl.cycler(color=list(PALETTE)),
    "grid.color": "#E5E5E5",
    "grid.linewidth": 0.6,
    "xtick.color": TEXT,
    "ytick.color": TEXT,
    "xtick.labelsize": 8.5,
    "ytick.labelsize": 8.5,
    "legend.frameon": False,
    "figure.dpi": 100,
    "savefig.dpi": 300,
    "figure.facecolor": "white",
    "svg.hashsalt": "surveykit",  # stable element ids: the same chart gives the same SVG
    "svg.fonttype": "none",  # text stays text in SVG (selectable, searchable)
    "pdf.fonttype": 42,  # TrueType in PDF, so text is selectable
}


@contextmanager
def chart_style() -> Iterator[None]:
    """Apply the house style to the charts drawn inside the ``with`` block."""
    with mpl.rc_context(_RC):
        yield


def format_percent(value: float, digits: int = 0) -> str:
    """``0.5512`` as ``"55%"``; a missing value as an en dash."""
    if value is None or not math.isfinite(value):
        return "\u2013"
    return f"{100 * value:.{digits}f}%"


def format_interval(low: float, high: float, digits: int = 0) -> str:
    """``(0.51, 0.60)`` as ``"51-60%"``."""
    if low is None or high is None or not (math.isfinite(low) and math.isfinite(high)):
        return "not estimable"
    return f"{100 * low:.{digits}f}\u2013{100 * high:.{digits}f}%"


def format_share(estimate: float, low: float, high: float, level: float = 0.95, digits: int = 0) -> str:
    """``"55% (95% CI 51-60%)"``, the form advisories print."""
    return (
        f"{format_percent(estimate, digits)} ({format_percent(level)} CI "
        f"{format_interval(low, high, digits)})"
    )


def format_points(value: float, digits: int = 0, *, unit: bool = True) -> str:
    """A difference of shares in percentage points: ``0.106`` as ``"+11 pts"``, ``-0.04`` as
    ``"−4 pts"`` (a true minus sign); ``unit=False`` leaves out ``" pts"`` (axis ticks)."""
    return _signed(value, digits, " pts" if unit else "")


def format_growth(value: float, digits: int = 0) -> str:
    """A growth rate with its sign: ``0.38`` as ``"+38%"``, ``-0.05`` as ``"−5%"``."""
    return _signed(value, digits, "%")


def _signed(value: float, digits: int, suffix: str) -> str:
    if value is None or not math.isfinite(value):
        return "\u2013"
    number = f"{abs(100 * value):.{digits}f}"
    sign = "" if float(number) == 0 else ("+" if value > 0 else _MINUS)
    return f"{sign}{number}{suffix}"


def format_growth_interval(low: float, high: float, digits: int = 0) -> str:
    """A growth interval: ``"21–57%"`` when both ends are rises, ``"−6% to +36%"`` otherwise."""
    if low is None or high is None or not (math.isfinite(low) and math.isfinite(high)):
        return "not estimable"
    if low >= 0:
        return format_interval(low, high, digits)
    return f"{format_growth(low, digits)} to {format_growth(high, digits)}"


def caution_note(units: str = "respondents", caution_n: int = 30) -> str:
    """The footnote explaining the caution mark: ``"† fewer than 30 respondents: interpret
    with caution"``."""
    return f"{CAUTION_MARK} fewer than {caution_n} {units}: interpret with caution"


def format_count(value: float) -> str:
    """``1380`` as ``"1,380"``."""
    if value is None or not math.isfinite(value):
        return "\u2013"
    return f"{value:,.0f}"


def format_p_value(p: float) -> str:
    """``"p = 0.015"``, or ``"p < 0.001"`` for smaller values."""
    if p is None or not math.isfinite(p):
        return "p not estimable"
    return "p < 0.001" if p < 0.001 else f"p = {p:.3f}"
