"""Spreadsheet against simulation: each left-out mechanism's share of the gap, measured."""

from __future__ import annotations

import math

import numpy as np
import pytest
from conftest import build

import simfunnel
from simfunnel.decisions import STEPS, explain_gap, spreadsheet_funnel


def flow(sdrs: int, rate: float, **changes):
    settings = {
        "horizon": "4 weeks",
        "sources": [{"name": "web", "rate_per_week": rate, "score": {"mean": 70, "sd": 10}}],
        "sdr__headcount": sdrs,
        "cadence__connect_probability": 0.5,
        "cadence__contact_probability": 0.5,
        "cadence__gaps": ["4 h"],
        "ae__sales_cycle": "10 days",
    }
    return build(**(settings | changes))


def test_each_step_is_a_mechanism_and_the_last_is_the_scenario_itself() -> None:
    scenario = flow(1, 400)  # one SDR on office hours for about 400 MQLs a week: it binds
    gap = explain_gap(scenario, reps=6, workers=1)
    t = gap.table.set_index("step")
    assert list(t.index) == ["spreadsheet", *STEPS]
    funnel = spreadsheet_funnel(scenario).set_index("source")
    assert gap.spreadsheet == pytest.approx(funnel.loc["total", "valid_per_week"] * 4)
    # No nurture section and decay off in TINY: those steps change nothing at all.
    assert t.loc["speed-to-lead decay", "change"] == 0
    assert t.loc["nurture and re-MQLs", "change"] == 0
    # The steps add up: spreadsheet + changes = the simulated scenario's mean.
    assert gap.spreadsheet + t["change"].iloc[1:].sum() == pytest.approx(t.loc["capacity", "mean"])
    assert t.loc["capacity", "change_high"] < 0  # the single SDR costs valid opportunities
    assert gap.main_cause == "capacity"
    assert f"A spreadsheet expects {gap.spreadsheet:,.0f} valid opportunities" in gap.verdict


def test_with_capacity_to_spare_decay_not_capacity_is_the_cause() -> None:
    """Ten SDRs for 50 leads a week with speed-to-lead decay on: leads arriving after hours
    wait for the morning and qualify less; the team itself costs next to nothing."""
    scenario = flow(10, 50, speed_to_lead={"enabled": True})
    gap = explain_gap(scenario, reps=8, workers=1)
    t = gap.table.set_index("step")
    decay, capacity = t.loc["speed-to-lead decay", "change"], t.loc["capacity", "change"]
    assert t.loc["speed-to-lead decay", "change_high"] < 0
    assert abs(capacity) < 0.25 * abs(decay)
    assert gap.main_cause in ("paths and quality", "speed-to-lead decay")


def test_unknown_metric_is_refused() -> None:
    with pytest.raises(ValueError, match="metric must be one of"):
        explain_gap(flow(1, 10), metric="happiness")


def test_without_reps_each_step_runs_until_its_difference_is_known() -> None:
    """The default: batches until each step's paired difference from the first step has a 95%
    half-width within 5% of the first step's level (or the cap); the verdict says how many."""
    scenario = flow(1, 400)
    gap = explain_gap(scenario, precision=0.05, max_reps=24, workers=2, seed=3)
    state = gap.experiment.settled.set_index("variant")
    assert set(state.index) == set(STEPS)
    first = gap.table.set_index("step").loc[STEPS[0], "mean"]
    for step in STEPS[1:]:
        row = state.loc[step]
        n = gap.experiment.finished(step)
        assert n == row["replications"] <= 24
        if row["status"] == "settled":
            assert row["half_width"] <= 0.05 * first + 1e-9
        else:
            assert row["status"] == "limit" and n == 24
    low, high = int(state["replications"].min()), int(state["replications"].max())
    counts = f"{low} replications each" if low == high else f"{low} to {high} replications"
    assert f"+/-5% of the first step's level (95% interval): {counts}." in gap.verdict
    fixed = explain_gap(scenario, reps=4, workers=1, seed=3)
    assert fixed.experiment.settled is None and "Each step ran until" not in fixed.verdict


def test_wins_cut_off_by_the_horizon_are_a_step_of_their_own() -> None:
    """Four weeks against a 40-day sales cycle: most deals are still open at the end. The
    first step counts them at their expected wins (the sum of their chances), the next takes
    them out; the steps still add up to the scenario's wins, and the cut-off is the cause."""
    scenario = flow(10, 50, ae__sales_cycle="40 days")
    gap = explain_gap(scenario, "won", reps=6, workers=1)
    t = gap.table.set_index("step")
    assert list(t.index) == ["spreadsheet", STEPS[0], "still open at the end", *STEPS[1:]]
    totals = gap.experiment.totals
    first = totals[(totals["variant"] == STEPS[0]) & (totals["section"] == "totals")]
    per_rep = first.pivot_table(index="replication", columns="metric", values="value")
    expected = per_rep["open_wins_expected"].mean()
    assert expected > 0
    assert t.loc["still open at the end", "change"] == pytest.approx(-expected)
    assert t.loc[STEPS[0], "mean"] == pytest.approx(
        (per_rep["won"] + per_rep["open_wins_expected"]).mean()
    )
    assert t.loc["still open at the end", "mean"] == pytest.approx(per_rep["won"].mean())
    assert gap.spreadsheet + t["change"].iloc[1:].sum() == pytest.approx(t.loc["capacity", "mean"])
    assert gap.main_cause == "still open at the end"
    assert "The largest cause: still open at the end." in gap.verdict


def test_expected_wins_of_the_open_deals_are_the_sum_of_their_chances() -> None:
    """The run's KPI against its lead table: each open deal's chance to win by the AE stage's
    rule, logit(p) + quality_effect x quality."""
    scenario = flow(
        10, 50, ae__sales_cycle="40 days", ae__win={"probability": 0.3, "quality_effect": 0.7}
    )
    result = simfunnel.simulate(scenario, seed=4)
    leads = result.leads
    still = leads[leads["end_state"] == "open_opportunity"]
    odds = math.log(0.3 / 0.7) + 0.7 * still["quality"]
    chance = 1 / (1 + np.exp(-odds))
    assert len(still) > 0
    assert result.totals["open_wins_expected"] == pytest.approx(float(chance.sum()))
    assert result.totals["open_value"] == pytest.approx(float((chance * still["value"]).sum()))
