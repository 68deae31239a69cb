"""Pipeline forecast: bands that hold the truth at their nominal rate, running totals from a
snapshot against the exponential sales-cycle formula, the open-pipeline derivation, the fan
chart and the verdict, and bad input."""

from __future__ import annotations

import dataclasses
import io
import math
import subprocess
import sys

import matplotlib
import numpy as np
import pandas as pd
import pytest
from conftest import STEADY_FLOW, build

import simfunnel
from simfunnel.decisions import FLOWS, METRICS, Forecast, forecast
from simfunnel.scenario import ScenarioError

matplotlib.use("Agg")

# A fast funnel with Poisson arrivals and ample SDRs (no queueing): every lead's path is then
# independent of the others', so the weekly counts and values form a marked Poisson process and
# are independent from week to week. Continuous (lognormal) deal values make the weekly
# pipeline and won values continuous; the warm-up fills the funnel so that even week 0 has wins
# (no atom at zero).
POISSON = {
    "horizon": "6 weeks",
    "warm_up": "1 week",
    **STEADY_FLOW,
    "ae__deal_value": {"dist": "lognormal", "mean": 10000, "cv": 0.8},
}


def _truth(result: simfunnel.SimulationResult, metric: str, weeks: int) -> np.ndarray:
    """A run's weekly figure; the open pipeline counted from its lead table (not derived)."""
    if metric != "open_opportunities":
        return result.weekly[metric].to_numpy(dtype=float)
    leads = result.leads
    start = pd.Timestamp(result.scenario.start)
    ends = [start + pd.Timedelta(weeks=k + 1) for k in range(weeks)]
    return np.array(
        [
            float(((leads["valid_opportunity"] <= end) & ~(leads["closed"] <= end)).sum())
            for end in ends
        ]
    )


@pytest.mark.slow  # many runs: CI runs it (make test FULL=1)
def test_bands_cover_the_truth_at_their_nominal_rate() -> None:
    """K independent forecasts of R = 19 replications each (20 is the default: the band must
    hold where people use it), each checked against M = 19 independent "truth" runs.

    Expected coverage. The band's ends are order statistics placed at q (R + 1): with R = 19,
    the 2nd and 18th of 19. For a continuous quantity F(X_(18)) - F(X_(2)) ~ Beta(16, 4), so a
    new draw falls inside with probability exactly 16 / 20 = 0.8, and the coverage of one band
    (given the replications) varies with variance c (1 - c) / (R + 2). The plain percentiles
    of the replications (numpy's default, linear) would hold 0.8 (R - 1) / (R + 1) = 0.72.

    Tolerance. One band's M truths share the band, so their mean coverage has variance
    v = c (1 - c) / (R + 2) + (c (1 - c) - c (1 - c) / (R + 2)) / M. Weeks are independent
    (marked Poisson process, above) and forecasts are independent, so K x W bands of one metric
    average to v / (K W). Pipeline and won value share leads, so they are correlated; the
    variance of their average is at most that of one metric (Cauchy-Schwarz), used here. Three
    standard deviations.

    Counts are discrete: ties with the band's ends are likely, so the band with its ends holds
    at least 80% and without them at most 80%; both are checked. The open pipeline is a level
    (weeks correlated), so the counts' tolerance takes one band per forecast (v / K).
    """
    scenario = build(**POISSON)
    weeks, k_forecasts, reps, m_truths, nominal = scenario.weeks, 20, 19, 19, 0.8
    expected = (0.9 * (reps + 1) - 0.1 * (reps + 1)) / (reps + 1)
    assert math.isclose(expected, nominal)
    inside = {m: [] for m in METRICS}  # (with ends, without ends) per band and truth
    linear = []  # the same check for the linear percentiles of the replications
    for k in range(k_forecasts):
        f = forecast(scenario, reps=reps, seed=k, workers=1, progress=False)
        assert f.reps == reps
        bands = {m: g.sort_values("week") for m, g in f.bands.groupby("metric")}
        lin = {}
        for m in ("pipeline_value", "won_value"):
            paths = f.experiment.long.query("metric == @m").pivot(
                index="replication", columns="week", values="value"
            )
            lin[m] = np.quantile(paths.to_numpy(), [0.1, 0.9], axis=0)
        for t in range(m_truths):
            # Seeds disjoint from every forecast's: their root entropy is 0..K-1.
            truth = simfunnel.simulate(
                scenario, seed=np.random.SeedSequence(10_000 + k, spawn_key=(t,))
            )
            for m in METRICS:
                x = _truth(truth, m, weeks)
                lo, hi = bands[m]["p10"].to_numpy(), bands[m]["p90"].to_numpy()
                inside[m].append(np.stack([(lo <= x) & (x <= hi), (lo < x) & (x < hi)]))
                if m in lin:
                    linear.append((lin[m][0] <= x) & (x <= lin[m][1]))
    cover = {m: np.mean(np.stack(v), axis=(0, 2)) for m, v in inside.items()}
    for m, (with_ends, without) in cover.items():
        print(f"{m}: coverage {with_ends:.3f} with the band's ends, {without:.3f} without")
    c = nominal
    v = c * (1 - c) / (reps + 2) + (c * (1 - c) - c * (1 - c) / (reps + 2)) / m_truths
    tol_values = 3 * math.sqrt(v / (k_forecasts * weeks))
    tol_counts = 3 * math.sqrt(v / k_forecasts)
    values = np.mean([cover["pipeline_value"], cover["won_value"]], axis=0)
    lin_cover = float(np.mean(linear))
    print(
        f"values: {values[0]:.3f} (nominal {nominal}, tolerance {tol_values:.3f}); "
        f"linear percentiles: {lin_cover:.3f} (theory 0.72)"
    )
    # Continuous: no ties, so the two agree, and they hold the nominal rate.
    assert values[0] == pytest.approx(values[1], abs=1e-3)
    assert abs(values[0] - expected) < tol_values
    # The check has the power to see the 72% of plain percentiles.
    assert lin_cover < expected - tol_values
    for m in METRICS:
        with_ends, without = cover[m]
        assert with_ends > expected - tol_counts, m
        assert without < expected + tol_counts, m


def _open_snapshot(n: int, scenario: simfunnel.Scenario) -> simfunnel.Snapshot:
    """n valid opportunities open today, opened between 1 and 60 days ago."""
    start = pd.Timestamp(scenario.start)
    ages = pd.to_timedelta(np.linspace(1, 60, n), unit="D")
    frame = pd.DataFrame(
        {
            "source": "one",
            "end_state": "open_opportunity",
            "arrived": start - ages - pd.Timedelta(days=10),
            "valid_opportunity": start - ages,
        }
    )
    return simfunnel.read_snapshot(frame, scenario)


def test_wins_from_a_snapshot_follow_the_exponential_sales_cycle() -> None:
    """N open opportunities, no new leads, an exponential sales cycle of mean m (memoryless:
    what is left of it is exponential whatever the age) and win probability p: the wins by the
    end of week k are Binomial(N, p (1 - exp(-t_k / m))), the losses the same with 1 - p, and
    N exp(-t_k / m) are still open. The forecast's mean over R replications is within 4 standard
    errors, sqrt(N q (1 - q) / R), of each."""
    n, mean_days, p, reps, value = 300, 21.0, 0.4, 40, 10_000
    scenario = build(
        horizon="8 weeks",
        sources__0__rate_per_week=0,
        sources__0__bursts=[],
        ae__sales_cycle={"dist": "exponential", "mean": f"{mean_days:g} days"},
        ae__win={"probability": p},
        ae__deal_value=value,
    )
    snapshot = _open_snapshot(n, scenario)
    f = forecast(scenario, reps=reps, seed=3, workers=1, snapshot=snapshot, progress=False)
    cum = f.cumulative.set_index(["metric", "week"])["mean"]
    worst = 0.0
    for k in range(scenario.weeks):
        closed = 1 - math.exp(-7 * (k + 1) / mean_days)
        for metric, q in (
            ("won", p * closed),
            ("lost", (1 - p) * closed),
            ("open_opportunities", 1 - closed),
        ):
            se = math.sqrt(n * q * (1 - q) / reps)
            z = (cum[(metric, k)] - n * q) / se
            worst = max(worst, abs(z))
            assert abs(z) < 4, (metric, k, cum[(metric, k)], n * q)
        assert cum[("won_value", k)] == pytest.approx(value * cum[("won", k)])
    for metric in ("leads", "sqls", "valid_opportunities", "pipeline_value"):
        rows = f.cumulative[f.cumulative["metric"] == metric]
        assert (rows[["mean", "p90"]] == 0).all().all(), metric
    print(f"snapshot: largest |z| over 8 weeks x (won, lost, open) = {worst:.2f}")
    print(f.verdict)
    assert "starting from today's funnel" in f.verdict


def test_open_pipeline_derivation_matches_the_lead_table() -> None:
    """With 2 replications the band's ends are their smallest and largest value, so the
    derived open pipeline of each (weekly table and KPIs) can be checked, week by week, against
    the lead table of the replayed replications, warm-up carry-over included."""
    scenario = build(**POISSON)
    f = forecast(scenario, reps=2, seed=5, workers=1, progress=False)
    truths = np.stack(
        [_truth(f.experiment.replay(r), "open_opportunities", scenario.weeks) for r in (0, 1)]
    )
    band = f.bands.query("metric == 'open_opportunities'").sort_values("week")
    assert truths[:, 0].min() > 0  # opportunities carried in from the warm-up count
    np.testing.assert_array_equal(band["p10"], truths.min(axis=0))
    np.testing.assert_array_equal(band["p90"], truths.max(axis=0))
    np.testing.assert_array_equal(band["mean"], truths.mean(axis=0))


@pytest.fixture(scope="module")
def small() -> Forecast:
    return forecast(build(**POISSON), weeks=4, reps=9, seed=1, workers=1, progress=False)


def test_tables_and_running_totals(small: Forecast) -> None:
    """Bands: one row per week and metric, ordered percentiles, dated weeks; the running totals
    are percentiles of each replication's total (not sums of weekly percentiles)."""
    f = small
    assert f.scenario.weeks == 4 and f.reps == 9
    assert list(f.bands.columns) == ["week", "week_start", "metric", "mean", "p10", "p50", "p90"]
    assert len(f.bands) == len(f.cumulative) == 4 * len(METRICS)
    assert set(f.bands["metric"]) == set(METRICS)
    assert (
        f.bands.loc[f.bands["week"] == 3, "week_start"].iloc[0] == pd.Timestamp("2026-01-26").date()
    )
    for table in (f.bands, f.cumulative):
        assert (table["p10"] <= table["p50"]).all() and (table["p50"] <= table["p90"]).all()
    long = f.experiment.long
    for metric in FLOWS:
        paths = long.query("metric == @metric").pivot(
            index="replication", columns="week", values="value"
        )
        weekly = f.bands.query("metric == @metric")
        np.testing.assert_allclose(weekly["mean"], paths.mean(axis=0))
        totals = paths.sum(axis=1).to_numpy()
        row = f.totals_table().set_index("metric").loc[metric]
        np.testing.assert_allclose(
            [row["mean"], row["p10"], row["p50"], row["p90"]],
            [totals.mean(), *np.quantile(totals, [0.1, 0.5, 0.9], method="weibull")],
        )
    assert list(f.totals_table()["metric"]) == list(METRICS)
    wide = forecast(build(**POISSON), weeks=1, reps=9, seed=1, workers=1, progress=False, level=0.9)
    assert wide.quantile_columns == ("p5", "p50", "p95")
    assert {"p5", "p95"} <= set(wide.bands.columns)


def test_verdict_states_the_totals(small: Forecast) -> None:
    """The verdict's figures are those of totals_table(), each with its 80% range."""
    t = small.totals_table().set_index("metric")
    verdict = small.verdict
    print(verdict)

    def count(metric: str, words: str) -> str:
        r = t.loc[metric]
        return f"{r['mean']:,.0f} {words} (80% range {r['p10']:,.0f} to {r['p90']:,.0f})"

    _amount = small.scenario.currency.format

    def amount(metric: str) -> str:
        r = t.loc[metric]
        return f"{_amount(r['mean'])}{{}} (80% range {_amount(r['p10'])} to {_amount(r['p90'])})"

    assert verdict.startswith("Over the next 4 weeks from 2026-01-05 we expect ")
    assert count("valid_opportunities", "valid opportunities") in verdict
    assert amount("pipeline_value").format(" of pipeline") in verdict
    assert count("won", "wins") + " worth " + amount("won_value").format("") in verdict
    assert count("open_opportunities", "valid opportunities") + " are still open" in verdict
    assert "(9 replications, each after a 1-week warm-up: the scenario's own warm_up)" in verdict
    assert len(verdict) < 700 and "EMPTY" not in verdict
    sheet = t.loc["valid_opportunities", "spreadsheet"]
    assert f"A spreadsheet of the same rates would expect {sheet:,.0f} valid opportunities" in (
        verdict
    )


def test_fan_chart(small: Forecast, monkeypatch: pytest.MonkeyPatch) -> None:
    import matplotlib.pyplot as plt
    from matplotlib.collections import PolyCollection
    from matplotlib.image import imread

    monkeypatch.setattr(plt, "show", lambda *a, **k: pytest.fail("plot() called plt.show()"))
    ax = small.plot()
    bands = [c for c in ax.collections if isinstance(c, PolyCollection)]
    assert len(bands) == 1
    rows = small.bands.query("metric == 'valid_opportunities'")
    y = bands[0].get_paths()[0].vertices[:, 1]
    assert y.min() == pytest.approx(rows["p10"].min())
    assert y.max() == pytest.approx(rows["p90"].max())
    median = ax.get_lines()[0]
    np.testing.assert_allclose(median.get_ydata(), rows["p50"])
    assert ax.get_ylabel() == "opportunities per week"
    assert ax.get_xlabel() == "week ending"
    assert "valid opportunities" in ax.get_title()
    buffer = io.BytesIO()
    ax.figure.savefig(buffer, format="png", dpi=60)
    png = buffer.getvalue()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 5_000
    pixels = imread(io.BytesIO(png))
    colours = np.unique(pixels.reshape(-1, pixels.shape[-1]), axis=0)
    assert len(colours) > 50  # a shaded band, lines and text, not a blank canvas
    plt.close(ax.figure)

    fig, given = plt.subplots()
    out = small.plot("pipeline_value_cumulative", ax=given)
    assert out is given
    assert out.get_ylabel().startswith("USD, running total since")
    assert small.cumulative.query("metric == 'pipeline_value'")["p90"].max() == pytest.approx(
        out.collections[0].get_paths()[0].vertices[:, 1].max()
    )
    plt.close(fig)
    with pytest.raises(ValueError, match="unknown metric 'wins'"):
        small.plot("wins")


def test_matplotlib_is_imported_only_to_plot() -> None:
    code = "import sys, simfunnel.decisions.forecasting; print('matplotlib' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"weeks": 0}, r"weeks must be a whole number of weeks >= 1 \(got 0\)"),
        ({"weeks": -3}, r"weeks must be .* \(got -3\)"),
        ({"weeks": 2.5}, r"weeks must be .* \(got 2.5\)"),
        ({"reps": 1}, r"reps must be a whole number >= 2: a band needs at least two"),
        ({"reps": 0}, r"reps must be .* \(got 0;"),
        ({"level": 1.0}, r"level must be between 0 and 1"),
    ],
)
def test_bad_input(kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        forecast(build(), progress=False, workers=1, **kwargs)


def test_weeks_override_the_horizon() -> None:
    """weeks= sets the horizon. Bursts and planned hires dated after the new end cannot touch
    the forecast, so they are left out; a team left with nobody is the usual one-line error."""
    f = forecast(build(**POISSON), weeks=2, reps=2, workers=1, progress=False)
    assert f.scenario.horizon == 2 * 7 * 24 and sorted(f.bands["week"].unique()) == [0, 1]
    later = build(
        sources__0__bursts=[
            {"start": "2026-01-06 10:00", "leads": 5, "over": "0 h"},
            {"start": "2026-02-02 10:00", "leads": 50, "over": "0 h"},
        ],
        sdr__plan=[{"date": "2026-01-07", "hire": 1}, {"date": "2026-02-09", "hire": 2}],
    )
    f = forecast(later, weeks=2, reps=2, workers=1, progress=False)
    assert [b.start.day for b in f.scenario.sources[0].bursts] == [6]
    assert [c.date.day for c in f.scenario.sdr.plan] == [7]
    assert f.bands.query("metric == 'leads'")["mean"].tolist() == [5, 0]  # the first burst
    nobody = build(sdr__headcount=0, sdr__plan=[{"date": "2026-02-09", "hire": 2}])
    with pytest.raises(ScenarioError, match=r"^tiny \(weeks=2\): sdr.headcount: needs at least"):
        forecast(nobody, weeks=2, reps=2, workers=1, progress=False)


def test_chance_of_a_target_is_the_share_of_runs_that_reach_it(small: Forecast) -> None:
    """P(total >= target) is counted over the replications' totals, whose median is the P50 of
    the totals table; its Wilson interval holds it; coverage is the median over the target."""
    totals = small.totals("won_value")
    assert len(totals) == small.reps
    p50 = small.totals_table().set_index("metric").loc["won_value", "p50"]
    assert np.median(totals) == pytest.approx(p50)
    target = float(np.sort(totals)[len(totals) // 2])  # about half the runs reach it
    row = small.targets_table({"won_value": target}).iloc[0]
    assert row["chance"] == pytest.approx(np.mean(totals >= target))
    assert row["chance_low"] <= row["chance"] <= row["chance_high"]
    assert row["coverage"] == pytest.approx(p50 / target)
    with pytest.raises(ValueError, match="must be one of"):
        small.targets_table({"wins": 3.0})


def test_a_forecast_with_targets_says_the_chance_in_its_verdict_and_tiles(small: Forecast) -> None:
    target = float(np.median(small.totals("valid_opportunities")))
    fc = dataclasses.replace(small, targets={"valid_opportunities": target})
    row = fc.targets_table(fc.targets).iloc[0]
    assert f"P(valid opportunities >= {target:,.0f}) = {row['chance']:.0%}" in fc.verdict
    assert fc.report().tiles[0].label == f"Chance of {target:,.0f} valid opportunities"
    with pytest.raises(ValueError, match="above 0"):
        forecast(build(), weeks=2, reps=2, targets={"won": 0})


def test_the_roll_up_by_month_adds_up_to_the_horizon(small: Forecast) -> None:
    """Flows summed by calendar month: the months' means add up to the horizon's mean, the
    weeks to the horizon; one period holding every week has the totals' percentiles."""
    months = small.by_period("M")
    won = months[months["metric"] == "won"]
    total = small.totals_table().set_index("metric").loc["won"]
    assert won["mean"].sum() == pytest.approx(total["mean"])
    assert won["weeks"].sum() == small.weeks
    quarters = small.by_period("Q")
    if quarters["period"].nunique() == 1:
        row = quarters[quarters["metric"] == "won"].iloc[0]
        assert row["p50"] == pytest.approx(total["p50"])
    with pytest.raises(ValueError, match="'M'"):
        small.by_period("W")
    text = dataclasses.replace(small, freq="M").text()
    assert "By month (median, P10 to P90):" in text
