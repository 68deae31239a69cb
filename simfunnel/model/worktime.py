"""Working time: when the calendar is open, and when each rep is on the phones.

The calendar is compiled once into absolute hours on the simulation clock, so the engine's
question "when can this rep next work?" is a pointer step through a precomputed list rather than
date arithmetic per event.
"""

from __future__ import annotations

import bisect
import datetime as dt
import math

import numpy as np

from ..base.units import WEEK
from ..scenario import WEEKDAYS, Scenario


class WorkCalendar:
    """Opening hours of every day of the horizon, in hours from the start of the run."""

    def __init__(self, scenario: Scenario) -> None:
        cal = scenario.calendar
        self.horizon = scenario.horizon
        self.n_days = math.ceil(scenario.horizon / 24.0)
        open_h, close_h = cal.open_close
        days = [scenario.start_date + dt.timedelta(days=d) for d in range(self.n_days)]
        if cal.always_open:
            working = np.ones(self.n_days, dtype=bool)
        else:
            wanted = {WEEKDAYS.index(d) for d in cal.days}
            holidays = set(cal.holidays)
            working = np.array([d.weekday() in wanted and d not in holidays for d in days])
        self.dates = days
        self.working = working
        base = np.arange(self.n_days) * 24.0
        self.open = base + open_h
        self.close = base + close_h
        self._worked = np.cumsum(working).tolist()  # working days up to and including each day
        self._after: dict[tuple[int, int], int] = {}  # (day, working days) -> the day reached

    def after_working_days(self, t: float, gap: float) -> float:
        """``t`` plus ``gap`` hours, its whole days counted in working days: the same time of day
        on the n-th working day after t's day, plus the hours left over (inf past the horizon).

        Cadences are written in business days ("day 0, 1, 3, 5"); on a Mon-Fri calendar
        counting calendar days would drift the attempts onto the days after weekends.
        """
        days = math.floor(gap / 24.0 + 1e-9)
        rest = gap - 24.0 * days
        if days <= 0:
            return t + gap
        day = int(t // 24.0)
        target = self._after.get((day, days))
        if target is None:
            worked = self._worked
            target = bisect.bisect_left(worked, worked[min(day, len(worked) - 1)] + days)
            self._after[(day, days)] = target
        if target >= len(self._worked):
            return math.inf
        return target * 24.0 + (t - day * 24.0) + rest

    def day_after(self, days: int) -> list[int]:
        """For each day of the horizon, the day ``days`` working days on, as
        :meth:`after_working_days` finds it (-1: past the horizon)."""
        worked = np.asarray(self._worked)
        target = np.searchsorted(worked, worked + days, side="left")
        return np.where(target >= len(worked), -1, target).tolist()

    def open_fraction_by_hour(self) -> np.ndarray:
        """Share of each clock hour of the horizon that falls in working time."""
        n_hours = self.n_days * 24
        hours = np.arange(n_hours, dtype=float)
        day = (hours // 24).astype(int)
        overlap = np.minimum(hours + 1, self.close[day]) - np.maximum(hours, self.open[day])
        return np.where(self.working[day], np.clip(overlap, 0.0, 1.0), 0.0)

    def shift_segments(
        self, shrinkage: float, rep: int, team: int, factor: np.ndarray | None = None
    ) -> list[tuple[float, float]]:
        """On-phone intervals of one rep: working hours minus a daily block off the phones.

        The block is the shrinkage share of the day, grown on days when the rep works at only
        ``factor[day]`` of full productivity (ramping: the rest is training; 0: not employed
        or on leave). The blocks are staggered across the team (rep i at the (i + 0.5) / n
        point of the day), so the team's capacity stays smooth instead of everyone leaving at
        once.
        """
        segments: list[tuple[float, float]] = []
        for d in np.flatnonzero(self.working):
            share = 1.0 if factor is None else float(factor[d])
            if share <= 0.0:
                continue
            o, c = float(self.open[d]), float(self.close[d])
            block = (1.0 - (1.0 - shrinkage) * share) * (c - o)
            start = o + (rep % team + 0.5) / team * (c - o - block)
            for a, b in ((o, start), (start + block, c)):
                b = min(b, self.horizon)
                if b > a:
                    if segments and segments[-1][1] == a:
                        segments[-1] = (segments[-1][0], b)  # 24/7: days join up
                    else:
                        segments.append((a, b))
        return segments


class Shift:
    """A rep's on-phone intervals, walked forward as the rep's clock only moves forward."""

    __slots__ = ("_ends", "_k", "_starts")

    def __init__(self, segments: list[tuple[float, float]]) -> None:
        self._starts = [a for a, _ in segments] + [math.inf]
        self._ends = [b for _, b in segments] + [math.inf]
        self._k = 0

    def next_on(self, t: float) -> float:
        """The earliest time >= t at which the rep is on the phones (inf if never again)."""
        k = self._k
        ends = self._ends
        while ends[k] <= t:
            k += 1
        self._k = k
        start = self._starts[k]
        return t if start <= t else start

    def hours_by_week(self, n_weeks: int) -> np.ndarray:
        """On-phone hours falling in each week of the run."""
        out = np.zeros(n_weeks)
        for a, b in zip(self._starts[:-1], self._ends[:-1], strict=True):
            while a < b:
                week = int(a // WEEK)
                end = min(b, (week + 1) * WEEK)
                out[min(week, n_weeks - 1)] += end - a
                a = end
        return out

    def after(self, offset: float) -> Shift:
        """The same shift seen from ``offset`` on, on a clock that starts there."""
        segments = [
            (max(a, offset) - offset, b - offset)
            for a, b in zip(self._starts[:-1], self._ends[:-1], strict=True)
            if b > offset
        ]
        return Shift(segments)

    def segment_end(self) -> float:
        """End of the on-phone interval found by the last :meth:`next_on` (inf past the last)."""
        return self._ends[self._k]

    def off_time(self, a: float, b: float) -> float:
        """Hours of [a, b] that fall outside the on-phone intervals, from the current one on."""
        on = 0.0
        k = self._k
        while self._starts[k] < b:
            on += max(0.0, min(b, self._ends[k]) - max(a, self._starts[k]))
            k += 1
        return (b - a) - on

    def days_on(self, n_days: int) -> np.ndarray:
        """Which days of the run the rep is on the phones at all."""
        on = np.zeros(n_days, dtype=bool)
        for a, b in zip(self._starts[:-1], self._ends[:-1], strict=True):
            on[int(a // 24.0) : min(n_days, math.ceil(b / 24.0))] = True
        return on

    @property
    def hours(self) -> float:
        return float(sum(b - a for a, b in zip(self._starts[:-1], self._ends[:-1], strict=True)))
