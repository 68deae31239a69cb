"""Toss-up criteria beside the MQL threshold, and AE outcomes that feed nurture.

A stricter toss-up holds back qualified leads that meet too few criteria: fewer, better SQLs.
How many are held back follows from the criteria's logistic rates at each lead's quality (a
Poisson-binomial count), checked at a tolerance from the sample size.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from conftest import build

import simfunnel
from simfunnel.model import logistic, logit
from simfunnel.scenario import DEFAULT_BANT

OUTCOMES = {
    "qualified": 1.0,
    "information_gathering": 0.0,
    "postponed": 0.0,
    "no_prospect": 0.0,
    "do_not_call": 0.0,
}


def _busy(require: int, **changes: object) -> simfunnel.SimulationResult:
    """Many leads, each with one conversation that qualifies it; ample SDRs and AEs."""
    scenario = build(
        horizon="12 weeks",
        sources__0__rate_per_week=300,
        sources__0__bursts=[],
        sources__0__quality={"mean": 0, "sd": 1},
        sdr__headcount=6,
        outcomes__probabilities=OUTCOMES,
        outcomes__follow_ups=[],
        ae__acceptance={"probability": 0.5, "quality_effect": 1.0},
        ae__sales_cycle="2 days",
        toss_up={"require": require},
        **changes,
    )
    return simfunnel.simulate(scenario, seed=11)


def _p_fewer_than(require: int, quality: float) -> float:
    """P(fewer than ``require`` of the default BANT criteria are met), at ``quality``."""
    probs = [
        logistic(logit(c["probability"]) + c["quality_effect"] * quality)
        for c in DEFAULT_BANT.values()
    ]
    dist = np.array([1.0])
    for p in probs:
        dist = np.convolve(dist, [1 - p, p])
    return float(dist[:require].sum())


@pytest.fixture(scope="module")
def runs() -> dict[int, simfunnel.SimulationResult]:
    return {r: _busy(r) for r in (0, 3)}


def test_held_back_leads_are_the_qualified_ones_that_miss_the_criteria(runs) -> None:
    loose, strict = runs[0], runs[3]
    # Same leads, same conversations: every SQL of the loose rule is an SQL or held back.
    assert loose.totals["held_back"] == 0
    assert strict.totals["sqls"] + strict.totals["held_back"] == loose.totals["sqls"]
    # How many are held back: the Poisson-binomial chance at each qualified lead's quality.
    leads = loose.leads
    quality = loose.data.leads.quality[leads["tossed_up"].notna().to_numpy()]
    p = np.array([_p_fewer_than(3, q) for q in quality])
    expected, sd = p.sum(), math.sqrt((p * (1 - p)).sum())
    z = (strict.totals["held_back"] - expected) / sd
    print(
        f"\nheld back {strict.totals['held_back']} of {len(p)}, expected {expected:.1f} (z {z:.2f})"
    )
    assert abs(z) < 4


def test_a_stricter_toss_up_sends_fewer_better_sqls(runs) -> None:
    loose, strict = runs[0], runs[3]

    def accepted(result: simfunnel.SimulationResult) -> tuple[int, int]:
        return result.totals["valid_opportunities"], result.ae["ae_meetings"]

    (v0, n0), (v3, n3) = accepted(loose), accepted(strict)
    pooled = (v0 + v3) / (n0 + n3)
    z = (v3 / n3 - v0 / n0) / math.sqrt(pooled * (1 - pooled) * (1 / n0 + 1 / n3))
    print(f"\nacceptance: require 0 {v0}/{n0} = {v0 / n0:.3f}, require 3 {v3}/{n3} = {v3 / n3:.3f}")
    assert n3 < n0 and z > 4
    # Fewer meetings: less AE time on rejected leads.
    hours = loose.scenario.ae.meeting_hours
    assert strict.ae["ae_meeting_hours"] == n3 * hours < loose.ae["ae_meeting_hours"]
    rejected0, rejected3 = n0 - v0, n3 - v3
    assert rejected3 < rejected0


NURTURE = {
    "engagement_every": "2 days",
    "score_jump": 15,
    "decay_per_week": 0,
    "cool_down": "1 day",
    "age_out": "52 weeks",
}


def _returns(**changes: object) -> simfunnel.SimulationResult:
    scenario = build(
        horizon="20 weeks",
        sources__0__rate_per_week=40,
        sources__0__bursts=[],
        sources__0__score={"mean": 80, "sd": 0},
        outcomes__probabilities=OUTCOMES,
        ae__acceptance={"probability": 0.3},
        ae__win={"probability": 0.3},
        ae__sales_cycle="10 days",
        ae__lost_reasons={"timing": 0.5, "price": 0.5},
        nurture=NURTURE,
        **changes,
    )
    return simfunnel.simulate(scenario, seed=5, trace=True)


def test_rejected_and_timing_losses_go_back_to_nurture_and_come_back_as_re_mqls() -> None:
    result = _returns()
    ev = result.events
    back = set(ev.loc[ev["event"] == "re_mql", "lead"])
    rejected = set(ev.loc[ev["event"] == "rejected", "lead"])
    lost = ev[ev["event"] == "lost"]
    timing, price = (set(lost.loc[lost["detail"] == r, "lead"]) for r in ("timing", "price"))
    assert back & rejected and back & timing
    assert not back & (price - rejected - timing)  # a loss on price is closed for good
    assert sum(result.end_states.values()) == len(result.leads)
    # A lead that came back and was tossed up again met its AE again.
    again = ev[ev["event"].isin(["accepted", "rejected"])].groupby("lead").size()
    assert (again > 1).any()
    # Each lead counts by its latest fate: lost, unless it was accepted again when it came back
    # (then open, won or lost anew).
    closes = ev[ev["event"].isin(["accepted", "won", "lost"])].groupby("lead")["event"].last()
    assert result.totals["lost"] == (closes == "lost").sum()
    assert result.totals["won"] == (closes == "won").sum()
    assert (closes == "won").sum() > len(
        set(ev.loc[ev["event"] == "won", "lead"]) - set(lost["lead"])
    )
    assert sum(result.lost_reasons.values()) == result.totals["lost"]


def test_without_the_return_paths_no_rejected_or_lost_lead_comes_back() -> None:
    result = _returns(ae__rejected_to_nurture=False, ae__nurture_reasons=[])
    ev = result.events
    back = set(ev.loc[ev["event"] == "re_mql", "lead"])
    closed = set(ev.loc[ev["event"].isin(["rejected", "lost"]), "lead"])
    assert not back & closed
