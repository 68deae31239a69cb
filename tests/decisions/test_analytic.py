"""Analytic baselines against hand arithmetic, published tables and (where the assumptions hold)
the engine. Simulation checks use Z = 4 standard errors from the sample size, as in
test_theory.py; bounded per-lead quantities use the bound (range / 2) as the standard deviation.
"""

from __future__ import annotations

import math

import pytest
from conftest import build

import simfunnel
from simfunnel.decisions import (
    contact_share,
    erlang_a,
    erlang_a_service_level,
    erlang_a_staffing,
    erlang_b,
    erlang_c,
    erlang_c_service_level,
    erlang_c_staffing,
    mql_share,
    reverse_waterfall,
    reverse_waterfall_for,
    scenario_rates,
    sdr_workload,
    spreadsheet_funnel,
)

Z = 4.0


def normal_tail(x: float, mean: float, sd: float) -> float:
    return 0.5 * math.erfc((x - mean) / (sd * math.sqrt(2.0)))


# --------------------------------------------------------------------------- reverse waterfall


def test_reverse_waterfall_is_hand_arithmetic() -> None:
    table = reverse_waterfall(
        1_200_000,
        deal_value=12_000,
        win_rate=0.25,
        valid_rate=0.75,
        sql_rate=0.20,
        mql_rate=0.25,
        weeks=52,
    )
    print(table.to_string())
    needed = dict(zip(table["stage"], table["needed"], strict=True))
    # 1,200,000 revenue / 12,000 a deal = 100 wins
    assert needed["won"] == pytest.approx(100.0)
    # 100 wins / 0.25 win rate = 400 valid opportunities
    assert needed["valid_opportunities"] == pytest.approx(400.0)
    # 400 / 0.75 accepted = 533.3 SQLs
    assert needed["sqls"] == pytest.approx(533.333, abs=1e-3)
    # 533.3 / 0.20 MQL -> SQL = 2,666.7 MQLs
    assert needed["mqls"] == pytest.approx(2666.667, abs=1e-3)
    # 2,666.7 / 0.25 lead -> MQL = 10,666.7 leads, 205.1 a week over 52 weeks
    assert needed["leads"] == pytest.approx(10666.667, abs=1e-3)
    per_week = dict(zip(table["stage"], table["per_week"], strict=True))
    assert per_week["leads"] == pytest.approx(10666.667 / 52, abs=1e-3)
    rates = dict(zip(table["stage"], table["rate"], strict=True))
    assert rates["sqls"] == 0.75 and rates["leads"] == 0.25


@pytest.mark.parametrize(
    ("changes", "word"),
    [({"win_rate": 0.0}, "win_rate"), ({"mql_rate": 1.5}, "mql_rate"), ({"deal_value": 0}, "deal")],
)
def test_reverse_waterfall_refuses_impossible_rates(changes: dict, word: str) -> None:
    args = {"deal_value": 1.0, "win_rate": 0.5, "valid_rate": 0.5, "sql_rate": 0.5}
    args |= {"mql_rate": 0.5} | changes
    with pytest.raises(ValueError, match=word):
        reverse_waterfall(1000.0, **args)


def simple_scenario(**changes: object) -> simfunnel.Scenario:
    """One source, score N(60, 10) at threshold 60 (half are MQLs), round-number rates."""
    base = {
        "sources": [{"name": "web", "rate_per_week": 100, "score": {"mean": 60, "sd": 10}}],
        "scoring__threshold": 60,
        "cadence__max_attempts": 3,
        "cadence__gaps": ["1 day"],
        "cadence__connect_probability": 0.5,
        "cadence__contact_probability": 0.4,
        "outcomes__probabilities": {
            "qualified": 0.5,
            "information_gathering": 0.2,
            "postponed": 0.1,
            "no_prospect": 0.1,
            "do_not_call": 0.1,
        },
        "ae__acceptance": {"probability": 0.8},
        "ae__win": {"probability": 0.25},
        "ae__deal_value": 10_000,
        "horizon": "10 weeks",
    }
    return build(**(base | changes))


def test_reverse_waterfall_for_reads_the_nominal_rates() -> None:
    scenario = simple_scenario()
    r = scenario_rates(scenario)
    # Contact per call 0.5 x 0.4 = 0.2; within 3 calls 1 - 0.8^3 = 0.488; x qualified 0.5.
    assert r.sql_rate == pytest.approx(0.244)
    assert r.mql_rate == pytest.approx(0.5)  # threshold at the mean of a normal score
    assert (r.valid_rate, r.win_rate, r.deal_value) == (0.8, 0.25, 10_000)
    table = reverse_waterfall_for(scenario, 1_000_000)
    print(table.to_string())
    needed = dict(zip(table["stage"], table["needed"], strict=True))
    # 1,000,000 / 10,000 = 100 wins / 0.25 = 400 valid / 0.8 = 500 SQLs / 0.244 = 2,049.2 MQLs
    # / 0.5 = 4,098.4 leads; over 10 weeks, 409.8 a week.
    assert needed["mqls"] == pytest.approx(500 / 0.244)
    assert needed["leads"] == pytest.approx(1000 / 0.244)
    assert table["per_week"].iloc[-1] == pytest.approx(100 / 0.244)


def test_contact_share_counts_calls_not_email_touches() -> None:
    scenario = simple_scenario(cadence__email_touches=[2])
    assert contact_share(scenario.cadence) == pytest.approx(1 - 0.8**2)


# --------------------------------------------------------------------------- forward funnel


def two_sources(**changes: object) -> simfunnel.Scenario:
    sources = [
        {"name": "a", "rate_per_week": 300, "score": {"mean": 50, "sd": 10}},
        {"name": "b", "rate_per_week": 100, "score": {"mean": 70, "sd": 20}},
    ]
    return simple_scenario(sources=sources, **changes)


def test_spreadsheet_mql_share_is_the_normal_tail() -> None:
    funnel = spreadsheet_funnel(two_sources())
    print(funnel.to_string())
    by = funnel.set_index("source")
    tail_a = normal_tail(60, 50, 10)  # 0.158655
    tail_b = normal_tail(60, 70, 20)  # 0.691462
    assert by.loc["a", "mql_rate"] == pytest.approx(tail_a, abs=1e-12)
    assert by.loc["b", "mql_rate"] == pytest.approx(tail_b, abs=1e-12)
    # Weighted by leads: (300 x 0.158655 + 100 x 0.691462) / 400 = 0.291857
    assert by.loc["total", "mql_rate"] == pytest.approx((300 * tail_a + 100 * tail_b) / 400)
    assert by.loc["total", "leads_per_week"] == pytest.approx(400)
    # Forward, with no capacity: won value = leads x mql x 0.244 x 0.8 x 0.25 x 10,000.
    won = (300 * tail_a + 100 * tail_b) * 0.244 * 0.8 * 0.25
    assert by.loc["total", "won_per_week"] == pytest.approx(won)
    assert by.loc["total", "won_value_per_week"] == pytest.approx(won * 10_000)


def test_mql_share_at_the_clips() -> None:
    scenario = two_sources()
    score = scenario.sources[0].score  # clipped to [0, 100]
    assert mql_share(score, 0.0) == 1.0  # every clipped score is at least 0
    assert mql_share(score, 100.5) == 0.0


def test_spreadsheet_spreads_bursts_and_seasonality_over_the_horizon() -> None:
    sources = [
        {
            "name": "a",
            "rate_per_week": 100,
            "score": {"mean": 50, "sd": 10},
            # January x 0.5 for the first 4 weeks (2026-01-05 .. 2026-02-01, 27 of 28 days in
            # January), then February at 1; plus a burst of 280 leads.
            "seasonality": {"by_month": {1: 0.5}},
            "bursts": [{"start": "2026-01-20", "leads": 280}],
        }
    ]
    funnel = spreadsheet_funnel(simple_scenario(sources=sources, horizon="8 weeks"))
    january_days, days = 27, 56
    season = (january_days * 0.5 + (days - january_days)) / days
    assert funnel.loc[0, "leads_per_week"] == pytest.approx(100 * season + 280 / 8)


def test_spreadsheet_mql_share_matches_the_simulation() -> None:
    """Thinning by the threshold needs no capacity: the simulated MQL share is the normal tail
    within binomial error, and the lead count the Poisson mean."""
    scenario = two_sources(horizon="4 weeks", sdr__headcount=2)
    funnel = spreadsheet_funnel(scenario).set_index("source")
    result = simfunnel.simulate(scenario, seed=3)
    n = result.totals["leads"]
    expected_leads = 4 * funnel.loc["total", "leads_per_week"]
    p = funnel.loc["total", "mql_rate"]
    share = result.totals["mqls"] / n
    print(f"leads {n} vs {expected_leads:.0f}; MQL share {share:.4f} vs {p:.4f}")
    assert abs(n - expected_leads) <= Z * math.sqrt(expected_leads)
    # The mix of sources is itself random; the pooled share is binomial given the counts.
    assert abs(share - p) <= Z * math.sqrt(p * (1 - p) / n)


# --------------------------------------------------------------------------- Erlang


def erlang_c_closed_form(c: int, a: float) -> float:
    """C(c, a) = (a^c / c! . c / (c - a)) / (sum_{k<c} a^k / k! + a^c / c! . c / (c - a))."""
    top = a**c / math.factorial(c) * c / (c - a)
    return top / (sum(a**k / math.factorial(k) for k in range(c)) + top)


def test_erlang_b_and_c_match_published_tables() -> None:
    # Erlang B tables (blocking for N servers at A Erlangs), as printed to 4 decimals in
    # standard teletraffic tables: B(N=5, A=2) = 0.0367, B(N=10, A=5) = 0.0184; so within half
    # a unit of the last printed digit. Exactly: B(5, 2) = (2^5/5!) / sum_{k<=5} 2^k/k!.
    assert erlang_b(5, 2.0) == pytest.approx(0.0367, abs=5e-5)
    assert erlang_b(10, 5.0) == pytest.approx(0.0184, abs=5e-5)
    assert erlang_b(5, 2.0) == pytest.approx(
        (32 / 120) / sum(2**k / math.factorial(k) for k in range(6))
    )
    # Textbook M/M/3 at 2 Erlangs: P(wait) = 4/9 = 0.4444 (closed form below).
    assert erlang_c(3, 2.0) == pytest.approx(4 / 9, abs=1e-12)
    for c, a in [(3, 2.0), (7, 5.0), (8, 5.0), (20, 17.5)]:
        assert erlang_c(c, a) == pytest.approx(erlang_c_closed_form(c, a), rel=1e-12)


def test_erlang_c_staffing_meets_the_level_and_one_fewer_misses() -> None:
    # 100 calls an hour, 3 minutes each (5 Erlangs), 80% answered within 20 seconds.
    lam, aht, t = 100.0, 3 / 60, 20 / 3600
    answer = erlang_c_staffing(lam, aht, answer_within=t, service_level=0.8)
    print(answer.table.to_string())

    def sl(c: int) -> float:  # 1 - C(c, a) exp(-(c mu - lambda) t), computed independently
        return 1 - erlang_c_closed_form(c, lam * aht) * math.exp(-(c / aht - lam) * t)

    c = answer.servers
    assert c == 8
    assert sl(c) >= 0.8 > sl(c - 1)  # 0.8801 meets, 0.7404 misses
    assert answer.service_level == pytest.approx(sl(c), rel=1e-12)
    assert answer.occupancy == pytest.approx(5 / 8)
    assert answer.mean_wait == pytest.approx(erlang_c_closed_form(8, 5.0) / (8 / aht - lam))
    assert list(answer.table["meets"]) == [False, False, True]  # 6, 7, 8 reps
    assert erlang_c_service_level(5, lam, aht, t) == 0.0  # unstable at a = c


def test_erlang_a_service_level_limits() -> None:
    """t = 0: only those served at once, 1 - P(wait); t -> inf: all but those gone cold,
    1 - P(abandon), which queueing.erlang_a computes by another route (theta E[Q] / lambda)."""
    lam, aht, c, patience = 10.0, 0.5, 4, 0.25
    steady = erlang_a(lam, 1 / aht, c, 1 / patience)
    assert erlang_a_service_level(c, lam, aht, 0.0, patience) == pytest.approx(1 - steady.p_wait)
    assert erlang_a_service_level(c, lam, aht, 50.0, patience) == pytest.approx(
        1 - steady.p_abandon, rel=1e-9
    )


def test_erlang_a_staffing_tends_to_erlang_c_as_patience_grows() -> None:
    lam, aht, t = 100.0, 3 / 60, 20 / 3600
    c_answer = erlang_c_staffing(lam, aht, answer_within=t, service_level=0.8)
    patient = erlang_a_staffing(lam, aht, answer_within=t, service_level=0.8, patience=1e4)
    print(f"Erlang C {c_answer.servers} reps SL {c_answer.service_level:.6f}; Erlang A, patience")
    print(f"1e4 h: {patient.servers} reps SL {patient.service_level:.6f}")
    assert patient.servers == c_answer.servers
    assert patient.service_level == pytest.approx(c_answer.service_level, abs=1e-4)
    assert patient.p_abandon < 1e-5
    # Impatient leads shed load: never more reps than Erlang C, and some go cold.
    hasty = erlang_a_staffing(lam, aht, answer_within=t, service_level=0.8, patience=1 / 60)
    print(f"patience 1 min: {hasty.servers} reps, {hasty.p_abandon:.2%} gone cold")
    assert hasty.servers <= c_answer.servers
    assert hasty.p_abandon > 0
    assert hasty.table["meets"].iloc[-1] and not hasty.table["meets"].iloc[:-1].any()


# --------------------------------------------------------------------------- SDR workload


def workload_scenario() -> simfunnel.Scenario:
    """24/7, no shrinkage, no decay: every attempt is a job of known mean length."""
    return simple_scenario(
        calendar="24/7",
        horizon="4 weeks",
        sources=[{"name": "web", "rate_per_week": 2000, "score": {"mean": 80, "sd": 0}}],
        sdr={"headcount": 10, "shrinkage": 0},
        cadence__connect_probability=0.5,
        cadence__contact_probability=0.5,
        cadence__gaps=["1 h"],
        outcomes__probabilities={
            "qualified": 1.0,
            "information_gathering": 0.0,
            "postponed": 0.0,
            "no_prospect": 0.0,
            "do_not_call": 0.0,
        },
    )


def test_sdr_workload_is_hand_arithmetic() -> None:
    w = sdr_workload(workload_scenario(), target_occupancy=0.8)
    print(w.to_frame().to_string())
    # Contact per call 0.25: touches 1 + 0.75 + 0.75^2 = 2.3125 per MQL.
    assert w.attempts_per_mql == pytest.approx(2.3125)
    # A call: 0.5 x 2 min (no connect) + 0.25 x 3 (connect) + 0.25 x 10 (talk) + 5 ACW = 9.25 min.
    assert w.hours_per_attempt == pytest.approx(9.25 / 60)
    assert w.load_hours_per_week == pytest.approx(2000 * 2.3125 * 9.25 / 60)
    assert w.on_phone_hours_per_rep == pytest.approx(168.0)
    assert w.headcount_by_occupancy == pytest.approx(2000 * 2.3125 * 9.25 / 60 / (168 * 0.8))
    assert w.headcount_by_erlang_c == w.erlang_c.servers  # no shrinkage, 24/7


def test_sdr_workload_matches_the_engine_where_its_assumptions_hold() -> None:
    """With ample reps, no decay and no follow-up work, the engine's busy hours per MQL and
    dials per MQL are the analytic ones. A lead's time is within [7 min, 3 x 15 min] and its
    dials within [1, 3], so half the range bounds each standard deviation."""
    scenario = workload_scenario()
    w = sdr_workload(scenario)
    result = simfunnel.simulate(scenario, seed=11)
    n = result.totals["mqls"]
    hours = float(result.weekly["busy_hours"].sum()) / n
    dials = result.totals["dials"] / n
    print(f"{n} MQLs: {hours:.4f} h and {dials:.4f} dials per MQL; analytic")
    print(f"{w.hours_per_mql:.4f} h and {w.attempts_per_mql:.4f}")
    # Leads of the last 2 hours have not finished their cadence: at most 2 / 672 of them.
    truncation = 2 / 672
    assert abs(hours - w.hours_per_mql) <= Z * (0.75 - 7 / 60) / 2 / math.sqrt(n) + truncation
    assert abs(dials - w.attempts_per_mql) <= Z * 1.0 / math.sqrt(n) + 3 * truncation


def test_the_outbound_list_s_revenue_comes_off_the_target_first() -> None:
    """Worked back through inbound rates alone, an outbound team's target asked for inbound
    leads it never needs: the list's nominal revenue (accounts a week, reached at the outbound
    cadence's odds, qualified, accepted, won, at the mean deal) is taken off first."""
    from pathlib import Path

    from simfunnel.base.units import WEEK
    from simfunnel.decisions import outbound_revenue

    root = Path(__file__).resolve().parents[2]
    scenario = simfunnel.load_scenario(root / "scenarios" / "enterprise_outbound.yaml")
    out, r = scenario.outbound, scenario_rates(scenario)
    assert out is not None
    months = scenario.horizon / WEEK * 7 / (365.25 / 12)
    accounts = out.accounts.initial + out.accounts.added_per_month * months
    by_hand = accounts * contact_share(out.cadence) * out.outcomes.probabilities.qualified
    by_hand *= r.valid_rate * r.win_rate * r.deal_value
    assert outbound_revenue(scenario) == pytest.approx(by_hand)
    table = reverse_waterfall_for(scenario, 2 * by_hand).set_index("stage")
    assert table.loc["revenue", "needed"] == pytest.approx(by_hand)
    none = reverse_waterfall_for(scenario, by_hand / 2).set_index("stage")
    assert none.loc["revenue", "needed"] == 0
