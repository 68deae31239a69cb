"""A launch-phase team: reps who learn with tenure, and the activity goal they are judged on."""

from __future__ import annotations

import math
from collections import Counter

import numpy as np
import pytest
from conftest import build

import simfunnel
from simfunnel.model import MONTH_DAYS

DAY = 24.0
CONTACT = 0.6
SKILL = [0.5, 0.75]


@pytest.fixture(scope="module")
def launched() -> simfunnel.SimulationResult:
    """One SDR launched on the first day, with a learning curve and no speed-to-lead decay."""
    scenario = build(
        horizon="16 weeks",
        sources__0__rate_per_week=60,
        sources__0__bursts=[],
        cadence__contact_probability=CONTACT,
        sdr__skill_ramp=SKILL,
        sdr__starting_tenure_months=0,
    )
    return simfunnel.simulate(scenario, seed=7)


def test_contact_odds_follow_the_learning_curve_month_by_month(launched) -> None:
    weekly = launched.weekly
    day = weekly["week"] * 7
    for month, factor in enumerate([*SKILL, 1.0]):
        start = month * MONTH_DAYS
        end = (month + 1) * MONTH_DAYS if month < len(SKILL) else math.inf
        inside = (day >= start) & (day + 7 <= end)  # weeks wholly inside the month
        connects = int(weekly.loc[inside, "connects"].sum())
        contacts = int(weekly.loc[inside, "contacts"].sum())
        p = CONTACT * factor
        z = (contacts - connects * p) / math.sqrt(connects * p * (1 - p))
        print(f"month {month}: {contacts}/{connects} contacts, expected {p:.3f} (z {z:.2f})")
        assert connects > 100 and abs(z) < 4


def test_a_mature_team_has_no_learning_curve() -> None:
    scenario = build(
        horizon="6 weeks",
        sources__0__rate_per_week=60,
        sources__0__bursts=[],
        cadence__contact_probability=CONTACT,
        sdr__skill_ramp=SKILL,  # applies to hires only: the starting team is experienced
    )
    t = simfunnel.simulate(scenario, seed=7).totals
    z = (t["contacts"] - t["connects"] * CONTACT) / math.sqrt(
        t["connects"] * CONTACT * (1 - CONTACT)
    )
    assert abs(z) < 4


def test_a_launched_team_ramps_its_hours_from_the_first_day() -> None:
    scenario = build(sdr__ramp=[0.5], sdr__starting_tenure_months=0, horizon="12 weeks")
    roster = simfunnel.simulate(scenario, seed=1).data.sdr.roster
    working = np.flatnonzero(roster.effective > 0)
    first_month = working[working < MONTH_DAYS]
    later = working[working >= MONTH_DAYS + 1]
    assert roster.effective[first_month] == pytest.approx(0.5)
    assert roster.effective[later] == pytest.approx(1.0)


def test_sdr_dials_goal_attainment_is_the_share_of_sdr_days_that_reached_it() -> None:
    scenario = build(
        horizon="2 weeks",
        sources__0__rate_per_week=40,
        sources__0__bursts=[],
        cadence__connect_probability=0,
        sdr__goals={"dials_per_day": 8},
    )
    result = simfunnel.simulate(scenario, seed=4, trace=True)
    per_day = Counter(int(t // DAY) for t, event, *_ in result.data.trace if event == "attempt")
    working_days = [d for d in range(14) if d % 7 < 5]
    met = sum(per_day[d] >= 8 for d in working_days)
    assert 0 < met < len(working_days)
    assert result.teams["sdr_dials_goal_met"] == pytest.approx(met / len(working_days))
    without = simfunnel.simulate(build(), seed=4)
    assert math.isnan(without.teams["sdr_dials_goal_met"])
