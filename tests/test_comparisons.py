"""Wave-over-wave change and pairwise regional differences against R's survey package.

R commands (tests/results/survey_reference.R), with d <- subset(design, !is.na(answer)):
  b <- svyby(~as.numeric(answer == "yes"), ~wave, d, svymean, covmat = TRUE)
  svycontrast(b, quote(`2016-12` - `2015-12`)), quote(`2016-12` / `2015-12`), quote(log(...))
  br <- svyby(~as.numeric(answer == "yes"), ~region, d, svymean, covmat = TRUE)
  svycontrast(br, quote(`east` - `north`)) ... for every pair
and on subset designs (tests/results/design_reference.R, section "subset_contrasts"):
  svycontrast(svyby(~as.numeric(answer == "yes"), ~region,
              subset(design, !is.na(answer) & wave == "2016-12"), svymean, covmat = TRUE), quote(b - a))
"""

from __future__ import annotations

import numpy as np
import pytest
from numpy.testing import assert_allclose
from scipy import stats

from surveykit import DesignError, newcombe_diff_confint
from tests.test_design import RTOL, load_data, make_design, reference_frame

DESIGNS = ["strat", "weighted", "srs"]


@pytest.mark.parametrize("design_name", DESIGNS)
def test_change_matches_svycontrast(design_name: str) -> None:
    expected = reference_frame("change").set_index("design").loc[design_name]
    result = make_design(design_name).change("answer", "yes", between="wave")
    assert len(result) == 1
    row = result.iloc[0]
    assert (row["from"], row["to"]) == ("2015-12", "2016-12")
    assert_allclose(
        row[["estimate_from", "estimate_to", "estimate", "se", "ratio", "df"]].astype(float),
        expected[["p_from", "p_to", "diff", "diff_se", "ratio", "df"]].astype(float),
        rtol=RTOL,
    )
    t = stats.t.ppf(0.975, expected["df"])
    log_ratio = np.log(expected["ratio"])
    assert_allclose(
        [row["ratio_ci_low"], row["ratio_ci_high"]],
        np.exp([log_ratio - t * expected["log_ratio_se"], log_ratio + t * expected["log_ratio_se"]]),
        rtol=RTOL,
    )
    assert_allclose(
        row["p_value"], 2 * stats.t.sf(abs(expected["diff"] / expected["diff_se"]), expected["df"])
    )
    if design_name == "srs":
        # Unweighted SRS: Newcombe's hybrid score interval from the counts.
        data = load_data("srs")
        answered = data[data["answer"].notna()]
        counts = answered.assign(yes=answered["answer"] == "yes").groupby("wave")["yes"].agg(["sum", "size"])
        low, high = newcombe_diff_confint(*counts.loc["2016-12"], *counts.loc["2015-12"])
        assert row["method"] == "newcombe"
        assert_allclose([row["ci_low"], row["ci_high"]], [low, high])
    else:
        t_diff = stats.t.ppf(0.975, expected["df"])
        assert row["method"] == "wald"
        assert_allclose(
            [row["ci_low"], row["ci_high"]],
            [
                expected["diff"] - t_diff * expected["diff_se"],
                expected["diff"] + t_diff * expected["diff_se"],
            ],
            rtol=RTOL,
        )


def test_change_by_domain_and_explicit_levels() -> None:
    design = make_design("weighted")
    result = design.change("answer", "yes", levels=("2016-12", "2015-12"), by="region")
    assert list(result["region"]) == ["east", "north", "south", "west"]
    assert (result["from"] == "2016-12").all()
    by_wave = design.proportions("answer", by=["region", "wave"], categories=["yes"])
    east = by_wave[by_wave["region"] == "east"].set_index("wave")["estimate"]
    assert_allclose(result.iloc[0]["estimate"], east["2015-12"] - east["2016-12"])
    with pytest.raises(DesignError, match=r"level '2030-12' of 'wave' has no respondents"):
        design.change("answer", "yes", levels=("2015-12", "2030-12"))
    with pytest.raises(DesignError, match=r"category 'perhaps' of 'answer' never occurs"):
        design.change("answer", "perhaps")


def test_change_of_a_select_multiple_choice() -> None:
    design = make_design("weighted")
    result = design.change("roles", "ceo")
    by_wave = design.proportions("roles", by="wave", categories=["ceo"]).set_index("wave")["estimate"]
    assert_allclose(result.iloc[0]["estimate"], by_wave["2016-12"] - by_wave["2015-12"])


@pytest.mark.parametrize("design_name", DESIGNS)
def test_pairwise_matches_svycontrast(design_name: str) -> None:
    expected = reference_frame("pairwise")
    expected = expected[expected["design"] == design_name]
    result = make_design(design_name).pairwise("answer", "yes", by="region")
    expected = expected.rename(columns={"level_a": "from", "level_b": "to"})
    merged = result.merge(expected, on=["from", "to"], suffixes=("", "_r"))
    assert len(merged) == len(result) == 6
    # R's contrast is a - b; ours is the second level named minus the first.
    assert_allclose(merged["estimate"], -merged["diff"], rtol=RTOL)
    assert_allclose(merged["se"], merged["se_r"], rtol=RTOL)
    # Holm: sorted p-values times (m - rank), made monotone, capped at 1.
    p = result["p_value"].to_numpy()
    order = np.argsort(p)
    holm = np.minimum(np.maximum.accumulate(p[order] * (len(p) - np.arange(len(p)))), 1.0)
    adjusted = np.empty_like(holm)
    adjusted[order] = holm
    assert_allclose(result["p_adjusted"], adjusted)


def subset_records(design_name: str) -> list[dict]:
    from tests.test_calibration import reference

    return [r for r in reference()["subset_contrasts"] if r["design"] == design_name]


@pytest.mark.parametrize("design_name", DESIGNS)
def test_comparisons_on_a_subset_design_match_svycontrast(design_name: str) -> None:
    # A review found the unweighted Newcombe interval counted respondents outside the domain
    # (0.009, 0.161 instead of -0.082, 0.179): x and n must both come from the domain.
    data = load_data(design_name)
    design = make_design(design_name)
    by_wave = design.subset(data["wave"] == "2016-12").pairwise("answer", "yes", by="region")
    by_region = design.subset(data["region"].isin(["north", "west"])).change("answer", "yes")
    for record in subset_records(design_name):
        result = by_wave if record["by"] == "region" else by_region
        row = result[(result["from"] == record["from"]) & (result["to"] == record["to"])]
        assert len(row) == 1, record["r_call"]
        row = row.iloc[0]
        assert_allclose(
            row[["estimate", "se", "estimate_from", "estimate_to", "df"]].to_numpy(dtype=float),
            [record[k] for k in ("estimate", "se", "estimate_from", "estimate_to", "df")],
            rtol=RTOL,
            err_msg=f"R: {record['r_call']}",
        )
        assert (row["n_from"], row["n_to"]) == (record["n_from"], record["n_to"])
        if design_name == "srs":
            low, high = newcombe_diff_confint(
                record["x_to"], record["n_to"], record["x_from"], record["n_from"]
            )
            assert_allclose([row["ci_low"], row["ci_high"]], [low, high], rtol=RTOL)
        else:
            t = stats.t.ppf(0.975, record["df"])
            expected = [record["estimate"] - t * record["se"], record["estimate"] + t * record["se"]]
            assert_allclose([row["ci_low"], row["ci_high"]], np.clip(expected, -1, 1), rtol=RTOL)
