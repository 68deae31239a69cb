"""Who is on the team, when, and how productive: the headcount plan, ramp, attrition and leave.

A team is compiled before the run into *spells*: one rep's continuous employment, from joining
(at the start, by plan or as a back-fill) to leaving (by plan, at random, or never). Each spell
becomes one rep process in the engine, with a per-day productivity factor (ramp, time off) that
shapes its on-phone hours. Random exits and days off come from streams keyed by the rep's *slot*
(the position it fills), so changing the headcount or the threshold leaves the fate of every
other slot unchanged: common random numbers, as for leads.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from ..scenario import CallingStaff, Scenario, Staffing
from .arrivals import Streams
from .worktime import Shift, WorkCalendar

DAY = 24.0
MONTH_DAYS = 365.25 / 12.0  # ramp months are calendar-average months


@dataclass(frozen=True)
class Spell:
    """One rep's employment: the slot it fills, when it starts and ends, and why it ends."""

    slot: int
    start: float  # hours from the start of the run, at a midnight
    end: float  # hours; inf when the rep is still there after the horizon
    joined: str  # "start" (the starting team), "hire" (by plan) or "backfill"
    exit: str  # "attrition", "planned" or "" (still employed)
    tenure_from: float = -math.inf  # when the rep's tenure began (-inf: long before the run)

    @property
    def ramps(self) -> bool:
        """New hires, back-fills and a newly launched team ramp up; a mature team does not."""
        return math.isfinite(self.tenure_from)

    def tenure_month(self, t: float) -> int:
        """Whole months of tenure at ``t`` (calendar-average months)."""
        return int((t - self.tenure_from) / DAY // MONTH_DAYS)


@dataclass(frozen=True)
class Roster:
    """A team compiled for the engine: spells, their shifts, and its capacity day by day."""

    spells: tuple[Spell, ...]
    shifts: tuple[Shift, ...]
    employed: np.ndarray  # reps employed, per day of the run
    effective: np.ndarray  # ramp- and leave-weighted reps, per day (0 on closed days)
    full_day_hours: float  # on-phone hours of one full rep on a full working day

    @property
    def available_hours(self) -> float:
        return float(sum(shift.hours for shift in self.shifts))

    def available_by_week(self, n_weeks: int) -> np.ndarray:
        return sum((s.hours_by_week(n_weeks) for s in self.shifts), np.zeros(n_weeks))

    def count(self, *, joined: str = "", exit: str = "") -> int:
        """Spells that joined or ended in the given way."""
        return sum(
            1
            for spell in self.spells
            if (not joined or spell.joined == joined) and (not exit or spell.exit == exit)
        )


def _day(date: dt.date, start: dt.date) -> float:
    return (date - start).days * DAY


def build_spells(
    team: Staffing, scenario: Scenario, rng_for_slot: Callable[[int], np.random.Generator]
) -> list[Spell]:
    """Employment spells of a team over the horizon, in the order reps join.

    ``rng_for_slot(slot)`` gives the slot's own generator: its random exits are drawn from it
    one spell after another, so a slot's history does not depend on any other slot.
    """
    horizon = scenario.horizon
    rate = team.attrition_per_year / (365.25 * DAY)  # exits per rep-hour
    spells: list[Spell] = []
    # Open spells: slot -> (start, how they joined, random exit time).
    active: dict[int, tuple[float, str, float]] = {}
    rngs: dict[int, np.random.Generator] = {}
    months = getattr(team, "starting_tenure_months", None)
    start_tenure = -math.inf if months is None else -months * MONTH_DAYS * DAY

    def spell(slot: int, start: float, end: float, joined: str, exit: str) -> Spell:
        return Spell(slot, start, end, joined, exit, start_tenure if joined == "start" else start)

    def random_exit(slot: int, start: float) -> float:
        if rate <= 0:
            return math.inf
        rng = rngs.setdefault(slot, rng_for_slot(slot))
        stay = rng.exponential(1.0 / rate)
        if start + stay >= horizon:
            return math.inf  # stays beyond the run (and keeps huge draws out of the arithmetic)
        # Exits happen at the start of a day: the rep works whole days.
        return start + math.ceil(stay / DAY) * DAY

    def join(slot: int, start: float, joined: str) -> None:
        active[slot] = (start, joined, random_exit(slot, start))

    next_slot = team.headcount
    for slot in range(team.headcount):
        join(slot, 0.0, "start")
    changes = sorted(
        ((_day(c.date, scenario.start_date), i, c) for i, c in enumerate(team.plan)),
        key=lambda x: (x[0], x[1]),
    )
    pending_backfills: list[tuple[float, int]] = []

    def settle_until(t: float) -> None:
        """Process random exits and back-fill starts that happen before ``t``, in time order."""
        while True:
            exit_slot = min(active, key=lambda k: active[k][2], default=None)
            exit_at = active[exit_slot][2] if exit_slot is not None else math.inf
            fill_at = min(pending_backfills)[0] if pending_backfills else math.inf
            nxt = min(exit_at, fill_at)
            if nxt >= t or nxt >= horizon:
                return
            if fill_at <= exit_at:
                at, slot = pending_backfills.pop(pending_backfills.index(min(pending_backfills)))
                join(slot, at, "backfill")
            else:
                assert exit_slot is not None  # an exit before any back-fill: someone leaves
                start, joined, _ = active.pop(exit_slot)
                spells.append(spell(exit_slot, start, exit_at, joined, "attrition"))
                pending_backfills.append((exit_at + team.backfill_after, exit_slot))

    for at, _, change in changes:
        settle_until(at)
        for _ in range(change.leave):
            if not active:
                break
            # The most recent joiner leaves (ties: the highest slot).
            slot = max(active, key=lambda k: (active[k][0], k))
            start, joined, _ = active.pop(slot)
            spells.append(spell(slot, start, at, joined, "planned"))
        for _ in range(change.hire):
            join(next_slot, at, "hire")
            next_slot += 1
    settle_until(math.inf)
    for slot, (start, joined, _) in active.items():
        spells.append(spell(slot, start, math.inf, joined, ""))
    spells.sort(key=lambda s: (s.start, s.slot))
    return spells


def day_factors(
    spell: Spell,
    team: Staffing,
    cal: WorkCalendar,
    rng_leave: Callable[[Spell], np.random.Generator],
) -> np.ndarray:
    """Productivity of one spell on each day of the run: 0 off the payroll or on leave."""
    days = np.arange(cal.n_days) * DAY
    employed = (days >= spell.start) & (days < spell.end)
    factor = employed.astype(float)
    if spell.ramps and team.ramp:
        month = ((days - spell.tenure_from) / DAY // MONTH_DAYS).astype(int)
        ramp = np.array([*team.ramp, 1.0])
        factor *= np.where(month >= 0, ramp[np.clip(month, 0, len(team.ramp))], 0.0)
    # AEs have no leave or shrinkage in the model: their capacity is open deals, not hours.
    pto = team.pto_days_per_year if isinstance(team, CallingStaff) else 0.0
    if pto > 0:
        share_working = cal.working.mean() if cal.n_days else 0.0
        working_per_year = 365.25 * share_working
        p_off = min(1.0, pto / working_per_year) if working_per_year else 0.0
        off = rng_leave(spell).random(cal.n_days) < p_off
        factor[off] = 0.0
    return factor


def build_roster(
    team: Staffing, scenario: Scenario, cal: WorkCalendar, streams: Streams, role: str
) -> Roster:
    """Compile a team: spells, each with its shift, and the team's daily capacity."""
    shrinkage = team.shrinkage if isinstance(team, CallingStaff) else 0.0
    spells = build_spells(team, scenario, lambda slot: streams.rng("staff", role, str(slot)))

    def rng_leave(spell: Spell) -> np.random.Generator:
        return streams.rng("leave", role, str(spell.slot), str(int(spell.start // DAY)))

    n_slots = max([team.headcount, *(s.slot + 1 for s in spells)]) or 1
    employed = np.zeros(cal.n_days)
    effective = np.zeros(cal.n_days)
    shifts = []
    for spell in spells:
        factor = day_factors(spell, team, cal, rng_leave)
        days = np.arange(cal.n_days) * DAY
        employed += (days >= spell.start) & (days < spell.end)
        effective += factor * cal.working
        shifts.append(Shift(cal.shift_segments(shrinkage, spell.slot, n_slots, factor)))
    open_hours = cal.close - cal.open
    full_day = float(open_hours[0]) * (1.0 - shrinkage) if cal.n_days else 0.0
    return Roster(tuple(spells), tuple(shifts), employed, effective, full_day)
