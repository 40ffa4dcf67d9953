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
    "PALETTE",
    "SUPPRESSED_TEXT",
    "TEXT",
    "chart_style",
    "format_count",
    "format_interval",
    "format_percent",
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
GREY = "#8C8C8C"
TEXT = "#222222"
FIGURE_WIDTH = 7.0
"""Inches: a full text column in print and a readable slide at 300 dpi."""

SUPPRESSED_TEXT = "n too small"
CAUTION_MARK = "\u2020"  # dagger: "interpret with caution", explained in the source line

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


def format_count(value: float) -> str:
    """``1380`` as ``"1,380"``."""
    if value is None or not math.isfinite(value):
        return "\u2013"
    return f"{value:,.0f}"
