"""Survey designs and design-based proportions that agree with R's ``survey`` package.

A :class:`SurveyDesign` is declared once (weights, strata, primary sampling units, finite
population correction) and every estimate is then computed on the full design, as
``svydesign`` + ``svyby`` do in R (Lumley 2010):

* a proportion is a ratio of weighted totals; its variance is the Taylor-linearised
  (with-replacement, ultimate-cluster) variance of the ratio's influence function, summed over
  PSUs, centred within strata and scaled by ``(1 - f_h) n_h / (n_h - 1)``;
* domain (by-group) estimates keep every PSU of the design, so PSUs with no one in the domain
  still count in their stratum (R's ``svyby`` semantics, not a filtered frame);
* missing answers are left out of the denominator: the analysis domain is "answered the
  question" (R: ``svyby(~I(q == "a"), ~by, subset(design, !is.na(q)), svyciprop)``), so the
  degrees of freedom are PSUs minus strata among the respondents who answered, in each domain.

Everything is vectorised with ``numpy.bincount`` over PSU-by-domain totals, so a million
responses by country for every question take seconds.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

import numpy as np
import pandas as pd

from surveykit._validation import check_level as _check_level
from surveykit._validation import label as _label
from surveykit._validation import validated_weights as _weights
from surveykit.collection.instrument import MULTI_SEP
from surveykit.exceptions import DesignError, LonelyPSUError
from surveykit.survey._disclosure import apply_disclosure, check_thresholds
from surveykit.survey.proportions import (
    INTERVAL_METHODS,
    IntervalMethod,
    binomial_confint,
    multinomial_confint,
    survey_confint,
)

if TYPE_CHECKING:
    from surveykit.survey.comparisons import IndependenceTest

__all__ = ["PROPORTION_COLUMNS", "SurveyDesign"]

PROPORTION_COLUMNS: tuple[str, ...] = (
    "variable", "category", "estimate", "se", "ci_low", "ci_high", "n", "deff", "df", "method", "flag",
)  # fmt: skip
"""Columns of :meth:`SurveyDesign.proportions`, after the ``by`` columns."""

LonelyPSU = Literal["fail", "adjust", "certainty", "remove"]
DeffReference = Literal["without_replacement", "replace"]
_LONELY = ("fail", "adjust", "certainty", "remove")
_DEFF = ("without_replacement", "replace")


@dataclass(frozen=True)
class _Variable:
    """A question prepared for estimation: binary indicators per category and who answered."""

    name: str
    categories: list[object]
    answered: np.ndarray
    codes: np.ndarray | None = None  # select-one: category code per row, -1 when missing
    indicators: np.ndarray | None = None  # select-multiple: (rows, categories) 0/1 matrix

    @property
    def multi(self) -> bool:
        return self.indicators is not None


@dataclass(frozen=True)
class _Cells:
    """Per (domain, category) totals, estimates and linearised variances."""

    weight_total: np.ndarray  # (G,)
    n: np.ndarray  # (G,) respondents who answered, per domain
    n_positive: np.ndarray  # (G,) of which with a positive weight
    count: np.ndarray  # (G, K) unweighted respondents in the category
    estimate: np.ndarray  # (G, K)
    variance: np.ndarray  # (G, K)
    df: np.ndarray  # (G,)


class SurveyDesign:
    """A complex survey design over a respondent-level data frame (R's ``svydesign``).

    Parameters
    ----------
    data : DataFrame
        One row per respondent (the tidy response frame). Not modified.
    weight : str, optional
        Column of sampling weights (inverse inclusion probabilities, or calibrated weights).
        Without weights and fpc every respondent weighs 1.
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
    lonely_psu : {"fail", "adjust", "certainty", "remove"}
        A stratum with a single PSU: raise :class:`LonelyPSUError` (default, R's
        ``options(survey.lonely.psu = "fail")``), centre it at the grand mean (``"adjust"``), or
        give it no variance contribution (``"certainty"``/``"remove"``).
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
        The data as given; treat it as read-only while the design is in use (domain codes are
        computed once and reused).
    srs : bool
        True for an unweighted simple random sample (no weight, strata, psu or fpc).
    n_strata, n_psu : int
        Number of strata and of PSUs in the design.

    Examples
    --------
    >>> design = SurveyDesign(responses, weight="weight")
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
        if lonely_psu not in _LONELY:
            raise DesignError(f"lonely_psu must be one of {list(_LONELY)}; got {lonely_psu!r}")
        if deff not in _DEFF:
            raise DesignError(f"deff must be one of {list(_DEFF)}; got {deff!r}")
        for argument, column in (("strata", strata), ("psu", psu), ("fpc", fpc)):
            if column is not None:
                self._column(data, column, argument)
        self.data = data
        self.weight, self.strata, self.psu, self.fpc = weight, strata, psu, fpc
        self.lonely_psu = lonely_psu
        self.min_n, self.caution_n = check_thresholds(min_n, caution_n)
        self.deff_reference = deff
        self.srs = weight is None and strata is None and psu is None and fpc is None
        self._domain = np.ones(len(data), dtype=bool)
        self._factor_cache: dict[str, tuple[np.ndarray, list[object]]] = {}

        self._stratum, strata_levels = self._codes(data, strata, "strata")
        self.n_strata = len(strata_levels)
        if psu is None:
            self._psu = None
            unit_stratum = self._stratum
        else:
            psu_codes, _ = self._codes(data, psu, "psu")
            # PSUs are nested in strata: the same PSU label in two strata is two PSUs.
            _, nested = np.unique(self._stratum * (psu_codes.max() + 1) + psu_codes, return_inverse=True)
            self._psu = nested
            unit_stratum = np.zeros(nested.max() + 1, dtype=np.int64)
            unit_stratum[nested] = self._stratum
            self._psu_stratum = unit_stratum
        self.n_psu = int(unit_stratum.size)
        n_h = np.bincount(unit_stratum, minlength=self.n_strata).astype(float)
        self._n_units = n_h

        finite = self._finite_fraction(data, fpc, n_h, strata_levels)
        if weight is not None:
            self._w = _weights(data, weight)
        elif fpc is not None:
            population = n_h / (1 - finite) if np.all(finite < 1) else None
            if population is None:
                raise DesignError(f"fpc column {fpc!r} says every PSU was sampled; give weights explicitly")
            self._w = (population / n_h)[self._stratum]
        else:
            self._w = np.ones(len(data))

        one_minus_f = 1.0 - finite
        lonely = n_h == 1
        if lonely.any() and lonely_psu == "fail":
            level = strata_levels[int(np.flatnonzero(lonely)[0])]
            raise LonelyPSUError(
                f"stratum {level!r} of {strata!r} has only one PSU, so its variance cannot be estimated. "
                "Collapse it with a neighbouring stratum, or pass lonely_psu='adjust' (centre it at the "
                "grand mean) or lonely_psu='certainty' (no variance contribution)."
            )
        with np.errstate(divide="ignore", invalid="ignore"):
            scale = np.where(lonely, one_minus_f, one_minus_f * n_h / (n_h - 1))
        if lonely_psu in ("certainty", "remove"):
            scale = np.where(lonely, 0.0, scale)
        self._scale = scale
        self._centre = np.where(lonely & (lonely_psu == "adjust"), 0.0, 1.0)

    # ------------------------------------------------------------------ construction helpers
    @staticmethod
    def _column(data: pd.DataFrame, column: str, argument: str) -> pd.Series:
        if not isinstance(column, str) or column not in data.columns:
            raise DesignError(
                f"{argument} column {column!r} is not in the data; available columns: {list(data.columns)}"
            )
        return data[column]

    @classmethod
    def _codes(cls, data: pd.DataFrame, column: str | None, argument: str) -> tuple[np.ndarray, list]:
        if column is None:
            return np.zeros(len(data), dtype=np.int64), [None]
        values = cls._column(data, column, argument)
        if values.isna().any():
            row = _label(values.index[np.flatnonzero(values.isna().to_numpy())[0]])
            raise DesignError(f"{argument} column {column!r} has missing values (first at row {row!r})")
        codes, levels = pd.factorize(values, sort=True)
        return codes.astype(np.int64), list(levels)

    def _finite_fraction(
        self, data: pd.DataFrame, fpc: str | None, n_h: np.ndarray, strata_levels: list
    ) -> np.ndarray:
        """Sampling fraction ``f_h = n_h / N_h`` per stratum (0 without fpc)."""
        if fpc is None:
            return np.zeros(n_h.size)
        values = pd.to_numeric(data[fpc], errors="coerce").to_numpy(dtype=float, na_value=np.nan)
        if not np.all(np.isfinite(values)) or np.any(values <= 0):
            bad = np.flatnonzero(~np.isfinite(values) | (values <= 0))[0]
            raise DesignError(
                f"fpc column {fpc!r} must be positive numbers; row {_label(data.index[bad])!r} holds "
                f"{_label(data[fpc].iloc[bad])!r}"
            )
        low = np.full(n_h.size, np.inf)
        high = np.full(n_h.size, -np.inf)
        np.minimum.at(low, self._stratum, values)
        np.maximum.at(high, self._stratum, values)
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

    # ------------------------------------------------------------------ public API
    def __repr__(self) -> str:
        parts = [f"{len(self.data)} respondents"]
        if self.weight is not None:
            parts.append(f"weight={self.weight!r}")
        if self.strata is not None:
            parts.append(f"strata={self.strata!r} ({self.n_strata})")
        if self.psu is not None:
            parts.append(f"psu={self.psu!r} ({self.n_psu})")
        if self.fpc is not None:
            parts.append(f"fpc={self.fpc!r}")
        if not self._domain.all():
            parts.append(f"domain of {int(self._domain.sum())}")
        return f"SurveyDesign({', '.join(parts)})"

    @property
    def weights(self) -> pd.Series:
        """Sampling weights as used, aligned with ``data.index`` (zero outside a subset's domain)."""
        return pd.Series(np.where(self._domain, self._w, 0.0), index=self.data.index, name="weight")

    @property
    def degf(self) -> int:
        """Design degrees of freedom: PSUs minus strata within the domain (R ``degf``)."""
        return int(self._degf(self._domain))

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
        mask = self._mask(condition, "condition")
        if not (mask & self._domain).any():
            raise DesignError("the subset condition selects no respondents (empty domain)")
        out = copy.copy(self)
        out._domain = self._domain & mask
        return out

    def proportions(
        self,
        variable: str,
        by: str | Sequence[str] | None = None,
        method: IntervalMethod = "auto",
        level: float = 0.95,
        categories: Sequence[object] | None = None,
    ) -> pd.DataFrame:
        """Weighted share of respondents in each category, with design-based SE and interval.

        Parameters
        ----------
        variable : str
            A select-one column, a boolean column, or the name of a select-multiple question whose
            choices are the columns ``f"{variable}__{choice}"``. For a select-multiple question each
            row is the share of respondents who answered the question that ticked the choice.
        by : str or sequence of str, optional
            Domain column(s); one row per (domain, category). Respondents with a missing ``by``
            value are left out.
        method : {"auto", "logit", "beta", "wilson", "mean", "clopper-pearson", "jeffreys", "goodman"}
            Interval method (see :func:`surveykit.survey.proportions.survey_confint` and
            :func:`surveykit.survey.proportions.binomial_confint`). ``"auto"`` is ``"wilson"`` for an
            unweighted simple random sample and ``"logit"`` (R's ``svyciprop`` default) otherwise.
            ``"clopper-pearson"``, ``"jeffreys"`` and ``"goodman"`` (simultaneous intervals over the
            categories of a select-one question, Goodman 1965) need an unweighted simple random sample.
        level : float
            Confidence level.
        categories : sequence, optional
            Categories to report, in this order; each must occur in the data.

        Returns
        -------
        DataFrame
            The ``by`` columns, then ``variable, category, estimate, se, ci_low, ci_high, n, deff,
            df, method, flag``: ``n`` is the unweighted number of respondents in the denominator,
            ``deff`` the design effect, ``df`` the design degrees of freedom, ``flag`` one of
            ``"ok"``, ``"caution"``, ``"suppressed"`` (estimate, se, interval and deff blanked).

        Warns
        -----
        SmallSampleWarning
            When any cell is flagged.
        """
        if method not in INTERVAL_METHODS:
            raise DesignError(f"method must be one of {list(INTERVAL_METHODS)}; got {method!r}")
        _check_level(level)
        if method == "auto":
            method = "wilson" if self.srs else "logit"
        if method in ("clopper-pearson", "jeffreys", "goodman") and not self.srs:
            raise DesignError(
                f"method {method!r} assumes an unweighted simple random sample, but this design has "
                f"{self._describe()}; use 'logit', 'beta', 'wilson' or 'mean'."
            )
        prepared = self._variable(variable)
        if method == "goodman" and prepared.multi:
            raise DesignError(
                f"method 'goodman' gives simultaneous intervals for the categories of a select-one "
                f"question; {variable!r} is select-multiple."
            )
        _, group, keys = self._groups(by)
        if not (prepared.answered & self._domain & (group >= 0)).any():
            raise DesignError(f"no respondent in the domain answered {variable!r} (empty domain)")
        cells = self._cells(prepared, group, len(keys))
        n_groups, n_cat = cells.estimate.shape
        n = np.repeat(cells.n, n_cat).astype(float)
        df = np.repeat(cells.df, n_cat).astype(float)
        estimate = cells.estimate.ravel()
        variance = cells.variance.ravel()
        if method == "goodman":
            lo = np.full(estimate.shape, np.nan)
            hi = np.full(estimate.shape, np.nan)
            for g in np.flatnonzero(cells.n > 0):
                limits = multinomial_confint(cells.count[g], level=level)
                lo[g * n_cat : (g + 1) * n_cat] = limits["ci_low"].to_numpy()
                hi[g * n_cat : (g + 1) * n_cat] = limits["ci_high"].to_numpy()
        elif self.srs and method in ("wilson", "clopper-pearson", "jeffreys"):
            lo, hi = binomial_confint(cells.count.ravel(), n, level=level, method=method)
        else:
            lo, hi = survey_confint(estimate, variance, n, df, level=level, method=method)
        frame = keys.iloc[np.repeat(np.arange(n_groups), n_cat)].reset_index(drop=True)
        frame["variable"] = prepared.name
        frame["category"] = pd.Series(
            np.tile(np.array(prepared.categories, dtype=object), n_groups), dtype=object
        )
        frame["estimate"] = estimate
        frame["se"] = np.sqrt(variance)
        frame["ci_low"] = lo
        frame["ci_high"] = hi
        frame["n"] = n.astype(np.int64)
        frame["deff"] = self._deff(cells).ravel()
        frame["df"] = df.astype(np.int64)
        frame["method"] = method
        if categories is not None:
            order = np.asarray(self._category_order(prepared, categories))
            frame = frame.iloc[(np.arange(n_groups)[:, None] * n_cat + order[None, :]).ravel()]
            frame = frame.reset_index(drop=True)
        return apply_disclosure(
            frame, frame["n"].to_numpy(), self.min_n, self.caution_n,
            blank=("estimate", "se", "ci_low", "ci_high", "deff"),
        )  # fmt: skip

    def change(
        self,
        variable: str,
        category: object,
        between: str = "wave",
        levels: Sequence[object] | None = None,
        by: str | Sequence[str] | None = None,
        level: float = 0.95,
    ) -> pd.DataFrame:
        """Change in a category's share between waves (or any two levels of ``between``).

        Parameters
        ----------
        variable : str
            Question (select-one, boolean, or select-multiple question name).
        category : object
            Category (or select-multiple choice) whose share is compared.
        between : str
            Column whose levels are compared, ``"wave"`` by default.
        levels : sequence, optional
            ``(from, to)`` to compare one pair; by default each level against the next in sorted order.
        by : str or sequence of str, optional
            Also compare within each domain.
        level : float
            Confidence level.

        Returns
        -------
        DataFrame
            The ``by`` columns, then ``variable, category, level_from, level_to, estimate_from, estimate_to,
            difference, se, ci_low, ci_high, p_value, ratio, ratio_ci_low, ratio_ci_high, n_from,
            n_to, df, method, flag``. See :func:`surveykit.survey.comparisons.compare_domains`.
        """
        from surveykit.survey.comparisons import compare_domains

        return compare_domains(self, variable, category, between, levels=levels, by=by, level=level)

    def pairwise(
        self,
        variable: str,
        category: object,
        by: str,
        level: float = 0.95,
        adjust: Literal["holm", "bonferroni", "none"] = "holm",
    ) -> pd.DataFrame:
        """Differences in a category's share between every pair of levels of ``by`` (e.g. regions).

        See :func:`surveykit.survey.comparisons.pairwise_differences`.
        """
        from surveykit.survey.comparisons import pairwise_differences

        return pairwise_differences(self, variable, category, by, level=level, adjust=adjust)

    def crosstab(self, row: str, col: str, level: float = 0.95) -> pd.DataFrame:
        """Weighted two-way table with cell, row and column shares.

        See :func:`surveykit.survey.comparisons.crosstab`.
        """
        from surveykit.survey.comparisons import crosstab

        return crosstab(self, row, col, level=level)

    def test_independence(self, row: str, col: str) -> IndependenceTest:
        """Rao-Scott test of independence (R ``svychisq``).

        See :func:`surveykit.survey.comparisons.test_independence`.
        """
        from surveykit.survey.comparisons import test_independence

        return test_independence(self, row, col)

    # ------------------------------------------------------------------ estimation engine
    def _describe(self) -> str:
        settings = {"weight": self.weight, "strata": self.strata, "psu": self.psu, "fpc": self.fpc}
        parts = [f"{name}={value!r}" for name, value in settings.items() if value is not None]
        return ", ".join(parts)

    def _mask(self, condition: pd.Series | np.ndarray, argument: str) -> np.ndarray:
        if isinstance(condition, pd.Series):
            if not condition.index.equals(self.data.index):
                condition = condition.reindex(self.data.index)
            mask = condition.fillna(False).to_numpy(dtype=bool)
        else:
            mask = np.asarray(condition, dtype=bool)
        if mask.shape != (len(self.data),):
            raise DesignError(
                f"{argument} must have one value per respondent ({len(self.data)}); got {mask.shape}"
            )
        return mask

    def _variable(self, variable: str) -> _Variable:
        data = self.data
        if not isinstance(variable, str):
            raise DesignError(f"variable must be a column name; got {variable!r}")
        if variable in data.columns:
            column = data[variable]
            answered = column.notna().to_numpy()
            if pd.api.types.is_bool_dtype(column):
                question, _, choice = variable.partition(MULTI_SEP)
                values = column.to_numpy(dtype=float, na_value=0.0)[:, None]
                return _Variable(
                    question if choice else variable, [choice or True], answered, indicators=values
                )
            if isinstance(column.dtype, pd.CategoricalDtype):
                return _Variable(variable, list(column.cat.categories), answered,
                                 codes=column.cat.codes.to_numpy().astype(np.int64))  # fmt: skip
            codes, levels = pd.factorize(column, sort=True)
            return _Variable(variable, list(levels), answered, codes=codes.astype(np.int64))
        prefix = variable + MULTI_SEP
        options = [c for c in data.columns if isinstance(c, str) and c.startswith(prefix)]
        if not options:
            raise DesignError(
                f"column {variable!r} is not in the data, and there are no select-multiple columns "
                f"{prefix + '*'!r}; available columns: {list(data.columns)}"
            )
        block = data[options]
        for column in options:
            if not (pd.api.types.is_bool_dtype(block[column]) or block[column].dropna().isin([0, 1]).all()):
                raise DesignError(f"select-multiple column {column!r} must be boolean (True/False/<NA>)")
        answered = block.notna().any(axis=1).to_numpy()
        values = np.column_stack([block[c].to_numpy(dtype=float, na_value=0.0) for c in options])
        return _Variable(variable, [c[len(prefix) :] for c in options], answered, indicators=values)

    def _indicator(self, variable: str, category: object) -> tuple[str, np.ndarray, np.ndarray]:
        """0/1 indicator of ``category`` and the answered mask, for comparisons of one share."""
        prepared = self._variable(variable)
        observed = self._observed_categories(prepared)
        if category not in prepared.categories or category not in observed:
            raise DesignError(
                f"category {category!r} of {variable!r} never occurs in the data; categories: {observed}"
            )
        k = prepared.categories.index(category)
        if prepared.multi:
            y = prepared.indicators[:, k]
        else:
            y = (prepared.codes == k).astype(float)
        return prepared.name, y, prepared.answered

    def _observed_categories(self, prepared: _Variable) -> list[object]:
        if prepared.multi:
            return list(prepared.categories)
        present = np.unique(prepared.codes[prepared.codes >= 0])
        return [prepared.categories[i] for i in present]

    def _category_order(self, prepared: _Variable, categories: Sequence[object]) -> list[int]:
        observed = self._observed_categories(prepared)
        for category in categories:
            if category not in observed:
                raise DesignError(
                    f"category {category!r} of {prepared.name!r} never occurs in the data; "
                    f"categories: {observed}"
                )
        return [prepared.categories.index(c) for c in categories]

    def _factorized(self, column: str) -> tuple[np.ndarray, list[object]]:
        """Sorted level codes of a domain column (-1 when missing), computed once per design."""
        if column not in self._factor_cache:
            values = self._column(self.data, column, "by")
            if isinstance(values.dtype, pd.CategoricalDtype):
                codes, levels = values.cat.codes.to_numpy(), list(values.cat.categories)
            else:
                codes, found = pd.factorize(values, sort=True)
                levels = list(found)
            self._factor_cache[column] = (codes.astype(np.int64), levels)
        return self._factor_cache[column]

    def _groups(self, by: str | Sequence[str] | None) -> tuple[list[str], np.ndarray, pd.DataFrame]:
        """Domain code per row (-1 when outside every domain) and the domain keys, sorted."""
        if by is None:
            return [], np.zeros(len(self.data), dtype=np.int64), pd.DataFrame(index=range(1))
        columns = [by] if isinstance(by, str) else list(by)
        if not columns:
            raise DesignError("by must name at least one column")
        codes = []
        uniques = []
        for column in columns:
            c, levels = self._factorized(column)
            codes.append(c)
            uniques.append(levels)
        missing = np.logical_or.reduce([c < 0 for c in codes])
        combined = np.zeros(len(self.data), dtype=np.int64)
        for c, levels in zip(codes, uniques, strict=True):
            combined = combined * len(levels) + np.maximum(c, 0)
        present = self._domain & ~missing
        # Number the combinations that occur, in sorted order, without sorting the rows.
        occurs = np.bincount(combined[present], minlength=int(np.prod([len(u) for u in uniques])))
        used = np.flatnonzero(occurs)
        number = np.full(occurs.size, -1, dtype=np.int64)
        number[used] = np.arange(used.size)
        group = np.where(present, number[combined], -1)
        key_codes = []
        rest = used
        for levels in reversed(uniques):
            key_codes.append(rest % len(levels))
            rest = rest // len(levels)
        keys = pd.DataFrame(
            {
                column: pd.Series(np.array(levels, dtype=object)[kc], dtype=self.data[column].dtype)
                if not isinstance(self.data[column].dtype, pd.CategoricalDtype)
                else pd.Categorical(np.array(levels, dtype=object)[kc], categories=levels)
                for column, levels, kc in zip(columns, uniques, reversed(key_codes), strict=True)
            }
        )
        return columns, group, keys

    def _cells(self, prepared: _Variable, group: np.ndarray, n_groups: int) -> _Cells:
        """Ratio estimates and Taylor variances for every (domain, category), vectorised."""
        n_cat = len(prepared.categories)
        keep = prepared.answered & self._domain & (group >= 0)
        rows = np.flatnonzero(keep)
        g = group[rows]
        w = self._w[rows]
        size = n_groups * n_cat
        if prepared.multi:
            y = prepared.indicators[rows]
            weighted = np.column_stack([np.bincount(g, w * y[:, k], n_groups) for k in range(n_cat)])
            count = np.column_stack([np.bincount(g, y[:, k], n_groups) for k in range(n_cat)])
        else:
            c = prepared.codes[rows]
            cell = g * n_cat + c
            weighted = np.bincount(cell, w, size).reshape(n_groups, n_cat)
            count = np.bincount(cell, minlength=size).reshape(n_groups, n_cat).astype(float)
        total = np.bincount(g, w, n_groups)
        n = np.bincount(g, minlength=n_groups)
        positive = w > 0
        n_positive = np.bincount(g[positive], minlength=n_groups)
        with np.errstate(divide="ignore", invalid="ignore"):
            p = weighted / total[:, None]

        # Unit (PSU x domain) totals A (weighted ticks) and B (weights); each respondent is a unit
        # when the design has no PSUs.
        if self._psu is None:
            n_units = rows.size
            inverse = np.arange(n_units)
            unit_g = g
            unit_h = self._stratum[rows]
            b = w
        else:
            units, inverse = np.unique(self._psu[rows] * n_groups + g, return_inverse=True)
            n_units = units.size
            unit_g = units % n_groups
            unit_h = self._psu_stratum[units // n_groups]
            b = np.bincount(inverse, w, n_units)
        if prepared.multi:
            a = np.column_stack([np.bincount(inverse, w * y[:, k], n_units) for k in range(n_cat)])
        else:
            a = np.bincount(inverse * n_cat + c, w, n_units * n_cat).reshape(n_units, n_cat)
        # Influence totals z = (A - p B) / W, centred at their stratum mean over all n_h PSUs of the
        # stratum (PSUs without anyone in the domain have z = 0), in two passes for accuracy.
        safe_total = np.where(total > 0, total, 1.0)
        z = (a - np.nan_to_num(p)[unit_g] * b[:, None]) / safe_total[unit_g][:, None]
        n_hg = self.n_strata * n_groups
        hg = unit_h * n_groups + unit_g
        cell_h = np.repeat(np.arange(self.n_strata), n_groups)
        sums = np.column_stack([np.bincount(hg, z[:, k], n_hg) for k in range(n_cat)])
        mean = sums * (self._centre / self._n_units)[cell_h][:, None]
        deviation = z - mean[hg]
        squares = np.column_stack([np.bincount(hg, deviation[:, k] ** 2, n_hg) for k in range(n_cat)])
        absent = self._n_units[cell_h] - np.bincount(hg, minlength=n_hg)
        squares += absent[:, None] * mean**2
        per_cell = (self._scale[cell_h][:, None] * squares).reshape(self.n_strata, n_groups, n_cat)
        variance = np.where(total[:, None] > 0, per_cell.sum(axis=0), np.nan)

        # Degrees of freedom: PSUs minus strata with a positive weight in each domain.
        pos = b > 0
        units_per_g = np.bincount(unit_g[pos], minlength=n_groups)
        strata_per_g = (np.bincount(hg[pos], minlength=n_hg) > 0).reshape(self.n_strata, n_groups).sum(axis=0)
        df = units_per_g - strata_per_g
        return _Cells(total, n, n_positive, count, p, variance, df)

    def _deff(self, cells: _Cells) -> np.ndarray:
        """Design effect as R's ``svymean(deff = TRUE)`` (or ``deff = "replace"``)."""
        nobs = cells.n_positive.astype(float)[:, None]
        total = cells.weight_total[:, None]
        p = cells.estimate
        with np.errstate(divide="ignore", invalid="ignore"):
            s2 = nobs / (nobs - 1) * p * (1 - p)
            replace = s2 / nobs
            without = s2 * (total - nobs) / (total * nobs)
            reference = (
                replace if self.deff_reference == "replace" else np.where(total > nobs, without, replace)
            )
            deff = cells.variance / reference
        return np.where(np.isfinite(deff), deff, np.nan)

    # ---- general influence-function machinery (covariances between domains) ----------------
    def _ratio_influence(self, y: np.ndarray, mask: np.ndarray) -> tuple[float, np.ndarray]:
        """Estimate ``sum(w y) / sum(w)`` over ``mask`` and its influence values on every row."""
        w = np.where(mask & self._domain, self._w, 0.0)
        total = w.sum()
        if total <= 0:
            raise DesignError("the domain has no respondents with a positive weight (empty domain)")
        p = float(np.dot(w, y) / total)
        return p, w * (y - p) / total

    def _vcov(self, influence: np.ndarray) -> np.ndarray:
        """Linearised covariance matrix of estimates with the given influence columns (rows x m)."""
        z = np.asarray(influence, dtype=float)
        if z.ndim == 1:
            z = z[:, None]
        if self._psu is None:
            totals = z
            unit_h = self._stratum
        else:
            n_units = self.n_psu
            totals = np.column_stack([np.bincount(self._psu, z[:, k], n_units) for k in range(z.shape[1])])
            unit_h = self._psu_stratum
        sums = np.column_stack([np.bincount(unit_h, totals[:, k], self.n_strata) for k in range(z.shape[1])])
        centred = totals - (self._centre[:, None] * sums / self._n_units[:, None])[unit_h]
        return (centred * self._scale[unit_h][:, None]).T @ centred

    def _degf(self, mask: np.ndarray) -> int:
        """PSUs minus strata among respondents in ``mask`` (and the domain) with positive weight."""
        inset = mask & self._domain & (self._w > 0)
        units = self._stratum[inset] if self._psu is None else self._psu[inset]
        n_units = int(inset.sum()) if self._psu is None else np.unique(units).size
        return n_units - np.unique(self._stratum[inset]).size
