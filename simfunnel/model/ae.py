"""The AE stage: tossed-up leads wait for an AE with room, meet, are accepted or not, and close.

Each AE carries at most ``max_open_per_ae`` opportunities (its ramp share of it while new), from
the moment a lead is assigned to the close; leads beyond that wait first come first served, and
waiting lowers the chance the AE accepts them. When an AE leaves, their open opportunities go to
the front of the queue and resume, clock paused, with whoever takes them. Without an AE team the
same code runs with one AE of unlimited room, so there is one path for every scenario.

Per-lead fates (accept, win, reason, meeting delay, cycle, value) were drawn with the lead, so
capacity changes when things happen, never what a given lead would do.
"""

from __future__ import annotations

import math
from array import array
from collections import deque
from collections.abc import Callable, MutableSequence
from typing import Any, cast

import numpy as np
import simpy

from ..base.units import WEEK
from ..scenario import Scenario
from .arrivals import Leads
from .staffing import DAY, MONTH_DAYS, Roster, Spell
from .states import LOST, OPEN_OPP, REJECTED, WON

UNLIMITED = 1 << 62  # the room of the one AE that stands for an unmodelled AE team

MEETING, CLOSE = 0, 1

# Sets a call ``delay`` hours ahead: ``later(delay, call, value)`` calls ``call(value)`` then
# (the engine's agenda, so that these timers stay off simpy's queue).
Later = Callable[[float, Callable[[Any], None], Any], None]


def logit(p: float) -> float:
    if p <= 0.0:
        return -math.inf
    if p >= 1.0:
        return math.inf
    return math.log(p / (1.0 - p))


def logistic(x: float) -> float:
    if x >= 0:
        return 1.0 / (1.0 + math.exp(-x))
    z = math.exp(x)
    return z / (1.0 + z)


def win_probability(win: Any, quality: np.ndarray) -> np.ndarray:
    """Each opportunity's chance to close won, from its lead's quality: the rule
    :class:`AEStage` closes deals by (``win``: the scenario's ``ae.win``). Why here: the value of
    the open pipeline at the horizon is these chances times the deal values, and must use the
    same rule as the deals that did close."""
    x = logit(float(win.probability)) + float(win.quality_effect) * np.asarray(quality, float)
    with np.errstate(over="ignore"):
        return np.asarray(1.0 / (1.0 + np.exp(-x)), dtype=float)


class Level:
    """A quantity that steps up and down, integrated over time in total and week by week."""

    __slots__ = ("area", "n_weeks", "t", "value", "weekly_area")

    def __init__(self, n_weeks: int) -> None:
        self.value: float = 0
        self.t = 0.0
        self.area = 0.0
        self.n_weeks = n_weeks
        self.weekly_area = [0.0] * n_weeks

    def step(self, delta: float, now: float) -> None:
        t = self.t
        while t < now:
            week = int(t // WEEK)
            end = min((week + 1) * WEEK, now)
            area = self.value * (end - t)
            self.weekly_area[min(week, self.n_weeks - 1)] += area
            self.area += area
            t = end
        self.t = now
        self.value += delta


class AEStage:
    """Assignment, meetings and closes of tossed-up leads; mutates the engine's lead states."""

    def __init__(
        self,
        env: simpy.Environment,
        scenario: Scenario,
        leads: Leads,
        state: MutableSequence[int],
        roster: Roster | None,
        trace: list[tuple] | None,
        later: Later,
        on_return: Callable[[int, float], None] | None = None,
        again: np.random.Generator | None = None,
    ) -> None:
        self.env = env
        self.later = later
        self._returns(scenario, on_return, again)
        self.horizon = scenario.horizon
        self.trace = trace
        self.state = state
        team = scenario.ae.team  # None: AE capacity is not modelled (one AE of unlimited room)
        self.ramp: tuple[float, ...] = team.ramp if team is not None else ()
        self.max_open = team.max_open_per_ae if team is not None else UNLIMITED
        self._fates(leads, scenario)
        self.n_leads = len(leads)
        self._records()
        n_weeks = scenario.weeks
        self.queue_level = Level(n_weeks)
        self.open_level = Level(n_weeks)
        self.capacity_level = Level(n_weeks)
        self._team(roster)

    def _returns(
        self,
        scenario: Scenario,
        on_return: Callable[[int, float], None] | None,
        again: np.random.Generator | None,
    ) -> None:
        """Which AE outcomes send a lead back, and the draws of a lead tossed up again."""
        # Leads rejected, or lost for a reason that keeps them open, go back to nurture through
        # ``on_return``; a lead tossed up again meets its AE with fresh draws from ``again``.
        self.on_return = on_return
        self.return_rejected = on_return is not None and scenario.ae.rejected_to_nurture
        self.return_reasons = (
            frozenset(
                i
                for i, r in enumerate(scenario.ae.lost_reasons)
                if r in scenario.ae.reasons_to_nurture
            )
            if on_return is not None
            else frozenset()
        )
        self.again = again
        self.fresh: dict[int, tuple[float, float, float]] = {}  # second toss-ups: new draws

    def _fates(self, leads: Leads, scenario: Scenario) -> None:
        """Each lead's fate with an AE, and the odds that turn it into accept, win and reason."""
        ae = scenario.ae
        # Per-lead fates stay in numpy: they are read only for the few leads tossed up.
        self.meeting_delay = leads.meeting_delay
        self.sales_cycle = leads.sales_cycle
        self.u_accept = leads.u_accept
        self.u_win = leads.u_win
        self.u_reason = leads.u_reason
        self.quality = leads.quality
        self.value = leads.value
        self.accept_base = logit(ae.acceptance.probability)
        self.accept_q = ae.acceptance.quality_effect
        self.win_base = logit(ae.win.probability)
        self.win_q = ae.win.quality_effect
        self.wait_effect = ae.wait_effect
        self.reasons = list(ae.lost_reasons)
        self.reason_cum = np.cumsum(list(ae.lost_reasons.values())).tolist()

    def _records(self) -> None:
        """Per-lead records of the AE stage, and its queue.

        Arrays over all leads, in the types the results hold (NaN or -1: none), though only the
        leads tossed up use them: as dictionaries they held a few hundred thousand entries each
        at 2M leads, every look-up missed the cache, and they grew by rehashing as they filled.
        """
        n = self.n_leads
        nans = array("d", [math.nan]) * n
        self.assigned_at = array("d", nans)  # first assignment to an AE
        self.waited = array("d", [0.0]) * n
        self.queued_since = array("d", nans)
        self.valid_at = array("d", nans)
        self.closed_at = array("d", nans)
        self.due = nans  # when the pending meeting or close falls
        self.ae_of = array("i", [-1]) * n
        self.lost_reason = array("h", [-1]) * n
        # Bumped to void a pending meeting or close; -1: never tossed up.
        self.token = array("i", [-1]) * n
        self.phase = bytearray(n)  # MEETING or CLOSE
        self.remaining: dict[int, float] = {}  # time left in a phase when a deal changed hands
        self.queue: deque[int] = deque()

    def _team(self, roster: Roster | None) -> None:
        """The AEs, their room and what each did; one AE of unlimited room without a team."""
        if roster is None:
            self.n_ae = 1
            self.spells: tuple[Spell, ...] = ()
        else:
            self.n_ae = len(roster.spells)
            self.spells = roster.spells
        self.open = [0] * self.n_ae
        # What each AE did: deals taken (a hand-over counts for both), accepted, won, lost.
        self.count = {k: [0] * self.n_ae for k in ("taken", "accepted", "rejected", "won", "lost")}
        self.won_value = [0.0] * self.n_ae
        self.members: list[set[int]] = [set() for _ in range(self.n_ae)]
        self.limits = [0] * self.n_ae
        self.unlimited = roster is None
        if self.unlimited:
            self.limits[0] = UNLIMITED
        else:
            self._schedule_capacity_changes()

    # ------------------------------------------------------------------ capacity

    def _limit_at(self, ae: int, now: float) -> int:
        """How many opportunities AE ``ae`` may hold at ``now`` (its ramp share while new)."""
        spell = self.spells[ae]
        if not spell.start <= now < spell.end:
            return 0
        share = 1.0
        if spell.ramps and self.ramp:
            month = spell.tenure_month(now)
            if month < len(self.ramp):
                share = self.ramp[month]
        return max(1, math.floor(self.max_open * share + 1e-9))

    def _schedule_capacity_changes(self) -> None:
        """A timer at every join, ramp step and exit: the moments an AE's room changes."""
        for ae, spell in enumerate(self.spells):
            times = [spell.start]
            if spell.ramps:
                times += [
                    spell.tenure_from + (m + 1) * MONTH_DAYS * DAY for m in range(len(self.ramp))
                ]
            for t in times:
                if spell.start <= t < min(spell.end, self.horizon):
                    self.later(t - self.env.now, self._on_capacity, ae)
            if spell.end < self.horizon:
                self.later(spell.end - self.env.now, self._on_exit, ae)

    def _on_capacity(self, ae: int) -> None:
        """An AE joins or ramps up: their room changes, and waiting leads may be assigned."""
        now = self.env.now
        new = self._limit_at(ae, now)
        self.capacity_level.step(new - self.limits[ae], now)
        self.limits[ae] = new
        self._assign(now)

    def _on_exit(self, ae: int) -> None:
        """An AE leaves: their opportunities go to the front of the queue, clocks paused."""
        now = self.env.now
        self.capacity_level.step(-self.limits[ae], now)
        self.limits[ae] = 0
        handed = sorted(self.members[ae], key=lambda lead: self.due[lead], reverse=True)
        for lead in handed:
            self.token[lead] += 1  # the pending meeting or close is void
            self.remaining[lead] = self.due[lead] - now
            self.ae_of[lead] = -1
            self.queued_since[lead] = now
            self.queue.appendleft(lead)
            if self.trace is not None:
                self.trace.append((now, "ae_handover", lead, ae, None))
        self.open_level.step(-len(handed), now)
        self.queue_level.step(+len(handed), now)
        self.open[ae] = 0
        self.members[ae].clear()
        self._assign(now)

    # ------------------------------------------------------------------ flow

    def toss_up(self, lead: int, at: float) -> None:
        """The qualifying call ends at ``at``: the lead joins the AE queue then."""
        if self.token[lead] >= 0 and self.again is not None:  # back from nurture: a new meeting
            u = self.again.random(3)
            self.fresh[lead] = (float(u[0]), float(u[1]), float(u[2]))
        self.token[lead] = 0
        self.waited[lead] = 0.0
        if at < self.horizon:
            # On simpy's queue, not the agenda: it falls when the rep's call ends, and goes first.
            self.env.timeout(at - self.env.now, value=lead).callbacks.append(self._on_toss_up)

    def restore_open(self, lead: int, valid_at: float, remaining: float) -> None:
        """A valid opportunity already open at the start: it needs an AE's room, then closes
        after ``remaining`` hours (assigned with :meth:`assign_now` or when room opens)."""
        self.token[lead] = 0
        self.waited[lead] = 0.0
        self.valid_at[lead] = valid_at
        self.phase[lead] = CLOSE
        self.due[lead] = remaining
        self.remaining[lead] = remaining
        self.queued_since[lead] = 0.0
        self.queue.append(lead)
        self.queue_level.step(+1, 0.0)

    def assign_now(self) -> None:
        """Give waiting leads to AEs with room (at the start, after restoring a snapshot)."""
        self._assign(self.env.now)

    def _on_toss_up(self, event: simpy.Event) -> None:
        """A tossed-up lead joins the AE queue."""
        lead, now = cast(int, event.value), self.env.now  # simpy types value as Optional[Any]
        self.queued_since[lead] = now
        self.queue.append(lead)
        self.queue_level.step(+1, now)
        self._assign(now)

    def _assign(self, now: float) -> None:
        """Give waiting leads, first come first served, to the AE with the most room."""
        queue, open_, limits = self.queue, self.open, self.limits
        while queue:
            best, room = -1, 0
            for ae in range(self.n_ae):
                free = limits[ae] - open_[ae]
                if free > room:
                    best, room = ae, free
            if best < 0:
                return
            lead = queue.popleft()
            self.queue_level.step(-1, now)
            self.open_level.step(+1, now)
            open_[best] += 1
            self.count["taken"][best] += 1
            self.members[best].add(lead)
            self.ae_of[lead] = best
            self.waited[lead] += now - self.queued_since[lead]
            if math.isnan(self.assigned_at[lead]):
                self.assigned_at[lead] = now
            if self.trace is not None:
                shown = None if self.unlimited else (open_[best], limits[best])
                self.trace.append((now, "ae_assign", lead, best, shown))
            left = self.remaining.pop(lead, None)
            if left is None:
                self._schedule(lead, MEETING, now + float(self.meeting_delay[lead]), now)
            else:
                self._schedule(lead, self.phase[lead], now + left, now)

    def _schedule(self, lead: int, phase: int, at: float, now: float) -> None:
        """The lead's meeting or close falls at ``at`` (after the horizon: not in this run)."""
        self.phase[lead] = phase
        self.due[lead] = at
        if at < self.horizon:
            call = self._on_meeting if phase == MEETING else self._on_close
            self.later(at - now, call, (lead, self.token[lead]))

    def _release(self, lead: int, now: float) -> None:
        """The AE lets a closed or rejected lead go: room for the next in the queue."""
        ae = self.ae_of[lead]
        self.open[ae] -= 1
        self.members[ae].discard(lead)
        self.open_level.step(-1, now)
        if self.trace is not None:
            room = None if self.unlimited else (self.open[ae], self.limits[ae])
            self.trace.append((now, "ae_release", lead, ae, room))
        self._assign(now)

    def _on_meeting(self, entry: tuple[int, int]) -> None:
        """The first meeting: the AE accepts the lead as a valid opportunity, or rejects it."""
        lead, token = entry
        if token != self.token[lead]:
            return
        now = self.env.now
        weeks_waited = self.waited[lead] / WEEK
        q = float(self.quality[lead])
        p = logistic(self.accept_base + self.accept_q * q + self.wait_effect * weeks_waited)
        fresh = self.fresh.get(lead)
        if (float(self.u_accept[lead]) if fresh is None else fresh[0]) < p:
            self.valid_at[lead] = now
            self.lost_reason[lead] = -1  # back from nurture: an earlier loss is history
            self.closed_at[lead] = math.nan
            self.count["accepted"][self.ae_of[lead]] += 1
            self.state[lead] = OPEN_OPP
            if self.trace is not None:
                self.trace.append((now, "accepted", lead, self.ae_of[lead], None))
            self._schedule(lead, CLOSE, now + float(self.sales_cycle[lead]), now)
        else:
            self.state[lead] = REJECTED
            self.count["rejected"][self.ae_of[lead]] += 1
            if self.trace is not None:
                self.trace.append((now, "rejected", lead, self.ae_of[lead], None))
            self._release(lead, now)
            if self.return_rejected and self.on_return is not None:
                self.on_return(lead, now)

    def _on_close(self, entry: tuple[int, int]) -> None:
        """The sales cycle ends: won, or lost for a reason."""
        lead, token = entry
        if token != self.token[lead]:
            return
        now = self.env.now
        self.closed_at[lead] = now
        p_win = logistic(self.win_base + self.win_q * float(self.quality[lead]))
        fresh = self.fresh.get(lead)
        k = -1
        if (float(self.u_win[lead]) if fresh is None else fresh[1]) < p_win:
            self.lost_reason[lead] = -1  # lost once before, won this time
            self.state[lead] = WON
            self.count["won"][self.ae_of[lead]] += 1
            self.won_value[self.ae_of[lead]] += float(self.value[lead])
            detail = None
        else:
            self.state[lead] = LOST
            self.count["lost"][self.ae_of[lead]] += 1
            u, k = (float(self.u_reason[lead]) if fresh is None else fresh[2]), 0
            while k < len(self.reason_cum) - 1 and u >= self.reason_cum[k]:
                k += 1
            self.lost_reason[lead] = k
            detail = self.reasons[k]
        if self.trace is not None:
            self.trace.append(
                (now, "won" if detail is None else "lost", lead, self.ae_of[lead], detail)
            )
        self._release(lead, now)
        if k in self.return_reasons and self.on_return is not None:
            self.on_return(lead, now)

    def finish(self) -> None:
        """Close the time integrals at the horizon."""
        for level in (self.queue_level, self.open_level, self.capacity_level):
            level.step(0, self.horizon)

    def per_ae(self) -> dict[str, np.ndarray]:
        """Per-AE totals, one entry per AE (per employment spell)."""
        out = {k: np.array(v, dtype=np.int64) for k, v in self.count.items()}
        out["won_value"] = np.array(self.won_value)
        return out

    def array(self, name: str) -> np.ndarray:
        """A per-lead record as a numpy array over all leads, sharing its memory (the stage is
        done with it: see :func:`~simfunnel.model.records.lead_array` for why not a copy)."""
        record: array = getattr(self, name)
        return np.frombuffer(record, dtype=np.dtype(record.typecode))
