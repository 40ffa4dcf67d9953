"""The one linearisation engine: design arrays and the variance of influence functions.

Every design-based standard error in surveykit is the variance of a total of influence values
(Taylor linearisation), computed here and nowhere else, as R's ``svyrecvar`` does for a
one-stage (ultimate cluster) design:

1. influence values ``u`` (one row per respondent, one column per estimate) are first adjusted
   for any calibration of the weights, in the order the calibrations were applied (residuals of
   post-stratification, raking or GREG, see :mod:`surveykit.survey.calibration`);
2. they are summed within primary sampling units;
3. the PSU totals are centred at their stratum mean over all ``n_h`` PSUs of the stratum and
   their cross-products summed with the factor ``(1 - f_h) n_h / (n_h - 1)``.

The engine never sees the data frame: it holds integer codes for strata and PSUs, the scale
factors per stratum and the calibrations. Estimators build ``u`` and ask for its covariance.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields, replace
from typing import Protocol

import numpy as np

from surveykit.survey._codes import compact_codes

__all__ = ["Calibration", "Linearization", "WeightCells", "column_bincount", "stratum_scale"]


class Calibration(Protocol):
    """A weight calibration that knows how to adjust influence values (R ``design$postStrata``)."""

    def residuals(self, u: np.ndarray) -> np.ndarray:
        """Influence values ``u`` (rows x estimates) adjusted for the calibration."""
        ...


@dataclass(frozen=True)
class Linearization:
    """Design arrays and the linearised variance over them.

    Parameters
    ----------
    stratum : ndarray of int
        Stratum code of each respondent, ``0 .. n_strata - 1``.
    psu : ndarray of int or None
        PSU code of each respondent (PSUs numbered across the design, nested in strata), or
        None when each respondent is its own PSU.
    unit_stratum : ndarray of int
        Stratum of each PSU (of each respondent when ``psu`` is None).
    scale : ndarray of float
        ``(1 - f_h) n_h / (n_h - 1)`` per stratum (0 for a lonely PSU given no variance).
    centre : ndarray of float
        1 to centre a stratum's PSU totals at their mean, 0 to centre at zero (a lonely PSU
        under ``lonely_psu="adjust"``).
    calibrations : tuple
        Calibrations applied to the weights, in order.
    """

    stratum: np.ndarray
    psu: np.ndarray | None
    unit_stratum: np.ndarray
    scale: np.ndarray
    centre: np.ndarray
    calibrations: tuple[Calibration, ...] = field(default=())

    @property
    def n_strata(self) -> int:
        return int(self.scale.size)

    @property
    def n_units(self) -> np.ndarray:
        """Number of PSUs in each stratum, as floats."""
        return np.bincount(self.unit_stratum, minlength=self.n_strata).astype(float)

    def calibrated(self, calibration: Calibration) -> Linearization:
        """The same design with one more calibration of the weights."""
        return replace(self, calibrations=(*self.calibrations, calibration))

    def vcov(self, u: np.ndarray) -> np.ndarray:
        """Covariance matrix of the totals of the influence columns ``u`` (rows x m)."""
        deviation, mean, absent = self._centred_totals(u)
        present = (deviation * self.scale[self.unit_stratum][:, None]).T @ deviation
        return present + (mean * (self.scale * absent)[:, None]).T @ mean

    def variances(self, u: np.ndarray) -> np.ndarray:
        """The diagonal of :meth:`vcov`, without forming the matrix."""
        deviation, mean, absent = self._centred_totals(u)
        present = column_bincount(self.unit_stratum, np.square(deviation, out=deviation), self.n_strata)
        return (self.scale[:, None] * (present + absent[:, None] * mean**2)).sum(axis=0)

    def _centred_totals(self, u: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """PSU totals of the (calibration-adjusted) influence columns, centred at their stratum
        mean over all ``n_h`` PSUs; also the means and, per stratum, the PSUs with no one in
        ``u`` (their totals are zero, so they contribute ``mean**2`` each)."""
        u = np.asarray(u, dtype=float)
        if u.ndim == 1:
            u = u[:, None]
        for calibration in self.calibrations:
            u = calibration.residuals(u)
        totals = u if self.psu is None else column_bincount(self.psu, u, self.unit_stratum.size)
        unit_h = self.unit_stratum
        n_h = self.n_units
        mean = column_bincount(unit_h, totals, self.n_strata) * (self.centre / n_h)[:, None]
        absent = n_h - np.bincount(unit_h, minlength=self.n_strata)
        return totals - mean[unit_h], mean, absent

    def domain_variances(
        self, rows: np.ndarray, group: np.ndarray, u: np.ndarray, n_groups: int
    ) -> np.ndarray:
        """Variances of many domain estimates at once, shape ``(n_groups, k)``.

        Estimate ``(g, j)`` has influence ``u[i, j]`` on respondent ``rows[i]`` when
        ``group[i] == g`` and zero elsewhere. Without calibration this is computed from PSU x
        domain totals without forming the full matrix, so a million respondents by country for
        every question stay fast; calibrated designs need the full influence columns.
        """
        u = np.asarray(u, dtype=float)
        k = u.shape[1]
        if self.calibrations:
            # Calibration residuals need a domain's influence on every respondent; one domain at a
            # time keeps the arrays small (faster than wider blocks, measured).
            out = np.empty((n_groups, k))
            for g in range(n_groups):
                in_g = group == g
                full = np.zeros((self.stratum.size, k), order="F")
                full[rows[in_g]] = u[in_g]
                out[g] = self.variances(full)
            return out
        if self.psu is None:
            return self._unit_variances(u, self.stratum[rows], group, n_groups)
        units, unit = np.unique(self.psu[rows] * n_groups + group, return_inverse=True)
        totals = column_bincount(unit, u, units.size)
        return self._unit_variances(totals, self.unit_stratum[units // n_groups], units % n_groups, n_groups)

    def weight_cells(
        self, group: np.ndarray, kind: np.ndarray, n_groups: int, n_kinds: int, weights: np.ndarray
    ) -> tuple[WeightCells, np.ndarray]:
        """Group the respondents with ``group >= 0`` by PSU (stratum without PSUs), domain and
        ``kind`` (e.g. the answer class); also returns each cell's kind."""
        if self.psu is None:
            unit, n_units = self.stratum, self.n_strata
        else:
            unit, n_units = self.psu, self.unit_stratum.size
        size = n_units * n_groups * n_kinds
        key = np.where(group >= 0, (unit * n_groups + group) * n_kinds + kind, size)
        used, code = compact_codes(key, size + 1)
        m = used.size
        count = np.bincount(code, minlength=m).astype(float)
        weight = np.bincount(code, weights, m)
        positive = np.bincount(code, weights > 0, m) if np.any(weights <= 0) else count
        if self.psu is None:
            spread = np.bincount(code, np.square(weights - (weight / count)[code]), m)
        else:
            spread = np.zeros(m)  # PSU totals need only the cells' sums
        keep = slice(0, m - 1) if used[-1] == size else slice(0, m)
        used = used[keep]
        cells = WeightCells(
            unit=used // (n_groups * n_kinds),
            group=(used // n_kinds) % n_groups,
            count=count[keep],
            positive=positive[keep],
            weight=weight[keep],
            spread=spread[keep],
        )
        return cells, used % n_kinds

    def cell_variances(self, cells: WeightCells, b: np.ndarray, n_groups: int) -> np.ndarray:
        """:meth:`domain_variances` when every respondent's influence is its weight times a
        value of its cell, ``u[i] = w[i] * b[cell[i]]``, without touching the respondents.

        Cells are nested in PSUs (or are sets of respondents of one stratum, each its own PSU)
        and in domains. PSU totals are sums over cells; without PSUs each cell's sum of squared
        deviations is split into the spread of its weights around their mean and the deviation
        of that mean, two sums of squares that never cancel.
        """
        b = np.asarray(b, dtype=float)
        if self.psu is not None:
            units, unit = np.unique(cells.unit * n_groups + cells.group, return_inverse=True)
            totals = column_bincount(unit, b * cells.weight[:, None], units.size)
            return self._unit_variances(
                totals, self.unit_stratum[units // n_groups], units % n_groups, n_groups
            )
        n_h = self.n_units
        n_hg = self.n_strata * n_groups
        hg = cells.unit * n_groups + cells.group
        pair_h = np.repeat(np.arange(self.n_strata), n_groups)
        mean = column_bincount(hg, b * cells.weight[:, None], n_hg) * (self.centre / n_h)[pair_h][:, None]
        deviation = b * cells.mean_weight[:, None] - mean[hg]
        within = np.square(b) * cells.spread[:, None] + cells.count[:, None] * np.square(deviation)
        squares = column_bincount(hg, within, n_hg)
        absent = n_h[pair_h] - np.bincount(hg, cells.count, n_hg)
        squares += absent[:, None] * mean**2
        per_pair = (self.scale[pair_h][:, None] * squares).reshape(self.n_strata, n_groups, b.shape[1])
        return per_pair.sum(axis=0)

    def _unit_variances(
        self, totals: np.ndarray, unit_h: np.ndarray, unit_g: np.ndarray, n_groups: int
    ) -> np.ndarray:
        """Variances by domain from the totals of the (PSU, domain) units that occur."""
        # Each (stratum, domain) pair is centred on its own: the domain's PSUs plus the PSUs of
        # the stratum without anyone in the domain (zero totals).
        n_h = self.n_units
        n_hg = self.n_strata * n_groups
        hg = unit_h * n_groups + unit_g
        pair_h = np.repeat(np.arange(self.n_strata), n_groups)
        sums = column_bincount(hg, totals, n_hg)
        mean = sums * (self.centre / n_h)[pair_h][:, None]
        deviation = totals - mean[hg]
        squares = column_bincount(hg, np.square(deviation, out=deviation), n_hg)
        absent = n_h[pair_h] - np.bincount(hg, minlength=n_hg)
        squares += absent[:, None] * mean**2
        per_pair = (self.scale[pair_h][:, None] * squares).reshape(self.n_strata, n_groups, totals.shape[1])
        return per_pair.sum(axis=0)

    def cell_degf(self, cells: WeightCells, n_groups: int) -> np.ndarray:
        """:meth:`domain_degf` from cells (respondents with positive weight count)."""
        positive = cells.positive > 0
        if self.psu is None:
            units_per_g = np.bincount(cells.group, cells.positive, n_groups).astype(np.int64)
        else:
            units = np.unique(cells.unit[positive] * n_groups + cells.group[positive])
            units_per_g = np.bincount(units % n_groups, minlength=n_groups)
        pairs = np.unique(self.cell_stratum(cells)[positive] * n_groups + cells.group[positive])
        return units_per_g - np.bincount(pairs % n_groups, minlength=n_groups)

    def cell_stratum(self, cells: WeightCells) -> np.ndarray:
        """Stratum of each cell."""
        return cells.unit if self.psu is None else self.unit_stratum[cells.unit]

    def degf(self, inset: np.ndarray) -> int:
        """PSUs minus strata among the respondents in ``inset`` (R ``degf`` of a domain)."""
        units = np.flatnonzero(inset) if self.psu is None else np.unique(self.psu[inset])
        return int(units.size - np.unique(self.stratum[inset]).size)

    def domain_degf(self, rows: np.ndarray, group: np.ndarray, n_groups: int) -> np.ndarray:
        """:meth:`degf` of every domain at once (``rows`` already limited to positive weights)."""
        if self.psu is None:
            units_per_g = np.bincount(group, minlength=n_groups)
        else:
            units = np.unique(self.psu[rows] * n_groups + group)
            units_per_g = np.bincount(units % n_groups, minlength=n_groups)
        pairs = np.unique(self.stratum[rows] * n_groups + group)
        return units_per_g - np.bincount(pairs % n_groups, minlength=n_groups)


@dataclass(frozen=True)
class WeightCells:
    """Respondents grouped into cells of one PSU (or stratum, without PSUs) and one domain.

    Attributes
    ----------
    unit : ndarray of int
        PSU code of each cell, or its stratum code when each respondent is its own PSU.
    group : ndarray of int
        Domain of each cell.
    count, positive : ndarray of float
        Respondents in each cell, and those with a positive weight.
    weight : ndarray of float
        Sum of the weights in each cell.
    spread : ndarray of float
        Sum of squared deviations of the weights from the cell's mean weight.
    """

    unit: np.ndarray
    group: np.ndarray
    count: np.ndarray
    positive: np.ndarray
    weight: np.ndarray
    spread: np.ndarray

    @property
    def mean_weight(self) -> np.ndarray:
        return self.weight / self.count

    def subset(self, mask: np.ndarray) -> WeightCells:
        """The cells where ``mask`` is True."""
        return WeightCells(*(getattr(self, f.name)[mask] for f in fields(self)))


def column_bincount(codes: np.ndarray, values: np.ndarray, size: int) -> np.ndarray:
    """Sums of each column of ``values`` by ``codes``, shape ``(size, columns)``."""
    columns = np.asfortranarray(values)  # contiguous columns: bincount reads each once
    return np.column_stack([np.bincount(codes, columns[:, j], size) for j in range(values.shape[1])])


def stratum_scale(
    n_h: np.ndarray, finite: np.ndarray, lonely: np.ndarray, lonely_psu: str
) -> tuple[np.ndarray, np.ndarray]:
    """Scale and centring of each stratum from its PSU count, sampling fraction and lonely rule."""
    one_minus_f = 1.0 - finite
    with np.errstate(divide="ignore", invalid="ignore"):
        scale = np.where(lonely, one_minus_f, one_minus_f * n_h / (n_h - 1))
    if lonely_psu == "certainty":
        scale = np.where(lonely, 0.0, scale)
    elif lonely_psu == "average":
        # R: the lonely strata's contributions are dropped and the rest scaled up by
        # strata / strata with two or more PSUs, i.e. each lonely stratum gets the average.
        ok = int((~lonely).sum())
        scale = np.where(lonely, 0.0, scale * (lonely.size / ok if ok else np.nan))
    centre = np.where(lonely & (lonely_psu == "adjust"), 0.0, 1.0)
    return scale, centre
