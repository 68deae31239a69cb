"""Comparing MQL thresholds: the thinning theory, saturation flags and the recommendation rule."""

from __future__ import annotations

import math

import matplotlib
import pandas as pd
import pytest
from conftest import build
from scipy import stats

from simfunnel.thresholds import _pareto, compare_thresholds

matplotlib.use("Agg")

RATE, MEAN, SD, WEEKS = 300.0, 50.0, 15.0, 4


def scenario(sdrs: int, calendar: object = "24/7", **changes):
    return build(
        horizon=f"{WEEKS} weeks",
        calendar=calendar,
        sources=[{"name": "web", "rate_per_week": RATE, "score": {"mean": MEAN, "sd": SD}}],
        sdr__headcount=sdrs,
        cadence__connect_probability=0.5,
        cadence__contact_probability=0.5,
        cadence__gaps=["2 h"],
        **changes,
    )


def p_mql(threshold: float) -> float:
    """P(score >= threshold) for a normal score clipped to [0, 100] (thresholds inside it)."""
    return float(stats.norm.sf((threshold - MEAN) / SD))


@pytest.fixture(scope="module")
def ample():
    """Thirty SDRs around the clock: capacity never binds."""
    return compare_thresholds(scenario(30), [40, 50, 70], reps=20, workers=1, progress=False)


def test_with_ample_capacity_mqls_follow_the_thinning_of_the_score_distribution(ample) -> None:
    """Mean MQLs per week = rate x P(score >= t); over n replications of W weeks the mean's
    standard error is sqrt(rate P / (W n)) (Poisson counts). |z| < 4 at a fixed seed."""
    n = 20
    rows = ample.kpi("mqls_per_week").set_index("threshold")
    for t in (40, 50, 60, 70):
        expected = RATE * p_mql(t)
        se = math.sqrt(expected / (WEEKS * n))
        assert abs(rows.loc[t, "mean"] - expected) < 4 * se, (t, rows.loc[t, "mean"], expected)
    # The paired difference counts only the leads between two thresholds: Poisson too.
    between = RATE * (p_mql(40) - p_mql(60))
    diff = rows.loc[40, "diff"]
    assert abs(diff - between) < 4 * math.sqrt(between / (WEEKS * n))


def test_with_ample_capacity_nothing_saturates_and_the_most_valid_threshold_wins(ample) -> None:
    o = ample.overview.set_index("threshold")
    assert not o["saturated"].any()
    assert (o["within_1h"] > 0.95).all()
    # More MQLs, more valid opportunities: without a capacity limit the lowest threshold wins.
    assert o["valid_opportunities"].idxmax() == 40
    assert ample.recommended == 40
    assert "Recommended threshold: 40" in ample.verdict
    assert 40 in ample.pareto


def test_a_threshold_that_saturates_the_sdrs_is_flagged_and_not_recommended() -> None:
    # One SDR on office hours (45 h a week): about 290 MQLs a week at threshold 20 need some
    # 75 hours of calls; at 80, about 25 MQLs need about 7.
    one = scenario(1, calendar={"days": ["mon", "tue", "wed", "thu", "fri"]})
    comparison = compare_thresholds(one, [20, 80], reps=4, workers=1, progress=False)
    o = comparison.overview.set_index("threshold")
    assert o.loc[20, "saturated"] and o.loc[20, "sdr_utilisation"] >= 0.9
    assert not o.loc[80, "saturated"]
    assert comparison.recommended != 20
    assert "saturate" in comparison.verdict


def test_cost_per_valid_opportunity_is_rep_cost_over_valid_opportunities(ample) -> None:
    costed = compare_thresholds(
        scenario(30), [50], reps=3, workers=1, progress=False, costs={"sdr": 52_180.0}
    )
    rows = costed.overview.set_index("threshold")
    # 30 SDRs for 4 weeks at 52,180 a year (52.18 weeks): 30 x 4,000 = 120,000.
    expected = 120_000.0 / rows["valid_opportunities"]
    # Per replication the ratio is taken first, so compare with a tolerance of the spread.
    assert rows["cost_per_valid"].to_numpy() == pytest.approx(expected.to_numpy(), rel=0.05)


def test_pareto_set_keeps_rows_no_other_beats_everywhere() -> None:
    frame = pd.DataFrame({"a": [3, 2, 1, 2], "b": [1, 2, 3, 1]})
    assert _pareto(frame, ["a", "b"]).tolist() == [True, True, True, False]


def test_plots_render(ample, tmp_path) -> None:
    ax = ample.plot("valid_opportunities")
    assert len(ax.collections) >= 1 and ax.get_xlabel().startswith("MQL threshold")
    ax.figure.savefig(tmp_path / "t.png")
    ax2 = ample.plot_tradeoff()
    assert ax2.get_ylabel().startswith("valid opportunities")
    ax2.figure.savefig(tmp_path / "trade.png")
    assert (tmp_path / "t.png").stat().st_size > 10_000


def test_no_thresholds_is_an_error() -> None:
    with pytest.raises(ValueError, match="at least one threshold"):
        compare_thresholds(scenario(2), [], reps=2)
