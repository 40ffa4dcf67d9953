"""Raking, post-stratification and Kish effective sample size against R's survey package.

R (tests/results/survey_reference.R) on survey_weighted_data.csv:
  pop_region <- data.frame(region = c("north", "south", "east", "west"), Freq = c(30000, 25000, 25000, 20000))
  pop_size <- data.frame(size = c("small", "medium", "large"), Freq = c(70000, 20000, 10000))
  weights(rake(svydesign(ids = ~1, weights = ~weight, data = wtd), list(~region, ~size),
               list(pop_region, pop_size), control = list(maxit = 200, epsilon = 1e-9)))
  the same from unit weights, weights(postStratify(design, ~region, pop_region)),
  and sum(w)^2 / sum(w^2).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose

from surveykit import (
    SurveyDesign,
    WeightError,
    kish_effective_n,
    poststratify,
    rake,
    weighting_efficiency,
    weights_summary,
)
from tests.test_design import RTOL, load_data, reference

REGION = {"north": 30000, "south": 25000, "east": 25000, "west": 20000}
SIZE = {"small": 70000, "medium": 20000, "large": 10000}


def test_rake_matches_r() -> None:
    data = load_data("weighted")
    raked = rake(data, {"region": REGION, "size": SIZE}, weight="weight", tol=1e-12, max_iter=500)
    assert_allclose(raked.to_numpy(), reference()["weighting"]["raked"], rtol=RTOL)
    assert raked.index.equals(data.index)
    from_unit = rake(data, {"region": REGION, "size": SIZE}, tol=1e-12, max_iter=500)
    assert_allclose(from_unit.to_numpy(), reference()["weighting"]["raked_from_unit"], rtol=RTOL)


def test_raked_weights_meet_margins() -> None:
    data = load_data("weighted")
    raked = rake(data, {"region": REGION, "size": SIZE}, weight="weight")
    assert_allclose(
        raked.groupby(data["region"]).sum().reindex(list(REGION)), list(REGION.values()), rtol=1e-7
    )
    assert_allclose(raked.groupby(data["size"]).sum().reindex(list(SIZE)), list(SIZE.values()), rtol=1e-7)


def test_shares_scale_to_the_starting_total() -> None:
    data = load_data("weighted")
    shares = {
        "region": {k: v / 100000 for k, v in REGION.items()},
        "size": {k: v / 100000 for k, v in SIZE.items()},
    }
    from_shares = rake(data, shares, weight="weight", tol=1e-12, max_iter=500)
    from_counts = rake(data, {"region": REGION, "size": SIZE}, weight="weight", tol=1e-12, max_iter=500)
    assert_allclose(from_shares.sum(), data["weight"].sum())
    assert_allclose(from_shares / from_shares.sum(), from_counts / from_counts.sum(), rtol=1e-9)


def test_poststratify_matches_r() -> None:
    data = load_data("weighted")
    weights = poststratify(data, "region", REGION, weight="weight")
    assert_allclose(weights.to_numpy(), reference()["weighting"]["poststratified"], rtol=RTOL)


def test_poststratify_on_two_columns() -> None:
    data = load_data("weighted")
    cells = data.groupby(["region", "size"]).size()
    population = {key: 1000.0 * (i + 1) for i, key in enumerate(cells.index)}
    weights = poststratify(data, ["region", "size"], population)
    totals = weights.groupby([data["region"], data["size"]]).sum()
    assert_allclose(totals.reindex(cells.index), [population[k] for k in cells.index])


def test_kish_effective_n_and_efficiency() -> None:
    data = load_data("weighted")
    # R: sum(w)^2 / sum(w^2)
    assert_allclose(kish_effective_n(data["weight"]), reference()["weighting"]["kish_n"], rtol=RTOL)
    # Kish (1965): 1 + cv^2 with cv from the population (divisor n) standard deviation.
    w = data["weight"].to_numpy()
    assert_allclose(weighting_efficiency(w), 1 / (1 + (w.std() / w.mean()) ** 2))
    assert kish_effective_n([2.0] * 10) == pytest.approx(10)
    summary = weights_summary(w)
    assert list(summary.columns) == [
        "n", "sum", "min", "max", "ratio_max_min", "cv", "deff_weighting", "effective_n", "efficiency",
    ]  # fmt: skip
    assert_allclose(summary.loc[0, "deff_weighting"] * summary.loc[0, "effective_n"], len(w))


def test_bounds_are_respected() -> None:
    data = load_data("weighted")
    base = data["weight"] * 100000 / data["weight"].sum()  # starting weights scaled to the population
    unbounded = rake(data, {"region": REGION, "size": SIZE}, weight="weight") / base
    assert unbounded.min() < 0.3
    raked = rake(data, {"region": REGION, "size": SIZE}, weight="weight", bounds=(0.3, 3.5))
    ratio = raked / base
    assert ratio.min() >= 0.3 * (1 - 1e-12) and ratio.max() <= 3.5 * (1 + 1e-12)
    assert_allclose(raked.groupby(data["size"]).sum().reindex(list(SIZE)), list(SIZE.values()), rtol=1e-7)
    assert_allclose(
        raked.groupby(data["region"]).sum().reindex(list(REGION)), list(REGION.values()), rtol=1e-7
    )
    with pytest.raises(
        WeightError, match=r"level 'north' of 'region' cannot reach its target within the bounds"
    ):
        rake(data, {"region": REGION, "size": SIZE}, weight="weight", bounds=(0.9, 1.1))


def test_margin_errors_are_clear() -> None:
    data = load_data("weighted")
    with pytest.raises(WeightError, match="must sum to the same population total"):
        rake(data, {"region": REGION, "size": {**SIZE, "large": 1}})
    with pytest.raises(
        WeightError, match=r"margin for 'region' names level 'atlantis' that no respondent has"
    ):
        rake(data, {"region": {**REGION, "atlantis": 5000, "west": 15000}, "size": SIZE})
    without_west = {"north": 40000, "south": 35000, "east": 25000}
    with pytest.raises(WeightError, match=r"column 'region' has level 'west' which the margin does not list"):
        rake(data, {"region": without_west, "size": SIZE})
    with pytest.raises(WeightError, match="mix shares"):
        rake(data, {"region": {k: v / 1e5 for k, v in REGION.items()}, "size": SIZE})
    with pytest.raises(WeightError, match=r"margin column 'sector' is not in the data"):
        rake(data, {"sector": {"a": 1.0}})
    gaps = data.assign(size=data["size"].where(data.index != 4))
    with pytest.raises(WeightError, match=r"column 'size' has 1 missing values \(first at row 4\)"):
        rake(gaps, {"region": REGION, "size": SIZE})
    with pytest.raises(WeightError, match="did not converge in 1 iterations"):
        rake(data, {"region": REGION, "size": SIZE}, weight="weight", max_iter=1)
    with pytest.raises(WeightError, match="negative values"):
        rake(data.assign(weight=-data["weight"]), {"region": REGION}, weight="weight")


def test_rake_does_not_mutate_and_feeds_a_design() -> None:
    data = load_data("weighted")
    before = data.copy()
    weights = rake(data, {"region": REGION, "size": SIZE}, weight="weight")
    pd.testing.assert_frame_equal(data, before)
    design = SurveyDesign(data.assign(raked=weights), weight="raked")
    shares = design.proportions("region")
    assert_allclose(
        shares.set_index("category")["estimate"].reindex(list(REGION)), np.array(list(REGION.values())) / 1e5
    )


def row_level_rake(
    frame: pd.DataFrame,
    margins: dict[str, dict[object, float]],
    start: np.ndarray,
    bounds: tuple[float, float] | None = None,
    tol: float = 1e-8,
) -> np.ndarray:
    """Iterative proportional fitting on the rows, as written in Deming and Stephan (1940);
    capped raking solves each level's factor with Brent's method on the clipped total."""
    from scipy.optimize import brentq

    population = sum(next(iter(margins.values())).values())
    base = start * population / start.sum()
    w = start.copy()
    for _ in range(200):
        for variable, margin in margins.items():
            for level, target in margin.items():
                rows = (frame[variable] == level).to_numpy()
                if bounds is None:
                    w[rows] *= target / w[rows].sum()
                    continue
                low, high = base[rows] * bounds[0], base[rows] * bounds[1]

                def excess(log_f: float, rows: np.ndarray = rows, low=low, high=high, target=target) -> float:
                    return np.clip(np.exp(log_f) * w[rows], low, high).sum() - target

                log_f = brentq(excess, -30.0, 30.0, xtol=1e-15, rtol=1e-15)
                w[rows] = np.clip(np.exp(log_f) * w[rows], low, high)
        misfit = max(
            abs(w[(frame[v] == level).to_numpy()].sum() - t) / t
            for v, m in margins.items()
            for level, t in m.items()
        )
        if misfit <= tol:
            return w
    raise AssertionError("the row-level raking did not converge")


@pytest.mark.parametrize("bounds", [None, (0.5, 1.8)])
@pytest.mark.parametrize("start", ["unit", "few values", "continuous"])
def test_raking_on_cells_matches_row_level_raking(start: str, bounds: tuple[float, float] | None) -> None:
    rng = np.random.default_rng(8)
    n = 3000
    frame = pd.DataFrame(
        {
            "region": pd.array(rng.choice(["north", "south", "east"], n, p=[0.5, 0.3, 0.2]), dtype="string"),
            "size": rng.choice([1, 2, 3, 4], n),  # numeric levels
            "sector": pd.Categorical(rng.choice(["a", "b"], n, p=[0.7, 0.3])),
        }
    )
    frame["w"] = {
        "unit": np.ones(n), "few values": rng.choice([1.0, 2.0, 4.5], n), "continuous": rng.gamma(4.0, 1.0, n)
    }[start]  # fmt: skip
    margins = {
        "region": {"north": 4000.0, "south": 3500.0, "east": 2500.0},
        "size": {1: 2000.0, 2: 3000.0, 3: 3000.0, 4: 2000.0},
        "sector": {"a": 6000.0, "b": 4000.0},
    }
    raked = rake(frame, margins, weight="w", bounds=bounds)
    expected = row_level_rake(frame, margins, frame["w"].to_numpy(dtype=float), bounds)
    assert_allclose(raked.to_numpy(), expected, rtol=1e-10)
    if bounds is not None:
        ratio = raked.to_numpy() / (frame["w"] * 10000 / frame["w"].sum()).to_numpy()
        assert ratio.min() < 0.5 + 1e-9 or ratio.max() > 1.8 - 1e-9  # the caps bind


@pytest.mark.parametrize("bounds", [None, (0.3, 3.5)])
def test_raking_with_too_many_cells_to_number_runs_on_the_rows(
    bounds: tuple[float, float] | None, monkeypatch: pytest.MonkeyPatch
) -> None:
    from surveykit.survey import weighting

    data = load_data("weighted")
    margins = {"region": REGION, "size": SIZE}
    on_cells = rake(data, margins, weight="weight", bounds=bounds)
    monkeypatch.setattr(weighting, "_MAX_CELLS", 2.0)  # as with very many margins and levels
    on_rows = rake(data, margins, weight="weight", bounds=bounds)
    assert_allclose(on_rows, on_cells, rtol=1e-12)
    assert_allclose(on_rows.groupby(data["size"]).sum().reindex(list(SIZE)), list(SIZE.values()), rtol=1e-7)
