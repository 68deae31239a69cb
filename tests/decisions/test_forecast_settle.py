"""A forecast runs until its band is settled: the half-width of a sample quantile against the
coverage it promises, the rule's states, and the forecast that stops where the rule says."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from conftest import STEADY_FLOW, build
from scipy import stats
from scipy.stats import mstats

from simfunnel.decisions import forecast
from simfunnel.decisions.forecast_bands import FIRST_LOOK, BandRule, band_precision

FAST = {"horizon": "4 weeks", "warm_up": "1 week", **STEADY_FLOW}


@pytest.mark.parametrize(
    ("name", "draw", "p10"),
    [
        ("normal", lambda rng, size: rng.normal(100.0, 10.0, size), stats.norm.ppf(0.1, 100, 10)),
        # the long tail on the P10's side: where a normal density would undercover
        ("skewed", lambda rng, size: -rng.gamma(2.0, 10.0, size), -stats.gamma.ppf(0.9, 2, 0, 10)),
    ],
)
def test_the_half_width_covers_a_band_edge_at_95_percent(name: str, draw, p10: float) -> None:
    """K samples of n = 40 totals: the true P10 lies within the returned half-width of the
    sample P10 in at least 95% of them, within four binomial standard errors of K (the
    half-width is the widest of the three quantiles' and the larger of two standard errors,
    so it may hold more; but not so much more that it wastes runs: at most 99%)."""
    rng = np.random.default_rng(7)
    k, n = 3000, 40
    hits = 0
    for x in draw(rng, (k, n)):
        half, p50 = band_precision(x)
        assert p50 == pytest.approx(np.quantile(x, 0.5, method="weibull"))
        hits += abs(np.quantile(x, 0.1, method="weibull") - p10) <= half
    tolerance = 4 * math.sqrt(0.95 * 0.05 / k)
    assert 0.95 - tolerance <= hits / k <= 0.99, name


def test_the_half_width_is_the_larger_of_the_normal_and_the_distribution_free_one() -> None:
    """t(0.975, n - 1) times the larger of sd * sqrt(q (1 - q)) / phi(z_q) / sqrt(n) and the
    Maritz-Jarrett standard error, over P10, P50 and P90."""
    x = np.arange(1.0, 31.0) ** 1.5
    n, sd = len(x), float(np.std(x, ddof=1))
    qs = np.array([0.1, 0.5, 0.9])
    normal = sd * np.sqrt(qs * (1 - qs)) / stats.norm.pdf(stats.norm.ppf(qs)) / math.sqrt(n)
    free = mstats.mjci(x, prob=qs)
    expected = stats.t.ppf(0.975, n - 1) * max(np.maximum(normal, free))
    assert band_precision(x)[0] == pytest.approx(expected)
    assert band_precision(x)[0] > stats.t.ppf(0.975, n - 1) * max(normal)  # skewed: wider
    assert band_precision(x, level=0.9)[0] > band_precision(x)[0]
    assert all(math.isnan(v) for v in band_precision(np.array([3.0])))


def _totals(values: list[float]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "variant": "base",
            "replication": range(len(values)),
            "section": "totals",
            "metric": "valid_opportunities",
            "value": values,
        }
    )


def test_the_rule_settles_runs_on_or_stops_at_its_limit() -> None:
    rng = np.random.default_rng(3)
    tight = list(rng.normal(1000.0, 3.0, 20))  # a P10 known to well within +/-1%
    loose = list(rng.normal(1000.0, 100.0, 20))
    rule = BandRule(relative=0.02, max_reps=40)
    row = rule.state(_totals(tight), ["base"], "base", None).iloc[0]
    assert row["status"] == "settled" and row["relative_half_width"] <= 0.02
    assert "known to" in row["why"] and "asked +/-2%" in row["why"]
    row = rule.state(_totals(loose), ["base"], "base", None).iloc[0]
    assert row["status"] == "running" and row["relative_half_width"] > 0.02
    row = rule.state(_totals(loose * 2), ["base"], "base", None).iloc[0]
    assert row["status"] == "limit" and "most replications allowed (40)" in row["why"]
    assert rule.next_count(20) == 30
    with pytest.raises(ValueError, match="precision"):
        BandRule(relative=0.0)


def test_a_forecast_runs_until_its_band_is_settled_and_says_so() -> None:
    """By default the forecast stops at the first look where the band is known to the
    precision: not at the look before (recomputed from the same replications, which do not
    depend on how many ran), and it says how many it ran and why."""
    scenario = build(**FAST)
    f = forecast(scenario, precision=0.1, max_reps=80, seed=2, workers=1, progress=False)
    state = f.experiment.settled
    assert state is not None
    n = f.reps
    assert n >= FIRST_LOOK and (n - FIRST_LOOK) % 10 == 0
    totals = f.experiment.totals
    values = totals[totals["metric"] == "valid_opportunities"].sort_values("replication")
    x = values["value"].to_numpy(dtype=float)
    assert len(x) == n
    half, p50 = band_precision(x)
    if state["status"].iloc[0] == "settled":
        assert half <= 0.1 * p50
        assert "The runs went on until" in f.verdict
    else:
        assert n == 80 and "stopped at the most allowed (80)" in f.verdict
    if n > FIRST_LOOK:
        half_before, p50_before = band_precision(x[: n - 10])
        assert half_before > 0.1 * p50_before


def test_reps_alone_is_a_fixed_count_and_reps_with_a_precision_the_first_look() -> None:
    scenario = build(**FAST)
    fixed = forecast(scenario, reps=5, seed=2, workers=1, progress=False)
    assert fixed.reps == 5 and fixed.experiment.settled is None
    assert "The runs went on" not in fixed.verdict
    first = forecast(scenario, reps=5, max_reps=5, seed=2, workers=1, progress=False)
    assert first.reps == 5 and first.experiment.settled is not None


def test_too_few_fixed_runs_for_the_level_are_said() -> None:
    """Five runs put a 95% band's ends on the smallest and largest run: it holds a new period
    4 / 6 of the time, which the verdict says, with the count the level needs."""
    from simfunnel.decisions.forecast_bands import too_few_runs

    assert too_few_runs(5, 0.95) == (
        " WARNING: 5 replications are too few for a band at 95%: its ends are the smallest and "
        "largest run, which hold a new period about 67% of the time; run at least 39 for the "
        "band to mean 95%."
    )
    assert too_few_runs(9, 0.8) == "" and too_few_runs(8, 0.8).startswith(" WARNING: 8")


def test_the_verdict_of_a_short_fixed_count_warns() -> None:
    from conftest import busy

    from simfunnel.decisions import forecast

    fc = forecast(busy(), weeks=2, reps=3, workers=1, warm_up=1, progress=False)
    assert "WARNING: 3 replications are too few for a band at 80%" in fc.verdict
