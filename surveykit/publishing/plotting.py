"""Charts of result frames in the house style: every estimate with its interval, every bar with its n.

Each chart reads an estimator's result frame (docs/results.md) and draws what is in it; it never
computes a statistic. Every estimate is drawn with its interval and the interval's level is
stated under the chart; every bar or point carries its ``n``; cells flagged ``"caution"`` get a
dagger explained under the chart and cells flagged ``"suppressed"`` show the words "n too small"
in place of a bar (the Verizon DBIR rules). The layout follows the research-report house styles
(The Economist, Pew Research Center): a title that states the finding, a subtitle saying what was
measured (the question wording), a source line, direct labels instead of legends, a light grid and
the Okabe-Ito palette of :mod:`surveykit.publishing.style`.

* :func:`plot_share` - one share per row, e.g. the share answering "increased" in each wave;
* :func:`plot_categories` - a category breakdown as horizontal bars sorted by estimate;
* :func:`plot_regions` - small multiples: one panel per category, one bar per region;
* :func:`plot_change` - wave-over-wave change: both waves' shares and the difference;
* :func:`plot_counts` - incidents per period with exact intervals and the growth between periods;
* :func:`plot_trend` - monthly counts with the fitted trend and its band;
* :func:`plot_time_to_resolve` - Kaplan-Meier curves of the share of incidents still unresolved;
* :func:`save_chart` - PNG (300 dpi), SVG or PDF, byte-identical for the same figure.

Every chart draws on ``ax`` when one is given and otherwise creates a figure ``FIGURE_WIDTH``
inches wide whose height follows its content; either way it returns the Figure. ``title``,
``subtitle`` and ``source`` default to what the frame says; pass ``title`` to state the finding
and ``subtitle`` to quote the question. A frame does not record its confidence level, so pass
``level`` when it was not 0.95: the chart states it.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.backend_bases import RendererBase
from matplotlib.backends.backend_agg import FigureCanvasAgg, RendererAgg
from matplotlib.figure import Figure
from matplotlib.font_manager import FontProperties
from matplotlib.ticker import FixedLocator, FuncFormatter, MaxNLocator
from matplotlib.transforms import Bbox, offset_copy

from surveykit._validation import check_level, require_columns
from surveykit.exceptions import SurveykitError
from surveykit.publishing.style import (
    ACCENT,
    CAUTION_MARK,
    FIGURE_WIDTH,
    GREY,
    LIGHT_ACCENT,
    PALETTE,
    SIZES,
    SUPPRESSED_TEXT,
    TEXT,
    caution_note,
    chart_style,
    format_count,
    format_growth,
    format_growth_interval,
    format_p_value,
    format_percent,
    format_points,
)

if TYPE_CHECKING:
    from surveykit.survey.tables import IndependenceTest

__all__ = [
    "plot_categories",
    "plot_change",
    "plot_counts",
    "plot_regions",
    "plot_share",
    "plot_time_to_resolve",
    "plot_trend",
    "save_chart",
]

Labels = Mapping[object, str] | None
TimeScale = Literal["linear", "log"]

_CORE = ["estimate", "ci_low", "ci_high", "n", "flag"]
_ROW_COLUMNS = {"variable", "category", "from", "to", "period", "period_start", "time", "quantile"}
_SUPPRESSED = "suppressed"
_CAUTION = "caution"
_MARGIN = 0.16  # inches around the figure's text
_SAVE_FORMATS = {".png": "png", ".svg": "svg", ".pdf": "pdf"}
_METADATA = {
    "png": {"Software": None},
    "svg": {"Date": None, "Creator": "surveykit"},
    "pdf": {"CreationDate": None, "ModDate": None, "Creator": "surveykit", "Producer": None},
}


# ---------------------------------------------------------------------------------------- charts
def plot_share(
    frame: pd.DataFrame,
    *,
    ax: Axes | None = None,
    title: str | None = None,
    subtitle: str | None = None,
    source: str | None = None,
    level: float = 0.95,
    labels: Labels = None,
    caution_n: int = 30,
) -> Figure:
    """A headline chart: one share per row as a column with its interval, value and n.

    Parameters
    ----------
    frame : DataFrame
        A result frame of shares, one row per column drawn, in the order drawn, e.g.
        ``design.proportions("whaling_trend", by="wave")`` filtered to the category
        ``"increased"``. Rows are named by their grouping columns (and the category when it
        varies).
    ax : Axes, optional
        Where to draw; a new figure in the house style otherwise.
    title, subtitle, source : str, optional
        The finding, the question wording and the source (survey, wave, n, weighting). By
        default the title gives the shares, the subtitle names the variable and category and
        the source line the total n.
    level : float
        The confidence level the frame was computed at, stated under the chart.
    labels : mapping, optional
        Display names for categories and group values (``{"US": "United States"}``).
    caution_n : int
        The caution threshold the frame was flagged with, for the footnote.

    Returns
    -------
    Figure
    """
    cells = _cells(frame, "plot_share", labels)
    level = check_level(level)
    with chart_style():
        fig, ax, own = _canvas(ax, 3.1)
        _style_axes(ax, grid="y")
        width = min(0.6, 1.0 * len(cells) / (FIGURE_WIDTH - 1.0))  # columns at most an inch wide
        top = _share_top(cells)
        for i, cell in enumerate(cells):
            if cell.shown:
                _column(ax, i, cell, width)
                ax.annotate(
                    _value_text(cell, format_percent(cell.estimate)),
                    xy=(i, cell.high),
                    xytext=(0, 4),
                    textcoords="offset points",
                    ha="center",
                    va="bottom",
                    fontsize=SIZES["headline"],
                    fontweight="bold",
                    color=TEXT,
                    parse_math=False,
                )
            else:
                _suppressed_text(ax, i, 0, cell, vertical=True)
        ax.set_xticks(range(len(cells)), [f"{c.label}\nn = {format_count(c.n)}" for c in cells])
        ax.set_xlim(-0.7, len(cells) - 0.3)
        _percent_axis(ax, "y", top)
        category = _constant(frame, "category")
        what = _quoted(category, labels) if category is not None else "Share"
        shown = [c for c in cells if c.shown]
        default_title = f"{what}, by {', '.join(_group_columns(frame)) or 'row'}"
        if 0 < len(shown) <= 2:
            default_title = f"{what}: " + ", ".join(
                f"{format_percent(c.estimate)} in {c.label}" for c in shown
            )
        header = _Header(
            _title(title, default_title),
            subtitle if subtitle is not None else _default_subtitle(frame, labels),
            _footer(
                source,
                _total_n(frame),
                "respondents",
                _whiskers(level, frame),
                cells,
                caution_n,
            ),
        )
        _finish(fig, own, [ax], header)
    return fig


def plot_categories(
    frame: pd.DataFrame,
    *,
    ax: Axes | None = None,
    title: str | None = None,
    subtitle: str | None = None,
    source: str | None = None,
    level: float = 0.95,
    labels: Labels = None,
    caution_n: int = 30,
) -> Figure:
    """A category breakdown as horizontal bars sorted by estimate, each with interval, value and n.

    Parameters
    ----------
    frame : DataFrame
        Shares of one breakdown, one row per category, e.g.
        ``design.proportions("impersonated_roles")``; filter a breakdown by group to one group
        first (or draw it with :func:`plot_regions`).
    ax, title, subtitle, source, level, labels, caution_n
        As for :func:`plot_share`; the default title names the largest category.

    Returns
    -------
    Figure
    """
    groups = _group_columns(frame)
    if groups and len(frame.drop_duplicates(groups)) > 1:
        raise SurveykitError(
            f"plot_categories draws one breakdown, but the frame has {len(frame.drop_duplicates(groups))} "
            f"groups of {groups}; filter it to one (frame[frame[{groups[0]!r}] == ...]) or draw the "
            "groups side by side with plot_regions."
        )
    cells = _cells(frame, "plot_categories", labels, label_columns=["category"])
    level = check_level(level)
    order = sorted(range(len(cells)), key=lambda i: (not cells[i].shown, -_finite(cells[i].estimate)))
    cells = [cells[i] for i in order]
    with chart_style():
        fig, ax, own = _canvas(ax, 0.36 * len(cells) + 0.55)
        _style_axes(ax, grid="x")
        top = _share_top(cells, room=1.3)
        for row, cell in enumerate(cells):
            if cell.shown:
                _hbar(ax, row, cell)
                _value_and_n(ax, row, cell, format_percent(cell.estimate))
            else:
                _suppressed_text(ax, 0, row, cell)
        ax.set_yticks(range(len(cells)), [_wrap_label(c.label) for c in cells])
        ax.set_ylim(len(cells) - 0.45, -0.55)
        _percent_axis(ax, "x", top)
        leader = cells[0]
        variable = _constant(frame, "variable")
        header = _Header(
            _title(
                title,
                f"{leader.label} leads with {format_percent(leader.estimate)}"
                if leader.shown
                else f"Answers to {variable or 'the question'}",
            ),
            subtitle if subtitle is not None else _default_subtitle(frame, labels),
            _footer(
                source,
                _total_n(frame),
                "respondents",
                _whiskers(level, frame),
                cells,
                caution_n,
            ),
        )
        _finish(fig, own, [ax], header)
    return fig


def plot_regions(
    frame: pd.DataFrame,
    by: str | Sequence[str],
    *,
    test: IndependenceTest | None = None,
    categories: Sequence[object] | None = None,
    ax: Axes | None = None,
    title: str | None = None,
    subtitle: str | None = None,
    source: str | None = None,
    level: float = 0.95,
    labels: Labels = None,
    caution_n: int = 30,
) -> Figure:
    """Regional small multiples: one panel per category, one bar per region, on one shared axis.

    Parameters
    ----------
    frame : DataFrame
        Shares by region, e.g. ``design.proportions("whaling_trend", by="country")``.
    by : str or list of str
        The region column(s) of the frame.
    test : IndependenceTest, optional
        The Rao-Scott test of the same table (``design.test_independence(by, variable)``),
        reported under the subtitle; the default title then says whether the answers differ.
    categories : sequence, optional
        The categories to draw and their order; all, in the frame's order, by default.
    ax, title, subtitle, source, level, labels, caution_n
        As for :func:`plot_share`. With ``ax`` the panels share its area.

    Returns
    -------
    Figure
    """
    regions_by = [by] if isinstance(by, str) else list(by)
    require_columns(frame, [*_CORE, "category", *regions_by], "frame", SurveykitError)
    level = check_level(level)
    panels = list(dict.fromkeys(frame["category"])) if categories is None else list(categories)
    missing = [c for c in panels if c not in set(frame["category"])]
    if missing:
        raise SurveykitError(
            f"categories {missing} are not in the frame; it has {list(dict.fromkeys(frame['category']))}."
        )
    keys = list(dict.fromkeys(map(tuple, frame[regions_by].astype(object).to_numpy())))
    first = frame[frame["category"] == panels[0]]
    lead = {tuple(r[regions_by]): r["estimate"] for _, r in first.iterrows()}
    keys.sort(key=lambda k: -_finite(_float(lead.get(k))))  # largest first, suppressed last
    counts = frame.groupby(regions_by, dropna=False)["n"].nunique()
    n_in_label = bool((counts == 1).all())
    region_n = frame.groupby(regions_by, dropna=False)["n"].first()
    names = []
    for key in keys:
        name = ", ".join(_display(v, labels) for v in key)
        if n_in_label:
            n = region_n.loc[key if len(key) > 1 else key[0]]
            name = f"{name} (n = {format_count(n)})"
        names.append(name)
    columns = len(panels) if len(panels) <= 4 else 3
    rows = math.ceil(len(panels) / columns)
    cells_by_panel = []
    for category in panels:
        part = frame[frame["category"] == category]
        lookup = {tuple(r[regions_by]): r for _, r in part.iterrows()}
        cells_by_panel.append(
            [_cell(lookup[k], name) if k in lookup else None for k, name in zip(keys, names, strict=True)]
        )
    shown = [c for cells in cells_by_panel for c in cells if c is not None]
    with chart_style():
        panel_height = 0.3 * len(keys) + 0.45
        fig, container, own = _canvas(ax, rows * panel_height + 0.35, panels=(rows, columns))
        axes = _panels(fig, container, rows, columns, top_band=0.1)
        top = _share_top(shown, room=1.3)
        for index, (panel, category, cells) in enumerate(zip(axes, panels, cells_by_panel, strict=False)):
            _style_axes(panel, grid="x")
            for row, cell in enumerate(cells):
                if cell is None:
                    continue
                if cell.shown:
                    _hbar(panel, row, cell)
                    label = _value_text(cell, format_percent(cell.estimate))
                    if not n_in_label:
                        label += f"  n = {format_count(cell.n)}"
                    _end_label(panel, row, cell.high, label)
                else:
                    _suppressed_text(panel, 0, row, cell, short=True)
            panel.set_ylim(len(keys) - 0.45, -0.55)
            if index == 0:
                panel.set_yticks(range(len(keys)), names)
            _percent_axis(panel, "x", top, ticks=3)
            panel.set_title(
                _wrap_label(_display(category, labels), 16 if columns >= 4 else 30),
                loc="left",
                fontsize=SIZES["panel"],
                fontweight="bold",
                color=TEXT,
                pad=4,
            )
        for panel in axes[len(panels) :]:
            panel.set_visible(False)
        variable = _constant(frame, "variable")
        region_word = " and ".join(regions_by)
        default_title = f"Answers to {variable or 'the question'} by {region_word}"
        test_line = ""
        if test is not None:
            differ = test.p_value < 1 - level
            default_title = (
                f"Answers differ by {region_word}"
                if differ
                else f"No significant difference in answers between {_plural(region_word)}"
            )
            test_line = (
                f"Rao-Scott test of independence: F({test.ndf:.2f}, {test.ddf:.0f}) = {test.statistic:.2f}, "
                f"{format_p_value(test.p_value)}."
            )
        base = subtitle if subtitle is not None else _default_subtitle(frame, labels, by=region_word)
        header = _Header(
            _title(title, default_title),
            "\n".join(part for part in (base, test_line) if part),
            _footer(
                source,
                _total_n(frame),
                "respondents",
                _whiskers(level, frame),
                shown,
                caution_n,
            ),
        )
        _finish(fig, own, axes[: len(panels)], header, container=container)
    return fig


def plot_change(
    frame: pd.DataFrame,
    *,
    ax: Axes | None = None,
    title: str | None = None,
    subtitle: str | None = None,
    source: str | None = None,
    level: float = 0.95,
    labels: Labels = None,
    caution_n: int = 30,
) -> Figure:
    """Wave-over-wave change: both waves' shares as a dumbbell and the difference with its interval.

    Parameters
    ----------
    frame : DataFrame
        A :meth:`SurveyDesign.change` (or :func:`surveykit.compare_domains`) result: one row per
        group with ``from, to, estimate (= to - from), ci_low, ci_high, estimate_from,
        estimate_to, n_from, n_to``. A difference whose interval includes 0 is labelled "no
        significant change".
    ax, title, subtitle, source, level, labels, caution_n
        As for :func:`plot_share`; the default title says which changes are significant.

    Returns
    -------
    Figure
    """
    needed = [*_CORE, "from", "to", "estimate_from", "estimate_to", "n_from", "n_to"]
    require_columns(frame, needed, "frame", SurveykitError)
    level = check_level(level)
    label_columns = _group_columns(frame) or ["category"]
    cells = _cells(frame, "plot_change", labels, label_columns=label_columns)
    first, second = _display(frame["from"].iloc[0], labels), _display(frame["to"].iloc[0], labels)
    category = _constant(frame, "category")
    what = _quoted(category, labels) if category is not None else "the answer"
    with chart_style():
        fig, container, own = _canvas(ax, 0.55 * len(cells) + 0.75, panels=(1, 2))
        shares, diffs = _panels(fig, container, 1, 2, width_ratios=(3, 2), shared=False)
        _style_axes(shares, grid="x")
        _style_axes(diffs, grid="x")
        values = frame[["estimate_from", "estimate_to"]].to_numpy(dtype=float)
        top = max(_max(values) * 1.25, 0.1)
        significant = []
        # The waves are named once, over the first row whose earlier share is on the left.
        rows_shown = [i for i, c in enumerate(cells) if c.shown]
        rising = [i for i in rows_shown if frame["estimate_from"].iloc[i] <= frame["estimate_to"].iloc[i]]
        named_row = (rising or rows_shown or [None])[0]
        for row, (cell, (_, record)) in enumerate(zip(cells, frame.iterrows(), strict=True)):
            if not cell.shown:
                _suppressed_text(shares, 0, row, cell)
                continue
            low_value, high_value = sorted((record["estimate_from"], record["estimate_to"]))
            shares.plot([low_value, high_value], [row, row], color="#C8C8C8", lw=2.4, zorder=2)
            for value, colour, side in (
                (record["estimate_from"], LIGHT_ACCENT, record["estimate_from"] <= record["estimate_to"]),
                (record["estimate_to"], ACCENT, record["estimate_to"] < record["estimate_from"]),
            ):
                shares.plot([value], [row], "o", ms=7.5, color=colour, zorder=3, mec="white", mew=0.8)
                shares.annotate(
                    format_percent(value),
                    xy=(value, row),
                    xytext=(-7 if side else 7, 0),
                    textcoords="offset points",
                    ha="right" if side else "left",
                    va="center",
                    fontsize=SIZES["label"],
                    color=TEXT,
                    parse_math=False,
                )
                if row == named_row:
                    shares.annotate(
                        first if colour == LIGHT_ACCENT else second,
                        xy=(value, row),
                        xytext=(-2 if side else 2, 8),
                        textcoords="offset points",
                        ha="right" if side else "left",
                        va="bottom",
                        fontsize=SIZES["label"],
                        fontweight="bold",
                        color=colour,
                        parse_math=False,
                    )
            changed = cell.low > 0 or cell.high < 0
            significant.append((cell, changed, record["estimate_from"], record["estimate_to"]))
            colour = ACCENT if changed else GREY
            diffs.hlines(row, cell.low, cell.high, color=colour, lw=1.6, zorder=2)
            diffs.plot([cell.estimate], [row], "o", ms=6, color=colour, zorder=3)
            text = format_points(cell.estimate) if changed else "no significant change"
            if not (math.isfinite(cell.low) and math.isfinite(cell.high)):
                text = f"{format_points(cell.estimate)}, interval not estimable"
            diffs.annotate(
                _value_text(cell, text),
                xy=(1, row),
                xycoords=("axes fraction", "data"),
                xytext=(8, 0),
                textcoords="offset points",
                ha="left",
                va="center",
                fontsize=SIZES["label"],
                fontweight="bold" if changed else "normal",
                color=ACCENT if changed else GREY,
                parse_math=False,
            )
        names = [
            f"{c.label}\nn = {format_count(r['n_from'])} / {format_count(r['n_to'])}"
            for c, (_, r) in zip(cells, frame.iterrows(), strict=True)
        ]
        for panel in (shares, diffs):
            panel.set_ylim(len(cells) - 0.4, -0.75)
        shares.set_yticks(range(len(cells)), names)
        diffs.set_yticks(range(len(cells)), [])
        diffs.tick_params(axis="y", length=0)
        _percent_axis(shares, "x", top)
        shares.set_xlabel(f"Share answering {what}", fontsize=SIZES["label"], color=TEXT)
        span = max(_max(np.abs(frame[["ci_low", "ci_high"]].to_numpy(dtype=float))), 0.02) * 1.15
        _points_axis(diffs, -span, span)
        diffs.axvline(0, color="#777777", lw=0.9, zorder=1)
        diffs.set_xlabel(f"Change, {second} \u2212 {first} (points)", fontsize=SIZES["label"], color=TEXT)
        header = _Header(
            _title(title, _change_title(significant, what, first, second)),
            subtitle if subtitle is not None else f"{_default_subtitle(frame, labels)}, {first} and {second}",
            _footer(
                source,
                _total_n(frame),
                "respondents",
                f"Right: change in percentage points with its {_level_text(level)} confidence interval "
                f"(method: {_methods(frame)}); \u201cno significant change\u201d where it includes 0.",
                cells,
                caution_n,
            ),
        )
        _finish(fig, own, [shares, diffs], header, container=container)
    return fig


def plot_counts(
    counts: pd.DataFrame,
    growth: pd.DataFrame | None = None,
    *,
    ax: Axes | None = None,
    title: str | None = None,
    subtitle: str | None = None,
    source: str | None = None,
    level: float = 0.95,
    labels: Labels = None,
    caution_n: int = 30,
) -> Figure:
    """Incidents per period as columns with their intervals, and the growth between periods.

    Parameters
    ----------
    counts : DataFrame
        A :func:`surveykit.incident_counts` result for one series (filter a breakdown by group
        to one group first): ``period, estimate, ci_low, ci_high, n...``.
    growth : DataFrame, optional
        A :func:`surveykit.yoy_growth` result of the same log: each period's growth over the
        one before (``estimate = rate ratio - 1`` with its interval), written over the arrow
        between the two columns ("+38% (95% CI 13-68%)").
    ax, title, subtitle, source, level, labels, caution_n
        As for :func:`plot_share`; the default title gives the first and last counts.

    Returns
    -------
    Figure
    """
    require_columns(counts, [*_CORE, "period"], "counts", SurveykitError)
    _one_series(counts, "plot_counts", "counts")
    level = check_level(level)
    cells = _cells(counts, "plot_counts", labels, label_columns=["period"])
    rates = "count" in counts.columns and not np.allclose(
        counts["estimate"].to_numpy(dtype=float), counts["count"].to_numpy(dtype=float), equal_nan=True
    )
    rises: dict[str, _Cell] = {}
    if growth is not None:
        require_columns(growth, [*_CORE, "period"], "growth", SurveykitError)
        _one_series(growth, "plot_counts", "growth")
        for cell, period in zip(
            _cells(growth, "plot_counts", labels, label_columns=["period"]), growth["period"], strict=True
        ):
            rises[str(period)] = cell
    with chart_style():
        fig, ax, own = _canvas(ax, 3.3)
        _style_axes(ax, grid="y")
        width = min(0.62, 1.1 * len(cells) / (FIGURE_WIDTH - 1.0))
        top = _max([c.high for c in cells]) * (1.45 if rises else 1.18)
        for i, cell in enumerate(cells):
            if not cell.shown:
                _suppressed_text(ax, i, 0, cell, vertical=True)
                continue
            _column(ax, i, cell, width)
            value = f"{cell.estimate:,.3g}" if rates else format_count(cell.estimate)
            ax.annotate(
                _value_text(cell, value),
                xy=(i, cell.high),
                xytext=(0, 3),
                textcoords="offset points",
                ha="center",
                va="bottom",
                fontsize=SIZES["value"],
                fontweight="bold",
                color=TEXT,
                parse_math=False,
            )
        periods = [str(p) for p in counts["period"]]
        for i in range(1, len(cells)):
            rise = rises.get(periods[i])
            before, after = cells[i - 1], cells[i]
            if rise is None or not (before.shown and after.shown):
                continue
            lift = offset_copy(ax.transData, fig=fig, y=18, units="points")
            ax.annotate(
                "",
                xy=(i - 0.18, after.high),
                xycoords=lift,
                xytext=(i - 0.82, before.high),
                textcoords=lift,
                arrowprops={
                    "arrowstyle": "-|>",
                    "color": GREY,
                    "lw": 0.9,
                    "connectionstyle": "arc3,rad=-0.18",
                    "shrinkA": 0,
                    "shrinkB": 0,
                },
            )
            if rise.shown:
                headline = _value_text(rise, format_growth(rise.estimate))
                detail = f"({_level_text(level)} CI {format_growth_interval(rise.low, rise.high)})"
            else:
                headline, detail = SUPPRESSED_TEXT, f"(n = {format_count(rise.n)})"
            under = ax.annotate(
                detail,
                xy=(i - 0.5, max(before.high, after.high)),
                xytext=(0, 30),
                textcoords="offset points",
                ha="center",
                va="bottom",
                fontsize=SIZES["note"] + 0.5,
                color=TEXT if rise.shown else GREY,
                parse_math=False,
            )
            ax.annotate(
                headline,
                xy=(0.5, 1),
                xycoords=under,
                xytext=(0, 1),
                textcoords="offset points",
                ha="center",
                va="bottom",
                fontsize=SIZES["value"],
                fontweight="bold" if rise.shown else "normal",
                color=TEXT if rise.shown else GREY,
                parse_math=False,
            )
        ticks = [c.label if not rates else f"{c.label}\nn = {format_count(c.n)}" for c in cells]
        ax.set_xticks(range(len(cells)), ticks)
        ax.set_xlim(-0.7, len(cells) - 0.3)
        _count_axis(ax, "y", top)
        shown = [c for c in cells if c.shown]
        if title is None:
            title = "Incidents per period"
            if len(shown) >= 2:
                verb = "rose" if shown[-1].estimate > shown[0].estimate else "fell"
                title = (
                    f"Incidents {verb} from {format_count(shown[0].estimate)} in {shown[0].label} "
                    f"to {format_count(shown[-1].estimate)} in {shown[-1].label}"
                    if not rates
                    else f"The incident rate {verb} from {shown[0].estimate:,.3g} in {shown[0].label} "
                    f"to {shown[-1].estimate:,.3g} in {shown[-1].label}"
                )
        note = _whiskers(level, counts)
        if rises:
            note += (
                f" Arrows: growth on the period before (rate ratio \u2212 1) with its "
                f"{_level_text(level)} confidence interval; method: {_methods(growth)}."
            )
        default_subtitle = "Incidents recorded per period" if not rates else "Incidents per unit of exposure"
        header = _Header(
            title,
            subtitle if subtitle is not None else default_subtitle,
            _footer(
                source,
                int(counts["n"].sum()),
                "incidents",
                note,
                [*cells, *rises.values()],
                caution_n,
            ),
        )
        _finish(fig, own, [ax], header)
    return fig


def plot_trend(
    fitted: pd.DataFrame,
    *,
    by: str | None = None,
    ax: Axes | None = None,
    title: str | None = None,
    subtitle: str | None = None,
    source: str | None = None,
    level: float = 0.95,
    labels: Labels = None,
    caution_n: int = 30,
) -> Figure:
    """A monthly trend: the observed counts as dots and the fitted line with its band.

    Parameters
    ----------
    fitted : DataFrame
        A :func:`surveykit.trend_line` result: ``[by...], period, period_start, estimate,
        ci_low, ci_high, n, ..., count, annual_growth``.
    by : str, optional
        The group column of a ``trend_line(log, by=...)`` frame: one line per group in the
        palette's colours, each labelled at its end with its annual growth.
    ax, title, subtitle, source, level, labels, caution_n
        As for :func:`plot_share`; the default title gives the annual growth.

    Returns
    -------
    Figure
    """
    require_columns(fitted, [*_CORE, "period_start"], "fitted", SurveykitError)
    if by is None:
        _one_series(fitted, "plot_trend", "fitted", allowed=["period", "period_start"])
    else:
        require_columns(fitted, [by], "by", SurveykitError)
    level = check_level(level)
    groups = [(None, fitted)] if by is None else list(fitted.groupby(by, sort=False, dropna=False))
    # Colours in the order the lines end, top first, so the labels stack in palette order.
    groups.sort(key=lambda group: -_finite(_float(group[1]["estimate"].iloc[-1])))
    if len(groups) > len(PALETTE):
        raise SurveykitError(
            f"plot_trend draws at most {len(PALETTE)} lines (one per palette colour); the frame has "
            f"{len(groups)} groups of {by!r}. Filter it to fewer."
        )
    counts_column = "count" if "count" in fitted.columns else "n"
    with chart_style():
        fig, ax, own = _canvas(ax, 3.4)
        _style_axes(ax, grid="y")
        ends = []
        top = 0.0
        for colour, (key, part) in zip(PALETTE, groups, strict=False):
            dates = pd.to_datetime(part["period_start"]).to_numpy()
            observed = part[counts_column].to_numpy(dtype=float)
            name = "All incidents" if key is None else _display(key, labels)
            ax.plot(dates, observed, "o", ms=3.2, color=colour, alpha=0.55, mec="none", zorder=3)
            top = max(top, _max(observed))
            flag = str(part["flag"].iloc[0])
            total = format_count(observed.sum())
            if flag == _SUPPRESSED or part["estimate"].isna().all():
                text = f"{name}: {SUPPRESSED_TEXT} (n = {total})"
                ends.append((float(observed[-1]), text, GREY, float(observed[-1])))
                continue
            ax.fill_between(dates, part["ci_low"], part["ci_high"], color=colour, alpha=0.2, lw=0, zorder=1)
            ax.plot(dates, part["estimate"], color=colour, lw=2, zorder=2)
            top = max(top, _max(part["ci_high"]))
            mark = CAUTION_MARK if flag == _CAUTION else ""
            growth = part["annual_growth"].iloc[0] if "annual_growth" in part.columns else np.nan
            text = (f"{name} (n = {total})\n" if by is not None else "Fitted trend\n") + (
                f"{format_growth(growth)} a year{mark}" if math.isfinite(growth) else mark
            )
            last = float(part["estimate"].iloc[-1])
            ends.append((last, text, colour, last))
        _count_axis(ax, "y", top * 1.08)
        _end_labels(ax, ends, top * 1.08)
        _year_axis(ax, pd.to_datetime(fitted["period_start"]))
        cautions = [c for c in _cells(fitted, "plot_trend", None, label_columns=["period"]) if c.caution]
        if title is None:
            title = "Incidents per month"
            if by is None and "annual_growth" in fitted.columns:
                growth = float(fitted["annual_growth"].iloc[0])
                if math.isfinite(growth):
                    verb = "grew" if growth >= 0 else "fell"
                    title = f"Incidents {verb} by {format_percent(abs(growth))} a year"
        header = _Header(
            title,
            subtitle
            if subtitle is not None
            else "Incidents per month (dots) with the fitted log-linear trend"
            + ("" if by is None else f", by {by}"),
            _footer(
                source,
                int(fitted[counts_column].sum()),
                "incidents",
                f"Bands show {_level_text(level)} confidence intervals of the fitted monthly mean; "
                f"method: {_methods(fitted)}.",
                cautions[:1],
                caution_n,
            ),
        )
        _finish(fig, own, [ax], header)
    return fig


def plot_time_to_resolve(
    curve: pd.DataFrame,
    *,
    by: str | None = None,
    unit: str | None = None,
    time_scale: TimeScale = "linear",
    max_time: float | None = None,
    ax: Axes | None = None,
    title: str | None = None,
    subtitle: str | None = None,
    source: str | None = None,
    level: float = 0.95,
    labels: Labels = None,
    caution_n: int = 30,
) -> Figure:
    """Kaplan-Meier curves: the share of incidents still unresolved against time since detection.

    Parameters
    ----------
    curve : DataFrame
        A :func:`surveykit.kaplan_meier` result (``time, estimate, ci_low, ci_high, n, ...,
        n_censor``), or several stacked with a group column named by ``by``, e.g.
        ``pd.concat({t: sk.kaplan_meier(...) for t in types}, names=["incident_type"])
        .reset_index(0)``. Drawn as steps from 100% at time 0 with their band, and a ``+``
        where incidents were censored (still open when the log ends).
    by : str, optional
        The group column: one curve per group in the palette's colours, labelled at its end.
    unit : str, optional
        The unit of ``time`` for the axis ("hours"); the frame's ``unit`` column when it has
        one, else hours.
    time_scale : {"linear", "log"}
        A log time axis spreads out curves whose durations span hours to weeks.
    max_time : float, optional
        Where the time axis stops (e.g. 336 hours: two weeks), when a few long-open incidents
        would squeeze the rest of the curve; the note under the chart says so. The whole
        curve by default.
    ax, title, subtitle, source, level, labels, caution_n
        As for :func:`plot_share`.

    Returns
    -------
    Figure
    """
    require_columns(curve, [*_CORE, "time", "n_censor"], "curve", SurveykitError)
    if time_scale not in ("linear", "log"):
        raise SurveykitError(f"time_scale must be one of ['linear', 'log']; got {time_scale!r}")
    if max_time is not None and not (isinstance(max_time, int | float) and max_time > 0):
        raise SurveykitError(f"max_time must be a positive number of time units; got {max_time!r}")
    if by is not None:
        require_columns(curve, [by], "by", SurveykitError)
    level = check_level(level)
    if unit is None:
        unit = str(curve["unit"].iloc[0]) if "unit" in curve.columns else "hours"
    groups = [(None, curve)] if by is None else list(curve.groupby(by, sort=False, dropna=False))
    if len(groups) > len(PALETTE):
        raise SurveykitError(
            f"plot_time_to_resolve draws at most {len(PALETTE)} curves (one per palette colour); the "
            f"frame has {len(groups)} groups of {by!r}. Filter it to fewer."
        )
    times = curve["time"].to_numpy(dtype=float)
    longest = _max(times) if max_time is None else float(max_time)
    positive = times[(times > 0) & np.isfinite(times)]
    if time_scale == "log":
        left = 10 ** math.floor(math.log10(float(positive.min()))) if positive.size else 0.1
        right = longest * 1.1
    else:
        left, right = 0.0, longest * 1.02
    middle = math.sqrt(left * right) if time_scale == "log" else right / 2
    with chart_style():
        fig, ax, own = _canvas(ax, 3.5)
        _style_axes(ax, grid="both")
        ends = []
        cautions = []
        totals = []
        for colour, (key, part) in zip(PALETTE, groups, strict=False):
            part = part.sort_values("time")
            n = int(part["n"].iloc[0])
            totals.append(n)
            name = "All incidents" if key is None else _display(key, labels)
            flag = str(part["flag"].iloc[0])
            if flag == _SUPPRESSED or part["estimate"].isna().all():
                ends.append((0.5, f"{name}: {SUPPRESSED_TEXT} (n = {format_count(n)})", GREY, 0.5))
                continue
            time = part["time"].to_numpy(dtype=float)
            steps = np.concatenate([[left], time])
            estimate = np.concatenate([[1.0], part["estimate"].to_numpy(dtype=float)])
            low = np.concatenate([[1.0], part["ci_low"].to_numpy(dtype=float)])
            high = np.concatenate([[1.0], part["ci_high"].to_numpy(dtype=float)])
            ax.fill_between(steps, low, high, step="post", color=colour, alpha=0.2, lw=0, zorder=1)
            ax.step(steps, estimate, where="post", color=colour, lw=1.8, zorder=2)
            censored = part["n_censor"].to_numpy() > 0
            ax.plot(time[censored], estimate[1:][censored], "+", ms=5, mew=1.0, color=colour, zorder=3)
            mark = CAUTION_MARK if flag == _CAUTION else ""
            if flag == _CAUTION:
                cautions.append(_Cell(name, 0.0, 0.0, 0.0, n, _CAUTION))
            shown_to = min(right, _max(time))
            last = float(estimate[np.searchsorted(steps, shown_to, side="right") - 1])
            # Stack the labels in the order the curves run through the middle of the axis.
            rank = float(estimate[max(np.searchsorted(steps, middle, side="right") - 1, 0)])
            ends.append((last, f"{name} (n = {format_count(n)}){mark}", colour, rank))
        if time_scale == "log":
            ax.set_xscale("log")
            _log_ticks(ax, left, right)
        else:
            ax.xaxis.set_major_locator(FixedLocator(_time_ticks(right, unit)))
            ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:,g}"))
        ax.set_xlim(left, right)
        ax.set_xlabel(f"{unit.capitalize()} since detection", fontsize=SIZES["label"], color=TEXT)
        _percent_axis(ax, "y", 1.0, bottom=0.0)
        _end_labels(ax, ends, 1.0)
        note = (
            f"Bands show {_level_text(level)} pointwise confidence intervals; method: {_methods(curve)}. "
            "+ marks incidents still open when the log ends."
        )
        if max_time is not None and _max(times) > max_time:
            note += f" Time axis cut at {max_time:,g} {unit}."
        header = _Header(
            title if title is not None else f"Share of incidents still unresolved, by {unit} since detection",
            subtitle
            if subtitle is not None
            else "Kaplan-Meier estimate of the share of incidents not yet resolved",
            _footer(source, sum(totals), "incidents", note, cautions, caution_n),
        )
        _finish(fig, own, [ax], header)
    return fig


def save_chart(fig: Figure, path: str | Path) -> Path:
    """Save a chart as PNG (300 dpi), SVG or PDF, chosen by the file's suffix.

    The output is deterministic: no dates or software versions in the metadata and stable SVG
    ids (``svg.hashsalt`` of the house style), so the same figure gives byte-identical files.

    Parameters
    ----------
    fig : Figure
        A chart of this module (or any matplotlib figure).
    path : str or Path
        The file to write; its suffix (``.png``, ``.svg`` or ``.pdf``) chooses the format.

    Returns
    -------
    Path
    """
    path = Path(path)
    file_format = _SAVE_FORMATS.get(path.suffix.lower())
    if file_format is None:
        raise SurveykitError(
            f"save_chart writes {sorted(_SAVE_FORMATS)} files; got {path.suffix or 'no suffix'!r} "
            f"in {str(path)!r}."
        )
    with chart_style():
        fig.savefig(path, format=file_format, dpi=300, metadata=_METADATA[file_format])
    if file_format == "svg":
        path.write_text(_stable_clip_ids(path.read_text(encoding="utf-8")), encoding="utf-8")
    return path


_CLIP_ID = re.compile(r"\bp[0-9a-f]{10}\b")


def _stable_clip_ids(svg: str) -> str:
    """Number the clip-path ids (``clip0``, ``clip1``...) in order of appearance.

    matplotlib derives them from the clip boxes' float coordinates, whose last bits can differ
    between two drawings of the same chart; numbering them keeps the same chart's SVG identical.
    A page that inlines several charts must make the ids unique per chart.
    """
    numbers: dict[str, str] = {}
    return _CLIP_ID.sub(lambda match: numbers.setdefault(match.group(0), f"clip{len(numbers)}"), svg)


# ---------------------------------------------------------------------------------------- cells
@dataclass(frozen=True)
class _Cell:
    """One drawn estimate, read from a row of a result frame."""

    label: str
    estimate: float
    low: float
    high: float
    n: int
    flag: str

    @property
    def shown(self) -> bool:
        return self.flag != _SUPPRESSED and math.isfinite(self.estimate)

    @property
    def caution(self) -> bool:
        return self.flag == _CAUTION and self.shown


def _cell(record: pd.Series, label: str) -> _Cell:
    return _Cell(
        label,
        _float(record["estimate"]),
        _float(record["ci_low"]),
        _float(record["ci_high"]),
        int(record["n"]) if pd.notna(record["n"]) else 0,
        str(record["flag"]),
    )


def _cells(
    frame: pd.DataFrame, chart: str, labels: Labels, label_columns: Sequence[str] | None = None
) -> list[_Cell]:
    require_columns(frame, _CORE, "frame", SurveykitError)
    if len(frame) == 0:
        raise SurveykitError(f"{chart} needs at least one row; the frame is empty.")
    if label_columns is None:
        label_columns = _group_columns(frame)
        if "category" in frame.columns and (not label_columns or frame["category"].nunique(dropna=False) > 1):
            label_columns = [*label_columns, "category"]
    names = [
        ", ".join(_display(record[c], labels) for c in label_columns) if label_columns else "All"
        for _, record in frame.iterrows()
    ]
    return [_cell(record, name) for name, (_, record) in zip(names, frame.iterrows(), strict=True)]


def _group_columns(frame: pd.DataFrame) -> list[str]:
    """The grouping columns: those before ``estimate`` that do not say what the row is about."""
    leading = list(frame.columns[: list(frame.columns).index("estimate")]) if "estimate" in frame else []
    return [c for c in leading if c not in _ROW_COLUMNS]


def _one_series(frame: pd.DataFrame, chart: str, argument: str, allowed: Sequence[str] = ("period",)) -> None:
    groups = [c for c in _group_columns(frame) if c not in allowed]
    if groups and len(frame.drop_duplicates(groups)) > 1:
        raise SurveykitError(
            f"{chart} draws one series, but {argument} has {len(frame.drop_duplicates(groups))} groups "
            f"of {groups}; filter it to one group (frame[frame[{groups[0]!r}] == ...])"
            + (" or pass by=" if chart == "plot_trend" else "")
            + "."
        )


def _total_n(frame: pd.DataFrame) -> int:
    """Units behind the chart: ``n`` summed over groups (each group's ``n`` counted once)."""
    groups = _group_columns(frame)
    if "period" in frame.columns:
        groups = [*groups, "period"]
    if groups:
        return int(frame.groupby(groups, dropna=False)["n"].max().sum())
    return int(frame["n"].max())


def _constant(frame: pd.DataFrame, column: str) -> object | None:
    if column in frame.columns and frame[column].nunique(dropna=False) == 1:
        return frame[column].iloc[0]
    return None


def _display(value: object, labels: Labels) -> str:
    if labels is not None and value in labels:
        return str(labels[value])
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA:
        return "Missing"
    return str(value)


def _quoted(value: object, labels: Labels) -> str:
    return f"\u201c{_display(value, labels)}\u201d"


def _float(value: object) -> float:
    return float(value) if pd.notna(value) else math.nan


def _finite(value: float) -> float:
    return value if math.isfinite(value) else -math.inf


def _max(values: object) -> float:
    array = np.asarray(values, dtype=float)
    array = array[np.isfinite(array)]
    return float(array.max()) if array.size else 0.0


def _methods(frame: pd.DataFrame | None) -> str:
    if frame is None or "method" not in frame.columns:
        return "method not stated"
    return ", ".join(str(m) for m in dict.fromkeys(frame["method"].dropna()))


def _whiskers(level: float, frame: pd.DataFrame) -> str:
    return f"Whiskers show {_level_text(level)} confidence intervals; method: {_methods(frame)}."


def _level_text(level: float) -> str:
    return f"{100 * level:g}%"


def _plural(word: str) -> str:
    return word if word.endswith("s") else (word[:-1] + "ies" if word.endswith("y") else word + "s")


def _value_text(cell: _Cell, text: str) -> str:
    return text + (CAUTION_MARK if cell.caution else "")


def _default_subtitle(frame: pd.DataFrame, labels: Labels, by: str | None = None) -> str:
    variable = _constant(frame, "variable")
    category = _constant(frame, "category")
    what = (
        f"Share of respondents answering {_quoted(category, labels)}"
        if category is not None
        else "Share of respondents giving each answer"
    )
    if variable is not None:
        what += f" to {variable}"
    if by:
        what += f", by {by}"
    return what


def _title(given: str | None, default: str) -> str:
    """The caller's title as given, else the default with its first letter capitalised."""
    if given is not None:
        return given
    first = next((i for i, character in enumerate(default) if character.isalpha()), None)
    return default if first is None else default[:first] + default[first].upper() + default[first + 1 :]


def _change_title(
    significant: list[tuple[_Cell, bool, float, float]], what: str, first: str, second: str
) -> str:
    """The finding: which changes are significant (their interval excludes 0), and by how much."""
    if not significant:
        return f"Change in {what} from {first} to {second}"
    if len(significant) == 1:
        cell, changed, before, after = significant[0]
        values = f"{format_percent(before)} in {first}, {format_percent(after)} in {second}"
        if not changed:
            return f"No significant change in {what}: {values}"
        verb = "rose" if cell.estimate > 0 else "fell"
        return f"{what} {verb} from {format_percent(before)} to {format_percent(after)}"
    moved = [cell.label for cell, changed, _, _ in significant if changed]
    if not moved:
        return f"No significant change in {what} in any group"
    where = "in every group" if len(moved) == len(significant) else f"in {_listing(moved)}"
    return f"Significant change in {what} {where}"


def _listing(names: list[str]) -> str:
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


# ---------------------------------------------------------------------------------------- drawing
def _style_axes(ax: Axes, grid: Literal["x", "y", "both"]) -> None:
    """The house style set explicitly, so it holds for axes made outside ``chart_style``."""
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    for side in ("left", "bottom"):
        ax.spines[side].set_color("#BBBBBB")
        ax.spines[side].set_linewidth(0.8)
    ax.set_axisbelow(True)
    ax.grid(False)
    ax.grid(True, axis=grid, color="#E5E5E5", linewidth=0.6)
    ax.tick_params(labelsize=SIZES["tick"], labelcolor=TEXT, color="#BBBBBB", width=0.8, length=3)
    ax.set_facecolor("white")
    if grid == "x":  # horizontal bars: the left spine is the baseline, the grid the scale
        ax.tick_params(axis="both", length=0)
        ax.spines["bottom"].set_visible(False)
    elif grid == "y":  # columns: the bottom spine is the baseline
        ax.tick_params(axis="both", length=0)
        ax.spines["left"].set_visible(False)


def _column(ax: Axes, x: float, cell: _Cell, width: float) -> None:
    face = "white" if cell.caution else ACCENT
    ax.bar(x, cell.estimate, width=width, color=face, edgecolor=ACCENT, linewidth=1.0, zorder=2)
    ax.errorbar(
        x, cell.estimate, yerr=[[cell.estimate - cell.low], [cell.high - cell.estimate]],
        fmt="none", ecolor=TEXT, elinewidth=1.1, capsize=4, capthick=1.1, zorder=3,
    )  # fmt: skip


def _hbar(ax: Axes, y: float, cell: _Cell) -> None:
    face = "white" if cell.caution else ACCENT
    ax.barh(y, cell.estimate, height=0.62, color=face, edgecolor=ACCENT, linewidth=1.0, zorder=2)
    ax.errorbar(
        cell.estimate, y, xerr=[[cell.estimate - cell.low], [cell.high - cell.estimate]],
        fmt="none", ecolor=TEXT, elinewidth=1.0, capsize=3, capthick=1.0, zorder=3,
    )  # fmt: skip


def _end_label(ax: Axes, y: float, x: float, text: str, **style: object) -> None:
    ax.annotate(
        text,
        xy=(x, y),
        xytext=(5, 0),
        textcoords="offset points",
        ha="left",
        va="center",
        fontsize=SIZES["label"],
        fontweight="bold",
        color=TEXT,
        parse_math=False,
        **style,
    )


def _value_and_n(ax: Axes, y: float, cell: _Cell, value: str) -> None:
    """The value in bold at the end of the whisker, its n in grey after it."""
    value_text = ax.annotate(
        _value_text(cell, value),
        xy=(cell.high, y),
        xytext=(5, 0),
        textcoords="offset points",
        ha="left",
        va="center",
        fontsize=SIZES["label"],
        fontweight="bold",
        color=TEXT,
        parse_math=False,
    )
    ax.annotate(
        f"n = {format_count(cell.n)}",
        xy=(1, 0.5),
        xycoords=value_text,
        xytext=(4, 0),
        textcoords="offset points",
        ha="left",
        va="center",
        fontsize=SIZES["note"] + 0.5,
        color=GREY,
        parse_math=False,
    )


def _suppressed_text(
    ax: Axes, x: float, y: float, cell: _Cell, *, vertical: bool = False, short: bool = False
) -> None:
    text = SUPPRESSED_TEXT if short else f"{SUPPRESSED_TEXT} (n = {format_count(cell.n)})"
    ax.annotate(
        text,
        xy=(x, y),
        xytext=(0, 4) if vertical else (4, 0),
        textcoords="offset points",
        ha="center" if vertical else "left",
        va="bottom" if vertical else "center",
        fontsize=SIZES["label"],
        fontstyle="italic",
        color=GREY,
        parse_math=False,
    )


def _share_top(cells: Sequence[_Cell], room: float = 1.18) -> float:
    return max(_max([c.high for c in cells if c.shown]) * room, 0.1)


def _percent_axis(
    ax: Axes, which: Literal["x", "y"], top: float, bottom: float = 0.0, ticks: int = 5
) -> None:
    """A share axis from ``bottom`` to ``top`` with ticks at round percentages up to 100%."""
    steps = [1, 2, 2.5, 5, 10]
    locator = MaxNLocator(ticks, steps=steps)
    ticks = [t for t in locator.tick_values(bottom, min(top, 1.0)) if bottom <= t <= top + 1e-9]
    ticks = [t for t in ticks if t <= 1.0 + 1e-9]
    axis = ax.xaxis if which == "x" else ax.yaxis
    (ax.set_xlim if which == "x" else ax.set_ylim)(bottom, top)
    if which == "y" and top == 1.0 and bottom == 0.0:
        ax.set_ylim(0, 1.02)
    axis.set_major_locator(FixedLocator(ticks))
    axis.set_major_formatter(FuncFormatter(lambda v, _: format_percent(v)))


def _count_axis(ax: Axes, which: Literal["x", "y"], top: float) -> None:
    ticks = [t for t in MaxNLocator(5, integer=True).tick_values(0, top) if 0 <= t <= top]
    (ax.set_xlim if which == "x" else ax.set_ylim)(0, top)
    axis = ax.xaxis if which == "x" else ax.yaxis
    axis.set_major_locator(FixedLocator(ticks))
    axis.set_major_formatter(FuncFormatter(lambda v, _: format_count(v)))


def _points_axis(ax: Axes, low: float, high: float) -> None:
    ax.set_xlim(low, high)
    ticks = [t for t in MaxNLocator(5, steps=[1, 2, 2.5, 5, 10]).tick_values(low, high) if low <= t <= high]
    ax.xaxis.set_major_locator(FixedLocator(ticks))
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: format_points(v, unit=False)))


def _year_axis(ax: Axes, starts: pd.Series) -> None:
    first, last = starts.min(), starts.max()
    ax.set_xlim(first - pd.Timedelta(days=20), last + pd.Timedelta(days=45))
    years = pd.date_range(f"{first.year}-01-01", f"{last.year}-01-01", freq="YS")
    years = [y for y in years if y >= first - pd.Timedelta(days=20)]
    ax.set_xticks(years, [str(y.year) for y in years])
    ax.tick_params(axis="x", length=3)


def _time_ticks(right: float, unit: str) -> list[float]:
    """Round ticks from 0; in hours, whole days (24, 48...) once the axis spans three days."""
    if unit == "hours" and right >= 72:
        step = next(s for s in (24, 48, 72, 168, 336, 720, 1440, 2880, 8760) if right / s <= 8)
        if right / step <= 8:
            return [step * k for k in range(int(right // step) + 1)]
    locator = MaxNLocator(7, steps=[1, 2, 2.5, 5, 10])
    return [t for t in locator.tick_values(0, right) if 0 <= t <= right]


def _log_ticks(ax: Axes, low: float, high: float) -> None:
    """1-2-5 ticks over up to three decades, one tick a decade over more."""
    mantissas = (1, 2, 5) if math.log10(high / low) <= 3 else (1,)
    decades = range(math.floor(math.log10(low)), math.ceil(math.log10(high)) + 1)
    ticks = [m * 10.0**e for e in decades for m in mantissas if low <= m * 10.0**e <= high]
    ax.xaxis.set_major_locator(FixedLocator(ticks))
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:,g}"))
    ax.xaxis.set_minor_locator(FixedLocator([]))


def _end_labels(ax: Axes, ends: list[tuple[float, str, str, float]], top: float) -> None:
    """Direct labels at the right edge, each at its line's last value, nudged apart.

    ``ends`` holds ``(last value, text, colour, rank)``; labels stack top-down by ``rank`` and
    are spread out (and kept inside the axis) so they never overlap.
    """
    if not ends:
        return
    height_pt = ax.get_position().height * ax.figure.get_figheight() * 72
    order = sorted(range(len(ends)), key=lambda i: -ends[i][3])
    wanted = [ends[i][0] / top for i in order]  # axes fraction, top label first
    sizes = [(SIZES["label"] * 1.25 * (ends[i][1].count("\n") + 1) + 3) / max(height_pt, 1.0) for i in order]
    positions = list(wanted)
    for k in range(1, len(positions)):
        needed = (sizes[k - 1] + sizes[k]) / 2
        positions[k] = min(positions[k], positions[k - 1] - needed)
    shift = max(sizes[-1] / 2 - positions[-1], 0.0)  # lift the stack off the bottom edge
    positions = [p + shift for p in positions]
    for position, i in zip(positions, order, strict=True):
        _, text, colour, _ = ends[i]
        ax.annotate(
            text,
            xy=(1.0, position),
            xycoords="axes fraction",
            xytext=(6, 0),
            textcoords="offset points",
            ha="left",
            va="center",
            fontsize=SIZES["label"],
            fontweight="bold",
            color=colour,
            linespacing=1.15,
            parse_math=False,
        )


def _wrap_label(text: str, width: int = 30) -> str:
    if len(text) <= width:
        return text
    words, lines, line = text.split(), [], ""
    for word in words:
        if line and len(line) + 1 + len(word) > width:
            lines.append(line)
            line = word
        else:
            line = f"{line} {word}".strip()
    lines.append(line)
    return "\n".join(lines)


# ---------------------------------------------------------------------------------------- layout
@dataclass(frozen=True)
class _Header:
    """The words around a chart: the finding, what was measured, notes and the source."""

    title: str
    subtitle: str
    footer: str


def _footer(
    source: str | None,
    total: int,
    units: str,
    note: str,
    cells: Sequence[_Cell],
    caution_n: int,
) -> str:
    """The note on the intervals (and caution mark, if any cell has one) and the source line."""
    if any(c.caution for c in cells):
        note += f" {caution_note(units, caution_n)}."
    source_line = source if source is not None else f"Base: {format_count(total)} {units}."
    return "\n".join(part for part in (note, source_line) if part)


def _canvas(
    ax: Axes | None, body_height: float, panels: tuple[int, int] = (1, 1)
) -> tuple[Figure, Axes | None, bool]:
    """The figure and the axes to draw on: the caller's, or a new figure in the house style.

    A new figure gets an Agg canvas (it draws and saves without pyplot) and a provisional
    height, ``body_height`` inches for the chart itself; :func:`_finish` adds the text.
    """
    if ax is not None:
        return ax.figure, ax, False
    fig = Figure(figsize=(FIGURE_WIDTH, body_height))
    FigureCanvasAgg(fig)
    if panels == (1, 1):
        return fig, fig.add_subplot(), True
    return fig, None, True


def _panels(
    fig: Figure,
    container: Axes | None,
    rows: int,
    columns: int,
    *,
    top_band: float = 0.0,
    width_ratios: Sequence[float] | None = None,
    shared: bool = True,
) -> list[Axes]:
    """A grid of panels: subplots of a new figure, or insets filling the caller's axes."""
    if container is None:
        grid = fig.subplots(
            rows, columns, sharex=shared, sharey=shared, squeeze=False, width_ratios=width_ratios
        )
        return list(grid.ravel())
    container.set_axis_off()
    ratios = list(width_ratios or [1] * columns)
    gap_x, gap_y = 0.08, 0.1 + top_band
    width_total = 1 - gap_x * (columns - 1)
    height = (1 - gap_y * (rows - 1) - top_band) / rows
    axes = []
    for r in range(rows):
        left = 0.0
        for c in range(columns):
            width = width_total * ratios[c] / sum(ratios)
            bottom = 1 - top_band - (r + 1) * height - r * gap_y
            panel = container.inset_axes((left, bottom, width, height))
            if shared and axes:
                panel.sharex(axes[0])
                panel.sharey(axes[0])
                panel.tick_params(labelleft=c == 0, labelbottom=r == rows - 1)
            axes.append(panel)
            left += width + gap_x
    return axes


def _finish(
    fig: Figure, own: bool, axes: Sequence[Axes], header: _Header, *, container: Axes | None = None
) -> None:
    if own:
        _compose(fig, header)
    else:
        _annotate(container or axes[0], axes, header)


def _compose(fig: Figure, header: _Header) -> None:
    """Lay out a new figure: title, subtitle, the chart (constrained layout), notes and source.

    The text is wrapped to the figure's width and the figure grows to hold it, so the chart
    keeps the height its content asked for.
    """
    width = fig.get_figwidth()
    body = fig.get_figheight()
    text_width = (width - 2 * _MARGIN) * 72
    blocks = [
        (header.title, SIZES["title"], "bold", TEXT, 0.0),
        (header.subtitle, SIZES["subtitle"], "normal", TEXT, 0.05),
    ]
    renderer = fig.canvas.get_renderer()
    top_texts = []
    offset = _MARGIN
    for text, size, weight, colour, gap in blocks:
        if not text:
            continue
        offset += gap
        item = fig.text(
            _MARGIN / width,
            0,
            _wrap(text, text_width, size, weight, balance=True),
            fontsize=size,
            fontweight=weight,
            color=colour,
            ha="left",
            va="top",
            linespacing=1.25,
            parse_math=False,
        )
        top_texts.append((item, offset))
        offset += item.get_window_extent(renderer).height / fig.dpi
    header_height = offset + 0.18
    footer = None
    footer_height = _MARGIN * 0.8
    if header.footer:
        footer = fig.text(
            _MARGIN / width,
            0,
            "\n".join(_wrap(line, text_width, SIZES["note"]) for line in header.footer.split("\n")),
            fontsize=SIZES["note"],
            color=GREY,
            ha="left",
            va="bottom",
            linespacing=1.35,
            parse_math=False,
        )
        footer_height += footer.get_window_extent(renderer).height / fig.dpi + 0.16
    # Whole hundredths of an inch: whole pixels at 100 and 300 dpi, on screen and in print.
    height = math.ceil((header_height + body + footer_height) * 100) / 100
    body = height - header_height - footer_height
    fig.set_size_inches(width, height)
    for item, offset in top_texts:
        item.set_y(1 - offset / height)
        item.set_in_layout(False)
    if footer is not None:
        footer.set_y(_MARGIN * 0.8 / height)
        footer.set_in_layout(False)
    fig.set_layout_engine(
        "constrained",
        rect=(_MARGIN / width - 0.04 / width, footer_height / height, 1 - 2 * _MARGIN / width, body / height),
        w_pad=0.04,
        h_pad=0.03,
        wspace=0.07,
        hspace=0.06,
    )
    # Run the layout to its fixed point, then keep it: every later draw and save (at any dpi, in
    # any format) places everything exactly there, so the same chart gives the same file.
    previous = None
    for _ in range(6):
        fig.draw_without_rendering()
        positions = [tuple(np.round(a.get_position().bounds, 5)) for a in fig.axes]
        if positions == previous:
            break
        previous = positions
    fig.set_layout_engine("none")


def _annotate(container: Axes, axes: Sequence[Axes], header: _Header) -> None:
    """The title, subtitle, notes and source around the caller's axes."""
    fig = container.figure
    width = container.get_position().width * fig.get_figwidth() * 72
    subtitle = _wrap(header.subtitle, width, SIZES["subtitle"], balance=True) if header.subtitle else ""
    title = _wrap(header.title, width, SIZES["title"] - 1, "bold", balance=True) if header.title else ""

    def top(renderer: RendererBase) -> Bbox:
        # The panels with their titles and tick labels, not the texts drawn on them (this one).
        boxes = [a.get_tightbbox(renderer, bbox_extra_artists=[]) for a in axes]
        return Bbox.union([container.bbox, *(b for b in boxes if b is not None)])

    def bottom(renderer: RendererBase) -> Bbox:
        boxes = [a.xaxis.get_tightbbox(renderer) for a in axes if a.get_visible()]
        return Bbox.union([container.bbox, *(b for b in boxes if b is not None)])

    subtitle_text = container.annotate(
        subtitle,
        xy=(0, 1),
        xycoords=("axes fraction", top),
        xytext=(0, 6),
        textcoords="offset points",
        ha="left",
        va="bottom",
        fontsize=SIZES["subtitle"],
        color=TEXT,
        linespacing=1.25,
        parse_math=False,
    )
    container.annotate(
        title,
        xy=(0, 1),
        xycoords=subtitle_text,
        xytext=(0, 4),
        textcoords="offset points",
        ha="left",
        va="bottom",
        fontsize=SIZES["title"] - 1,
        fontweight="bold",
        color=TEXT,
        linespacing=1.2,
        parse_math=False,
    )
    container.annotate(
        "\n".join(_wrap(line, width, SIZES["note"]) for line in header.footer.split("\n")),
        xy=(0, 0),
        xycoords=("axes fraction", bottom),
        xytext=(0, -6),
        textcoords="offset points",
        ha="left",
        va="top",
        fontsize=SIZES["note"],
        color=GREY,
        linespacing=1.35,
        parse_math=False,
    )


def _wrap(text: str, width_pt: float, size: float, weight: str = "normal", *, balance: bool = False) -> str:
    """``text`` broken into lines no wider than ``width_pt`` points in the house font.

    With ``balance``, each paragraph keeps its number of lines but they are made as even as
    possible, so a title never ends in one stranded word.
    """
    font = FontProperties(family="DejaVu Sans", size=size, weight=weight)
    measure = _measure()
    paragraphs = []
    for paragraph in text.split("\n"):
        lines = _greedy(paragraph, width_pt, font, measure)
        if balance and len(lines) > 1:
            low, high = width_pt / len(lines), width_pt
            while high - low > 1.0:
                middle = (low + high) / 2
                if len(_greedy(paragraph, middle, font, measure)) > len(lines):
                    low = middle
                else:
                    high = middle
            lines = _greedy(paragraph, high, font, measure)
        paragraphs.append("\n".join(lines))
    return "\n".join(paragraphs)


def _greedy(
    paragraph: str, width_pt: float, font: FontProperties, measure: Callable[[str, FontProperties], float]
) -> list[str]:
    lines, line = [], ""
    for word in paragraph.split(" "):
        candidate = f"{line} {word}" if line else word
        if line and measure(candidate, font) > width_pt:
            lines.append(line)
            line = word
        else:
            line = candidate
    lines.append(line)
    return lines


def _measure() -> Callable[[str, FontProperties], float]:
    renderer = RendererAgg(1, 1, 72)  # 72 dpi: widths in points

    def width(text: str, font: FontProperties) -> float:
        return renderer.get_text_width_height_descent(text, font, ismath=False)[0]

    return width
