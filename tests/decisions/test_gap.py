"""Spreadsheet against simulation: each left-out mechanism's share of the gap, measured."""

from __future__ import annotations

import pytest
from conftest import build

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
    assert t.loc["recycling", "change"] == 0
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
