"""The state of one run and the queues its leads move through: the base of the engine.

Per-lead records are flat lists indexed by lead (set up in :meth:`Queues._prepare`); each desk
has a ready queue (deques, or a heap under the score rule), its retries not yet due and its
idle reps. What is here makes a lead ready to call (now, when its next touch falls due, on an
email reply, at an agreed callback) and wakes a rep for it; the untouched-MQL level and the
nurture inbox are kept here too. The reps' work is in :mod:`~simfunnel.model.calls`, the run in
:mod:`~simfunnel.model.engine`.

Timers far ahead (patience, replies, agreed cadences, the AE stage, re-MQLs) wait in an
:class:`Agenda` of their own, not on simpy's queue: simpy then holds a few dozen events whatever
the volume, so the cost of each event does not grow with the number of leads.
"""

from __future__ import annotations

import math
from array import array
from collections import deque
from collections.abc import Callable
from heapq import heapify, heappop, heappush
from typing import Any, cast

import numpy as np
import simpy
from simpy.events import URGENT

from ..base.units import WEEK
from ..scenario import Scenario
from .ae import AEStage, logit
from .arrivals import Leads, Streams
from .desk import Desk, ProspectingDesk
from .staffing import build_roster
from .start import Snapshot
from .states import DAY_HOURS, END_STATES, INFO, NURTURE, ON_LIST, POSTPONED, RECYCLED, WORKING
from .worktime import WorkCalendar

Entry = tuple[float, int, Callable[[Any], None], Any]  # (at, order set, call, value)


class Alarm(simpy.Event):
    """A timer that fires at ``at`` to the bit (``now + (at - now)`` may round off it), before
    the ordinary events of that moment: what an agenda fires sees the clock its own timer would
    have shown, and goes first, as a timer set long before would have (a rep's shift starting
    then was set later)."""

    def __init__(self, env: simpy.Environment, at: float) -> None:
        self.env = env
        self.callbacks = []
        self._ok = True
        self._value = None
        now = env.now
        delay = at - now
        if now + delay != at:
            while now + delay < at:
                delay = math.nextafter(delay, math.inf)
            while now + delay > at:
                delay = math.nextafter(delay, -math.inf)
        env.schedule(self, URGENT, delay)


class Agenda:
    """Calls due later, off simpy's queue, with one simpy timer set at the earliest.

    Each call fires at the time its own timer would have (``now + delay`` when it was set),
    and calls due at the same time fire in the order they were set, as simpy's would. Calls
    wait in a bucket per day until their day is next: only that day's are on a heap, so the
    cost of a call does not grow with how many wait (the first nurture pass alone sets one
    for most leads below the threshold, months ahead).
    """

    __slots__ = ("_armed", "_buckets", "_day", "_days", "_env", "_heap", "_tick")

    def __init__(self, env: simpy.Environment) -> None:
        self._env = env
        self._heap: list[Entry] = []  # every call of day ``_day`` and before
        self._day = -1
        self._buckets: dict[int, list[Entry]] = {}  # later calls by day, in the order set
        self._days: list[int] = []  # the days with a bucket, as a heap
        self._armed = math.inf  # when the simpy timer is set to fire
        self._tick = 0

    def __len__(self) -> int:
        return len(self._heap) + sum(len(b) for b in self._buckets.values())

    def add(self, delay: float, call: Callable[[Any], None], value: Any) -> None:
        """Call ``call(value)`` ``delay`` hours from now."""
        at = self._env.now + delay
        self._tick += 1
        entry = (at, self._tick, call, value)
        day = int(at // DAY_HOURS)
        if day <= self._day:
            heappush(self._heap, entry)
        else:
            bucket = self._buckets.get(day)
            if bucket is None:
                self._buckets[day] = [entry]
                heappush(self._days, day)
            else:
                bucket.append(entry)
        if at < self._armed:
            self._arm(at)

    def _next(self) -> Entry | None:
        """The call due first, its day's bucket put on the heap if need be (None: none)."""
        heap = self._heap
        if not heap:
            if not self._days:
                return None
            self._day = heappop(self._days)
            heap = self._heap = self._buckets.pop(self._day)
            heapify(heap)
        return heap[0]

    def _arm(self, at: float) -> None:
        """Set the simpy timer for ``at``, but no later than the end of today: a timer set for
        a later call is left on simpy's queue, a no-op, whenever an earlier call comes, so
        timers set days ahead pile up there and make every event dearer. Capped, the timer
        fires at the day's end, finds nothing due and is set again. Calls still fire first at
        their moment, as they did: every timer is set before that moment and goes first."""
        at = min(at, (self._env.now // DAY_HOURS + 1) * DAY_HOURS)
        self._armed = at
        Alarm(self._env, at).callbacks.append(self._fire)

    def _fire(self, event: simpy.Event) -> None:
        """Make the calls due now, then set the timer for the next."""
        now = self._env.now
        armed = self._armed
        if armed <= now:
            armed = math.inf
        # No timer for calls set while these run (each would wait on simpy's queue, a no-op,
        # until its day ends): one is set after them, for the first call then due.
        self._armed = -math.inf
        entry = self._next()
        while entry is not None and entry[0] <= now:
            heappop(self._heap)
            entry[2](entry[3])
            entry = self._next()
        self._armed = armed
        if entry is not None and entry[0] < armed:
            self._arm(entry[0])


class Queues:
    """A run's lead state, its desks and their queues (the engine builds on it)."""

    # Set by the engine when it is built, and by its run: declared for the methods below.
    scenario: Scenario
    streams: Streams
    calendar: WorkCalendar
    leads: Leads
    snapshot: Snapshot | None
    trace: list[tuple] | None
    env: simpy.Environment
    ae: AEStage
    later: Agenda  # timers far ahead: patience, replies, agreed cadences, the AE stage

    # ------------------------------------------------------------------ set-up

    def _prepare(self) -> None:
        """Set up the run's state: per-lead records, levels, nurture, toss-up, the desks."""
        sc = self.scenario
        self.horizon = sc.horizon
        self.n_weeks = sc.weeks
        self._leads_at_start()
        self._lead_records(len(self.leads))
        self._cadence_state()
        self._nurture_state()
        self._levels()
        toss = sc.toss_up
        self.toss_require = toss.require
        self.toss_criteria = [
            (logit(c.probability), c.quality_effect) for c in toss.criteria.values()
        ]
        self._desks()

    def _leads_at_start(self) -> None:
        """Who the leads are and where each one starts (in nurture, on the list, or as the
        snapshot has it)."""
        sc = self.scenario
        self.inbound = self.leads.source < len(sc.sources)
        self.carried = self.leads.carried
        self.mql = self.inbound & (self.leads.score >= sc.scoring.threshold)
        self.arrival = self.leads.arrival.tolist()
        self.score = self.leads.score.tolist()
        self.quality = self.leads.quality.tolist()
        # Per-lead records in compact arrays (a byte or a machine number per lead, not a
        # pointer to an object): what a rep's touch reads stays in the cache at millions of leads.
        self.state = bytearray(np.where(self.inbound, NURTURE, ON_LIST).astype(np.uint8).tobytes())
        if self.snapshot is not None:
            for lead, name in enumerate(self.snapshot.state.tolist()):
                self.state[lead] = END_STATES.index(name)
        # Only MQLs have a patience clock: read from numpy per MQL, not a list over all leads.
        self.patience = self.leads.patience if sc.speed_to_lead.patience is not None else None
        floors = [s.score.min for s in sc.sources] + [math.nan]
        self.score_floor = np.array(floors)[np.minimum(self.leads.source, len(sc.sources))]

    def _lead_records(self, n: int) -> None:
        """What happens to each lead: arrays over all leads, dictionaries for the few."""
        nans = array("d", [math.nan]) * n
        self.first_attempt = array("d", nans)
        self.researched_at: dict[int, float] = {}
        self.cold_at = array("d", nans)
        self.self_serve_at: dict[int, float] = {}
        self.contacted_at = array("d", nans)
        # Arrays too, though set only for leads with a conversation: as dictionaries they held
        # over 100k entries each at 2M leads, and every look-up missed the cache.
        self.info_start = array("d", nans)  # first conversation of the follow-ups now running
        self.nurtured_at = array("d", nans)  # first 'information gathering' or 'postponed'
        self.sql_at = array("d", nans)
        self.attempts = array("i", [0]) * n  # int32, as the results hold them
        self.cycle_attempts = array("l", [0]) * n
        self.cycle_start = nans
        self.follow_ups = array("l", [0]) * n
        self.callbacks = array("l", [0]) * n
        self.sql_rep = array("i", [-1]) * n
        self.queued = bytearray(n)  # 1: waiting in a desk's ready queue

    def _cadence_state(self) -> None:
        """Where each lead's cadence stands beyond its touch count: odds, replies, retries."""
        self.retry_token: dict[int, int] = {}
        # Speed-to-lead multipliers (contact, qualify) of each lead's current cadence, fixed at
        # its first attempt from the response time; NaN until then. Two arrays over all leads,
        # not a dictionary of tuples that grew with every lead called: at millions of leads
        # each look-up missed the cache.
        n = len(self.leads)
        self.odds_contact = array("d", [math.nan]) * n
        self.odds_qualify = array("d", [math.nan]) * n
        self.odds_trace: list[tuple] | None = [] if self.trace is not None else None
        self.late_reply: set[int] = set()  # answered after its cadence ended: one call, once
        self.call_back: set[int] = set()  # replied to an email: the next touch is a call
        self.seq = 0

    def _nurture_state(self) -> None:
        """Nurture (only with a nurture section): entries wait in an inbox for the daily pass."""
        self.nurture_inbox: list[tuple[int, float, float]] = []
        self.first_mql: dict[int, float] = {}  # leads that became MQLs in nurture: when
        self.aged_out_at: dict[int, float] = {}
        self.re_mql_score: dict[int, float] = {}
        self.w_re_mql = [0] * self.n_weeks
        self.nurture_since: dict[int, float] = {}
        self.r_nurture = self.streams.rng("nurture", "paths")

    def _levels(self) -> None:
        """Engine-wide weekly counters, and the time-weighted level of untouched MQLs."""
        self.w_cold = [0] * self.n_weeks
        self.w_backlog_area = [0.0] * self.n_weeks
        self.w_backlog_end = [0] * self.n_weeks
        self.backlog = 0  # a level, not a tally
        self.backlog_t = 0.0
        self.backlog_area = 0.0

    def _desks(self) -> None:
        """The SDR desk, and the BDR desk with an outbound section."""
        sc = self.scenario
        self.sdr = Desk(
            "sdr",
            sc,
            sc.cadence,
            sc.outcomes,
            build_roster(sc.sdr, sc, self.calendar, self.streams, "sdr"),
            self.streams,
            decay=True,
            queue_rule=sc.sdr.queue_rule,
            dials_goal=sc.sdr.goals.dials_per_day,
            n_days=self.calendar.n_days,
            skill=sc.sdr.skill_ramp,
        )
        self.desks = [self.sdr]
        self.bdr: ProspectingDesk | None = None  # None: the scenario has no outbound section
        out = sc.outbound
        if out is not None:
            self.bdr = ProspectingDesk(
                "bdr",
                sc,
                out.cadence,
                out.outcomes,
                build_roster(out.bdr, sc, self.calendar, self.streams, "bdr"),
                self.streams,
                research=out.research,
                quota=out.goals.new_accounts_per_day,
                dials_goal=out.goals.dials_per_day,
                n_days=self.calendar.n_days,
                skill=out.bdr.skill_ramp,
            )
            self.desks.append(self.bdr)
        for desk in self.desks:
            desk.plan_gaps(self.calendar)

    # ------------------------------------------------------------------ the queues

    def _push(
        self, desk: Desk, lead: int, now: float, priority: bool = False, seq: int = 0
    ) -> None:
        """Make a lead ready to call and wake one idle rep, if any (never twice in the queue).

        Ties in the queue go to the lead made ready first; a retry counts from when it was
        scheduled (``seq``), as if a timer had fired at its due time.
        """
        if not self.queued[lead]:
            self._ready(desk, lead, now, priority, seq)

    def _ready(self, desk: Desk, lead: int, since: float, priority: bool, seq: int) -> None:
        """Queue a lead ready since ``since`` (its rank: new or retry, or its score), wake a rep."""
        self.queued[lead] = True
        if not seq:
            self.seq += 1
            seq = self.seq
        if desk.scored:
            heappush(desk.heap, (-self.score[lead], since, seq, lead))
        else:
            line = desk.fresh if priority or self.attempts[lead] == 0 else desk.retry
            entry = (since, seq, lead)
            if line and entry < line[-1]:
                self._insert(line, entry)
            else:
                line.append(entry)
        idle = desk.idle
        if idle:
            wake, rep = idle[-1]
            if desk.shifts[rep].next_on(since) <= since:  # usually: the last idle is on shift
                idle.pop()
                desk.idle_changes += 1
                wake.succeed()
            else:
                self._wake(desk, since)

    @staticmethod
    def _insert(line: deque[tuple[float, int, int]], entry: tuple[float, int, int]) -> None:
        """Put a lead ready earlier than the last in line in its place: a retry that fell due
        before leads made ready since, but was only released when a rep next looked."""
        i = len(line)
        while i and line[i - 1] > entry:
            i -= 1
        line.insert(i, entry)

    @staticmethod
    def _wake(desk: Desk, now: float) -> None:
        """Wake the idle rep who can work soonest: one on shift now before one whose shift is
        over (who would sleep until tomorrow while the lead waits); among those off shift, the
        one on again first, the latest to go idle on a tie.

        Why a plan: at night every idle rep is off shift and each lead that arrives wakes one;
        scanning them all each time costs reps squared per night. One scan orders them, and
        the order holds while nobody else joins or leaves the idle list and none is on again.
        """
        idle = desk.idle
        plan = desk.wake_plan
        if plan and desk.wake_plan_changes == desk.idle_changes and now < plan[-1][0]:
            entry = plan.pop()[2]
            idle.remove(entry)
            entry[0].succeed()
            return
        shifts = desk.shifts
        ons = []
        for i in range(len(idle) - 1, -1, -1):
            on = shifts[idle[i][1]].next_on(now)
            if on <= now:
                idle.pop(i)[0].succeed()
                desk.idle_changes += 1
                return
            ons.append((on, -i, idle[i]))
        ons.sort(reverse=True)  # the next to wake last: earliest on, then latest index
        entry = ons.pop()[2]
        idle.remove(entry)
        entry[0].succeed()
        desk.wake_plan = ons
        desk.wake_plan_changes = desk.idle_changes

    def _schedule(self, desk: Desk, lead: int, at: float) -> None:
        """The lead's next touch is due at ``at``; after the horizon it simply stays waiting."""
        if at < self.horizon:
            self.seq += 1
            desk.due.add(len(desk.gaps), (at, self.seq, lead, self.retry_token.get(lead, 0)))
            if desk.idle and at < desk.timer_at:
                self._arm(desk, at)

    def _release_due(self, desk: Desk, now: float) -> None:
        """Move the touches due by ``now`` to the ready queue, each stamped with its due time."""
        due = desk.due
        token = self.retry_token
        queued = self.queued
        while due.at <= now:
            at, seq, lead, tok = due.pop()
            if tok == token.get(lead, 0) and not queued[lead]:  # not replaced by a reply's callback
                self._ready(desk, lead, at, False, seq)

    def _arm(self, desk: Desk, at: float) -> None:
        """Wake the idle reps of ``desk`` at ``at``, when the next touch falls due."""
        desk.timer_at = at
        self.env.timeout(at - self.env.now, value=desk).callbacks.append(self._on_timer)

    def _on_timer(self, event: simpy.Event) -> None:
        """Touches fell due while reps were idle: make them ready, and re-arm for the next."""
        # simpy types Event.value as Optional[Any]: the timer was set with its desk.
        desk, now = cast(Desk, event.value), self.env.now
        if desk.timer_at <= now:
            desk.timer_at = math.inf
        self._release_due(desk, now)
        if desk.idle and desk.due.at < desk.timer_at:
            self._arm(desk, desk.due.at)

    def _on_reply(self, reply: tuple[Desk, int, int]) -> None:
        """A lead answered an email: call it back first thing, whatever touch was next."""
        desk, lead, touches = reply
        now = self.env.now
        if self.attempts[lead] != touches or self.state[lead] not in (WORKING, RECYCLED):
            return  # touched again since, or the lead's path moved on
        self.retry_token[lead] = self.retry_token.get(lead, 0) + 1  # the pending retry is void
        self.aged_out_at.pop(lead, None)
        self.nurture_since.pop(lead, None)
        if desk.per_touch:  # the older reading: a reply to a recycled lead restarts a cadence
            if self.state[lead] == RECYCLED:
                self.cycle_attempts[lead] = 0
                self.cycle_start[lead] = now
        else:
            # The cadence resumes: the reply brings the next touch forward as a call. A lead
            # whose cadence had ended gets that one call (then it is recycled again) and no
            # second chance, so even certain replies end.
            if self.state[lead] == RECYCLED:
                self.cycle_attempts[lead] = desk.touches - 1
                self.late_reply.add(lead)
            self.cycle_start[lead] = now  # a reply is a new inquiry: its response time counts
            self.odds_contact[lead] = math.nan
        self.state[lead] = WORKING
        self.call_back.add(lead)
        desk.w["email_replies"][int(now // WEEK)] += 1
        if self.trace is not None:
            self.trace.append((now, "email_reply", lead, None, None))
        self._push(desk, lead, now, priority=True)

    def _schedule_cycle(
        self, desk: Desk, lead: int, at: float, now: float, at_end: bool = False
    ) -> None:
        """Start a follow-up or callback cadence at ``at`` (after the horizon: never); one due
        when the call ends (``at_end``) starts before the rep takes the next lead."""
        if at < self.horizon:
            self.seq += 1
            cycle = (desk, lead, self.seq)
            if at_end:
                self.env.timeout(at - now, value=cycle).callbacks.append(self._on_cycle_timer)
            else:
                self.later.add(at - now, self._start_cycle, cycle)

    def _on_cycle_timer(self, event: simpy.Event) -> None:
        # simpy types Event.value as Optional[Any]: the timer was set with this tuple.
        self._start_cycle(cast("tuple[Desk, int, int]", event.value))

    def _start_cycle(self, cycle: tuple[Desk, int, int]) -> None:
        """A follow-up or callback cadence starts at the time agreed with the lead."""
        desk, lead, seq = cycle
        if self.state[lead] not in (INFO, POSTPONED):
            return  # moved on meanwhile (bought self-serve)
        now = self.env.now
        self.cycle_attempts[lead] = 0
        self.cycle_start[lead] = now
        # An expected call, not a late response.
        self.odds_contact[lead], self.odds_qualify[lead] = desk.agreed
        self.late_reply.discard(lead)
        self.state[lead] = WORKING
        self._push(desk, lead, now, seq=seq)

    # ------------------------------------------------------------------ levels and nurture

    def _backlog_step(self, delta: int, now: float) -> None:
        """Advance the untouched-MQL level to ``now`` (splitting at week ends), then change it."""
        t = self.backlog_t
        while t < now:
            week = int(t // WEEK)
            boundary = (week + 1) * WEEK
            end = min(boundary, now)
            area = self.backlog * (end - t)
            self.w_backlog_area[week] += area
            self.backlog_area += area
            if end == boundary:
                self.w_backlog_end[week] = self.backlog
            t = end
        self.backlog_t = now
        self.backlog += delta

    def _to_nurture(self, desk: Desk, lead: int, now: float, score: float) -> None:
        """Hand a lead back to marketing: it waits in the inbox for the next daily nurture pass."""
        if self.scenario.nurture is not None and desk.nurtures:
            self.nurture_since[lead] = now
            self.nurture_inbox.append((lead, now, score))
