"""Nurture: score paths, re-MQLs after the cool-down, aging out, and the recycle paths."""

from __future__ import annotations

import math

import pytest
from conftest import build, outcome_only
from scipy import stats

import simfunnel

DAY = 24.0
QUIET = {"engagement_every": "1000 days", "decay_per_week": 0, "quality_effect": 0}


def trace(result) -> list[tuple[float, str]]:
    return [(round(t, 6), event) for t, event, *_ in result.data.trace]


def test_six_call_out_then_nurture_then_re_mql_after_the_cool_down() -> None:
    """Never reached: 6 attempts, recycled with score 80 - 20 = 60 (= threshold), so it is an
    MQL again exactly when the 7-day cool-down ends, and its new cadence starts then."""
    scenario = build(
        cadence__connect_probability=0,
        nurture={**QUIET, "cool_down": "7 days", "recycle_penalty": 20},
    )
    result = simfunnel.simulate(scenario, seed=0, trace=True)
    log = trace(result)
    events = [e for _, e in log]
    assert events[:8] == ["mql"] + ["attempt"] * 6 + ["recycled"]
    recycled_at = log[7][0]
    assert log[8] == (round(recycled_at + 7 * DAY, 6), "re_mql")
    assert log[9][1] == "attempt" and log[9][0] >= log[8][0]
    assert result.totals["re_mqls"] >= 1


def test_a_lead_below_threshold_becomes_an_mql_when_engagement_lifts_its_score() -> None:
    """Score 50, +4 every 2 days, no decay: 54, 58, 62 -> MQL on the third engagement, 6 days on."""
    scenario = build(
        sources__0__score={"mean": 50, "sd": 0},
        nurture={**QUIET, "engagement_every": "2 days", "score_jump": 4, "cool_down": "1 day"},
    )
    result = simfunnel.simulate(scenario, seed=0, trace=True)
    log = trace(result)
    arrival = 10.0
    assert log[0] == (round(arrival + 6 * DAY, 6), "re_mql")
    assert log[1][1] == "attempt"
    lead = result.leads.iloc[0]
    assert not lead["mql"]  # below the threshold on arrival...
    assert result.totals["re_mqls"] == 1  # ...an MQL from nurture
    # Speed to lead runs from the moment it became an MQL, not from its arrival.
    assert result.speed_to_lead["attempted"] == 1
    assert result.speed_to_lead["mean_h"] == pytest.approx(log[1][0] - log[0][0])


def test_a_lead_that_never_warms_up_ages_out() -> None:
    scenario = build(
        sources__0__score={"mean": 50, "sd": 0},
        nurture={**QUIET, "age_out": "10 days"},
    )
    result = simfunnel.simulate(scenario, seed=0)
    assert result.end_states["aged_out"] == 1
    assert result.end_states["nurture"] == 0


def test_share_re_mqled_is_the_poisson_probability_of_enough_engagements() -> None:
    """+4 points a time from 50 to 60 needs 3 engagements; at rate 1 per 2 weeks for 6 weeks
    the share that gets there is P(Poisson(3) >= 3) (the cool-down only delays, never stops,
    a crossing). Binomial tolerance, 4 sigma."""
    n = 4000
    scenario = build(
        horizon="12 weeks",
        sources__0__score={"mean": 50, "sd": 0},
        sources__0__bursts=[{"start": "2026-01-05 10:00", "leads": n, "over": "0 h"}],
        nurture={
            **QUIET,
            "engagement_every": {"dist": "exponential", "mean": "14 days"},
            "score_jump": 4,
            "cool_down": "10 days",
            "age_out": "42 days",
        },
        sdr__headcount=20,
    )
    result = simfunnel.simulate(scenario, seed=21)
    p = stats.poisson(3).sf(2)
    k = result.totals["re_mqls"]
    assert abs(k - n * p) <= 4 * math.sqrt(n * p * (1 - p)), (k, n * p)
    assert result.end_states["aged_out"] == n - k


def test_information_gathering_goes_to_nurture_once_its_follow_ups_are_used() -> None:
    scenario = build(
        outcomes__probabilities=outcome_only("information_gathering"),
        outcomes__follow_ups=[],
        nurture={**QUIET, "age_out": "20 days"},
    )
    result = simfunnel.simulate(scenario, seed=0)
    assert result.end_states["aged_out"] == 1


def test_nurture_keeps_every_lead_accounted_for(saas_dict) -> None:
    data = dict(saas_dict, horizon="16 weeks", nurture={})
    result = simfunnel.simulate(simfunnel.scenario.scenario_from_dict(data), seed=1)
    assert sum(result.end_states.values()) == result.totals["leads"]
    assert result.totals["re_mqls"] > 0
    assert result.weekly["re_mqls"].sum() == result.totals["re_mqls"]


def test_cool_down_shorter_than_a_day_is_refused() -> None:
    with pytest.raises(simfunnel.ScenarioError) as err:
        build(nurture={"cool_down": "2 h"})
    assert err.value.problems == ["test: nurture.cool_down: must be at least 1 day (got 2 h)"]
