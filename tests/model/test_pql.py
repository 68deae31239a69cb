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


def test_a_reached_pql_who_was_not_tossed_up_can_still_buy_self_serve() -> None:
    """Reached and 'information gathering' on day 0, the trial ends on day 2: it buys, and its
    follow-up call two weeks later never happens (the older engine barred any lead an SDR had
    reached, so more SDRs meant less self-serve revenue)."""
    scenario = build(
        outcomes__probabilities={
            "qualified": 0,
            "information_gathering": 1,
            "postponed": 0,
            "no_prospect": 0,
            "do_not_call": 0,
        },
        sources__0__pql={"trial_length": "2 days", "self_serve_probability": 1},
    )
    result = simfunnel.simulate(scenario, seed=0, trace=True)
    log = [(round(t, 6), e) for t, e, *_ in result.data.trace if e != "mql"]
    assert log == [(10.0, "attempt"), (10.25, "outcome"), (10 + 2 * DAY, "self_serve")]
    assert result.end_states["self_serve_won"] == 1


def test_self_serve_revenue_does_not_fall_as_sdrs_are_added() -> None:
    """Buyers buy whoever reaches them: only tossing a PQL up to an AE takes it off self-serve,
    so the share of self-serve buyers among the PQLs never tossed up is the configured one."""
    p = 0.3
    base = {
        "sources__0__rate_per_week": 100,
        "sources__0__bursts": [],
        "sources__0__quality": {"sd": 0},
        "sources__0__pql": {"trial_length": "5 days", "self_serve_probability": p},
        "outcomes__probabilities": {
            "qualified": 0.2,
            "information_gathering": 0.4,
            "postponed": 0,
            "no_prospect": 0,
            "do_not_call": 0.4,
        },
        "cadence__connect_probability": 0.5,
    }
    for sdrs in (1, 6):
        result = simfunnel.simulate(build(sdr__headcount=sdrs, **base), seed=3)
        d = result.data
        trial_end = d.leads.arrival + 5 * DAY
        open_to_buy = (trial_end < result.scenario.horizon) & ~(d.sql_at < trial_end)
        n = int(open_to_buy.sum())
        k = result.end_states["self_serve_won"]
        assert abs(k - n * p) <= 4 * math.sqrt(n * p * (1 - p)), (sdrs, k, n * p)
