"""The state of one run and the queues its leads move through: the base of the engine.

Per-lead records are flat lists indexed by lead (set up in :meth:`Queues._prepare`); each desk
has a ready queue (a heap), a heap of retries not yet due and its idle reps. What is here makes
a lead ready to call (now, when its next touch falls due, on an email reply, at an agreed
callback) and wakes a rep for it; the untouched-MQL level and the nurture inbox are kept here
too. The reps' work is in :mod:`~simfunnel.model.calls`, the run in :mod:`~simfunnel.model.engine`.
"""

from __future__ import annotations

import math
from heapq import heappop, heappush
from typing import cast

import numpy as np
import simpy

from ..base.units import WEEK
from ..scenario import Scenario
from .ae import AEStage, logit
from .arrivals import Leads, Streams
from .desk import Desk, ProspectingDesk
from .staffing import build_roster
from .start import Snapshot
from .states import END_STATES, INFO, NURTURE, ON_LIST, POSTPONED, RECYCLED, WORKING
from .worktime import WorkCalendar


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
        self.state = np.where(self.inbound, NURTURE, ON_LIST).tolist()
        if self.snapshot is not None:
            for lead, name in enumerate(self.snapshot.state.tolist()):
                self.state[lead] = END_STATES.index(name)
        # Only MQLs have a patience clock: read from numpy per MQL, not a list over all leads.
        self.patience = self.leads.patience if sc.speed_to_lead.patience is not None else None
        floors = [s.score.min for s in sc.sources] + [math.nan]
        self.score_floor = np.array(floors)[np.minimum(self.leads.source, len(sc.sources))]

    def _lead_records(self, n: int) -> None:
        """What happens to each lead: lists over all leads, dictionaries for the few."""
        nan = math.nan
        self.first_attempt = [nan] * n
        self.researched_at: dict[int, float] = {}
        self.cold_at = [nan] * n
        self.self_serve_at: dict[int, float] = {}
        self.info_start: dict[int, float] = {}
        self.nurtured_at: dict[int, float] = {}  # first 'information gathering' or 'postponed'
        self.contacted_at = [nan] * n
        self.sql_at = [nan] * n
        self.attempts = [0] * n
        self.cycle_attempts = [0] * n
        self.cycle_start = [nan] * n
        self.follow_ups = [0] * n
        self.callbacks = [0] * n
        self.sql_rep = [-1] * n

    def _cadence_state(self) -> None:
        """Where each lead's cadence stands beyond its touch count: odds, replies, retries."""
        self.retry_token: dict[int, int] = {}
        # Speed-to-lead multipliers (contact, qualify) of each lead's current cadence, fixed at
        # its first attempt from the response time; absent until then.
        self.odds: dict[int, tuple[float, float]] = {}
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

    # ------------------------------------------------------------------ the queues

    def _push(
        self, desk: Desk, lead: int, now: float, priority: bool = False, seq: int = 0
    ) -> None:
        """Make a lead ready to call and wake one idle rep, if any (never twice in the queue).

        Ties in the queue go to the lead made ready first; a retry counts from when it was
        scheduled (``seq``), as if a timer had fired at its due time.
        """
        if lead in desk.in_queue:
            return
        desk.in_queue.add(lead)
        if desk.key_new is None:
            k1 = -self.score[lead]
        else:
            k1 = desk.key_new if priority or self.attempts[lead] == 0 else desk.key_retry
        if not seq:
            self.seq += 1
            seq = self.seq
        heappush(desk.heap, (k1, now, seq, lead))
        idle = desk.idle
        if idle:
            wake, rep = idle[-1]
            if desk.shifts[rep].next_on(now) <= now:  # the usual case: the last idle is on shift
                idle.pop()
                wake.succeed()
            else:
                self._wake(desk, now)

    @staticmethod
    def _wake(desk: Desk, now: float) -> None:
        """Wake the idle rep who can work soonest: one on shift now before one whose shift is
        over (who would sleep until tomorrow while the lead waits)."""
        idle = desk.idle
        best, best_on = len(idle) - 1, math.inf
        for i in range(len(idle) - 1, -1, -1):
            on = desk.shifts[idle[i][1]].next_on(now)
            if on <= now:
                best = i
                break
            if on < best_on:
                best, best_on = i, on
        idle.pop(best)[0].succeed()

    def _schedule(self, desk: Desk, lead: int, at: float) -> None:
        """The lead's next touch is due at ``at``; after the horizon it simply stays waiting."""
        if at < self.horizon:
            self.seq += 1
            heappush(desk.due, (at, self.seq, lead, self.retry_token.get(lead, 0)))
            if desk.idle and at < desk.timer_at:
                self._arm(desk, at)

    def _release_due(self, desk: Desk, now: float) -> None:
        """Move the touches due by ``now`` to the ready queue, each stamped with its due time."""
        due = desk.due
        token = self.retry_token
        while due and due[0][0] <= now:
            at, seq, lead, tok = heappop(due)
            if tok == token.get(lead, 0):  # not replaced by a reply's callback
                self._push(desk, lead, at, seq=seq)

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
        if desk.idle and desk.due and desk.due[0][0] < desk.timer_at:
            self._arm(desk, desk.due[0][0])

    def _on_reply(self, event: simpy.Event) -> None:
        """A lead answered an email: call it back first thing, whatever touch was next."""
        # simpy types Event.value as Optional[Any]: the timer was set with this tuple.
        desk, lead, touches = cast("tuple[Desk, int, int]", event.value)
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
            self.odds.pop(lead, None)
        self.state[lead] = WORKING
        self.call_back.add(lead)
        desk.w["email_replies"][int(now // WEEK)] += 1
        if self.trace is not None:
            self.trace.append((now, "email_reply", lead, None, None))
        self._push(desk, lead, now, priority=True)

    def _schedule_cycle(self, desk: Desk, lead: int, at: float, now: float) -> None:
        """Start a follow-up or callback cadence at ``at`` (after the horizon: never)."""
        if at < self.horizon:
            self.seq += 1
            event = self.env.timeout(at - now, value=(desk, lead, self.seq))
            event.callbacks.append(self._start_cycle)

    def _start_cycle(self, event: simpy.Event) -> None:
        """A follow-up or callback cadence starts at the time agreed with the lead."""
        # simpy types Event.value as Optional[Any]: the timer was set with this tuple.
        desk, lead, seq = cast("tuple[Desk, int, int]", event.value)
        if self.state[lead] not in (INFO, POSTPONED):
            return  # moved on meanwhile (bought self-serve)
        now = self.env.now
        self.cycle_attempts[lead] = 0
        self.cycle_start[lead] = now
        self.odds[lead] = desk.agreed  # an expected call, not a late response
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
