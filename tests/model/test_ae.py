"""AE capacity: the limit holds at every instant, leads wait first come first served, waiting
lowers acceptance, departing AEs hand their deals over, and lost reasons are recorded."""

from __future__ import annotations

import math

import numpy as np
import pytest
from conftest import build
from scipy import stats

import simfunnel

DAY = 24.0


def busy_funnel(**changes):
    """Many SQLs (every contact qualifies) against a small AE team with long cycles."""
    base = {
        "horizon": "26 weeks",
        "sources__0__rate_per_week": 60,
        "sources__0__bursts": [],
        "sdr__headcount": 3,
        "cadence__connect_probability": 0.8,
    }
    return build(**{**base, **changes})


def replay_room(result) -> dict[int, int]:
    """Replay assignments and releases; assert every AE stays within its limit throughout."""
    held: dict[int, int] = {}
    peak: dict[int, int] = {}
    for _t, event, _lead, ae, detail in result.data.trace:
        if event == "ae_assign":
            held[ae] = held.get(ae, 0) + 1
            open_now, limit = detail
            assert held[ae] == open_now <= limit
            peak[ae] = max(peak.get(ae, 0), held[ae])
        elif event == "ae_release":
            held[ae] -= 1
            assert held[ae] == detail[0] >= 0
        elif event == "ae_handover":
            held[ae] -= 1
    return peak


def test_the_limit_per_ae_is_never_exceeded() -> None:
    scenario = busy_funnel(
        ae__team={"headcount": 2, "max_open_per_ae": 5},
        ae__sales_cycle="60 days",
    )
    result = simfunnel.simulate(scenario, seed=2, trace=True)
    peak = replay_room(result)
    assert peak == {0: 5, 1: 5}  # saturated: both AEs reached their limit
    assert result.ae["ae_queue_at_end"] > 0  # and leads were left waiting
    assert result.ae["ae_occupancy"] > 0.9


def test_waiting_leads_are_served_first_come_first_served() -> None:
    result = simfunnel.simulate(
        busy_funnel(ae__team={"headcount": 1, "max_open_per_ae": 3}, ae__sales_cycle="20 days"),
        seed=4,
        trace=True,
    )
    leads = result.leads.dropna(subset=["assigned_to_ae"])
    assert leads["hours_waiting_for_ae"].max() > 0
    order_tossed = leads.sort_values(["tossed_up", "lead_id"]).lead_id.tolist()
    order_assigned = leads.sort_values(["assigned_to_ae", "tossed_up", "lead_id"]).lead_id.tolist()
    assert order_tossed == order_assigned


def test_unlimited_aes_never_make_leads_wait() -> None:
    result = simfunnel.simulate(busy_funnel(), seed=1)
    assert result.ae["ae_mean_wait_h"] == 0
    assert math.isnan(result.ae["ae_occupancy"])


def test_exact_log_second_lead_waits_for_the_first_to_close() -> None:
    """One AE with room for one: lead B (qualified the next day) waits for A's close."""
    scenario = build(
        sources__0__bursts=[
            {"start": "2026-01-05 10:00", "leads": 1, "over": "0 h"},
            {"start": "2026-01-06 10:00", "leads": 1, "over": "0 h"},
        ],
        ae__team={"headcount": 1, "max_open_per_ae": 1},
        ae__wait_effect=0,
    )
    result = simfunnel.simulate(scenario, seed=0, trace=True)
    end_a = 10 + 15 / 60
    end_b = DAY + end_a
    a_closes = end_a + 32 * DAY
    ae_events = [
        (round(t, 6), event, lead)
        for t, event, lead, _ae, _ in result.data.trace
        if event.startswith("ae_") or event in {"accepted", "won"}
    ]
    assert ae_events == [
        (end_a, "ae_assign", 0),
        (end_a + 2 * DAY, "accepted", 0),
        (round(a_closes, 6), "won", 0),
        (round(a_closes, 6), "ae_release", 0),
        (round(a_closes, 6), "ae_assign", 1),  # B waited from its toss-up to A's close
        (round(a_closes + 2 * DAY, 6), "accepted", 1),
    ]
    b = result.leads.iloc[1]
    assert b["hours_waiting_for_ae"] == pytest.approx(a_closes - end_b)


def test_waiting_lowers_acceptance_by_the_configured_log_odds() -> None:
    """Acceptance is logistic(logit(p) + wait_effect * weeks waited): checked by binomial counts."""
    p0, effect = 0.8, -0.5
    scenario = busy_funnel(
        ae__team={"headcount": 1, "max_open_per_ae": 4},
        ae__acceptance={"probability": p0},
        ae__sales_cycle="10 days",
        ae__wait_effect=effect,
        horizon="52 weeks",
    )
    result = simfunnel.simulate(scenario, seed=8)
    leads = result.leads
    met = leads[leads.end_state.isin(["rejected", "open_opportunity", "won", "lost"])]
    weeks = met["hours_waiting_for_ae"].to_numpy() / 168
    logit = math.log(p0 / (1 - p0)) + effect * weeks
    expected_p = 1 / (1 + np.exp(-logit))
    accepted = met["valid_opportunity"].notna().to_numpy()
    assert weeks.max() > 2  # waits long enough to matter
    n, k = len(expected_p), accepted.sum()
    mean, var = expected_p.sum(), (expected_p * (1 - expected_p)).sum()
    assert abs(k - mean) <= 4 * math.sqrt(var), (k, mean)
    # and far from what no wait effect would give
    assert abs(k - n * p0) > 4 * math.sqrt(n * p0 * (1 - p0))


def test_a_departing_ae_hands_over_deals_which_resume_with_their_clock_paused() -> None:
    """AE 1 leaves on 2026-02-02: its opportunities pass to AE 0 and none is lost from view."""
    scenario = busy_funnel(
        ae__team={
            "headcount": 2,
            "max_open_per_ae": 30,
            "plan": [{"date": "2026-02-02", "leave": 1}],
        },
        ae__sales_cycle="30 days",
    )
    result = simfunnel.simulate(scenario, seed=3, trace=True)
    replay_room(result)
    events = result.events
    handed = events[events.event == "ae_handover"]
    assert len(handed) > 0
    assert (handed.time_h == 4 * 7 * DAY).all()
    later = events[(events.time_h > 4 * 7 * DAY) & (events.event == "ae_assign")]
    assert set(later.rep) == {0}
    assert set(handed.lead) <= set(later.lead)
    states = result.end_states
    assert sum(states.values()) == result.totals["leads"]


def test_lost_reasons_follow_their_shares() -> None:
    shares = {"no_decision": 0.5, "competitor": 0.3, "price": 0.2}
    scenario = busy_funnel(
        ae__lost_reasons=shares,
        ae__win={"probability": 0.2},
        ae__sales_cycle="5 days",
        horizon="52 weeks",
    )
    result = simfunnel.simulate(scenario, seed=6)
    counts = result.lost_reasons
    lost = result.totals["lost"]
    assert sum(counts.values()) == lost > 300
    observed = [counts[k] for k in shares]
    expected = [lost * v for v in shares.values()]
    assert stats.chisquare(observed, expected).pvalue > 1e-4


@pytest.mark.parametrize(
    ("change", "fragment"),
    [
        ({"ae__team": {"headcount": 2}}, "ae.team.max_open_per_ae: required field is missing"),
        (
            {"ae__team": {"headcount": 0, "max_open_per_ae": 3}},
            "ae.team.headcount: needs at least 1 AE",
        ),
        ({"ae__team": {"headcount": 1, "max_open_per_ae": 0}}, "ae.team.max_open_per_ae:"),
        ({"ae__wait_effect": 0.5}, "ae.wait_effect:"),
        (
            {"ae__team": {"headcount": 1, "max_open_per_ae": 3, "shrinkage": 0.2}},
            "ae.team.shrinkage: unknown key",
        ),
        ({"ae__lost_reasons": {"price": 0.5}}, "ae.lost_reasons: shares must sum to 1"),
        (
            {"ae__team": {"headcount": 1, "max_open_per_ae": 3, "plan": [{"date": "2030-01-01"}]}},
            "ae.team.plan[0].date: must fall inside",
        ),
    ],
)
def test_bad_ae_section_gives_one_line(change, fragment) -> None:
    with pytest.raises(simfunnel.ScenarioError) as err:
        build(**change)
    assert len(err.value.problems) == 1, err.value.problems
    assert fragment in err.value.problems[0]


def test_per_ae_table_adds_up_to_the_totals() -> None:
    scenario = busy_funnel(
        ae__team={"headcount": 3, "max_open_per_ae": 4, "attrition_per_year": 2.0},
        ae__sales_cycle="20 days",
        horizon="40 weeks",
    )
    result = simfunnel.simulate(scenario, seed=9)
    aes = result.reps[result.reps.role == "ae"]
    assert len(aes) >= 3
    assert aes.deals_won.sum() == result.totals["won"]
    assert aes.deals_lost.sum() == result.totals["lost"]
    assert aes.deals_accepted.sum() == result.totals["valid_opportunities"]
    assert aes.won_value.sum() == pytest.approx(result.totals["won_value"])
    weekly = result.weekly
    assert (weekly.ae_occupancy.dropna() <= 1 + 1e-9).all()
    assert weekly.ae_headcount.max() <= 3
    funnel = result.funnel_by_source
    assert funnel.won.sum() == result.totals["won"]
    assert funnel.leads.sum() == result.totals["leads"]
