"""Cohort models: cure-fraction fits on censored cohorts, cohort shifts, forecasts with
parameter draws, and the rolling-origin backtest with its baselines."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from simfunnel.calibration import (
    BASELINES,
    central_share,
    cohort_drift,
    crps,
    fit_cohorts,
    forecast_cohorts,
    rolling_backtest,
    synthetic_export,
)

PI_WON, MED_WON, SIG_WON, MED_LOST, SIG_LOST = 0.3, 45.0, 0.6, 30.0, 0.8


def _young_opportunities(n: int = 3000, days: int = 150, seed: int = 0) -> tuple:
    """Opportunities created over ``days`` days, seen at the end: many still open."""
    rng = np.random.default_rng(seed)
    start = pd.Timestamp("2024-01-01")
    as_of = start + pd.Timedelta(days=days)
    created = start + pd.to_timedelta(rng.random(n) * days, unit="D")
    won = rng.random(n) < PI_WON
    dw = np.exp(math.log(MED_WON) + SIG_WON * rng.standard_normal(n))
    dl = np.exp(math.log(MED_LOST) + SIG_LOST * rng.standard_normal(n))
    frame = pd.DataFrame({
        "created": created, "source": "all",
        "won_date": pd.Series(created + pd.to_timedelta(dw, unit="D")).where(won),
        "lost_date": pd.Series(created + pd.to_timedelta(dl, unit="D")).where(~won),
    })  # fmt: skip
    for col in ("won_date", "lost_date"):
        frame.loc[frame[col] > as_of, col] = pd.NaT
    return frame, as_of


def test_cure_model_counts_young_cohorts_at_their_true_rate() -> None:
    """Half the cohorts are younger than the median delay: the naive share is far below the
    truth, the cure model's rate within 4 standard errors of it (binomial on the closed
    deals, the information the sample holds)."""
    frame, as_of = _young_opportunities()
    model = fit_cohorts(frame, as_of)
    r = model.report().set_index("stage")
    naive = frame["won_date"].notna().mean()
    closed = int(frame["won_date"].notna().sum() + frame["lost_date"].notna().sum())
    se = math.sqrt(PI_WON * (1 - PI_WON) / closed)
    print(f"\nnaive {naive:.3f}, cure model {r.loc['won', 'rate']:.3f} (truth {PI_WON}); "
          f"median {r.loc['won', 'median_days']:.1f} days (truth {MED_WON})")  # fmt: skip
    assert naive < PI_WON - 10 * se
    assert abs(r.loc["won", "rate"] - PI_WON) < 4 * se
    assert abs(r.loc["lost", "rate"] - (1 - PI_WON)) < 4 * se
    assert (
        r.loc["won", "low"] < PI_WON < r.loc["won", "high"]
        or abs(r.loc["won", "rate"] - PI_WON) < 4 * se
    )
    # The median delay: within 4 standard errors of log(median) from the won deals seen.
    events = int(r.loc["won", "events"])
    assert abs(math.log(r.loc["won", "median_days"] / MED_WON)) < 4 * SIG_WON / math.sqrt(events)


def test_forecast_conditions_open_deals_on_what_is_still_open() -> None:
    """Wins still to come from open deals: the forecast's mean over the next 90 days is within
    Monte Carlo and parameter error of the truth computed from the deals' own fates."""
    frame, as_of = _young_opportunities(seed=1)
    model = fit_cohorts(frame, as_of)
    model = type(model)(**{**model.__dict__, "arrivals": {}})  # no new deals: open ones only
    fc = forecast_cohorts(model, as_of + pd.Timedelta(days=90), reps=200, split=False)
    got = fc.totals()[list(fc.metrics).index("won")]
    # Truth: P(win in (a, a+90] | open at a) for each open deal, from the true parameters.
    open_ = frame[frame["won_date"].isna() & frame["lost_date"].isna()]
    age = ((as_of - open_["created"]) / pd.Timedelta(days=1)).to_numpy()
    fw = stats.lognorm(SIG_WON, scale=MED_WON).cdf
    fl = stats.lognorm(SIG_LOST, scale=MED_LOST).cdf
    still = PI_WON * (1 - fw(age)) + (1 - PI_WON) * (1 - fl(age))
    expected = float(np.sum(PI_WON * (fw(age + 90) - fw(age)) / still))
    sd = got.std(ddof=1)
    print(f"\nwins from open deals: forecast {got.mean():.1f} (sd {sd:.1f}), truth {expected:.1f}")
    assert abs(got.mean() - expected) < 3 * sd


def test_parameter_draws_widen_the_band_and_the_split_says_by_how_much() -> None:
    ex = synthetic_export("steady", seed=3, months=8)
    model = fit_cohorts(ex.leads, ex.as_of)
    end = ex.as_of + pd.DateOffset(months=3)
    on = forecast_cohorts(model, end, reps=150, seed=1)
    off = forecast_cohorts(model, end, reps=150, seed=1, parameter_draws=False)
    split = on.variance_split().set_index("metric")
    print("\n" + split.round(3).to_string())
    won = list(on.metrics).index("won")
    assert on.totals()[won].std() > off.totals()[won].std()
    assert split.loc["won", "parameter_share"] > 0
    assert off.variance_split()["parameter_share"].eq(0).all()
    ax = on.plot("won", history_months=4)
    assert len(ax.patches) == 4 + len(on.months)  # the months seen, then the forecast bands
    with pytest.raises(ValueError, match="no forecast of"):
        on.plot("meetings")


def test_a_thin_export_forecasts_wins_and_names_the_stages_it_cannot_see() -> None:
    """MQL and won dates only: won is fitted from the MQL date directly; no zero forecast."""
    ex = synthetic_export("thin", seed=4)
    model = fit_cohorts(ex.leads, ex.as_of)
    assert set(model.missing) == {"sqls", "valid_opportunities", "lost"}
    assert all(
        "SQL date" in why or "opportunity date" in why or "lost date" in why
        for why in model.missing.values()
    )
    r = model.report().set_index("stage")
    truth = ex.truth["mql_to_won"]["p"]
    won = r.loc["won"]
    print(f"\nthin export: won rate {won['rate'].mean():.4f} (truth {truth}), missing "
          f"{sorted(model.missing)}")  # fmt: skip
    fc = forecast_cohorts(model, ex.as_of + pd.DateOffset(months=2), reps=50, split=False)
    assert fc.totals()[list(fc.metrics).index("won")].mean() > 0


def test_a_shift_in_conversion_is_found_and_the_fit_keeps_the_recent_regime() -> None:
    ex = synthetic_export("regime", seed=5)
    change = pd.Timestamp(ex.truth["change_date"])
    model = fit_cohorts(ex.leads, ex.as_of)
    found = model.shifts.set_index("stage")
    print("\n" + model.shifts.to_string())
    assert found.loc["sqls", "shift"]
    assert abs(found.loc["sqls", "change"] - change) <= pd.Timedelta(days=7)  # weekly splits
    assert found.loc["sqls", "ratio"] > 2
    assert "sqls from cohorts of" in model.window
    steady = fit_cohorts(synthetic_export("steady", seed=5).leads, ex.as_of)
    assert not steady.shifts["shift"].any(), steady.shifts


def _cohorts(k: int, n: int, p: float, tau: float, rng: np.random.Generator) -> pd.DataFrame:
    rates = (
        rng.binomial(n, 1 / (1 + np.exp(-(math.log(p / (1 - p)) + tau * rng.standard_normal(k)))))
        / n
    )
    months = [str(pd.Period("2020-01", "M") + i) for i in range(k)]
    return pd.DataFrame({"stage": "sqls", "cohort": months, "leads": n, "events": rates * n,
                         "rate": rates, "mature_share": 1.0})  # fmt: skip


@pytest.mark.parametrize("tau", [0.0, 0.3])
def test_cohort_drift_recovers_the_between_cohort_variance(tau: float) -> None:
    """DerSimonian-Laird on mature cohorts: the estimate of tau^2 lies within four of its
    standard errors (sqrt(2 / (k - 1)) * (tau^2 + v) with v the sampling variance of one
    cohort's logit rate) of the truth, and is zero or near it when the rate does not move."""
    k, n, p = 240, 400, 0.2
    got = cohort_drift(_cohorts(k, n, p, tau, np.random.default_rng(7)))
    v = 1 / (n * p * (1 - p))
    se = math.sqrt(2 / (k - 1)) * (tau**2 + v)
    assert abs(got - tau**2) < 4 * se, (got, tau**2, se)


def test_cohort_drift_skips_young_and_small_cohorts() -> None:
    c = _cohorts(12, 400, 0.2, 0.5, np.random.default_rng(3))
    assert cohort_drift(c) > 0
    assert cohort_drift(c.assign(mature_share=0.5)) == 0.0  # a young cohort's rate is a guess
    assert cohort_drift(c.assign(leads=10)) == 0.0  # too few leads to weigh
    assert cohort_drift(c, since=pd.Timestamp("2020-11-01")) == 0.0  # two cohorts: no spread


def test_same_seed_same_forecast() -> None:
    ex = synthetic_export("steady", seed=6, months=6)
    model = fit_cohorts(ex.leads, ex.as_of)
    end = ex.as_of + pd.DateOffset(months=2)
    a = forecast_cohorts(model, end, reps=20, seed=9, split=False)
    b = forecast_cohorts(model, end, reps=20, seed=9, split=False)
    assert np.array_equal(a.samples, b.samples)


def test_a_progress_bar_counts_every_replication_and_changes_nothing(capsys) -> None:
    """A large export takes minutes: the bar counts the replications of both the band and
    the variance split, and the forecast is the one made without it."""
    ex = synthetic_export("steady", seed=6, months=6)
    model = fit_cohorts(ex.leads, ex.as_of)
    end = ex.as_of + pd.DateOffset(months=2)
    quiet = forecast_cohorts(model, end, reps=20, seed=9)
    capsys.readouterr()
    shown = forecast_cohorts(model, end, reps=20, seed=9, progress=True)
    err = capsys.readouterr().err
    assert "replications" in err and "0/40 " in err  # the band and the split: 20 each
    assert np.array_equal(quiet.samples, shown.samples)
    assert quiet.process is not None and shown.process is not None
    assert np.array_equal(quiet.process, shown.process)


def test_crps_matches_the_normal_closed_form() -> None:
    """CRPS of a large normal ensemble against the closed form (Gneiting & Raftery 2007)."""
    rng = np.random.default_rng(0)
    x = rng.normal(0, 2, 20_000)
    y = 1.0
    z = y / 2
    exact = 2 * (z * (2 * stats.norm.cdf(z) - 1) + 2 * stats.norm.pdf(z) - 1 / math.sqrt(math.pi))
    assert crps(x, y) == pytest.approx(exact, abs=0.02)
    assert crps(np.array([5.0]), 5.0) == 0


@pytest.mark.parametrize("mean", [2.0, 10.0, 400.0])
def test_central_share_gives_a_calibrated_count_forecast_its_nominal_coverage(mean) -> None:
    """A forecast that is the truth (Poisson samples, Poisson actuals): the mean share is
    0.8 within four binomial standard errors of the months scored, where "P10 <= y <= P90"
    over-covers small counts (its rate, computed from the Poisson, is 0.95 for a mean of 2
    and 0.85 for 10: beyond the same tolerance)."""
    rng = np.random.default_rng(11)
    months = 2000
    samples = rng.poisson(mean, (months, 400))
    actual = rng.poisson(mean, months)
    shares = [central_share(samples[i], actual[i]) for i in range(months)]
    tolerance = 4 * math.sqrt(0.8 * 0.2 / months)
    assert np.mean(shares) == pytest.approx(0.8, abs=tolerance)
    lo, hi = stats.poisson.ppf([0.1, 0.9], mean)
    inclusive = stats.poisson.cdf(hi, mean) - stats.poisson.cdf(lo - 1, mean)
    if mean <= 10:
        assert inclusive > 0.8 + tolerance
    assert central_share(np.array([3.0, 3.0, 3.0, 3.0]), 3.0) == pytest.approx(0.8)
    assert central_share(np.arange(10.0), 20.0) == 0.0


def test_rolling_backtest_scores_the_model_and_the_baselines(tmp_path) -> None:
    ex = synthetic_export("no_score_amount", seed=7, months=12)
    path = ex.write(tmp_path)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        rb = rolling_backtest(path, cutoffs=["2023-08-01", "2023-09-01"], horizon_months=2,
                              reps=30)  # fmt: skip
    s = rb.summary()
    print("\n" + s.round(3).to_string() + "\n" + "\n".join(rb.verdict_lines()))
    assert set(s["method"]) >= {"cohort model", *BASELINES[:3]}
    assert len(rb.cells[rb.cells["method"] == "cohort model"]) == 2 * 2 * len(
        rb.cells["metric"].unique()
    )
    assert len(rb.verdict_lines()) == s["metric"].nunique()
    assert rb.variance["parameter_share"].between(0, 1).all()
    # The paired difference's standard error: two cutoffs, horizons of two months overlap,
    # so they count as one; sd of the two differences over sqrt(1).
    t = rb.totals[rb.totals["metric"] == "won"].pivot(index="cutoff", columns="method",
                                                       values="error")  # fmt: skip
    d = t["cohort model"] - t["naive cohort rate"]
    row = s[(s["metric"] == "won") & (s["method"] == "naive cohort rate")].iloc[0]
    assert row["difference_se"] == pytest.approx(d.std(ddof=1) / math.sqrt(2 / 2))
    m = rb.misses()
    assert ((m["actual"] < m["p10"]) | (m["actual"] > m["p90"])).all()
    ax = rb.plot("won", ahead=2)
    assert len(ax.lines) == 1 + 3 + 1  # the median, the baselines with a year or less, actual


def test_command_line_outlook_and_rolling_backtest(tmp_path, capsys) -> None:
    """A thin export through the command line: a non-zero won forecast, the stages it cannot
    see named on stderr; the rolling backtest prints the table and a verdict per metric."""
    from simfunnel.cli import main

    path = synthetic_export("thin", seed=12, months=12).write(tmp_path)
    assert main(["outlook", "--leads", str(path), "--months", "2", "--reps", "50",
                 "--out", str(tmp_path / "out")]) == 0  # fmt: skip
    out, err = capsys.readouterr()
    assert "NOT FORECAST: sqls" in err and "NOT FORECAST: lost" in err
    fc = pd.read_csv(tmp_path / "out" / "forecast.csv")
    assert fc.loc[fc["metric"] == "won", "mean"].sum() > 0
    assert (tmp_path / "out" / "won.png").stat().st_size > 0
    code = main(["backtest", "--leads", str(path), "--cutoffs", "2023-09-01", "--horizon",
                 "2months", "--reps", "100"])  # fmt: skip
    out, err = capsys.readouterr()
    assert code == 0, err
    assert "won: horizon total off by" in out and "baseline" in out
    assert main(["backtest", "--leads", str(path), "--horizon", "2months"]) == 2


def test_fit_on_a_thin_export_warns_loudly_with_the_conversion_it_can_see(tmp_path) -> None:
    """The simulation's fit cannot place wins without SQL and opportunity dates: a warning
    names the collapsed stages and gives the MQL->won rate within 4 binomial standard errors
    of the truth."""
    from simfunnel.calibration import fit

    ex = synthetic_export("thin", seed=13)
    cal = fit(ex.write(tmp_path))
    text = " ".join(w["problem"] for w in cal.warnings)
    assert "COLLAPSED STAGES" in text and "SQL dates and opportunity dates" in text
    rate = float(text.split("MQL->won at ")[1].split("%")[0]) / 100
    truth = ex.truth["mql_to_won"]["p"]
    closed = int(ex.leads["won_date"].notna().sum() / truth)
    assert abs(rate - truth) < 4 * math.sqrt(truth * (1 - truth) / closed) + 0.0005


def test_fit_describes_the_present_of_a_business_that_changed(tmp_path) -> None:
    """Regime change and five-fold growth: the scenario's arrival rates are the count model's
    level at the as-of date (not the two-year average, about half of it) and MQL->SQL is the
    rate since the shift; each within 4 standard errors of the truth."""
    from simfunnel.calibration import fit

    ex = synthetic_export("regime", seed=14)
    cal = fit(ex.write(tmp_path))
    arr = ex.truth["arrivals"]
    rates = cal.arrivals.set_index("source")["rate_per_week"]
    for src, base in arr["base_per_week"].items():
        truth = base * arr["growth_over_period"]
        se = math.sqrt(cal.cohorts.arrivals[src].cov[0, 0])
        print(f"\n{src}: {rates[src]:.1f} a week (truth {truth:.1f}, log se {se:.3f})", end="")
        assert abs(math.log(rates[src] / truth)) < 4 * se
    conv = cal.conversion.query("stage == 'mql->sql' and source == 'all'").iloc[0]
    p = ex.truth["conversion"]["p_sql"]["after"]
    mqls = ex.leads[ex.leads["mql_date"] >= ex.truth["change_date"]]
    se = math.sqrt(p * (1 - p) / len(mqls))
    print(f"\nMQL->SQL {conv['rate']:.3f} (truth after the change {p}, se {se:.3f})")
    assert abs(conv["rate"] - p) < 4 * se
    assert any("conversion window: sqls from cohorts of" in n for n in cal.notes)


def test_rolling_backtest_in_weeks_scores_the_part_of_a_month_inside_the_horizon(tmp_path) -> None:
    """A 6-week horizon from 2023-08-01 ends on 12 September: September is scored for its
    first 11 days, actual counts and baselines alike."""
    ex = synthetic_export("steady", seed=15, months=12)
    path = ex.write(tmp_path)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        rb = rolling_backtest(path, cutoffs=["2023-08-01"], horizon_weeks=6, reps=30)
    cells = rb.cells[rb.cells["metric"] == "leads"]
    assert set(cells["month"]) == {"2023-08", "2023-09"}
    leads = ex.leads["created"]
    inside = int(((leads >= "2023-09-01") & (leads < "2023-09-12")).sum())
    sept = cells[(cells["month"] == "2023-09")]
    assert (sept["actual"] == inside).all()
    last = sept[sept["method"] == "last month"]["p50"].iloc[0]
    july = int(((leads >= "2023-07-01") & (leads < "2023-08-01")).sum())
    assert last == pytest.approx(july * 11 / 30)


def test_rolling_backtest_judges_the_simulation_too(tmp_path) -> None:
    """model='simulation' runs the simulation's own backtest at each cutoff and scores its
    monthly samples in the same table as the baselines."""
    path = synthetic_export("no_score_amount", seed=21, months=10).write(tmp_path)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        rb = rolling_backtest(path, cutoffs=["2023-08-01"], horizon_months=2, reps=3,
                              model="simulation")  # fmt: skip
    assert rb.method == "simulation"
    sim = rb.cells[rb.cells["method"] == "simulation"]
    assert set(sim["month"]) == {"2023-08", "2023-09"}
    assert sim["crps"].notna().all() and (sim["p90"] >= sim["p10"]).all()
    assert len(rb.verdict_lines()) == rb.cells["metric"].nunique()
    with pytest.raises(ValueError, match="model must be one of"):
        rolling_backtest(path, cutoffs=["2023-08-01"], model="spreadsheet")
