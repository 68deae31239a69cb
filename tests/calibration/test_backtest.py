"""Backtest on a synthetic export: fit on the first half of a simulated year, forecast the next
13 weeks, and check that the actual weeks fall inside the bands about as often as promised;
start from the funnel at the cutoff or from a warm-up, with forecast or actual arrivals, and
score by week or by calendar month."""

from __future__ import annotations

import dataclasses
import math

import matplotlib
import numpy as np
import pandas as pd
import pytest
from conftest import KNOWN

import simfunnel
from simfunnel.calibration import (
    STAGES,
    CalibrationError,
    backtest,
    lead_snapshot,
    read_calls,
    read_leads,
)
from simfunnel.results import write_exports
from simfunnel.scenario import scenario_from_dict

matplotlib.use("Agg")
Z = 4.0
CUT = pd.Timestamp("2026-07-06")


@pytest.fixture(scope="module")
def run():
    return simfunnel.simulate(scenario_from_dict(KNOWN), seed=11, trace=True)


@pytest.fixture(scope="module")
def paths(run, tmp_path_factory):
    return write_exports(run, tmp_path_factory.mktemp("export"))


@pytest.fixture(scope="module")
def runs(paths):
    """Backtests by (start_from, arrivals, freq), made once each when a test asks."""
    # Held fixed unless asked: these tests check the process, the model being the true one.
    cache: dict[tuple[str, str, str, bool], object] = {}

    def get(start_from: str = "snapshot", arrivals: str = "forecast", freq: str = "W",
            draws: bool = False):  # fmt: skip
        key = (start_from, arrivals, freq, draws)
        if key not in cache:
            cache[key] = backtest(
                paths["leads"], "2026-07-06", 13, paths["calls"], paths["opportunities"],
                start="2026-01-05", reps=19, workers=2, start_from=start_from,
                arrivals=arrivals, freq=freq, parameter_draws=draws,
            )  # fmt: skip
        return cache[key]

    return get


@pytest.fixture(scope="module")
def result(runs):
    return runs()


def test_coverage_is_near_nominal_when_the_model_is_right(result) -> None:
    s = result.summary()
    print()
    print(s.to_string(index=False))
    n = len(result.weekly)
    assert n == 13 * len(STAGES)
    assert result.start_from == "snapshot" and result.arrivals == "forecast"
    # Each (week, stage) actual is inside its 80% band with probability 0.8 when the fitted
    # model is the true one; weeks are nearly independent draws.
    tol = Z * math.sqrt(0.8 * 0.2 / n)
    print(f"coverage {result.coverage:.3f} over {n} weeks x stages, nominal 0.8 +- {tol:.3f}")
    assert abs(result.coverage - 0.8) <= tol
    assert s.set_index("metric").loc["leads", "total_inside"]
    assert (s["mape"] < 1).all()
    assert (s["weeks"] == 13).all() and (s["periods"] == 13).all() and (s["freq"] == "W").all()


def test_parameter_draws_widen_the_band_and_keep_coverage(runs, result) -> None:
    """With the fitted values drawn per replication (the default) the horizon totals spread
    more than with them held (the variance split; weekly bands from 19 replications are too
    noisy to show it week by week), and coverage is not below nominal (within the binomial
    tolerance of the test above)."""
    drawn = runs(draws=True)
    split = drawn.forecast.variance_split().set_index("metric")
    print("\n" + split.round(3).to_string())

    def width(bt, metric: str) -> float:
        w = bt.weekly[bt.weekly["metric"] == metric]
        return float((w["p90"] - w["p10"]).mean())

    print(f"won band width {width(result, 'won'):.2f} held, {width(drawn, 'won'):.2f} drawn; "
          f"coverage {result.coverage:.3f} held, {drawn.coverage:.3f} drawn")  # fmt: skip
    assert drawn.forecast.parameter_draws and not result.forecast.parameter_draws
    for metric in ("valid_opportunities", "won"):
        assert split.loc[metric, "sd_total"] > split.loc[metric, "sd_process_only"]
    n = len(drawn.weekly)
    assert drawn.coverage >= 0.8 - Z * math.sqrt(0.8 * 0.2 / n)


def test_fit_used_only_data_before_the_cutoff(result) -> None:
    cal = result.calibration
    assert cal.as_of == result.cutoff
    assert cal.exports["leads"].data["created"].max() < result.cutoff
    for col in ("mql_date", "sql_date", "opportunity_date", "won_date", "lost_date"):
        assert not (cal.exports["leads"].data[col] >= result.cutoff).any()
    assert result.forecast.scenario.start_date.isoformat() == "2026-07-06"


def test_snapshot_is_the_funnel_the_export_shows_at_the_cutoff(result, run, paths) -> None:
    """Counts by state of the snapshot against what the export says at the cutoff (and, where
    the export determines it, against the simulation's own state then)."""
    table = result.snapshot_table
    counts = table["end_state"].value_counts().to_dict()
    print()
    print(table.groupby(["end_state", "rule"]).size().to_string())
    L = read_leads(paths["leads"]).data
    L = L[L["created"] < CUT]

    def before(col: str) -> pd.Series:
        return L[col].notna() & (L[col] < CUT)

    closed = before("won_date") | before("lost_date")
    assert len(table) == len(L)  # every lead created before the cutoff, one row each
    assert counts["won"] == before("won_date").sum()
    assert counts["lost"] == before("lost_date").sum()
    assert counts["open_opportunity"] == (before("opportunity_date") & ~closed).sum()
    assert (
        counts.get("sql", 0) + counts.get("rejected", 0)
        == (before("sql_date") & ~before("opportunity_date")).sum()
    )
    assert counts["nurture"] == (~before("mql_date")).sum()
    mql_only = before("mql_date") & ~before("sql_date")
    in_cadence = ("untouched", "working", "recycled", "information_gathering", "postponed",
                  "no_prospect", "do_not_call", "cold")  # fmt: skip
    assert sum(counts.get(s, 0) for s in in_cadence) == mql_only.sum()
    # Open opportunities keep their date and amount; working leads their calls so far.
    opp = table[table["end_state"] == "open_opportunity"]
    assert opp["valid_opportunity"].notna().all() and (opp["valid_opportunity"] < CUT).all()
    assert opp["value"].gt(0).all()
    calls = read_calls(paths["calls"]).data
    made = calls[calls["timestamp"] < CUT].groupby("lead_id").size()
    working = table[table["end_state"] == "working"]
    assert (working["attempts"].to_numpy() == working["lead_id"].map(made).to_numpy()).all()
    assert (working["attempts"] < 6).all()
    # The simulation's truth at the cutoff, for the states the export fixes exactly.
    truth = run.leads[run.leads["arrived"] < CUT]
    open_true = (truth["valid_opportunity"] < CUT) & ~(truth["closed"] < CUT)
    ev = run.events
    t_cut = (CUT - pd.Timestamp("2026-01-05")) / pd.Timedelta(hours=1)
    called = set(ev.loc[(ev["event"] == "attempt") & (ev["time_h"] < t_cut), "lead"])
    untouched_true = truth["mql"] & ~truth["lead_id"].isin(called) & ~(truth["tossed_up"] < CUT)
    decided = set(ev.loc[ev["event"].isin(["accepted", "rejected"]) & (ev["time_h"] < t_cut),
                         "lead"])  # fmt: skip
    sql_true = (truth["tossed_up"] < CUT) & ~truth["lead_id"].isin(decided)
    print(f"open opportunities {counts['open_opportunity']} (simulation: {open_true.sum()}); "
          f"untouched {counts['untouched']} (simulation: {untouched_true.sum()}); SQLs waiting "
          f"for their meeting {counts.get('sql', 0)} (simulation: {sql_true.sum()})")  # fmt: skip
    assert counts["open_opportunity"] == open_true.sum()
    assert counts["untouched"] == untouched_true.sum()
    # The export cannot tell a lead rejected in the last meeting window before the cutoff (no
    # opportunity, no date) from one whose meeting is still ahead: those count as waiting.
    window = pd.Timedelta(days=3)
    rejected_at = ev.loc[(ev["event"] == "rejected") & (ev["time_h"] < t_cut)]
    rejected_late = set(rejected_at["lead"]) & set(
        truth.loc[truth["tossed_up"].between(CUT - window, CUT), "lead_id"]
    )
    assert counts.get("sql", 0) == sql_true.sum() + len(rejected_late)
    # The backtest ran from it: the snapshot read by simfunnel.read_snapshot, no warm-up.
    assert result.snapshot is not None and result.snapshot.counts() == counts
    assert result.forecast.experiment.snapshot is result.snapshot
    assert not result.forecast.scenario.warm_up
    first = result.forecast.bands.query("week == 0 and metric == 'open_opportunities'")
    assert abs(first["mean"].item() - counts["open_opportunity"]) < 0.5 * counts["open_opportunity"]


def test_snapshot_without_a_call_log(paths) -> None:
    """Attempts unknown: MQLs of the last cadence_days are working with 1 attempt, older ones
    settled (their status, else recycled); the other states do not need the log."""
    leads = read_leads(paths["leads"])
    with_log = lead_snapshot(leads, CUT, read_calls(paths["calls"]))
    without = lead_snapshot(leads, CUT, cadence_days=19)
    a, b = with_log["end_state"].value_counts(), without["end_state"].value_counts()
    for state in ("won", "lost", "open_opportunity", "sql", "rejected", "nurture"):
        assert a.get(state, 0) == b.get(state, 0)
    assert len(with_log) == len(without)
    working = without[without["end_state"] == "working"]
    assert (working["attempts"] == 1).all() and "untouched" not in b
    recent = leads.data.set_index("lead_id").loc[working["lead_id"], "mql_date"]
    assert (CUT - recent <= pd.Timedelta(days=19)).all()
    print(f"\nwith the call log {a.to_dict()}\nwithout {b.to_dict()}")


def test_actual_arrivals_drive_the_forecast(runs) -> None:
    """With the actual arrivals the forecast's leads are the actual leads, week by week, and
    the MQL band narrows around the actual MQLs, from a snapshot or a warm-up alike."""
    print()
    for start_from in ("snapshot", "warm_up"):
        base, replay = runs(start_from), runs(start_from, "actual")
        leads = replay.weekly[replay.weekly["metric"] == "leads"]
        assert (leads["mean"] == leads["actual"]).all()
        assert (leads["p10"] == leads["actual"]).all() and (leads["p90"] == leads["actual"]).all()
        assert replay.summary().set_index("metric").loc["leads", "mape"] == 0
        assert replay.forecast.scenario.start_date.isoformat() == "2026-07-06"
        s0, s1 = (b.summary().set_index("metric").loc["mqls"] for b in (base, replay))
        w0, w1 = ((b.weekly.query("metric == 'mqls'")["p90"]
                   - b.weekly.query("metric == 'mqls'")["p10"]).mean() for b in (base, replay))  # fmt: skip
        print(f"{start_from}: MQL coverage {s0['coverage']:.3f} -> {s1['coverage']:.3f}, MAPE "
              f"{s0['mape']:.3f} -> {s1['mape']:.3f}, band width {w0:.1f} -> {w1:.1f}; "
              f"overall coverage {base.coverage:.3f} -> {replay.coverage:.3f}")  # fmt: skip
        assert w1 < w0
        assert s1["mape"] <= s0["mape"]
        tol = Z * math.sqrt(0.8 * 0.2 / 13)
        assert abs(s1["coverage"] - 0.8) <= tol
    print(runs("snapshot", "actual").summary().to_string(index=False))


def test_monthly_counts(runs) -> None:
    result = runs(freq="M")
    m = result.monthly
    print()
    print(result.summary().to_string(index=False))
    print(m[m["metric"] == "sqls"].to_string(index=False))
    assert result.periods is m and result.freq == "M"
    assert list(m["month"].unique()) == ["2026-07", "2026-08", "2026-09", "2026-10"]
    assert list(m.drop_duplicates("month")["days"]) == [26, 31, 30, 4]  # 13 weeks = 91 days
    s = result.summary().set_index("metric")
    assert (s["freq"] == "M").all() and (s["periods"] == 4).all()
    weekly = result.weekly.groupby("metric")["actual"].sum()
    monthly = m.groupby("metric")["actual"].sum()
    assert (weekly == monthly).all()  # the same actual events, binned two ways
    # The months come from replays of the forecast's own replications: their means add up to
    # the forecast's 13-week total.
    means = m.groupby("metric")["mean"].sum()
    for metric in STAGES:
        assert means[metric] == pytest.approx(s.loc[metric, "forecast_total"], abs=1e-9)
        rows = m[m["metric"] == metric]
        assert s.loc[metric, "coverage"] == pytest.approx(rows["inside"].mean())
    assert result.coverage == pytest.approx(m["inside"].mean())
    ax = result.plot("sqls")
    assert "coverage" in ax.get_title() and len(ax.get_xticklabels()) == 4
    # Quarters add up the months: 2026-07 to 2026-09 are Q3, 2026-10 (4 days) is Q4, in part.
    q = result.by_quarter()
    assert list(q["quarter"].unique()) == ["2026Q3", "2026Q4"]
    assert list(q.drop_duplicates("quarter")["months"]) == [3, 1]
    assert q["partial"].all()  # Q3 starts on a partial July; Q4 holds only 4 days
    for metric in STAGES:
        rows = m[m["metric"] == metric]
        got = q[q["metric"] == metric].set_index("quarter")
        assert got.loc["2026Q3", "actual"] == rows["actual"].iloc[:3].sum()
        assert got.loc["2026Q3", "mean"] == pytest.approx(rows["mean"].iloc[:3].sum())
        inside = got["p10"].le(got["actual"]) & got["actual"].le(got["p90"])
        assert (inside == got["inside"]).all()
    shown = dataclasses.replace(result, roll_up="Q")
    assert "By quarter:" in shown.text() and "quarters" in shown.tables()
    with pytest.raises(ValueError, match="by month"):
        runs().by_quarter()


def test_plot_draws_bands_and_actuals(result) -> None:
    ax = result.plot("sqls")
    assert "coverage" in ax.get_title()
    assert any(line.get_label() == "actual" for line in ax.get_lines())
    with pytest.raises(ValueError, match="unknown metric"):
        result.plot("revenue")
    with pytest.raises(ValueError, match="freq='M'"):
        result.plot("sqls", freq="M")


def test_bad_options(paths) -> None:
    for option, value in (("arrivals", "past"), ("start_from", "today"), ("freq", "Q")):
        with pytest.raises(ValueError, match=f"{option} must be one of"):
            backtest(paths["leads"], "2026-07-06", 13, **{option: value})


def test_backtest_needs_data_past_the_horizon(tmp_path) -> None:
    small = dict(KNOWN, horizon="8 weeks")
    paths = write_exports(simfunnel.simulate(scenario_from_dict(small), seed=1), tmp_path)
    with pytest.raises(CalibrationError, match="needs data up to 2026-05-04"):
        backtest(paths["leads"], "2026-02-02", 13)


def test_warm_up_start_is_still_available(runs) -> None:
    result = runs("warm_up")
    print()
    print(result.summary().to_string(index=False))
    assert result.snapshot is None and result.forecast.scenario.warm_up > 0
    n = len(result.weekly)
    assert abs(result.coverage - 0.8) <= Z * math.sqrt(0.8 * 0.2 / n)
    assert np.isfinite(result.summary()["mape"]).all()
