"""The advisory report: key findings, charts, tables and methodology, as HTML, PDF and a workbook.

:func:`build_report` runs the estimators once on the responses (and the incident log), then
writes from their result frames only:

* ``report.html``, self-contained (charts inline as SVG, no network);
* ``report.pdf``, rendered from the same HTML by WeasyPrint, so one layout serves both and the
  text stays selectable;
* ``charts/*.png`` and ``charts/*.svg``, each chart as a file;
* ``results.xlsx``, the tables and charts as a workbook.

The same input gives byte-identical files: nothing depends on the clock (the report is dated by
its fieldwork) and every writer is given fixed metadata.
"""

from __future__ import annotations

import io
import re
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from matplotlib.figure import Figure

from surveykit._validation import check_level
from surveykit._version import VERSION
from surveykit.collection.instrument import Instrument
from surveykit.collection.loading import default_instrument
from surveykit.exceptions import SurveykitError
from surveykit.incidents.counts import incident_counts
from surveykit.incidents.durations import resolution_curve, time_to_resolve
from surveykit.incidents.growth import yoy_growth
from surveykit.incidents.summary import tally
from surveykit.incidents.trend import trend_line
from surveykit.publishing import findings, plotting
from surveykit.publishing.export import Table, write_workbook
from surveykit.publishing.style import (
    ACCENT,
    CAUTION_MARK,
    SUPPRESSED_TEXT,
    format_count,
    format_interval,
    format_percent,
)
from surveykit.survey.design import SurveyDesign
from surveykit.survey.selection import describe_filters, filter_mask, survey_design
from surveykit.survey.weighting import kish_effective_n

__all__ = ["ReportFiles", "build_report"]

_PDF_IDENTIFIER = b"surveykit-advisory"
_WEEK_HOURS = 168.0  # outages are read in hours and days; the long tail is stated, not drawn


@dataclass(frozen=True)
class ReportFiles:
    """The files :func:`build_report` wrote."""

    html: Path
    pdf: Path
    workbook: Path
    charts: tuple[Path, ...]


@dataclass
class _Section:
    heading: str
    text: str = ""
    figures: list[dict[str, str]] = field(default_factory=list)
    tables: list[dict[str, object]] = field(default_factory=list)


def build_report(
    responses: pd.DataFrame,
    out: str | Path,
    *,
    incidents: pd.DataFrame | None = None,
    wave: str | None = None,
    compare_wave: str | None = None,
    margins: Mapping[str, Mapping[object, float]] | None = None,
    rake_within: str | None = "wave",
    filters: Mapping[str, Sequence[object]] | None = None,
    instrument: Instrument | None = None,
    level: float = 0.95,
    min_n: int = 5,
    caution_n: int = 30,
    title: str = "Whaling and email security posture",
) -> ReportFiles:
    """Write the advisory report for one survey wave (and the incident log) to ``out``.

    Parameters
    ----------
    responses : DataFrame
        The tidy response frame (``Store.responses()``), all waves.
    out : str or Path
        Folder for the files; created if missing (its parent must exist).
    incidents : DataFrame, optional
        An incident log in the canonical schema, for the incident sections.
    wave : str, optional
        The wave reported; the latest by default.
    compare_wave : str, optional
        An earlier wave to compare with; the change is stated only when its interval excludes
        no change at ``level``.
    margins : mapping, optional
        Population margins ``{variable: {level: count}}``: the design is raked to them and the
        standard errors credit the raking. Unweighted without.
    rake_within : str or None
        Rake each level of this column (each wave, by default) to the margins separately, as the
        app and ``surveykit report`` do (:func:`surveykit.survey.selection.survey_design`), so
        every wave represents the population on its own; None rakes all respondents together.
    filters : mapping, optional
        Report on a domain: ``{column: [levels]}`` (an empty list keeps every level), e.g.
        ``{"country": ["GB"]}``. The design is weighted on every respondent, then subset, so the
        weights and standard errors are those of the whole survey; the subtitle states the
        filters.
    instrument : Instrument, optional
        For the question wording; the bundled instrument by default.
    level : float
        Confidence level of every interval and test.
    min_n, caution_n : int
        Disclosure thresholds.
    title : str
        The report's title.

    Returns
    -------
    ReportFiles
        The paths written.
    """
    level = check_level(level)
    out = Path(out)
    if not out.parent.is_dir():
        raise SurveykitError(
            f"Cannot write the report to {str(out)!r}: the folder {str(out.parent)!r} does not exist."
        )
    if responses.empty:
        raise SurveykitError("There are no responses to report on; load some first (surveykit demo).")
    instrument = instrument or default_instrument()
    keep = filter_mask(responses, filters)
    if not keep.any():
        raise SurveykitError(
            f"No respondent matches the filters ({describe_filters(filters, instrument)}); widen them."
        )
    chosen = responses[keep]
    waves = sorted(chosen["wave"].dropna().unique().tolist())
    wave = wave or waves[-1]
    matching = " matching the filters" if filters and not keep.all() else ""
    for name, value in (("wave", wave), ("compare_wave", compare_wave)):
        if value is not None and value not in waves:
            raise SurveykitError(f"{name} {value!r} has no responses{matching}; waves in the store: {waves}")
    if compare_wave == wave:
        raise SurveykitError(f"compare_wave must differ from wave; both are {wave!r}")
    out.mkdir(exist_ok=True)
    (out / "charts").mkdir(exist_ok=True)

    design = survey_design(responses, margins, within=rake_within, min_n=min_n, caution_n=caution_n)
    if not keep.all():
        design = design.subset(keep)
    current = design.subset((responses["wave"] == wave).to_numpy() & keep)
    writer = _Writer(out, level, instrument, design, current, wave, compare_wave, caution_n)
    writer.rake_within = rake_within if margins else None
    writer.selection = describe_filters(filters, instrument) if filters and not keep.all() else ""
    with warnings.catch_warnings():
        # Small cells are flagged in the frames and shown as such; no need to warn here.
        warnings.simplefilter("ignore")
        writer.survey_sections(chosen, waves)
        if incidents is not None and len(incidents):
            writer.incident_sections(incidents, min_n=min_n, caution_n=caution_n)
    writer.methodology(chosen, waves, margins, min_n, caution_n, incidents)
    return writer.write(title)


class _Writer:
    """Runs the estimators, draws the charts and collects what the report says."""

    def __init__(
        self,
        out: Path,
        level: float,
        instrument: Instrument,
        design: SurveyDesign,
        current: SurveyDesign,
        wave: str,
        compare_wave: str | None,
        caution_n: int,
    ) -> None:
        self.out, self.level, self.instrument = out, level, instrument
        self.design, self.current, self.wave, self.compare_wave = design, current, wave, compare_wave
        self.caution_n = caution_n
        self.findings: list[str] = []
        self.sections: list[_Section] = []
        self.tables: list[Table] = []
        self.charts: list[Path] = []
        self.captions: dict[str, Path] = {}
        self.min_n, self.caution_n = design.min_n, design.caution_n
        self.methods: list[tuple[str, str]] = []
        self.weighted = design.calibrated
        self.rake_within: str | None = None
        self.selection = ""

    # ------------------------------------------------------------------ helpers
    def labels(self, *questions: str) -> dict[object, str]:
        """Display names of the choices of ``questions`` (codes as stored -> the instrument's labels)."""
        out: dict[object, str] = {}
        for question in questions:
            if question in self.instrument.question_ids:
                out.update({choice.name: choice.label for choice in self.instrument[question].choices})
        return out

    def order(self, question: str) -> list[str]:
        """The question's choices in the questionnaire's order."""
        return [choice.name for choice in self.instrument[question].choices]

    def wording(self, question: str) -> str:
        return self.instrument[question].text if question in self.instrument.question_ids else question

    def source(self, n: int, wave: str | None = None) -> str:
        weighting = "weighted to population margins" if self.weighted else "unweighted"
        waves = f"wave {wave}" if wave else "all waves"
        return f"Source: surveykit whaling survey, {waves}, n = {format_count(n)}, {weighting}."

    def publish(self, name: str, frame: pd.DataFrame, question: str, base: str) -> None:
        """Add a result frame to the workbook, with what a reader needs to interpret it."""
        survey = "variable" in frame.columns or "from" in frame.columns
        weighting = (
            ("raked to population margins" if self.weighted else "unweighted") if survey else "not applicable"
        )
        self.tables.append(
            Table(
                name=name,
                frame=frame,
                question=question,
                base=base,
                weighting=weighting,
                level=self.level,
                min_n=self.min_n,
                caution_n=self.caution_n,
            )
        )

    def figure(self, section: _Section, name: str, fig: Figure, caption: str) -> None:
        png = plotting.save_chart(fig, self.out / "charts" / f"{name}.png")
        svg = plotting.save_chart(fig, self.out / "charts" / f"{name}.svg")
        self.charts.extend([png, svg])
        self.captions[caption] = png
        text = svg.read_text(encoding="utf-8")
        # Clip ids are numbered per chart; prefix them so they stay unique on the page.
        inline = re.sub(r"\bclip(\d+)\b", rf"{name}-clip\1", text[text.index("<svg") :])
        section.figures.append({"svg": inline, "caption": caption})

    def table(
        self, section: _Section, name: str, frame: pd.DataFrame, caption: str, label: list[str], note: str
    ) -> None:
        question = frame["variable"].iloc[0] if "variable" in frame.columns else name
        self.publish(name, frame, self.wording(str(question)), f"Respondents who answered, wave {self.wave}")
        columns = [{"label": c.replace("_", " ").capitalize(), "numeric": False} for c in label]
        columns += [
            {"label": "Estimate", "numeric": True},
            {"label": f"{format_percent(self.level)} CI", "numeric": True},
            {"label": "n", "numeric": True},
        ]
        names = self.labels(
            *(str(q) for q in frame.get("variable", pd.Series(dtype=object)).unique()), *label
        )
        rows = []
        for record in frame.to_dict("records"):
            cells = [names.get(record[c], str(record[c])) for c in label]
            if record["flag"] == "suppressed":
                cells += [SUPPRESSED_TEXT, "", format_count(record["n"])]
            else:
                mark = CAUTION_MARK if record["flag"] == "caution" else ""
                cells += [
                    format_percent(record["estimate"]) + mark,
                    format_interval(record["ci_low"], record["ci_high"]),
                    format_count(record["n"]),
                ]
            rows.append(cells)
        section.tables.append({"caption": caption, "columns": columns, "rows": rows, "note": note})

    def say(self, sentence: str | None) -> None:
        if sentence:
            self.findings.append(sentence)

    # ------------------------------------------------------------------ survey
    def survey_sections(self, responses: pd.DataFrame, waves: list[str]) -> None:
        level, wave, current = self.level, self.wave, self.current
        n_wave = int((responses["wave"] == wave).sum())
        note = (
            "Shares of respondents who answered the question. "
            f"{CAUTION_MARK} fewer than {self.caution_n} respondents: "
            "interpret with caution."
        )

        trend = self.design.proportions("whaling_trend", by="wave", categories=["increased"], level=level)
        headline = trend[trend["wave"] == wave].iloc[0]
        self.say(
            findings.share_finding(
                headline, "saw more whaling emails over the last three months", level=level
            )
        )
        section = _Section("Whaling", "Business email compromise: emails posing as a senior executive.")
        self.figure(
            section,
            "whaling_by_wave",
            plotting.plot_share(
                trend,
                title="Share of IT experts who saw more whaling",
                subtitle=self.wording("whaling_trend"),
                source=self.source(int(trend["n"].sum())),
            ),
            "Share answering \u201cincreased\u201d, by survey wave, with its confidence interval and n.",
        )
        if self.compare_wave:
            change = self.design.change(
                "whaling_trend", "increased", levels=(self.compare_wave, wave), level=level
            )
            self.say(findings.change_finding(change.iloc[0], "the share who saw more whaling", level=level))
            self.figure(
                section,
                "whaling_change",
                plotting.plot_change(
                    change,
                    title=f"Change in whaling, {self.compare_wave} to {wave}",
                    subtitle=self.wording("whaling_trend"),
                    source=self.source(int(change["n"].iloc[0])),
                ),
                "Shares in the two waves and the difference with its interval.",
            )
            self.publish(
                "whaling_change",
                change,
                self.wording("whaling_trend"),
                f"Respondents in {self.compare_wave} and {wave}",
            )

        roles = current.proportions("impersonated_roles", level=level)
        for role, words in (("ceo", "the CEO"), ("cfo", "the CFO")):
            row = roles[roles["category"] == role]
            if len(row):
                self.say(
                    findings.share_finding(
                        row.iloc[0],
                        f"had {words} impersonated",
                        subject="organisations targeted by whaling",
                        level=level,
                    )
                )
        self.figure(
            section,
            "impersonated_roles",
            plotting.plot_categories(
                roles,
                labels=self.labels("impersonated_roles"),
                title="Who attackers impersonated",
                subtitle=self.wording("impersonated_roles"),
                source=self.source(int(roles["n"].max()), wave),
            ),
            "Share of organisations targeted by whaling, by role impersonated (several may apply).",
        )
        self.table(section, "impersonated_roles", roles, f"Roles impersonated, {wave}", ["category"], note)

        in_wave = responses[responses["wave"] == wave]
        if in_wave["country"].nunique() >= 2:  # a comparison needs two countries in the selection
            self.by_country(section, responses, current, n_wave, note)
        self.sections.append(section)

        governance = _Section("Security leadership")
        ciso = current.proportions("ciso_present", level=level)
        yes = ciso[ciso["category"] == "yes"]
        if len(yes):
            self.say(findings.share_finding(yes.iloc[0], "have a CISO", subject="organisations", level=level))
        controls = current.proportions("controls", level=level)
        self.figure(
            governance,
            "email_controls",
            plotting.plot_categories(
                controls,
                labels=self.labels("controls"),
                title="Email controls in place",
                subtitle=self.wording("controls"),
                source=self.source(int(controls["n"].max()), wave),
            ),
            "Share of organisations with each control.",
        )
        self.table(governance, "ciso_present", ciso, f"CISO in post, {wave}", ["category"], note)
        self.table(governance, "email_controls", controls, f"Email controls, {wave}", ["category"], note)
        self.sections.append(governance)

    def by_country(
        self, section: _Section, responses: pd.DataFrame, current: SurveyDesign, n_wave: int, note: str
    ) -> None:
        """The whaling trend compared between countries, with the Rao-Scott test."""
        level, wave = self.level, self.wave
        answers = [c for c in self.order("whaling_trend") if c in set(responses["whaling_trend"].dropna())]
        by_country = current.proportions("whaling_trend", by="country", level=level, categories=answers)
        increased = by_country[by_country["category"] == "increased"]
        in_wave = responses.loc[responses["wave"] == wave, "whaling_trend"]
        if in_wave.nunique() < 2:  # nothing varies, so there is nothing to test
            test = None
            self.say(
                f"Every respondent in {wave} gave the same answer about the whaling trend, so "
                "there is no difference between countries to test."
            )
        else:
            test = current.test_independence("country", "whaling_trend")
            self.say(
                findings.regional_finding(
                    test, increased, "country", "the share who saw more whaling", level=level
                )
            )
        self.figure(
            section,
            "whaling_by_country",
            plotting.plot_regions(
                by_country,
                "country",
                test=test,
                labels=self.labels("whaling_trend", "country"),
                title="Whaling trend by country",
                subtitle=self.wording("whaling_trend"),
                source=self.source(n_wave, wave),
            ),
            "Answers by country on a shared axis"
            + ("; the Rao-Scott test of independence in the subtitle." if test is not None else "."),
        )
        self.table(
            section,
            "whaling_by_country",
            increased,
            f"Saw more whaling, by country, {wave}",
            ["country"],
            note,
        )

    # ------------------------------------------------------------------ incidents
    def incident_sections(self, log: pd.DataFrame, *, min_n: int, caution_n: int) -> None:
        level = self.level
        section = _Section(
            "Incidents", "From the incident log: counts by year, growth, the monthly trend, and outages."
        )
        counts = incident_counts(log, min_n=min_n, caution_n=caution_n)
        growth = yoy_growth(log, level=level, min_n=min_n, caution_n=caution_n)
        latest = growth.iloc[-1]
        self.say(findings.growth_finding(latest, "detected incidents", level=level))
        self.figure(
            section,
            "incidents_by_year",
            plotting.plot_counts(
                counts,
                growth,
                title="Detected incidents by year",
                subtitle="Incidents in the log, with year-over-year growth",
                source=(
                    f"Source: incident log, {format_count(int(tally(log).sum()))} incidents; "
                    f"growth: {latest['method']} interval."
                ),
            ),
            "Incidents per year with exact Poisson intervals; growth on a year earlier with its interval.",
        )
        fitted = trend_line(log, level=level, min_n=min_n, caution_n=caution_n)
        self.figure(
            section,
            "incident_trend",
            plotting.plot_trend(
                fitted,
                title="Monthly incidents and their trend",
                subtitle="Incidents per month with the fitted log-linear trend",
                source=f"Source: incident log; trend: {fitted['method'].iloc[0]}.",
            ),
            "Monthly counts (points) and the fitted trend with its confidence band.",
        )
        outages = log[log["incident_type"] == "email_outage"]
        if len(outages):
            curve = resolution_curve(
                outages, "incident_type", level=level, unit="hours", min_n=min_n, caution_n=caution_n
            )
            quantiles = time_to_resolve(outages, level=level, unit="hours", min_n=min_n, caution_n=caution_n)
            median = quantiles[quantiles["quantile"] == 0.5].iloc[0]
            if median["flag"] != "suppressed" and pd.notna(median["estimate"]):
                self.say(
                    f"Half of email outages were resolved within {median['estimate']:.1f} hours "
                    f"({format_percent(level)} CI {_hours(median['ci_low'])} to {_hours(median['ci_high'])}, "
                    f"n = {format_count(median['n'])})."
                )
            self.figure(
                section,
                "outage_time_to_resolve",
                plotting.plot_time_to_resolve(
                    curve,
                    by="incident_type",
                    labels={"email_outage": "Email outages"},
                    max_time=_WEEK_HOURS,
                    title="How long email outages lasted",
                    subtitle="Share of outages not yet resolved, by hours since detection",
                    source=f"Source: incident log, {format_count(len(outages))} email outages; Kaplan-Meier.",
                ),
                "Kaplan-Meier curve with its confidence band; + marks outages still open (censored).",
            )
            self.publish(
                "outage_time_to_resolve",
                quantiles,
                "Hours to resolve email outages (open ones censored)",
                "Email outages in the incident log",
            )
        self.publish("incidents_by_year", counts, "Incidents per year", "Incidents in the log")
        self.publish(
            "incident_growth", growth, "Growth on a year earlier (rate ratio - 1)", "Incidents in the log"
        )
        self.sections.append(section)

    # ------------------------------------------------------------------ methodology
    def methodology(
        self,
        responses: pd.DataFrame,
        waves: list[str],
        margins: Mapping[str, Mapping[object, float]] | None,
        min_n: int,
        caution_n: int,
        incidents: pd.DataFrame | None,
    ) -> None:
        fieldwork = responses.groupby("wave")["submitted_at"].agg(["min", "max", "size"])
        sample = "; ".join(
            f"{w}: {format_count(row['size'])} respondents, {row['min']:%d %B %Y} to {row['max']:%d %B %Y}"
            for w, row in fieldwork.iterrows()
        )
        self.methods.append(("Sample and fieldwork", sample + "."))
        if self.selection:
            self.methods.append(
                (
                    "Selection",
                    f"Respondents with {self.selection}. The weights and standard errors are those of "
                    "the whole survey (domain estimation); the incident log is reported whole.",
                )
            )
        if margins:
            described = "; ".join(
                f"{variable} ("
                + ", ".join(f"{level} {format_count(float(count))}" for level, count in levels.items())
                + ")"
                for variable, levels in margins.items()
            )
            kish = kish_effective_n(self.design.weights)
            within = f"Each {self.rake_within} raked" if self.rake_within else "Raked"
            self.methods.append(
                (
                    "Weighting",
                    f"{within} to population margins by {described}; standard errors credit the raking, "
                    f"as R's survey::rake. Kish effective sample size {format_count(kish)} of "
                    f"{format_count(len(responses))} respondents.",
                )
            )
        else:
            self.methods.append(("Weighting", "Unweighted: every respondent counts once."))
        level = format_percent(self.level)
        self.methods.append(
            (
                "Intervals and tests",
                f"{level} confidence intervals: logit intervals for design-based shares (R svyciprop) or "
                "Wilson intervals for an unweighted sample; differences between waves as Wald intervals "
                "from the design covariance (Newcombe for an unweighted sample); regional differences by "
                f"the Rao-Scott corrected F test. A difference is stated only when its {level} interval "
                "excludes no difference.",
            )
        )
        self.methods.append(
            (
                "Disclosure",
                f"Cells with fewer than {min_n} respondents are not shown "
                f"(\u201c{SUPPRESSED_TEXT}\u201d); cells "
                f"with fewer than {caution_n} are marked {CAUTION_MARK} and should be read with caution.",
            )
        )
        if incidents is not None and len(incidents):
            self.methods.append(
                (
                    "Incident growth",
                    "Growth is the ratio of a year's incidents to the year before, minus one. When the "
                    "monthly counts vary more than Poisson counts would, the score interval is widened by "
                    "the quasi-Poisson dispersion; the method is named beside each figure. The trend is a "
                    "log-linear model of monthly counts (negative binomial when overdispersed).",
                )
            )

    # ------------------------------------------------------------------ output
    def write(self, title: str) -> ReportFiles:
        environment = Environment(
            loader=PackageLoader("surveykit.publishing", "templates"),
            autoescape=select_autoescape(["html", "j2"]),
            undefined=StrictUndefined,
            keep_trailing_newline=True,
        )
        environment.globals["zip"] = zip
        first, last = self.design.data["submitted_at"].min(), self.design.data["submitted_at"].max()
        html = environment.get_template("report.html.j2").render(
            title=f"{title}: advisory",
            short_title=title,
            subtitle=f"Survey of IT experts, wave {self.wave}"
            + (f", compared with {self.compare_wave}" if self.compare_wave else "")
            + (f"; {self.selection}" if self.selection else ""),
            meta=(
                f"Fieldwork {first:%B %Y} to {last:%B %Y}. "
                f"Figures with {format_percent(self.level)} confidence intervals."
            ),
            findings=self.findings,
            sections=self.sections,
            methodology=self.methods,
            accent=ACCENT,
            version=VERSION,
        )
        html_path = self.out / "report.html"
        html_path.write_text(html, encoding="utf-8")
        pdf_path = self.out / "report.pdf"
        _write_pdf(html, pdf_path)
        workbook = write_workbook(
            self.tables,
            self.out / "results.xlsx",
            title=f"{title}: results",
            notes=[f"{term}: {description}" for term, description in self.methods],
            charts=self.captions,
        )
        return ReportFiles(html_path, pdf_path, Path(workbook), tuple(self.charts))


def _hours(value: float) -> str:
    return "not reached" if pd.isna(value) else f"{value:.1f}"


def _write_pdf(html: str, path: Path) -> None:
    """The PDF from the same HTML; a fixed identifier and no dates make it repeatable."""
    from weasyprint import HTML

    buffer = io.BytesIO()
    HTML(string=html).write_pdf(buffer, pdf_identifier=_PDF_IDENTIFIER)
    path.write_bytes(buffer.getvalue())
