"""The simulation engine: SDRs working inbound MQLs and BDRs prospecting outbound accounts, on simpy.

Where is a call attempt decided? In :meth:`Engine._attempt`, for both teams. Everything that does
not depend on the teams (arrivals, lead attributes, what an AE would do with a lead) is drawn up
front. The simpy part is only what needs it: reps and their shifts, the work queues, the AE stage
and a few timers. Leads are plain indices into flat lists, not processes. Each calling team is a
:class:`Desk`: its own reps, queue, cadence, odds, outcome paths and random streams, so the SDR
and BDR processes are one code path with two sets of parameters.

Cadence retries do not each get a simpy timer: they wait in the desk's due-heap and move to the
ready queue when a rep next looks for work, or when a timer fires for reps who are idle. The
order of work is the same as with one timer per retry, at a fraction of the events.
"""

from __future__ import annotations

import bisect
import calendar
import datetime as dt
import math
from collections import deque
from dataclasses import dataclass, field, replace
from heapq import heappop, heappush

import numpy as np
import simpy

from ..base.units import WEEK
from ..scenario import OUTCOMES, Cadence, DurationDist, Outcomes, Pool, Scenario, uniform
from .ae import AEStage, Level, logistic, logit
from .arrivals import Leads, Streams, generate_leads
from .nurture import score_paths
from .staffing import Roster, build_roster
from .start import Snapshot, snapshot_leads
from .states import (
    AGED_OUT,
    CALLABLE,
    COLD,
    DAY_HOURS,
    DESK_COUNTERS,
    END_STATES,
    IN_NURTURE,
    INFO,
    NURTURE,
    ON_LIST,
    OUTCOME_STATE,
    POSTPONED,
    RECYCLED,
    RETURNED,
    SELF_SERVE,
    SELF_SERVE_FROM,
    UNTOUCHED,
    WORKING,
)
from .worktime import Shift, WorkCalendar


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


def _sparse(record: dict[int, float], n_leads: int) -> np.ndarray:
    out = np.full(n_leads, np.nan)
    if record:
        keys = np.fromiter(record, dtype=np.int64, count=len(record))
        out[keys] = np.fromiter(record.values(), dtype=float, count=len(record))
    return out


def _period_starts(scenario: Scenario, outcomes: Outcomes) -> list[float]:
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


class Desk:
    """One calling team and its work: its reps, queues, cadence, odds and random streams.

    The SDR desk works inbound MQLs; the BDR desk researches outbound accounts from its target
    list and works them. Streams are keyed by role (the SDR's by the bare names, for continuity),
    so adding a BDR team leaves every SDR draw unchanged.
    """

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
        research: DurationDist | None = None,
        quota: int = 0,
        dials_goal: int = 0,
        n_days: int = 0,
        skill: tuple[float, ...] = (),
    ) -> None:
        prefix = () if role == "sdr" else (role,)

        def rng(*name: str) -> np.random.Generator:
            return streams.rng(*prefix, *name)

        n_weeks = scenario.weeks
        self.role = role
        self.nurtures = role == "sdr"  # outbound accounts have no score to nurture
        self.tracks_backlog = role == "sdr"
        self.connect_p = cadence.connect_probability
        self.contact_p = cadence.contact_probability
        self.gaps = [cadence.gap(a) for a in range(1, cadence.max_attempts)]
        self.touches = cadence.max_attempts
        self.email_touches = frozenset(cadence.email_touches)
        self.auto_email = not self.email_touches
        self.reply_p = cadence.email_reply_probability
        self.u_connect = Pool(uniform, rng("dial", "connect"))
        self.u_contact = Pool(uniform, rng("dial", "contact"))
        self.u_outcome = Pool(uniform, rng("contact", "outcome"))
        self.u_reply = Pool(uniform, rng("email", "reply"))
        self.d_reply = Pool(cadence.email_reply_after.sample, rng("email", "delay"))
        self.u_budget = Pool(uniform, rng("postponed", "budget"))
        durations = cadence.durations
        self.d_no_connect = Pool(durations.no_connect.sample, rng("duration", "no_connect"))
        self.d_connect = Pool(durations.connect.sample, rng("duration", "connect"))
        self.d_conversation = Pool(durations.conversation.sample, rng("duration", "conversation"))
        self.d_acw = Pool(durations.after_call_work.sample, rng("duration", "after_call_work"))
        self.d_email = Pool(durations.email.sample, rng("duration", "email"))
        self.d_callback = Pool(outcomes.callback_after.sample, rng("delay", "callback"))
        stl = scenario.speed_to_lead
        decays = decay and stl.enabled
        self.decays = decays
        self.contact_decay = Decay(stl.contact if decays else None)
        self.qualify_decay = Decay(stl.qualify if decays else None)
        self.per_touch = stl.applies_to == "every_touch"
        self.agreed = (stl.agreed_factor, stl.agreed_factor) if decays else (1.0, 1.0)
        cal = scenario.calendar
        unit = cadence.gap_unit
        if unit == "auto":
            unit = "calendar" if cal.always_open or len(set(cal.days)) == 7 else "working_days"
        self.working_gaps = unit == "working_days"
        self.outcomes = outcomes
        self.outcome_p = [getattr(outcomes.probabilities, k) for k in OUTCOMES]
        self.outcome_beta = [getattr(outcomes.quality_effect, k) for k in OUTCOMES]
        self.budget_starts = _period_starts(scenario, outcomes)
        self.key_new = {"new_first": 0.0, "fifo": 0.0, "score": None}[queue_rule]
        self.key_retry = {"new_first": 1.0, "fifo": 0.0, "score": None}[queue_rule]
        self.heap: list[tuple[float, float, int, int]] = []  # ready: (key, since, seq, lead)
        self.in_queue: set[int] = set()
        self.due: list[tuple[float, int, int, int]] = []  # retries: (at, seq, lead, token)
        self.timer_at = math.inf  # when the wake-up timer for idle reps is set to fire
        self.idle: list[tuple[simpy.Event, int]] = []  # idle reps: (wake-up event, rep)
        self.roster = roster
        self.shifts = roster.shifts
        reps = len(self.shifts)
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
        # Outbound: the target list, research before the first touch, daily goals.
        self.accounts: deque[int] | None = deque() if research is not None else None
        self.d_research = (
            Pool(research.sample, rng("duration", "research")) if research is not None else None
        )
        self.quota = quota
        self.quota_day = [-1] * reps
        self.quota_done = [0] * reps
        self.dials_goal = dials_goal
        self.day_dials = [[0] * n_days for _ in range(reps)] if dials_goal else None
        self.list_level = Level(n_weeks)  # accounts on the target list, time-weighted
        # Learning curve: a multiplier on contact and qualification odds by month of tenure.
        self.skill = list(skill)
        self.spells = roster.spells

    def mark(self) -> dict[str, object]:
        """The per-rep and total counters now: what the warm-up did, to take off at the end."""
        return {name: list(getattr(self, name)) for name in _REP_COUNTERS} | {
            "busy": self.busy,
            "overtime": self.overtime,
        }

    def record(self, n_weeks: int, mark: dict[str, object] | None, first_day: int) -> DeskRecord:
        """The desk's figures; with a warm-up ``mark``, only what happened after it."""
        weekly = {name: np.array(v) for name, v in self.w.items()}
        weekly["busy_hours"] = np.array(self.w_busy)
        weekly["available_hours"] = self.roster.available_by_week(n_weeks)
        weekly["list_area"] = np.array(self.list_level.weekly_area)
        goal_met = math.nan
        if self.day_dials is not None:
            met = worked = 0
            for shift, days in zip(self.shifts, self.day_dials, strict=True):
                on = shift.days_on(len(days))[first_day:]
                counts = np.array(days[first_day:])
                worked += int(on.sum())
                met += int((counts[on] >= self.dials_goal).sum())
            goal_met = met / worked if worked else math.nan
        reps = {name: np.array(getattr(self, name)) for name in _REP_COUNTERS}
        busy, overtime = self.busy, self.overtime
        if mark is not None:
            reps = {name: values - np.array(mark[name]) for name, values in reps.items()}
            busy -= mark["busy"]  # type: ignore[operator]
            overtime -= mark["overtime"]  # type: ignore[operator]
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
            list_at_end=len(self.accounts) if self.accounts is not None else 0,
            dials_goal_met=goal_met,
        )


_REP_COUNTERS = ("rep_dials", "rep_contacts", "rep_emails", "rep_researched", "rep_busy")


@dataclass
class DeskRecord:
    """What one calling team did: totals, per rep (per employment spell) and per week."""

    role: str
    roster: Roster
    busy_hours: float  # on-phone hours spent on touches and research
    overtime_hours: float  # task time that ran past the end of a shift
    available_hours: float
    rep_dials: np.ndarray
    rep_contacts: np.ndarray
    rep_emails: np.ndarray
    rep_researched: np.ndarray
    rep_busy: np.ndarray
    weekly: dict[str, np.ndarray]
    list_at_end: int  # outbound accounts never researched
    dials_goal_met: float  # share of rep-days that reached the daily dials goal (NaN: no goal)


@dataclass
class RunData:
    """What the engine hands to the results layer: flat arrays and counters, no DataFrames."""

    scenario: Scenario
    seed: int | np.random.SeedSequence
    leads: Leads
    inbound: np.ndarray  # True for inbound leads, False for outbound accounts
    carried: np.ndarray  # True for leads already there at the start (from the warm-up)
    mql: np.ndarray
    state: np.ndarray
    first_attempt: np.ndarray
    researched_at: np.ndarray  # outbound accounts: when a BDR finished researching it
    cold_at: np.ndarray  # when an untouched MQL went cold (NaN otherwise)
    mql_at: np.ndarray  # when the lead first became an MQL (on arrival, or in nurture)
    self_serve_at: np.ndarray  # PQLs that bought self-serve: when (NaN otherwise)
    attempts: np.ndarray  # touches: calls and email touches
    contacted_at: np.ndarray
    nurtured_at: np.ndarray  # first conversation judged worth following up (a nurture lead)
    sql_at: np.ndarray
    valid_at: np.ndarray
    closed_at: np.ndarray
    desks: dict[str, DeskRecord]  # "sdr", and "bdr" with an outbound section
    weekly: dict[str, np.ndarray]  # engine-wide weekly counters and levels (not per desk)
    backlog_area: float
    sql_rep: np.ndarray  # the rep (spell index in its desk) who qualified each SQL, -1 otherwise
    ae_roster: Roster | None  # None: unlimited AEs
    ae_of: np.ndarray  # AE (spell index) holding the lead at the end, -1 if none
    ae_assigned_at: np.ndarray  # first assignment to an AE
    ae_waited: np.ndarray  # hours spent waiting for an AE with room
    lost_reason: np.ndarray  # index into scenario.ae.lost_reasons, -1 if not lost
    ae_queue_area: float  # time integral of tossed-up leads waiting for an AE
    ae_open_area: float  # time integral of opportunities held by AEs
    ae_capacity_area: float  # time integral of AE room (0 when unlimited)
    ae_queue_at_end: int
    ae_reps: dict[str, np.ndarray]  # per AE: taken, accepted, rejected, won, lost, won_value
    trace: list[tuple] | None = field(default=None)
    # With a trace: (time, lead, contact multiplier, qualify multiplier) of every touch.
    odds_trace: list[tuple] | None = field(default=None)

    @property
    def sdr(self) -> DeskRecord:
        return self.desks["sdr"]


class Engine:
    """One run of one scenario. Build it, call :meth:`run` once."""

    def __init__(
        self,
        scenario: Scenario,
        seed: int | np.random.SeedSequence,
        trace: bool = False,
        snapshot: Snapshot | None = None,
    ):
        if snapshot is not None and scenario.warm_up:
            raise ValueError(
                "start from a snapshot or after a warm-up, not both: the snapshot is the state "
                "at start_date"
            )
        self.reported = scenario
        self.scenario = scenario = scenario.extended()  # what runs: the warm-up, then the period
        self.seed = seed
        self.streams = Streams(seed)
        self.calendar = WorkCalendar(scenario)
        self.leads = generate_leads(scenario, self.streams, self.calendar)
        self.snapshot = snapshot
        if snapshot is not None:
            # Snapshot rows come first: they arrived at or before the start.
            self.leads = Leads.stack(snapshot_leads(snapshot, scenario, self.streams), self.leads)
        self.trace: list[tuple] | None = [] if trace else None

    # ------------------------------------------------------------------ set-up

    def _prepare(self) -> None:
        sc = self.scenario
        n = len(self.leads)
        self.horizon = sc.horizon
        self.n_weeks = sc.weeks
        self.inbound = self.leads.source < len(sc.sources)
        self.carried = self.leads.carried
        self.mql = self.inbound & (self.leads.score >= sc.scoring.threshold)
        self.arrival = self.leads.arrival.tolist()
        self.score = self.leads.score.tolist()
        self.quality = self.leads.quality.tolist()
        nan = math.nan
        self.state = np.where(self.inbound, NURTURE, ON_LIST).tolist()
        if self.snapshot is not None:
            for lead, name in enumerate(self.snapshot.state.tolist()):
                self.state[lead] = END_STATES.index(name)
        self.first_attempt = [nan] * n
        self.researched_at: dict[int, float] = {}
        self.cold_at = [nan] * n
        # Only MQLs have a patience clock: read from numpy per MQL, not a list over all leads.
        self.patience = self.leads.patience if sc.speed_to_lead.patience is not None else None
        self.w_cold = [0] * self.n_weeks
        # Nurture (only with a nurture section): entries wait in an inbox for the daily pass.
        self.nurture_inbox: list[tuple[int, float, float]] = []
        self.first_mql: dict[int, float] = {}  # leads that became MQLs in nurture: when
        self.aged_out_at: dict[int, float] = {}
        self.re_mql_score: dict[int, float] = {}
        self.w_re_mql = [0] * self.n_weeks
        self.retry_token: dict[int, int] = {}
        # Speed-to-lead multipliers (contact, qualify) of each lead's current cadence, fixed at
        # its first attempt from the response time; absent until then.
        self.odds: dict[int, tuple[float, float]] = {}
        self.odds_trace: list[tuple] | None = [] if self.trace is not None else None
        self.late_reply: set[int] = set()  # answered after its cadence ended: one call, once
        self.call_back: set[int] = set()  # replied to an email: the next touch is a call
        self.nurture_since: dict[int, float] = {}
        self.self_serve_at: dict[int, float] = {}
        self.info_start: dict[int, float] = {}
        self.nurtured_at: dict[int, float] = {}  # first 'information gathering' or 'postponed'
        floors = [s.score.min for s in sc.sources] + [math.nan]
        self.score_floor = np.array(floors)[np.minimum(self.leads.source, len(sc.sources))]
        self.contacted_at = [nan] * n
        self.sql_at = [nan] * n
        self.attempts = [0] * n
        self.cycle_attempts = [0] * n
        self.cycle_start = [nan] * n
        self.follow_ups = [0] * n
        self.callbacks = [0] * n
        self.w_backlog_area = [0.0] * self.n_weeks
        self.w_backlog_end = [0] * self.n_weeks
        # Time-weighted level of untouched MQLs (a level, not a tally).
        self.backlog = 0
        self.backlog_t = 0.0
        self.backlog_area = 0.0
        self.r_nurture = self.streams.rng("nurture", "paths")
        toss = sc.toss_up
        self.toss_require = toss.require
        self.toss_criteria = [
            (logit(c.probability), c.quality_effect) for c in toss.criteria.values()
        ]
        self.seq = 0
        self.sql_rep = [-1] * n
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
        self.bdr: Desk | None = None
        out = sc.outbound
        if out is not None:
            self.bdr = Desk(
                "bdr",
                sc,
                out.cadence,
                out.outcomes,
                build_roster(out.bdr, sc, self.calendar, self.streams, "bdr"),
                self.streams,
                decay=False,
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
        desk, now = event.value, self.env.now
        if desk.timer_at <= now:
            desk.timer_at = math.inf
        self._release_due(desk, now)
        if desk.idle and desk.due and desk.due[0][0] < desk.timer_at:
            self._arm(desk, desk.due[0][0])

    def _on_reply(self, event: simpy.Event) -> None:
        """A lead answered an email: call it back first thing, whatever touch was next."""
        desk, lead, touches = event.value
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

    def _start_cycle(self, event: simpy.Event) -> None:
        """A follow-up or callback cadence starts at the time agreed with the lead."""
        desk, lead, seq = event.value
        if self.state[lead] not in (INFO, POSTPONED):
            return  # moved on meanwhile (bought self-serve)
        now = self.env.now
        self.cycle_attempts[lead] = 0
        self.cycle_start[lead] = now
        self.odds[lead] = desk.agreed  # an expected call, not a late response
        self.late_reply.discard(lead)
        self.state[lead] = WORKING
        self._push(desk, lead, now, seq=seq)

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

    # ------------------------------------------------------------------ processes

    def _arrivals(self):
        """MQLs reach the SDR queue, and accounts the BDRs' target list, as they arrive."""
        env = self.env
        arrival = self.arrival
        bdr = self.bdr
        for lead in np.flatnonzero((self.mql | ~self.inbound) & ~self.carried).tolist():
            t = arrival[lead]
            if t > env.now:
                yield env.timeout(t - env.now)
            if bdr is not None and self.state[lead] == ON_LIST:
                bdr.accounts.append(lead)
                bdr.list_level.step(+1, t)
                if bdr.idle:
                    self._wake(bdr, t)
            else:
                self._become_mql(lead, t, "mql")

    def _restore(self) -> None:
        """Put the snapshot's leads where they stand at the start (see :mod:`simfunnel.model.start`)."""
        snap = self.snapshot
        assert snap is not None
        score = self.score
        for lead in range(len(snap)):
            name = str(snap.state[lead])
            desk = self.sdr if self.inbound[lead] else self.bdr
            born = self.arrival[lead]
            done = int(snap.attempts[lead])
            if desk is None:  # an outbound account in a scenario without BDRs cannot be worked
                continue
            if name == "untouched" or (name == "working" and done == 0):
                self.state[lead] = UNTOUCHED
                self.cycle_start[lead] = born
                if desk.tracks_backlog:
                    self._backlog_step(+1, 0.0)
                self._push(desk, lead, born)  # the oldest first, as if waiting since arrival
            elif name == "working":
                self.attempts[lead] = done
                self.cycle_attempts[lead] = min(done, desk.touches - 1)
                self.cycle_start[lead] = born
                self._schedule(desk, lead, 0.0)
            elif name == "on_list":
                desk.accounts.append(lead)
                desk.list_level.step(+1, 0.0)
            elif name == "sql":
                self.ae.toss_up(lead, 0.0)
            elif name == "open_opportunity":
                self.ae.restore_open(
                    lead, float(snap.valid_at[lead]), float(self.leads.sales_cycle[lead])
                )
            elif self.state[lead] in IN_NURTURE:
                self._to_nurture(desk, lead, 0.0, score[lead])
        self.ae.assign_now()

    def _become_mql(self, lead: int, t: float, event: str) -> None:
        """A lead never called before is now an MQL: it waits, untouched, for a first attempt."""
        self.state[lead] = UNTOUCHED
        self.cycle_start[lead] = t
        self.odds.pop(lead, None)
        self._backlog_step(+1, t)
        if self.trace is not None:
            self.trace.append((t, event, lead, None, None))
        self._push(self.sdr, lead, t)
        if self.patience is not None:
            cold = t + float(self.patience[lead])
            if cold < self.horizon:
                self.env.timeout(cold - t, value=lead).callbacks.append(self._on_cold)

    # ------------------------------------------------------------------ PQL trials

    def _trials(self):
        """At each trial end, a PQL nobody has reached may buy self-serve and leave the list."""
        env = self.env
        ends = self.leads.trial_end
        pqls = np.flatnonzero(np.isfinite(ends) & (ends < self.horizon))
        for lead in pqls[np.argsort(ends[pqls], kind="stable")].tolist():
            t = float(ends[lead])
            if t > env.now:
                yield env.timeout(t - env.now)
            state = self.state[lead]
            if self.leads.self_serve[lead] <= 0 or state not in SELF_SERVE_FROM:
                continue
            if state == UNTOUCHED:
                self._backlog_step(-1, t)
            self.state[lead] = SELF_SERVE
            self.self_serve_at[lead] = t
            if self.trace is not None:
                self.trace.append((t, "self_serve", lead, None, None))

    # ------------------------------------------------------------------ nurture

    def _to_nurture(self, desk: Desk, lead: int, now: float, score: float) -> None:
        if self.scenario.nurture is not None and desk.nurtures:
            self.nurture_since[lead] = now
            self.nurture_inbox.append((lead, now, score))

    def _nurture(self):
        """Once a day, walk the score paths of the leads that entered nurture since last time.

        A re-MQL is at least ``cool_down`` (>= 1 day) after entry, so it is always still ahead.
        """
        env = self.env
        below = np.flatnonzero(self.inbound & ~self.mql & ~self.carried)
        self._walk(below, self.leads.arrival[below], self.leads.score[below])
        while True:
            yield env.timeout(24.0)
            if self.nurture_inbox:
                leads, starts, scores = (np.array(c) for c in zip(*self.nurture_inbox, strict=True))
                self.nurture_inbox.clear()
                self._walk(leads.astype(np.int64), starts, scores)

    def _walk(self, leads: np.ndarray, starts: np.ndarray, scores: np.ndarray) -> None:
        if not len(leads):
            return
        out = score_paths(
            self.scenario.nurture,
            self.scenario.scoring.threshold,
            starts,
            scores,
            self.leads.quality[leads],
            self.score_floor[leads],
            self.horizon,
            self.r_nurture,
        )
        now = self.env.now
        for lead, since, at, score, aged in zip(
            leads.tolist(),
            starts.tolist(),
            out.re_mql_at.tolist(),
            out.score_at_re_mql.tolist(),
            out.aged_out_at.tolist(),
            strict=True,
        ):
            if at < self.horizon:
                self.aged_out_at.pop(lead, None)
                self.re_mql_score[lead] = score
                event = self.env.timeout(at - now, value=(lead, since))
                event.callbacks.append(self._on_re_mql)
            elif aged < self.horizon:
                self.aged_out_at[lead] = aged

    def _on_re_mql(self, event: simpy.Event) -> None:
        (lead, since), now = event.value, self.env.now
        state = self.state[lead]
        if state not in IN_NURTURE and not (state in RETURNED and lead in self.nurture_since):
            return
        if since != self.nurture_since.get(lead, self.arrival[lead]):
            return  # a path from an earlier stay in nurture: the lead has moved on since
        self.w_re_mql[int(now // WEEK)] += 1
        if self.attempts[lead] == 0:
            self.first_mql.setdefault(lead, now)
            self._become_mql(lead, now, "re_mql")
            return
        if self.trace is not None:
            self.trace.append((now, "re_mql", lead, None, None))
        self.follow_ups[lead] = 0
        self.callbacks[lead] = 0
        self.info_start.pop(lead, None)
        self.cycle_attempts[lead] = 0
        self.cycle_start[lead] = now
        self.odds.pop(lead, None)
        self.late_reply.discard(lead)
        self.state[lead] = WORKING
        self._push(self.sdr, lead, now)

    def _on_cold(self, event: simpy.Event) -> None:
        """Patience ran out: if still untouched, the lead goes cold (and is skipped in the queue)."""
        lead = event.value
        if self.state[lead] != UNTOUCHED:
            return
        now = self.env.now
        self.state[lead] = COLD
        self.cold_at[lead] = now
        self.w_cold[int(now // WEEK)] += 1
        self._backlog_step(-1, now)
        if self.trace is not None:
            self.trace.append((now, "cold", lead, None, None))

    # ------------------------------------------------------------------ reps

    def _rep(self, desk: Desk, rep: int, shift: Shift):
        """A rep's working life: on shift, take the next ready touch (or research an account)."""
        env = self.env
        heap = desk.heap
        due = desk.due
        horizon = self.horizon
        researching = desk.accounts is not None
        while True:
            now = env.now
            on = shift.next_on(now)
            if on > now:
                if on >= horizon:
                    return
                yield env.timeout(on - now)
                continue
            if due and due[0][0] <= now:
                self._release_due(desk, now)
            if researching and desk.accounts and self._research_now(desk, rep, now):
                lead, duration = self._research(desk, rep, now)
                if now + duration > shift.segment_end():
                    self._overtime(desk, rep, now, shift.off_time(now, now + duration))
                yield env.timeout(duration)
                self._push(desk, lead, env.now)  # researched: ready for its first touch
                continue
            if not heap:
                if due and due[0][0] < desk.timer_at:
                    self._arm(desk, due[0][0])
                wake = env.event()
                desk.idle.append((wake, rep))
                yield wake
                continue
            lead = heappop(heap)[3]
            desk.in_queue.discard(lead)
            if self.state[lead] not in CALLABLE:
                continue  # went cold or bought self-serve while waiting
            duration = self._attempt(desk, lead, rep, now)
            if now + duration > shift.segment_end():
                self._overtime(desk, rep, now, shift.off_time(now, now + duration))
            yield env.timeout(duration)

    def _overtime(self, desk: Desk, rep: int, now: float, hours: float) -> None:
        """A task started on shift ran past its end: the rep finishes it, off the on-phone hours
        (a long one may run on into the next shift: only the time between counts here).

        Busy hours count only on-phone time, so utilisation stays a share of available time;
        the time past the end is kept apart as overtime.
        """
        week = int(now // WEEK)
        desk.busy -= hours
        desk.w_busy[week] -= hours
        desk.rep_busy[rep] -= hours
        desk.overtime += hours

    def _research_now(self, desk: Desk, rep: int, now: float) -> bool:
        """Research before calling while the rep's daily quota is not met, else only when idle."""
        if desk.quota:
            day = int(now // DAY_HOURS)
            if desk.quota_day[rep] != day:
                desk.quota_day[rep] = day
                desk.quota_done[rep] = 0
            if desk.quota_done[rep] < desk.quota:
                return True
        return not desk.heap

    def _research(self, desk: Desk, rep: int, now: float) -> tuple[int, float]:
        """Take the next account off the target list: the account, and the research time."""
        lead = desk.accounts.popleft()
        desk.list_level.step(-1, now)
        duration = desk.d_research()
        week = int(now // WEEK)
        desk.quota_done[rep] += 1
        desk.rep_researched[rep] += 1
        desk.w["researched"][week] += 1
        self._busy(desk, rep, week, duration)
        self.researched_at[lead] = now + duration
        self.state[lead] = UNTOUCHED
        self.cycle_start[lead] = now + duration
        self.odds.pop(lead, None)
        if self.trace is not None:
            self.trace.append((now, "research", lead, rep, None))
        return lead, duration

    # ------------------------------------------------------------------ one touch

    def _attempt(self, desk: Desk, lead: int, rep: int, now: float) -> float:
        """Touch ``lead`` at ``now``: decide how far the call gets and what follows; return rep time."""
        week = int(now // WEEK)
        if self.attempts[lead] == 0:
            self.first_attempt[lead] = now
            if desk.tracks_backlog:
                self._backlog_step(-1, now)
        self.attempts[lead] += 1
        self.cycle_attempts[lead] += 1
        self.state[lead] = WORKING
        odds: tuple[float, float] | None = None  # worked out when needed (see _odds)
        if desk.decays and not desk.per_touch:
            # The response time of this cadence, fixed at its first touch.
            odds = self.odds.get(lead)
            if odds is None:
                age = now - self.cycle_start[lead]
                odds = self.odds[lead] = (desk.contact_decay(age), desk.qualify_decay(age))
        if (
            desk.email_touches
            and self.cycle_attempts[lead] in desk.email_touches
            and lead not in self.call_back
        ):
            return self._email(desk, lead, rep, now, week)
        self.call_back.discard(lead)
        w = desk.w
        w["dials"][week] += 1
        desk.rep_dials[rep] += 1
        if desk.day_dials is not None:
            desk.day_dials[rep][int(now // DAY_HOURS)] += 1
        if desk.skill or self.odds_trace is not None:
            odds = self._odds(desk, lead, rep, now, odds)
            if self.odds_trace is not None:
                self.odds_trace.append((now, lead, *odds))
        if desk.u_connect() >= desk.connect_p:
            result = "no_connect"
            duration = desk.d_no_connect() + desk.d_acw()
        else:
            w["connects"][week] += 1
            if odds is None:
                odds = self._odds(desk, lead, rep, now, None)
            p_contact = desk.contact_p * odds[0]
            if desk.u_contact() >= p_contact:
                result = "connect"
                duration = desk.d_connect() + desk.d_acw()
            else:
                w["contacts"][week] += 1
                duration = desk.d_conversation() + desk.d_acw()
                if self.trace is not None:
                    self.trace.append((now, "attempt", lead, rep, "contact"))
                desk.rep_contacts[rep] += 1
                self._contact(desk, lead, rep, now, now + duration, odds[1], week)
                self._busy(desk, rep, week, duration)
                return duration
        if self.trace is not None:
            self.trace.append((now, "attempt", lead, rep, result))
        self._busy(desk, rep, week, duration)
        self._no_contact(desk, lead, rep, now, duration, week, desk.auto_email)
        return duration

    def _odds(
        self, desk: Desk, lead: int, rep: int, now: float, odds: tuple[float, float] | None
    ) -> tuple[float, float]:
        """The multipliers on contact and qualification odds of this touch by this rep: the
        cadence's speed-to-lead ones (``odds``, or the lead's age now under the per-touch
        reading), times the rep's learning curve. Only worked out when a touch needs them."""
        if odds is None:
            if desk.decays:
                age = now - self.cycle_start[lead]
                odds = (desk.contact_decay(age), desk.qualify_decay(age))
            else:
                odds = (1.0, 1.0)
        if desk.skill:
            spell = desk.spells[rep]
            month = spell.tenure_month(now) if spell.ramps else -1
            if 0 <= month < len(desk.skill):
                m = desk.skill[month]
                odds = (odds[0] * m, odds[1] * m)
        return odds

    def _email(self, desk: Desk, lead: int, rep: int, now: float, week: int) -> float:
        """An email touch of the cadence: rep time, a chance of a reply, then the next touch."""
        duration = desk.d_email()
        desk.w["emails"][week] += 1
        desk.rep_emails[rep] += 1
        if self.trace is not None:
            self.trace.append((now, "email", lead, rep, None))
        self._busy(desk, rep, week, duration)
        self._no_contact(desk, lead, rep, now, duration, week, True)
        return duration

    def _busy(self, desk: Desk, rep: int, week: int, duration: float) -> None:
        desk.busy += duration
        desk.w_busy[week] += duration
        desk.rep_busy[rep] += duration

    def _no_contact(
        self, desk: Desk, lead: int, rep: int, now: float, duration: float, week: int, email: bool
    ) -> None:
        """After a touch without contact: maybe a reply to the email, then a retry or recycling."""
        done = self.cycle_attempts[lead]
        last = done >= desk.touches
        if (
            email
            and desk.reply_p > 0
            and not (last and lead in self.late_reply)
            and desk.u_reply() < desk.reply_p
        ):
            reply = now + duration + desk.d_reply()
            if reply < self.horizon:
                event = self.env.timeout(reply - now, value=(desk, lead, self.attempts[lead]))
                event.callbacks.append(self._on_reply)
        if last:
            self.state[lead] = RECYCLED
            desk.w["recycled"][week] += 1
            if self.trace is not None:
                self.trace.append((now, "recycled", lead, rep, None))
            nurture = self.scenario.nurture
            if nurture is not None:
                score = self.re_mql_score.get(lead, self.score[lead])
                self._to_nurture(desk, lead, now, score - nurture.recycle_penalty)
        else:
            gap = desk.gaps[done - 1]
            at = self.calendar.after_working_days(now, gap) if desk.working_gaps else now + gap
            self._schedule(desk, lead, at)

    def _contact(
        self, desk: Desk, lead: int, rep: int, now: float, end: float, decay: float, week: int
    ) -> None:
        """Pick the outcome of a conversation (``decay``: the speed-to-lead multiplier on
        'qualified') and start its path."""
        q = self.quality[lead]
        weights = [
            p * math.exp(b * q) if p > 0 else 0.0
            for p, b in zip(desk.outcome_p, desk.outcome_beta, strict=True)
        ]
        total = sum(weights)
        probs = [w / total for w in weights]
        qualified = probs[0] * decay
        rest = 1.0 - probs[0]
        scale = (1.0 - qualified) / rest if rest > 0 else 0.0
        probs = [qualified] + [p * scale for p in probs[1:]]
        u = desk.u_outcome()
        k = 0
        acc = probs[0]
        while u >= acc and k < len(probs) - 1:
            k += 1
            acc += probs[k]
        if k == 0 and self.toss_require and not self._meets_criteria(lead, q):
            desk.w["held_back"][week] += 1
            k = 1  # not tossed up: interested, followed up later (information gathering)
        desk.w_outcomes[k][week] += 1
        self.state[lead] = OUTCOME_STATE[k]
        self.contacted_at[lead] = now
        if k in (1, 2):
            self.nurtured_at.setdefault(lead, end)
        if self.trace is not None:
            self.trace.append((end, "outcome", lead, None, OUTCOMES[k]))
        outcomes = desk.outcomes
        if k == 0:
            self.sql_at[lead] = end
            self.sql_rep[lead] = rep
            self.ae.toss_up(lead, end)
        elif k == 1 and self.follow_ups[lead] < len(outcomes.follow_ups):
            first = self.info_start.setdefault(lead, now)
            at = max(first + outcomes.follow_ups[self.follow_ups[lead]], end)
            self.follow_ups[lead] += 1
            self._schedule_cycle(desk, lead, at, now)
        elif k == 2 and self.callbacks[lead] < outcomes.max_callbacks:
            self.callbacks[lead] += 1
            if desk.budget_starts and desk.u_budget() < outcomes.budget_period_share:
                i = bisect.bisect_right(desk.budget_starts, end)
                at = desk.budget_starts[i] if i < len(desk.budget_starts) else math.inf
            else:
                at = now + desk.d_callback()
            self._schedule_cycle(desk, lead, at, now)
        elif k in (1, 2):  # follow-ups or callbacks used up: back to marketing
            self._to_nurture(desk, lead, end, self.re_mql_score.get(lead, self.score[lead]))

    def _meets_criteria(self, lead: int, quality: float) -> bool:
        """Whether a qualified lead meets enough toss-up criteria (its answers are its own)."""
        u = self.streams.lead_rng("toss_up", lead).random(len(self.toss_criteria))
        met = sum(
            1
            for ui, (base, effect) in zip(u.tolist(), self.toss_criteria, strict=True)
            if ui < logistic(base + effect * quality)
        )
        return met >= self.toss_require

    def _from_ae(self, lead: int, now: float) -> None:
        """A lead the AE rejected, or lost for a reason that keeps it open, goes back to
        marketing nurture (lost reasons feed the cycle); it keeps its state until a re-MQL."""
        if self.inbound[lead]:
            self._to_nurture(self.sdr, lead, now, self.re_mql_score.get(lead, self.score[lead]))

    def _schedule_cycle(self, desk: Desk, lead: int, at: float, now: float) -> None:
        if at < self.horizon:
            self.seq += 1
            event = self.env.timeout(at - now, value=(desk, lead, self.seq))
            event.callbacks.append(self._start_cycle)

    # ------------------------------------------------------------------ run

    def run(self) -> RunData:
        self._prepare()
        self.env = env = simpy.Environment()
        sc = self.scenario
        self.ae_roster = (
            None
            if sc.ae.team is None
            else build_roster(sc.ae.team, sc, self.calendar, self.streams, "ae")
        )
        self.ae = AEStage(
            env,
            sc,
            self.leads,
            self.state,
            {name: END_STATES.index(name) for name in END_STATES},
            self.ae_roster,
            self.trace,
            on_return=self._from_ae if sc.nurture is not None else None,
            again=self.streams.rng("ae", "again"),
        )
        if self.snapshot is not None:
            self._restore()
        env.process(self._arrivals())
        if sc.nurture is not None:
            env.process(self._nurture())
        if any(src.pql is not None for src in sc.sources):
            env.process(self._trials())
        for desk in self.desks:
            for i, shift in enumerate(desk.shifts):
                env.process(self._rep(desk, i, shift))
        self.marks: dict[str, object] | None = None
        if self.reported.warm_up:
            env.timeout(self.reported.warm_up).callbacks.append(self._end_warm_up)
        env.run(until=self.horizon)
        self._backlog_step(0, self.horizon)
        last = min(int((self.horizon - 1e-9) // WEEK), self.n_weeks - 1)
        self.w_backlog_end[last] = self.backlog
        for desk in self.desks:
            desk.list_level.step(0, self.horizon)
        return self._collect()

    def _end_warm_up(self, event: simpy.Event) -> None:
        self.marks = {desk.role: desk.mark() for desk in self.desks}
        self.marks["ae"] = {k: list(v) for k, v in self.ae.count.items()} | {
            "won_value": list(self.ae.won_value)
        }

    def _collect(self) -> RunData:
        sc = self.scenario
        leads = self.leads
        ae = self.ae
        ae.finish()
        for lead in self.aged_out_at:
            if self.state[lead] in IN_NURTURE:
                self.state[lead] = AGED_OUT
        state = np.array(self.state, dtype=np.int8)
        mql_at = np.where(self.mql & ~self.carried, leads.arrival, np.nan)
        if self.first_mql:
            keys = np.fromiter(self.first_mql, dtype=np.int64, count=len(self.first_mql))
            mql_at[keys] = np.fromiter(self.first_mql.values(), dtype=float, count=len(keys))
        weekly = {
            "cold": np.array(self.w_cold),
            "re_mqls": np.array(self.w_re_mql),
            "backlog_area": np.array(self.w_backlog_area),
            "backlog_end": np.array(self.w_backlog_end),
            "ae_queue_area": np.array(ae.queue_level.weekly_area),
            "ae_open_area": np.array(ae.open_level.weekly_area),
            "ae_capacity_area": np.array(ae.capacity_level.weekly_area),
        }
        n = len(leads)
        data = RunData(
            scenario=sc,
            seed=self.seed,
            leads=leads,
            inbound=self.inbound,
            carried=self.carried.copy(),
            mql=self.mql,
            state=state,
            first_attempt=np.array(self.first_attempt),
            researched_at=_sparse(self.researched_at, n),
            cold_at=np.array(self.cold_at),
            mql_at=mql_at,
            self_serve_at=_sparse(self.self_serve_at, n),
            attempts=np.array(self.attempts, dtype=np.int32),
            contacted_at=np.array(self.contacted_at),
            nurtured_at=_sparse(self.nurtured_at, n),
            sql_at=np.array(self.sql_at),
            valid_at=ae.array("valid_at"),
            closed_at=ae.array("closed_at"),
            desks={
                desk.role: desk.record(
                    self.n_weeks,
                    None if self.marks is None else self.marks[desk.role],
                    int(self.reported.warm_up // DAY_HOURS),
                )
                for desk in self.desks
            },
            weekly=weekly,
            backlog_area=self.backlog_area,
            sql_rep=np.array(self.sql_rep, dtype=np.int32),
            ae_roster=self.ae_roster,
            ae_of=ae.array("ae_of", -1, np.int32),
            ae_assigned_at=ae.array("assigned_at"),
            ae_waited=ae.array("waited", 0.0),
            lost_reason=ae.array("lost_reason", -1, np.int16),
            ae_queue_area=ae.queue_level.area,
            ae_open_area=ae.open_level.area,
            ae_capacity_area=ae.capacity_level.area,
            ae_queue_at_end=len(ae.queue),
            ae_reps=ae.per_ae(),
            trace=self.trace,
            odds_trace=self.odds_trace,
        )
        if self.reported.warm_up:
            data = window(data, self.reported, self.marks["ae"])  # type: ignore[index]
        return data


def _shift_roster(roster: Roster, offset: float, first_day: int) -> Roster:
    """The roster as seen from ``offset`` on: spells and shifts moved, days before it dropped."""
    spells = tuple(
        replace(sp, start=sp.start - offset, end=sp.end - offset) for sp in roster.spells
    )
    shifts = tuple(shift.after(offset) for shift in roster.shifts)
    return Roster(
        spells,
        shifts,
        roster.employed[first_day:],
        roster.effective[first_day:],
        roster.full_day_hours,
    )


def window(data: RunData, reported: Scenario, ae_mark: dict[str, list]) -> RunData:
    """Discard the warm-up: times move so that 0 is the reported start, weekly figures and
    counters keep only what happened after it, and leads that arrived before are carried in."""
    offset = reported.warm_up
    k = round(offset / WEEK)
    first_day = k * 7
    times = (
        "first_attempt",
        "researched_at",
        "cold_at",
        "mql_at",
        "self_serve_at",
        "contacted_at",
        "nurtured_at",
        "sql_at",
        "valid_at",
        "closed_at",
        "ae_assigned_at",
    )
    leads = replace(
        data.leads, arrival=data.leads.arrival - offset, trial_end=data.leads.trial_end - offset
    )
    desks = {}
    for role, desk in data.desks.items():
        weekly = {name: values[k:] for name, values in desk.weekly.items()}
        desks[role] = replace(
            desk,
            roster=_shift_roster(desk.roster, offset, first_day),
            weekly=weekly,
            available_hours=float(weekly["available_hours"].sum()),
        )
    weekly = {name: values[k:] for name, values in data.weekly.items()}
    ae_reps = {name: values - np.array(ae_mark[name]) for name, values in data.ae_reps.items()}
    trace = data.trace
    if trace is not None:
        trace = [(t - offset, *rest) for t, *rest in trace if t >= offset]
    odds_trace = data.odds_trace
    if odds_trace is not None:
        odds_trace = [(t - offset, *rest) for t, *rest in odds_trace if t >= offset]
    return replace(
        data,
        scenario=reported,
        leads=leads,
        carried=leads.carried | (leads.arrival < 0),
        **{name: getattr(data, name) - offset for name in times},
        desks=desks,
        weekly=weekly,
        backlog_area=float(weekly["backlog_area"].sum()),
        ae_roster=None
        if data.ae_roster is None
        else _shift_roster(data.ae_roster, offset, first_day),
        ae_queue_area=float(weekly["ae_queue_area"].sum()),
        ae_open_area=float(weekly["ae_open_area"].sum()),
        ae_capacity_area=float(weekly["ae_capacity_area"].sum()),
        ae_reps=ae_reps,
        trace=trace,
        odds_trace=odds_trace,
    )
