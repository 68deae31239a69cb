"""PQL (free-trial) sources: at the end of the trial, a lead nobody reached may buy self-serve."""

from __future__ import annotations

import math

from conftest import build

import simfunnel

DAY = 24.0


def test_unreached_pql_buys_self_serve_at_trial_end_and_leaves_the_call_list() -> None:
    """Never reached (no connects): called on days 0 and 1, trial ends at day 2.5: bought."""
    scenario = build(
        cadence__connect_probability=0,
        sources__0__pql={
            "trial_length": "2.5 days",
            "self_serve_probability": 1,
            "self_serve_value": 1200,
        },
    )
    result = simfunnel.simulate(scenario, seed=0, trace=True)
    log = [(round(t, 6), e) for t, e, *_ in result.data.trace if e != "mql"]
    assert log == [(10.0, "attempt"), (DAY + 10, "attempt"), (10 + 2.5 * DAY, "self_serve")]
    assert result.end_states["self_serve_won"] == 1
    assert result.totals["self_serve_value"] == 1200
    assert result.backlog["at_end"] == 0


def test_a_reached_pql_follows_the_sdr_path_instead() -> None:
    scenario = build(sources__0__pql={"trial_length": "2 days", "self_serve_probability": 1})
    result = simfunnel.simulate(scenario, seed=0)
    assert result.end_states["self_serve_won"] == 0
    assert result.totals["sqls"] == 1


def test_self_serve_share_is_binomial_in_the_configured_probability() -> None:
    """Below-threshold PQLs are never called: each buys with p exactly (quality sd 0)."""
    n, p = 3000, 0.2
    scenario = build(
        sources__0__score={"mean": 10, "sd": 0},
        sources__0__quality={"sd": 0},
        sources__0__bursts=[{"start": "2026-01-05 10:00", "leads": n, "over": "7 days"}],
        sources__0__pql={"trial_length": "14 days", "self_serve_probability": p},
    )
    result = simfunnel.simulate(scenario, seed=5)
    k = result.totals["self_serve_won"]
    assert abs(k - n * p) <= 4 * math.sqrt(n * p * (1 - p)), (k, n * p)
    assert result.end_states["self_serve_won"] + result.end_states["nurture"] == n
