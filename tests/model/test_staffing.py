"""Teams over time: ramp arithmetic, planned changes, attrition against its rate, leave, CRN."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from conftest import build

import simfunnel
from simfunnel.model import DAY, MONTH_DAYS, Streams, WorkCalendar, build_roster
from simfunnel.scenario import ScenarioError


def roster_of(scenario, seed: int = 0):
    return build_roster(scenario.sdr, scenario, WorkCalendar(scenario), Streams(seed), "sdr")


def hours_between(shift, a: float, b: float) -> float:
    """On-phone hours of a shift inside [a, b)."""
    starts, ends = shift._starts[:-1], shift._ends[:-1]
    return sum(max(0.0, min(e, b) - max(s, a)) for s, e in zip(starts, ends, strict=True))


def test_capacity_of_a_new_hire_follows_the_ramp_curve_month_by_month() -> None:
    """A hire's on-phone hours in tenure month m are ramp[m] times a full rep's, the same days."""
    ramp = [0.25, 0.5, 0.75]
    scenario = build(
        horizon="40 weeks",
        sdr__headcount=1,
        sdr__shrinkage=0.2,
        sdr__ramp=ramp,
        sdr__plan=[{"date": "2026-02-02", "hire": 1}],
    )
    roster = roster_of(scenario)
    full, hire = roster.shifts
    assert [s.joined for s in roster.spells] == ["start", "hire"]
    start = roster.spells[1].start
    assert start == 28 * DAY
    for month, expected in enumerate([*ramp, 1.0, 1.0]):
        a = start + month * MONTH_DAYS * DAY
        b = start + (month + 1) * MONTH_DAYS * DAY
        # Month edges fall at fractional days; whole days decide, so compare whole days only.
        a, b = math.ceil(a / DAY) * DAY, math.floor(b / DAY) * DAY
        assert hours_between(hire, a, b) == pytest.approx(expected * hours_between(full, a, b))
    assert hours_between(hire, 0, start) == 0


def test_a_full_rep_has_the_calendar_hours_less_shrinkage() -> None:
    scenario = build(horizon="4 weeks", sdr__headcount=1, sdr__shrinkage=0.25)
    roster = roster_of(scenario)
    # 20 working days of 9 h, of which 75% on the phones.
    assert roster.available_hours == pytest.approx(20 * 9 * 0.75)
    assert roster.effective.sum() == pytest.approx(20.0)


def test_plan_hires_and_planned_exits_change_the_team_on_their_dates() -> None:
    scenario = build(
        horizon="12 weeks",
        sdr__headcount=3,
        sdr__plan=[
            {"date": "2026-03-02", "leave": 2},  # the two most recent joiners: the hires
            {"date": "2026-02-02", "hire": 2},
        ],
    )
    roster = roster_of(scenario)
    day = np.arange(len(roster.employed))
    assert (roster.employed[day < 28] == 3).all()
    assert (roster.employed[(day >= 28) & (day < 56)] == 5).all()
    assert (roster.employed[day >= 56] == 3).all()
    planned = [s for s in roster.spells if s.exit == "planned"]
    assert sorted(s.slot for s in planned) == [3, 4]
    assert roster.count(joined="hire") == 2 and roster.count(joined="backfill") == 0


def test_random_exits_match_the_annual_attrition_rate() -> None:
    """Exits are Poisson with rate x exposure (rep-years employed): a 4-sigma band."""
    rate = 0.5
    scenario = build(
        horizon="104 weeks",
        sdr__headcount=400,
        sdr__attrition_per_year=rate,
        sdr__backfill_after="6 weeks",
    )
    roster = roster_of(scenario, seed=11)
    horizon = scenario.horizon
    exposure_years = sum(min(s.end, horizon) - s.start for s in roster.spells) / (365.25 * DAY)
    expected = rate * exposure_years
    exits = roster.count(exit="attrition")
    assert abs(exits - expected) <= 4 * math.sqrt(expected), (exits, expected)
    assert expected > 300  # enough exits for the check to detect a rate 20% off


def test_every_random_exit_is_backfilled_after_the_hiring_delay() -> None:
    scenario = build(
        horizon="52 weeks",
        sdr__headcount=20,
        sdr__attrition_per_year=0.8,
        sdr__backfill_after="6 weeks",
        sdr__ramp=[0.5],
    )
    roster = roster_of(scenario, seed=3)
    delay = scenario.sdr.backfill_after
    starts = {(s.slot, s.start) for s in roster.spells if s.joined == "backfill"}
    leavers = [s for s in roster.spells if s.exit == "attrition"]
    assert leavers
    for s in leavers:
        if s.end + delay < scenario.horizon:
            assert (s.slot, s.end + delay) in starts
    assert len(starts) == sum(1 for s in leavers if s.end + delay < scenario.horizon)
    # A slot never has two reps at once.
    for slot in {s.slot for s in roster.spells}:
        mine = sorted((s.start, s.end) for s in roster.spells if s.slot == slot)
        assert all(a_end <= b_start for (_, a_end), (b_start, _) in itertools.pairwise(mine))


def test_days_off_match_the_leave_allowance() -> None:
    """Each working day is a day off with p = days / working days a year: binomial, 4 sigma."""
    scenario = build(horizon="52 weeks", sdr__headcount=40, sdr__pto_days_per_year=20)
    roster = roster_of(scenario, seed=5)
    cal = WorkCalendar(scenario)
    p = 20 / (365.25 * cal.working.mean())
    n = int(cal.working.sum()) * 40
    off = n - int(roster.effective.sum())
    assert abs(off - n * p) <= 4 * math.sqrt(n * p * (1 - p)), (off, n * p)


def test_more_reps_leave_the_existing_reps_fates_unchanged() -> None:
    """Common random numbers for teams: slot i's exits do not depend on the headcount."""
    small = roster_of(build(horizon="52 weeks", sdr__headcount=5, sdr__attrition_per_year=1.0))
    large = roster_of(build(horizon="52 weeks", sdr__headcount=6, sdr__attrition_per_year=1.0))
    assert {s for s in small.spells} == {s for s in large.spells if s.slot < 5}


def test_nobody_calls_before_the_first_hire_and_leads_wait_for_them() -> None:
    """No starting team, one hire on Monday 2026-01-12: the 10:00 lead waits until 09:00 then."""
    scenario = build(sdr__headcount=0, sdr__plan=[{"date": "2026-01-12", "hire": 1}])
    result = simfunnel.simulate(scenario, seed=0, trace=True)
    events = result.events
    first = events[events.event == "attempt"].iloc[0]
    assert first.time_h == pytest.approx(7 * 24 + 9)
    assert result.staffing["sdr_hires"] == 1
    assert result.staffing["sdr_headcount_start"] == 0


def test_weekly_capacity_and_rep_table_follow_the_roster() -> None:
    scenario = build(
        horizon="10 weeks",
        sdr__headcount=2,
        sdr__ramp=[0.5],
        sdr__plan=[{"date": "2026-01-19", "hire": 1}],
    )
    result = simfunnel.simulate(scenario, seed=1)
    weekly = result.weekly
    assert list(weekly.sdr_headcount[:4]) == [2, 2, 3, 3]
    # Week 3 (from 2026-01-19): the hire is in its first (half-productive) month.
    assert weekly.sdr_effective[2] == pytest.approx(2.5)
    assert weekly.available_hours.sum() == pytest.approx(result.reps.available_hours.sum())
    assert result.reps.dials.sum() == result.totals["dials"]


@pytest.mark.parametrize(
    ("change", "fragment"),
    [
        ({"sdr__plan": [{"date": "2025-12-01", "hire": 1}]}, "sdr.plan[0].date: must fall inside"),
        ({"sdr__ramp": [0.5, 1.5]}, "sdr.ramp[1]:"),
        ({"sdr__attrition_per_year": -0.1}, "sdr.attrition_per_year:"),
        ({"sdr__plan": [{"date": "2026-02-02", "hire": -1}]}, "sdr.plan[0].hire:"),
        ({"sdr__backfill_after": "6"}, "sdr.backfill_after: a duration is a number and a unit"),
        ({"sdr__headcount": 0}, "sdr.headcount: needs at least 1 SDR"),
    ],
)
def test_bad_staffing_gives_one_line_naming_the_field(change, fragment) -> None:
    with pytest.raises(ScenarioError) as err:
        build(**change)
    assert len(err.value.problems) == 1
    assert fragment in err.value.problems[0]
