"""Survey designs that agree with R's ``survey`` package.

A :class:`SurveyDesign` is declared once (weights, strata, primary sampling units, finite
population correction, and any calibration of the weights) and every estimate is then computed
on the full design, as ``svydesign`` + ``svyby`` do in R (Lumley 2010):

* estimates are ratios or totals of weighted sums; their variance is the Taylor-linearised
  (with-replacement, ultimate-cluster) variance of the influence values, computed by the one
  engine in :mod:`surveykit.survey._linearization`;
* domain (by-group) estimates keep every PSU of the design, so PSUs with no one in the domain
  still count in their stratum (R's ``svyby`` semantics, not a filtered frame);
* missing answers are left out of the denominator: the analysis domain is "answered the
  question" (R: ``svyby(~I(q == "a"), ~by, subset(design, !is.na(q)), svyciprop)``);
* a design calibrated with :meth:`SurveyDesign.rake`, :meth:`~SurveyDesign.poststratify` or
  :meth:`~SurveyDesign.calibrate` carries the calibration, so its standard errors are those of
  R's ``rake()``, ``postStratify()`` and ``calibrate()`` designs.

The estimators themselves live in :mod:`surveykit.survey.estimates`,
:mod:`surveykit.survey.comparisons` and :mod:`surveykit.survey.tables`; the methods here call
them.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from typing import Literal

import numpy as np
import pandas as pd

from surveykit._disclosure import check_thresholds
from surveykit._options import check_option
from surveykit._validation import label
from surveykit._validation import validated_weights as _weights
from surveykit.exceptions import DesignError, LonelyPSUError
from surveykit.survey import comparisons, estimates, tables
from surveykit.survey._linearization import Calibration, Linearization, stratum_scale
from surveykit.survey._variables import DesignVariables
from surveykit.survey.calibration import (
    CalibrationMethod,
    Greg,
    PostStratification,
    Raking,
    calibration_matrix,
    greg_weights,
)
from surveykit.survey.proportions import IntervalMethod
from surveykit.survey.weighting import poststratify_weights, rake_weights

__all__ = ["SurveyDesign"]

LonelyPSU = Literal["fail", "adjust", "certainty", "average"]
DeffReference = Literal["without_replacement", "replace"]
Adjust = Literal["holm", "bonferroni", "none"]
Share = Literal["row", "column", "cell"]


class SurveyDesign:
    """A complex survey design over a respondent-level data frame (R's ``svydesign``).

    Parameters
    ----------
    data : DataFrame
        One row per respondent (the tidy response frame). Not modified.
    weight : str, optional
        Column of sampling weights (inverse inclusion probabilities). Without weights and fpc
        every respondent weighs 1.
    strata : str, optional
        Column of strata.
    psu : str, optional
        Column of primary sampling units (clusters), nested within strata; each respondent is
        its own PSU when omitted.
    fpc : str, optional
        Finite population correction per row: either the number of PSUs in the population of the
        stratum (values > 1) or the first-stage sampling fraction (values <= 1), constant within
        strata, as in ``svydesign(fpc = ~fpc)``. Without ``weight``, the weights become
        ``N_h / n_h`` as in R.
    lonely_psu : {"fail", "adjust", "certainty", "average"}
        A stratum with a single PSU (R's ``options(survey.lonely.psu = ...)``): raise
        :class:`LonelyPSUError` (default), centre it at the grand mean (``"adjust"``), give it no
        variance contribution (``"certainty"``; R's ``"remove"`` is the same for linearised
        variances), or give it the average contribution of the other strata (``"average"``).
    min_n, caution_n : int
        Disclosure thresholds: estimates resting on fewer than ``min_n`` respondents are
        suppressed, on fewer than ``caution_n`` flagged "caution". ``min_n=0`` disables
        suppression.
    deff : {"without_replacement", "replace"}
        Reference variance of the design effect: simple random sampling without replacement of
        ``n`` from the weighted population (R ``svymean(deff = TRUE)``) or with replacement (R
        ``deff = "replace"``). When a domain's weights sum to no more than its respondents (an
        unweighted sample), the first is undefined and the second is used.

    Attributes
    ----------
    data : DataFrame
        The data as given; treat it as read-only while the design is in use.
    variables : DesignVariables
        The data prepared for estimation (R's ``design$variables``).
    linearization : Linearization
        Strata, PSUs, finite population corrections and calibrations: the variance engine.
    n_strata, n_psu : int
        Number of strata and of PSUs in the design.

    Examples
    --------
    >>> design = SurveyDesign(responses, weight="weight").rake(margins)  # doctest: +SKIP
    >>> design.proportions("whaling_trend", by="country")  # doctest: +SKIP
    """

    def __init__(
        self,
        data: pd.DataFrame,
        weight: str | None = None,
        strata: str | None = None,
        psu: str | None = None,
        fpc: str | None = None,
        *,
        lonely_psu: LonelyPSU = "fail",
        min_n: int = 5,
        caution_n: int = 30,
        deff: DeffReference = "without_replacement",
    ) -> None:
        if not isinstance(data, pd.DataFrame):
            raise DesignError(f"data must be a pandas DataFrame; got {type(data).__name__}")
        if len(data) == 0:
            raise DesignError("data has no rows; a design needs at least one respondent")
        if lonely_psu == "remove":
            raise DesignError(
                "lonely_psu='remove' is R's name for 'certainty' in linearised variances; pass "
                "lonely_psu='certainty' (no variance contribution) or 'average'."
            )
        check_option("lonely_psu", lonely_psu, LonelyPSU, DesignError)
        check_option("deff", deff, DeffReference, DesignError)
        self.data = data
        self.variables = DesignVariables(data)
        for argument, column in (("strata", strata), ("psu", psu), ("fpc", fpc)):
            if column is not None:
                self.variables.column(column, argument)
        self.weight, self.strata, self.psu, self.fpc = weight, strata, psu, fpc
        self.lonely_psu = lonely_psu
        self.min_n, self.caution_n = check_thresholds(min_n, caution_n)
        self.deff_reference = deff
        self._domain = np.ones(len(data), dtype=bool)

        stratum, strata_levels = self.variables.codes(strata, "strata")
        self.n_strata = len(strata_levels)
        if psu is None:
            psu_code = None
            unit_stratum = stratum
        else:
            codes, _ = self.variables.codes(psu, "psu")
            # PSUs are nested in strata: the same PSU label in two strata is two PSUs.
            _, psu_code = np.unique(stratum * (codes.max() + 1) + codes, return_inverse=True)
            unit_stratum = np.zeros(psu_code.max() + 1, dtype=np.int64)
            unit_stratum[psu_code] = stratum
        self.n_psu = int(unit_stratum.size)
        n_h = np.bincount(unit_stratum, minlength=self.n_strata).astype(float)

        finite = _finite_fraction(data, fpc, stratum, n_h, strata_levels)
        if weight is not None:
            self._w = _weights(data, weight)
        elif fpc is not None:
            # R: without weights, sampling probabilities are n_h / N_h, so weights N_h / n_h.
            self._w = (1 / finite)[stratum]
        else:
            self._w = np.ones(len(data))

        lonely = n_h == 1
        if lonely.any() and lonely_psu == "fail":
            level = strata_levels[int(np.flatnonzero(lonely)[0])]
            raise LonelyPSUError(
                f"stratum {level!r} of {strata!r} has only one PSU, so its variance cannot be estimated. "
                "Collapse it with a neighbouring stratum, or pass lonely_psu='adjust' (centre it at the "
                "grand mean), 'certainty' (no variance contribution) or 'average'."
            )
        scale, centre = stratum_scale(n_h, finite, lonely, lonely_psu)
        self.linearization = Linearization(stratum, psu_code, unit_stratum, scale, centre)

    # ------------------------------------------------------------------ the design
    def __repr__(self) -> str:
        parts = [f"{len(self.data)} respondents"]
        if self.description:
            parts.append(self.description)
        if not self._domain.all():
            parts.append(f"domain of {int(self._domain.sum())}")
        return f"SurveyDesign({', '.join(parts)})"

    @property
    def description(self) -> str:
        """The design's settings in words, e.g. ``"weight='w', strata='region' (4), raked"``."""
        parts = []
        if self.weight is not None:
            parts.append(f"weight={self.weight!r}")
        if self.strata is not None:
            parts.append(f"strata={self.strata!r} ({self.n_strata})")
        if self.psu is not None:
            parts.append(f"psu={self.psu!r} ({self.n_psu})")
        if self.fpc is not None:
            parts.append(f"fpc={self.fpc!r}")
        parts.extend(_CALIBRATION_NAMES[type(c)] for c in self.linearization.calibrations)
        return ", ".join(parts)

    @property
    def srs(self) -> bool:
        """True for an unweighted simple random sample (no weight, strata, psu, fpc or calibration)."""
        return (
            self.weight is None
            and self.strata is None
            and self.psu is None
            and self.fpc is None
            and not self.linearization.calibrations
        )

    @property
    def calibrated(self) -> bool:
        """True when the weights were calibrated (raked, post-stratified or calibrated) on the design."""
        return bool(self.linearization.calibrations)

    @property
    def weights(self) -> pd.Series:
        """Weights as used, aligned with ``data.index`` (zero outside a subset's domain)."""
        return pd.Series(np.where(self._domain, self._w, 0.0), index=self.data.index, name="weight")

    @property
    def domain(self) -> np.ndarray:
        """Boolean mask of the respondents in the design's domain (all, unless subset)."""
        return self._domain.copy()

    @property
    def degf(self) -> int:
        """Design degrees of freedom: PSUs minus strata within the domain (R ``degf``)."""
        return self.linearization.degf(self._domain & (self._w > 0))

    def subset(self, condition: pd.Series | np.ndarray) -> SurveyDesign:
        """Restrict estimation to a domain while keeping the full design (R ``subset(design, ...)``).

        Parameters
        ----------
        condition : boolean Series or array
            True for respondents in the domain; missing counts as False.

        Returns
        -------
        SurveyDesign
            A design whose estimates cover only the domain, with variances from the full design.
        """
        mask = self.variables.mask(condition, "condition")
        if not (mask & self._domain).any():
            raise DesignError("the subset condition selects no respondents (empty domain)")
        out = copy.copy(self)
        out._domain = self._domain & mask
        return out

    # ------------------------------------------------------------------ calibration
    def rake(self, margins: Mapping[str, Mapping[object, float]], **options: object) -> SurveyDesign:
        """Rake the weights to population margins; standard errors as R's ``rake(design, ...)``.

        Parameters
        ----------
        margins : mapping
            ``{variable: {level: target}}`` as :func:`surveykit.rake` takes them (counts, or
            shares scaled to the sum of the weights).
        **options
            ``max_iter``, ``tol`` and ``bounds`` of :func:`surveykit.rake`.

        Returns
        -------
        SurveyDesign
            The design with raked weights and the raking recorded for variance estimation.
        """
        self._require_full("rake")
        weights, codes = rake_weights(self.data, margins, self._w, **options)  # type: ignore[arg-type]
        return self._recalibrated(weights, Raking(tuple(codes), weights))

    def poststratify(self, variable: str | Sequence[str], population: Mapping[object, float]) -> SurveyDesign:
        """Post-stratify the weights to population counts; standard errors as R's ``postStratify``.

        Parameters
        ----------
        variable : str or sequence of str
            Column(s) defining the post-strata; with several, the keys of ``population`` are tuples.
        population : mapping
            ``{level: count}``, or shares summing to 1 (scaled to the sum of the weights).

        Returns
        -------
        SurveyDesign
            The design with post-stratified weights and the post-strata recorded.
        """
        self._require_full("poststratify")
        weights, codes = poststratify_weights(self.data, variable, population, self._w)
        return self._recalibrated(weights, PostStratification(codes, weights, self._w.copy()))

    def calibrate(
        self,
        margins: Mapping[str, Mapping[object, float] | float],
        *,
        method: CalibrationMethod = "linear",
        bounds: tuple[float, float] | None = None,
        max_iter: int = 50,
        tol: float = 1e-7,
    ) -> SurveyDesign:
        """Calibrate the weights to population totals (GREG); standard errors as R's ``calibrate``.

        Parameters
        ----------
        margins : mapping
            ``{variable: {level: count}}`` for categorical variables (population counts, all
            summing to the population size) and ``{variable: total}`` for numeric ones. The
            calibration model is an intercept, the indicators of every level but the first of
            each categorical variable, and the numeric variables (R: ``calibrate(design, ~a + b
            + x, population = c(...))``).
        method : {"linear", "raking"}
            Distance: linear (GREG) or raking ratio (R ``calfun``).
        bounds : (float, float), optional
            Lower and upper limits of the ratio of calibrated to design weights (R ``bounds``).
        max_iter, tol : int, float
            Newton iterations and convergence tolerance (R ``maxit``, ``epsilon``).

        Returns
        -------
        SurveyDesign
            The design with calibrated weights and the calibration recorded.
        """
        self._require_full("calibrate")
        matrix, totals, _ = calibration_matrix(self.data, margins)
        g = greg_weights(matrix, self._w, totals, method=method, bounds=bounds, max_iter=max_iter, tol=tol)
        return self._recalibrated(g * self._w, Greg(matrix, self._w.copy(), g))

    def _require_full(self, what: str) -> None:
        if not self._domain.all():
            raise DesignError(f"{what} the full design, then take the subset; this design is a subset.")

    def _recalibrated(self, weights: np.ndarray, calibration: Calibration) -> SurveyDesign:
        out = copy.copy(self)
        out._w = weights
        out.linearization = self.linearization.calibrated(calibration)
        return out

    # ------------------------------------------------------------------ estimates
    def proportions(
        self,
        variable: str,
        by: str | Sequence[str] | None = None,
        *,
        method: IntervalMethod = "auto",
        level: float = 0.95,
        categories: Sequence[object] | None = None,
    ) -> pd.DataFrame:
        """Weighted share of respondents in each category; see :mod:`surveykit.survey.estimates`."""
        return estimates.proportions(self, variable, by, method=method, level=level, categories=categories)

    def mean(
        self, variable: str, by: str | Sequence[str] | None = None, *, level: float = 0.95
    ) -> pd.DataFrame:
        """Weighted mean of a numeric answer (R ``svymean``); see :func:`surveykit.survey.estimates.mean`."""
        return estimates.mean(self, variable, by, level=level)

    def total(
        self, variable: str, by: str | Sequence[str] | None = None, *, level: float = 0.95
    ) -> pd.DataFrame:
        """Weighted total of a numeric answer (R ``svytotal``); see :mod:`surveykit.survey.estimates`."""
        return estimates.total(self, variable, by, level=level)

    def ratio(
        self, numerator: str, denominator: str, by: str | Sequence[str] | None = None, *, level: float = 0.95
    ) -> pd.DataFrame:
        """Ratio of two weighted totals (R ``svyratio``); see :func:`surveykit.survey.estimates.ratio`."""
        return estimates.ratio(self, numerator, denominator, by, level=level)

    def quantile(
        self,
        variable: str,
        q: float | Sequence[float] = 0.5,
        by: str | Sequence[str] | None = None,
        *,
        level: float = 0.95,
    ) -> pd.DataFrame:
        """Weighted quantiles (R ``svyquantile``); see :func:`surveykit.survey.estimates.quantile`."""
        return estimates.quantile(self, variable, q, by, level=level)

    def change(
        self,
        variable: str,
        category: object,
        between: str = "wave",
        levels: Sequence[object] | None = None,
        by: str | Sequence[str] | None = None,
        *,
        level: float = 0.95,
    ) -> pd.DataFrame:
        """Change in a category's share between waves; see :func:`surveykit.compare_domains`."""
        return comparisons.compare_domains(self, variable, category, between, levels, by, level=level)

    def pairwise(
        self, variable: str, category: object, by: str, *, level: float = 0.95, adjust: Adjust = "holm"
    ) -> pd.DataFrame:
        """Differences in a share between pairs of levels of ``by`` (see ``comparisons``)."""
        return comparisons.pairwise_differences(self, variable, category, by, level=level, adjust=adjust)

    def crosstab(
        self,
        row: str,
        col: str,
        *,
        share: Share = "row",
        method: IntervalMethod = "auto",
        level: float = 0.95,
    ) -> pd.DataFrame:
        """Weighted two-way table; see :func:`surveykit.crosstab`."""
        return tables.crosstab(self, row, col, share=share, method=method, level=level)

    def test_independence(self, row: str, col: str) -> tables.IndependenceTest:
        """Rao-Scott test of independence (R ``svychisq``); see :func:`surveykit.test_independence`."""
        return tables.test_independence(self, row, col)


_CALIBRATION_NAMES = {Raking: "raked", PostStratification: "post-stratified", Greg: "calibrated"}


def _finite_fraction(
    data: pd.DataFrame, fpc: str | None, stratum: np.ndarray, n_h: np.ndarray, strata_levels: list
) -> np.ndarray:
    """Sampling fraction ``f_h = n_h / N_h`` per stratum (0 without fpc)."""
    if fpc is None:
        return np.zeros(n_h.size)
    values = pd.to_numeric(data[fpc], errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    if not np.all(np.isfinite(values)) or np.any(values <= 0):
        bad = np.flatnonzero(~np.isfinite(values) | (values <= 0))[0]
        raise DesignError(
            f"fpc column {fpc!r} must be positive numbers; row {label(data.index[bad])!r} holds "
            f"{label(data[fpc].iloc[bad])!r}"
        )
    low = np.full(n_h.size, np.inf)
    high = np.full(n_h.size, -np.inf)
    np.minimum.at(low, stratum, values)
    np.maximum.at(high, stratum, values)
    varying = np.flatnonzero(high - low > 1e-9 * np.abs(high))
    if varying.size:
        raise DesignError(
            f"fpc column {fpc!r} must be constant within each stratum; stratum "
            f"{strata_levels[varying[0]]!r} has values from {low[varying[0]]!r} to {high[varying[0]]!r}"
        )
    population = np.where(low <= 1, n_h / low, low) if np.all(low <= 1) else low
    too_small = np.flatnonzero(population < n_h - 1e-9)
    if too_small.size:
        h = too_small[0]
        raise DesignError(
            f"fpc column {fpc!r} gives stratum {strata_levels[h]!r} a population of {population[h]:g} "
            f"PSUs but {int(n_h[h])} were sampled"
        )
    return n_h / population
