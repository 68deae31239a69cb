"""A calling team (:class:`Desk`): its reps, queues, cadence, odds, outcome paths, random streams
and counters, and the speed-to-lead curve (:class:`Decay`) its odds follow.

The SDR desk is a :class:`Desk`; the BDR desk a :class:`ProspectingDesk`, which adds what only
outbound has (the target list, research before the first touch, the daily research quota), so
both teams run one code path in the engine and no desk carries another's state as None. A desk
holds data; the engine's :mod:`~simfunnel.model.calls` work it.
"""

from __future__ import annotations

import bisect
import calendar
import datetime as dt
import math
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from heapq import heapify, heappop, heappush, heapreplace

import numpy as np
import simpy

from ..base.units import WEEK
from ..scenario import OUTCOMES, Cadence, DurationDist, Outcomes, Scenario, uniform
from .ae import Level
from .arrivals import Streams
from .records import DeskRecord
from .staffing import Roster
from .states import DAY_HOURS, DESK_COUNTERS
from .worktime import WorkCalendar

REP_COUNTERS = ("rep_dials", "rep_contacts", "rep_emails", "rep_researched", "rep_busy")

StreamFor = Callable[..., np.random.Generator]  # a desk's random stream by name
BLOCK = 4096  # draws taken from numpy at a time


def draws(
    draw: Callable[[np.random.Generator, int], np.ndarray], rng: np.random.Generator
) -> Callable[[], float]:
    """One draw per call, from vectorised blocks: numpy's per-call cost paid once per block.

    The same values in the same order as ``scenario.Pool``, at about half its cost per draw
    (a generator's ``__next__`` rather than a Python-level ``__call__``).
    """

    def blocks() -> Iterator[float]:
        while True:
            yield from draw(rng, BLOCK).tolist()

    return blocks().__next__


class Decay:
    """A speed-to-lead multiplier curve, linear in log(1 + minutes), flat outside its points."""

    __slots__ = ("_xs", "_ys")

    def __init__(self, table: dict[float, float] | None) -> None:
        table = table or {0.0: 1.0}
        self._xs = [math.log1p(t * 60.0) for t in table]
        self._ys = list(table.values())

    def __call__(self, age_hours: float) -> float:
        xs, ys = self._xs, self._ys
        x = math.log1p(age_hours * 60.0)
        i = bisect.bisect_right(xs, x)
        if i == 0:
            return ys[0]
        if i == len(xs):
            return ys[-1]
        x0, x1 = xs[i - 1], xs[i]
        return ys[i - 1] + (ys[i] - ys[i - 1]) * (x - x0) / (x1 - x0)


def period_starts(scenario: Scenario, outcomes: Outcomes) -> list[float]:
    """Budget-period starts ('MM-DD') as hours from the start, over the horizon and a year on."""
    start = scenario.start_date
    out = []
    for year in range(start.year, start.year + math.ceil(scenario.horizon / 8766) + 2):
        for text in outcomes.budget_periods:
            month, day = int(text[:2]), int(text[3:])
            if month == 2 and day == 29 and not calendar.isleap(year):
                day = 28
            out.append((dt.date(year, month, day) - start).days * 24.0)
    return sorted(t for t in out if t >= 0)


class Retries:
    """A desk's touches not yet due: ``(at, seq, lead, token)``, taken in ``(at, seq)`` order.

    The touches that follow the same cadence gap fall due in the order they were set (a gap
    is the same time of day some working days on, or some hours on), so each gap has a plain
    deque and a heap holds only the head of each: the cost of a retry does not grow with the
    number of leads in their cadence.
    """

    __slots__ = ("at", "heads", "lines")

    def __init__(self, lines: int) -> None:
        self.lines: list[deque[tuple[float, int, int, int]]] = [deque() for _ in range(lines)]
        self.heads: list[tuple[float, int, int]] = []  # (at, seq, line) of each line's first
        self.at = math.inf  # when the next touch falls due

    def __bool__(self) -> bool:
        return bool(self.heads)

    def add(self, line: int, touch: tuple[float, int, int, int]) -> None:
        """A touch due at ``touch[0]``, set after following gap ``line``."""
        queue = self.lines[line]
        if not queue:
            queue.append(touch)
            heappush(self.heads, (touch[0], touch[1], line))
            self.at = self.heads[0][0]
        elif touch > queue[-1]:
            queue.append(touch)
        else:  # out of order (not seen from a cadence, but kept right): into its place
            i = len(queue)
            while i and queue[i - 1] > touch:
                i -= 1
            queue.insert(i, touch)
            if i == 0:
                self.heads = [(q[0][0], q[0][1], k) for k, q in enumerate(self.lines) if q]
                heapify(self.heads)
                self.at = self.heads[0][0]

    def pop(self) -> tuple[float, int, int, int]:
        """The touch due first (there is one)."""
        heads = self.heads
        line = heads[0][2]
        queue = self.lines[line]
        touch = queue.popleft()
        if queue:
            first = queue[0]
            heapreplace(heads, (first[0], first[1], line))
        else:
            heappop(heads)
        self.at = heads[0][0] if heads else math.inf
        return touch


@dataclass(frozen=True)
class DeskMark:
    """A desk's per-rep and total counters at one moment: what the warm-up did, taken off at
    the end."""

    reps: dict[str, list]
    busy: float
    overtime: float


class Desk:
    """One calling team and its work: its reps, queues, cadence, odds and random streams.

    The SDR desk works inbound MQLs (it nurtures them and its untouched ones make the backlog);
    :class:`ProspectingDesk` is the BDR's. Streams are keyed by role (the SDR's by the bare names,
    for continuity), so adding a BDR team leaves every SDR draw unchanged.
    """

    nurtures = True  # outbound accounts have no score to nurture
    tracks_backlog = True  # the untouched-MQL backlog counts inbound leads

    def __init__(
        self,
        role: str,
        scenario: Scenario,
        cadence: Cadence,
        outcomes: Outcomes,
        roster: Roster,
        streams: Streams,
        *,
        decay: bool,
        queue_rule: str = "fifo",
        dials_goal: int = 0,
        n_days: int = 0,
        skill: tuple[float, ...] = (),
    ) -> None:
        self.role = role
        rng = self._stream_for(streams)
        self._cadence(cadence)
        self._streams(cadence, outcomes, rng)
        self._speed_to_lead(scenario, decay)
        self._gap_unit(scenario, cadence)
        self._outcome_paths(scenario, outcomes)
        self._queues(queue_rule)
        self.roster = roster
        self.shifts = roster.shifts
        self._counters(len(self.shifts), scenario.weeks)
        self._dials_goal(dials_goal, n_days)
        # Learning curve: a multiplier on contact and qualification odds by month of tenure.
        self.skill = list(skill)
        self.spells = roster.spells

    def _stream_for(self, streams: Streams) -> StreamFor:
        """The desk's random streams by name, under its role (the SDR's under the bare names)."""
        prefix = () if self.role == "sdr" else (self.role,)

        def rng(*name: str) -> np.random.Generator:
            return streams.rng(*prefix, *name)

        return rng

    def _cadence(self, cadence: Cadence) -> None:
        """The cadence's odds and touches: how often a call connects, when the next touch is."""
        self.connect_p = cadence.connect_probability
        self.contact_p = cadence.contact_probability
        self.gaps = [cadence.gap(a) for a in range(1, cadence.max_attempts)]
        self.touches = cadence.max_attempts
        self.email_touches = frozenset(cadence.email_touches)
        self.auto_email = not self.email_touches
        self.reply_p = cadence.email_reply_probability

    def _streams(self, cadence: Cadence, outcomes: Outcomes, rng: StreamFor) -> None:
        """One pool of draws per random step of a touch, each on its own named stream."""
        self.u_connect = draws(uniform, rng("dial", "connect"))
        self.u_contact = draws(uniform, rng("dial", "contact"))
        self.u_outcome = draws(uniform, rng("contact", "outcome"))
        self.u_reply = draws(uniform, rng("email", "reply"))
        self.d_reply = draws(cadence.email_reply_after.sample, rng("email", "delay"))
        self.u_budget = draws(uniform, rng("postponed", "budget"))
        durations = cadence.durations
        self.d_no_connect = draws(durations.no_connect.sample, rng("duration", "no_connect"))
        self.d_connect = draws(durations.connect.sample, rng("duration", "connect"))
        self.d_conversation = draws(durations.conversation.sample, rng("duration", "conversation"))
        self.d_acw = draws(durations.after_call_work.sample, rng("duration", "after_call_work"))
        self.d_email = draws(durations.email.sample, rng("duration", "email"))
        self.d_callback = draws(outcomes.callback_after.sample, rng("delay", "callback"))

    def _speed_to_lead(self, scenario: Scenario, decay: bool) -> None:
        """The speed-to-lead curves of the desk's odds (flat when it does not decay)."""
        stl = scenario.speed_to_lead
        decays = decay and stl.enabled
        self.decays = decays
        self.contact_decay = Decay(stl.contact if decays else None)
        self.qualify_decay = Decay(stl.qualify if decays else None)
        self.per_touch = stl.applies_to == "every_touch"
        self.cadence_odds = decays and not self.per_touch  # fixed at a cadence's first touch
        self.agreed = (stl.agreed_factor, stl.agreed_factor) if decays else (1.0, 1.0)

    def _gap_unit(self, scenario: Scenario, cadence: Cadence) -> None:
        """Whether cadence gaps count working days ("auto": unless the calendar never closes)."""
        cal = scenario.calendar
        unit = cadence.gap_unit
        if unit == "auto":
            unit = "calendar" if cal.always_open or len(set(cal.days)) == 7 else "working_days"
        self.working_gaps = unit == "working_days"

    def plan_gaps(self, calendar: WorkCalendar) -> None:
        """Each cadence gap as whole working days and hours left over, with the day each day's
        touch leads to (-1: past the horizon): a list look-up per retry, not a calendar walk."""
        self.gap_days: list[int] = []
        self.gap_rest: list[float] = []
        self.gap_targets: list[list[int]] = []
        for gap in self.gaps:
            days = math.floor(gap / 24.0 + 1e-9) if self.working_gaps else 0
            self.gap_days.append(max(days, 0))
            self.gap_rest.append(gap - 24.0 * days)
            self.gap_targets.append(calendar.day_after(days) if days > 0 else [])

    def _outcome_paths(self, scenario: Scenario, outcomes: Outcomes) -> None:
        """The odds of each conversation outcome (in OUTCOMES order) and when callbacks fall."""
        self.outcomes = outcomes
        self.outcome_p = [getattr(outcomes.probabilities, k) for k in OUTCOMES]
        self.outcome_beta = [getattr(outcomes.quality_effect, k) for k in OUTCOMES]
        self.budget_starts = period_starts(scenario, outcomes)

    def _queues(self, queue_rule: str) -> None:
        """The ready queue (ordered by ``queue_rule``), the retries not yet due, the idle reps.

        FIFO and new-first need no heap: leads become ready in the order they are taken, so a
        plain deque per rank keeps them in order (one for FIFO, new and retries for new-first).
        Only the score rule orders by a key of the lead's own, on a heap.
        """
        self.scored = queue_rule == "score"
        self.heap: list[
            tuple[float, float, int, int]
        ] = []  # score rule: (-score, since, seq, lead)
        # Ready leads as (since, seq, lead): new ones (and replies) first; every lead under FIFO.
        self.fresh: deque[tuple[float, int, int]] = deque()
        self.retry = self.fresh if queue_rule == "fifo" else deque()  # new-first: retries after
        # Retries not yet due, a line per cadence gap and one for a snapshot's touches.
        self.due = Retries(len(self.gaps) + 1)
        self.timer_at = math.inf  # when the wake-up timer for idle reps is set to fire
        self.idle: list[tuple[simpy.Event, int]] = []  # idle reps: (wake-up event, rep)
        # Changes to ``idle`` other than a wake-up off shift (see Queues._wake), and the order
        # in which the idle reps, all off shift, would be woken: (on again at, -index, entry).
        self.idle_changes = 0
        self.wake_plan: list[tuple[float, int, tuple[simpy.Event, int]]] = []
        self.wake_plan_changes = -1

    def ready(self) -> bool:
        """Whether a lead is ready to call."""
        return bool(self.fresh or self.retry or self.heap)

    def _counters(self, reps: int, n_weeks: int) -> None:
        """Per-rep, total and weekly counters, as plain lists while the run goes."""
        self.rep_dials = [0] * reps
        self.rep_contacts = [0] * reps
        self.rep_emails = [0] * reps
        self.rep_researched = [0] * reps
        self.rep_busy = [0.0] * reps
        self.busy = 0.0
        self.overtime = 0.0
        self.w = {name: [0] * n_weeks for name in DESK_COUNTERS}
        self.w_busy = [0.0] * n_weeks
        self.w_outcomes = [self.w[k] for k in OUTCOMES]
        self.w_dials, self.w_connects = self.w["dials"], self.w["connects"]
        self.w_contacts = self.w["contacts"]

    def _dials_goal(self, dials_goal: int, n_days: int) -> None:
        """The daily dials goal and each rep's dials per day, counted only when there is one."""
        self.dials_goal = dials_goal
        self.day_dials = [[0] * n_days for _ in self.shifts] if dials_goal else None

    def mark(self) -> DeskMark:
        """The per-rep and total counters now: what the warm-up did, to take off at the end."""
        return DeskMark(
            {name: list(getattr(self, name)) for name in REP_COUNTERS}, self.busy, self.overtime
        )

    def record(self, n_weeks: int, mark: DeskMark | None, first_day: int) -> DeskRecord:
        """The desk's figures; with a warm-up ``mark``, only what happened after it."""
        weekly = {name: np.array(v) for name, v in self.w.items()}
        weekly["busy_hours"] = np.array(self.w_busy)
        weekly["available_hours"] = self.roster.available_by_week(n_weeks)
        weekly["list_area"], list_at_end = self._target_list(n_weeks)
        reps = {name: np.array(getattr(self, name)) for name in REP_COUNTERS}
        busy, overtime = self.busy, self.overtime
        if mark is not None:
            reps = {name: values - np.array(mark.reps[name]) for name, values in reps.items()}
            busy -= mark.busy
            overtime -= mark.overtime
        return DeskRecord(
            role=self.role,
            roster=self.roster,
            busy_hours=busy,
            overtime_hours=overtime,
            available_hours=self.roster.available_hours,
            rep_dials=reps["rep_dials"].astype(np.int64),
            rep_contacts=reps["rep_contacts"].astype(np.int64),
            rep_emails=reps["rep_emails"].astype(np.int64),
            rep_researched=reps["rep_researched"].astype(np.int64),
            rep_busy=reps["rep_busy"].astype(float),
            weekly=weekly,
            list_at_end=list_at_end,
            dials_goal_met=self._dials_goal_met(first_day),
        )

    def _target_list(self, n_weeks: int) -> tuple[np.ndarray, int]:
        """Accounts on the target list, time-weighted by week, and left at the end: none here."""
        return np.zeros(n_weeks), 0

    def _dials_goal_met(self, first_day: int) -> float:
        """The share of rep-days on shift from ``first_day`` that reached the dials goal (NaN:
        no goal, or no day worked)."""
        if self.day_dials is None:
            return math.nan
        met = worked = 0
        for shift, days in zip(self.shifts, self.day_dials, strict=True):
            on = shift.days_on(len(days))[first_day:]
            counts = np.array(days[first_day:])
            worked += int(on.sum())
            met += int((counts[on] >= self.dials_goal).sum())
        return met / worked if worked else math.nan


class ProspectingDesk(Desk):
    """The BDR desk: a :class:`Desk` that also researches outbound accounts from its target
    list before their first touch, up to a daily quota per rep before it calls (and whenever it
    has nothing to call)."""

    nurtures = False
    tracks_backlog = False

    def __init__(
        self,
        role: str,
        scenario: Scenario,
        cadence: Cadence,
        outcomes: Outcomes,
        roster: Roster,
        streams: Streams,
        *,
        research: DurationDist,
        quota: int = 0,
        dials_goal: int = 0,
        n_days: int = 0,
        skill: tuple[float, ...] = (),
    ) -> None:
        super().__init__(
            role,
            scenario,
            cadence,
            outcomes,
            roster,
            streams,
            decay=False,  # an account did not ask to be called: no speed-to-lead
            dials_goal=dials_goal,
            n_days=n_days,
            skill=skill,
        )
        reps = len(self.shifts)
        self.accounts: deque[int] = deque()
        self.d_research = draws(research.sample, self._stream_for(streams)("duration", "research"))
        self.quota = quota
        self.quota_day = [-1] * reps
        self.quota_done = [0] * reps
        self.list_level = Level(scenario.weeks)  # accounts on the target list, time-weighted

    def add_account(self, lead: int, now: float) -> None:
        """An account joins the end of the target list."""
        self.accounts.append(lead)
        self.list_level.step(+1, now)

    def research_due(self, rep: int, now: float) -> bool:
        """Whether ``rep`` researches the next account on the list now (the caller checks that
        there is one): before calling until the rep's daily quota is met, else only with
        nothing ready to call."""
        if self.quota:
            day = int(now // DAY_HOURS)
            if self.quota_day[rep] != day:
                self.quota_day[rep] = day
                self.quota_done[rep] = 0
            if self.quota_done[rep] < self.quota:
                return True
        return not self.ready()

    def take_account(self, rep: int, now: float) -> tuple[int, float]:
        """The next account off the list, and its research time, counted for ``rep``."""
        lead = self.accounts.popleft()
        self.list_level.step(-1, now)
        duration = self.d_research()
        self.quota_done[rep] += 1
        self.rep_researched[rep] += 1
        self.w["researched"][int(now // WEEK)] += 1
        return lead, duration

    def close(self, horizon: float) -> None:
        """Carry the list's level to the horizon, for its time-weighted weekly area."""
        self.list_level.step(0, horizon)

    def _target_list(self, n_weeks: int) -> tuple[np.ndarray, int]:
        return np.array(self.list_level.weekly_area), len(self.accounts)
