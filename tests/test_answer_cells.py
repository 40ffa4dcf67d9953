"""Proportions computed from answer cells against a row-by-row linearisation written here.

``SurveyDesign.proportions`` reads the respondents once into (PSU, domain, answer) cells and
computes every total, variance and degree of freedom from the cells. The reference below is
the textbook computation on the rows (Lumley 2010, section 2.2; R ``svyrecvar`` with
``svyby(~I(q == k), ~by, subset(design, !is.na(q)), svymean)``): influence values
``w (y - p) / W`` in the domain and 0 outside, summed within PSUs, centred within strata and
scaled by ``(1 - f_h) n_h / (n_h - 1)``.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose

from surveykit import SurveyDesign
from surveykit.survey import estimates
from surveykit.survey._codes import combine_codes, compact_codes, split_codes


def responses(n: int = 1500, seed: int = 11) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(
        {
            "stratum": rng.integers(0, 5, n),
            "psu": rng.integers(0, 12, n),
            "region": pd.array(rng.choice(["north", "south", "east", None], n), dtype="string"),
            "answer": pd.array(
                rng.choice(["yes", "no", "maybe", None], n, p=[0.4, 0.35, 0.15, 0.1]), "string"
            ),
            "weight": rng.gamma(2.0, 1.5, n),
            "roles__ceo": pd.array(rng.random(n) < 0.3, dtype="boolean"),
            "roles__cfo": pd.array(rng.random(n) < 0.5, dtype="boolean"),
            "roles__hr": pd.array(rng.random(n) < 0.1, dtype="boolean"),
        }
    )
    frame.loc[rng.random(n) < 0.08, "weight"] = 0.0
    frame.loc[rng.random(n) < 0.2, ["roles__ceo", "roles__cfo", "roles__hr"]] = pd.NA
    # Stratum 4 has every respondent in one PSU (a lonely PSU), north a region missing from it.
    frame.loc[frame["stratum"] == 4, "psu"] = 0
    frame.loc[(frame["stratum"] == 3) & (frame["region"] == "north"), "region"] = "south"
    # Population PSUs per stratum, three times those sampled.
    frame["fpc"] = frame.groupby("stratum")["psu"].transform("nunique") * 3
    return frame


def row_by_row(
    frame: pd.DataFrame,
    y: np.ndarray,
    answered: np.ndarray,
    by: str,
    *,
    strata: bool,
    psu: bool,
    fpc: bool,
    lonely: str,
    raked: list[str] | None = None,
) -> pd.DataFrame:
    """Shares, SEs and df of each (domain, category), from the rows, one domain at a time; the
    weights raked on the ``raked`` columns credit the raking (R ``rake()``: ten passes of
    subtracting each margin level's mean of ``u / w``, then ``w`` times the result)."""
    weight = frame["weight"].to_numpy()
    stratum = frame["stratum"].to_numpy() if strata else np.zeros(len(frame), dtype=int)
    unit = frame["psu"].to_numpy() + 100 * stratum if psu else np.arange(len(frame))
    records = []
    for level in sorted(frame[by].dropna().unique()):
        inside = answered & (frame[by] == level).fillna(False).to_numpy()
        total = weight[inside].sum()
        for k in range(y.shape[1]):
            share = (weight * y[:, k])[inside].sum() / total
            influence = np.where(inside, weight * (y[:, k] - share) / total, 0.0)
            if raked:
                v = pd.Series(influence / weight)
                for _ in range(10):
                    for column in raked:
                        v = v - v.groupby(frame[column].to_numpy()).transform("mean")
                influence = weight * v.to_numpy()
            variance = 0.0
            for h in np.unique(stratum):
                in_h = stratum == h
                totals = np.bincount(np.unique(unit[in_h], return_inverse=True)[1], influence[in_h])
                n_h = totals.size
                f_h = n_h / frame.loc[in_h, "fpc"].iloc[0] if fpc else 0.0
                if n_h == 1:
                    if lonely == "adjust":  # centred at the grand mean, zero for these totals
                        variance += (1 - f_h) * totals[0] ** 2
                    continue
                variance += (1 - f_h) * n_h / (n_h - 1) * np.sum((totals - totals.mean()) ** 2)
            positive = inside & (weight > 0)
            df = np.unique(unit[positive]).size - np.unique(stratum[positive]).size
            records.append((level, k, share, np.sqrt(variance), int(inside.sum()), df))
    return pd.DataFrame(records, columns=[by, "k", "estimate", "se", "n", "df"])


STRATIFIED = {"weight": "weight", "strata": "stratum"}
DESIGNS = {  # design options; the reference's strata, psu, fpc and lonely-PSU rule
    "weights only": ({"weight": "weight"}, False, False, False, "certainty"),
    "stratified": (STRATIFIED, True, False, False, "certainty"),
    "clustered, lonely PSU adjusted": (
        {**STRATIFIED, "psu": "psu", "lonely_psu": "adjust"}, True, True, False, "adjust"
    ),
    "clustered with fpc, lonely PSU certain": (
        {**STRATIFIED, "psu": "psu", "fpc": "fpc", "lonely_psu": "certainty"}, True, True, True, "certainty"
    ),
}  # fmt: skip


@pytest.mark.parametrize("name", list(DESIGNS))
@pytest.mark.parametrize("variable", ["answer", "roles"])
def test_cell_proportions_match_the_row_by_row_linearisation(name: str, variable: str) -> None:
    options, strata, psu, fpc, lonely = DESIGNS[name]
    frame = responses()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = SurveyDesign(frame, min_n=0, caution_n=0, **options).proportions(variable, by="region")
    if variable == "answer":
        categories = sorted(frame["answer"].dropna().unique())
        y = np.column_stack([(frame["answer"] == c).fillna(False).to_numpy(dtype=float) for c in categories])
        answered = frame["answer"].notna().to_numpy()
    else:
        columns = ["roles__ceo", "roles__cfo", "roles__hr"]
        y = frame[columns].astype(float).fillna(0.0).to_numpy()
        answered = frame[columns].notna().any(axis=1).to_numpy()
    expected = row_by_row(frame, y, answered, "region", strata=strata, psu=psu, fpc=fpc, lonely=lonely)
    assert list(result["region"]) == list(expected["region"])
    assert_allclose(result["estimate"], expected["estimate"], rtol=1e-12)
    assert_allclose(result["se"], expected["se"], rtol=1e-10)
    assert list(result["n"]) == list(expected["n"])
    assert list(result["df"]) == list(expected["df"])


def test_a_subset_keeps_the_whole_design_in_the_cells() -> None:
    frame = responses(seed=3)
    design = SurveyDesign(frame, weight="weight", strata="stratum", psu="psu", lonely_psu="adjust")
    in_domain = (frame["region"] == "east").fillna(False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = design.subset(in_domain).proportions("answer")
    categories = sorted(frame["answer"].dropna().unique())
    y = np.column_stack([(frame["answer"] == c).fillna(False).to_numpy(dtype=float) for c in categories])
    answered = frame["answer"].notna().to_numpy()
    expected = row_by_row(
        frame.assign(everyone="all"), y, answered & in_domain.to_numpy(), "everyone", strata=True, psu=True,
        fpc=False, lonely="adjust",
    )  # fmt: skip
    assert_allclose(result["estimate"], expected["estimate"], rtol=1e-12)
    assert_allclose(result["se"], expected["se"], rtol=1e-10)


def test_equal_weights_in_a_cell_give_no_spread_and_no_cancellation() -> None:
    # Every respondent of a stratum answers alike with the same weight: that stratum adds
    # exactly nothing, so the variance is the other stratum's alone.
    frame = pd.DataFrame(
        {
            "stratum": [0] * 4 + [1] * 6,
            "answer": pd.array(["yes"] * 4 + ["yes", "no", "no", "yes", "no", "yes"], dtype="string"),
            "weight": [1e8] * 4 + [1.0, 2.0, 3.0, 1.5, 2.5, 1.0],
        }
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        both = SurveyDesign(frame, weight="weight", strata="stratum").proportions("answer")
    total = frame["weight"].sum()
    share = frame.loc[frame["answer"] == "yes", "weight"].sum() / total
    second = frame[frame["stratum"] == 1]
    u = second["weight"] * ((second["answer"] == "yes").astype(float) - share) / total
    expected = np.sqrt(6 / 5 * np.sum((u - u.mean()) ** 2))
    assert_allclose(both.loc[both["category"] == "yes", "se"], [expected], rtol=1e-9)


def test_compact_codes_number_what_occurs_in_sorted_order() -> None:
    rng = np.random.default_rng(5)
    codes = rng.choice([3, 17, 40, 2, 17], 200)
    for size in (41, 10**9):  # a count table, and sorting for a huge range
        used, number = compact_codes(codes, size)
        expected_used, expected_number = np.unique(codes, return_inverse=True)
        assert list(used) == list(expected_used)
        assert list(number) == list(expected_number)
    a, b = rng.integers(0, 3, 50), rng.integers(0, 7, 50)
    combined, size = combine_codes([a, b], [3, 7])
    assert size == 21
    assert list(combined) == list(np.ravel_multi_index((a, b), (3, 7)))
    back = split_codes(combined, [3, 7])
    assert list(back[0]) == list(a) and list(back[1]) == list(b)


@pytest.mark.parametrize("blocks", ["one block", "a block per domain"])
@pytest.mark.parametrize("name", ["weights only", "clustered, lonely PSU adjusted"])
def test_raked_design_cells_match_the_row_by_row_raking_residuals(
    name: str, blocks: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    if blocks == "a block per domain":  # as with thousands of domains: the blocks must add up
        monkeypatch.setattr(estimates, "_BLOCK_VALUES", 1)
    options, strata, psu, fpc, lonely = DESIGNS[name]
    frame = responses(seed=21)
    frame = frame[frame["weight"] > 0].reset_index(drop=True)  # u / w needs positive weights
    frame["size"] = np.random.default_rng(4).choice(["small", "large"], len(frame))
    frame["band"] = np.random.default_rng(6).choice([1, 2, 3], len(frame))
    margins = {"size": {"small": 7000, "large": 3000}, "band": {1: 5000, 2: 3000, 3: 2000}}
    design = SurveyDesign(frame, min_n=0, caution_n=0, **options).rake(margins, tol=1e-12, max_iter=500)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = design.proportions("answer", by="region")
    raked = frame.assign(weight=design.weights.to_numpy())
    categories = sorted(frame["answer"].dropna().unique())
    y = np.column_stack([(frame["answer"] == c).fillna(False).to_numpy(dtype=float) for c in categories])
    answered = frame["answer"].notna().to_numpy()
    expected = row_by_row(
        raked, y, answered, "region", strata=strata, psu=psu, fpc=fpc, lonely=lonely, raked=["size", "band"]
    )
    assert_allclose(result["estimate"], expected["estimate"], rtol=1e-12)
    assert_allclose(result["se"], expected["se"], rtol=1e-10)
    # Raking credits the margins: the standard errors differ from those of fixed raked weights.
    fixed = row_by_row(raked, y, answered, "region", strata=strata, psu=psu, fpc=fpc, lonely=lonely)
    assert np.all(np.abs(fixed["se"].to_numpy() / expected["se"].to_numpy() - 1) > 1e-6)
