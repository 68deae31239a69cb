"""The simulation engine: SDRs working MQLs on simpy, with finite hours and a work queue.

Where is a call attempt decided? In :meth:`Engine._attempt`. Everything that does not depend on
the team (arrivals, lead attributes, what the AE would do with a lead) is drawn up front, and the
AE stage (no capacity limit yet) is resolved after the run, vectorised. The simpy part is only
what needs it: reps, their shifts, the queue and the cadence timers. Leads are plain indices into
flat lists, not processes, so an attempt costs one rep timeout plus, if a retry follows, one timer.
"""

from __future__ import annotations

import bisect
import calendar
import datetime as dt
import math
from dataclasses import dataclass, field
from heapq import heappop, heappush

import numpy as np
import simpy

from .ae import AEStage
from .arrivals import Leads, Streams, generate_leads
from .dists import Pool, uniform
from .nurture import score_paths
from .scenario import OUTCOMES, Scenario
from .staffing import Roster, build_roster
from .worktime import Shift, WorkCalendar

WEEK_HOURS = 168.0

# End states, in funnel order. Every lead ends the run in exactly one of them.
END_STATES = (
    "nurture",  # scored below the MQL threshold, still in nurture
    "aged_out",  # left nurture after nurture.age_out without becoming an MQL again
    "untouched",  # MQL never attempted
    "cold",  # MQL not attempted within its patience: went cold, lost to the SDR process
    "working",  # in a cadence: waiting for its next attempt or in the queue
    "recycled",  # no contact after the last attempt ("6-call-out"): back to nurture
    "information_gathering",  # contacted, interested later: nurture with a follow-up
    "postponed",  # contacted, asked for a callback later
    "no_prospect",  # contacted, not a fit: closed
    "do_not_call",  # contacted, asked not to be called: closed
    "sql",  # tossed up to an AE, first meeting not yet held
    "rejected",  # the AE did not accept it as a valid opportunity
    "open_opportunity",  # valid opportunity still open at the end
    "won",
    "lost",
    "self_serve_won",  # a PQL nobody reached during its trial bought on its own
)
(
    NURTURE,
    AGED_OUT,
    UNTOUCHED,
    COLD,
    WORKING,
    RECYCLED,
    INFO,
    POSTPONED,
    NO_PROSPECT,
    DNC,
    SQL,
    REJECTED,
    OPEN_OPP,
    WON,
    LOST,
    SELF_SERVE,
) = range(len(END_STATES))
_OUTCOME_STATE = (SQL, INFO, POSTPONED, NO_PROSPECT, DNC)  # in OUTCOMES order
_IN_NURTURE = frozenset((NURTURE, RECYCLED, INFO, POSTPONED))  # states nurture may act on
_CALLABLE = frozenset((UNTOUCHED, WORKING))  # states of leads waiting in the SDR queue
_SELF_SERVE_FROM = frozenset((NURTURE, AGED_OUT, UNTOUCHED, COLD, WORKING, RECYCLED))


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


def _period_starts(scenario: Scenario) -> list[float]:
    """Budget-period starts ('MM-DD') as hours from the start, over the horizon and a year on."""
    periods = scenario.outcomes.budget_periods
    start = scenario.start_date
    out = []
    for year in range(start.year, start.year + math.ceil(scenario.horizon / 8766) + 2):
        for text in periods:
            month, day = int(text[:2]), int(text[3:])
            if month == 2 and day == 29 and not calendar.isleap(year):
                day = 28
            out.append((dt.date(year, month, day) - start).days * 24.0)
    return sorted(t for t in out if t >= 0)


def _logit(p: float) -> float:
    if p <= 0.0:
        return -math.inf
    if p >= 1.0:
        return math.inf
    return math.log(p / (1.0 - p))


@dataclass
class RunData:
    """What the engine hands to the results layer: flat arrays and counters, no DataFrames."""

    scenario: Scenario
    seed: int | np.random.SeedSequence
    leads: Leads
    mql: np.ndarray
    state: np.ndarray
    first_attempt: np.ndarray
    cold_at: np.ndarray  # when an untouched MQL went cold (NaN otherwise)
    mql_at: np.ndarray  # when the lead first became an MQL (on arrival, or in nurture)
    self_serve_at: np.ndarray  # PQLs that bought self-serve: when (NaN otherwise)
    attempts: np.ndarray
    contacted_at: np.ndarray
    sql_at: np.ndarray
    valid_at: np.ndarray
    closed_at: np.ndarray
    weekly: dict[str, np.ndarray]
    busy_hours: float
    available_hours: float
    backlog_area: float
    sdr_roster: Roster
    rep_dials: np.ndarray
    rep_contacts: np.ndarray
    rep_busy: np.ndarray
    sql_rep: np.ndarray  # the SDR (spell index) who qualified each SQL, -1 otherwise
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


class Engine:
    """One run of one scenario. Build it, call :meth:`run` once."""

    def __init__(self, scenario: Scenario, seed: int | np.random.SeedSequence, trace: bool = False):
        self.scenario = scenario
        self.seed = seed
        self.streams = Streams(seed)
        self.calendar = WorkCalendar(scenario)
        self.leads = generate_leads(scenario, self.streams, self.calendar)
        self.trace: list[tuple] | None = [] if trace else None

    # ------------------------------------------------------------------ set-up

    def _prepare(self) -> None:
        sc = self.scenario
        n = len(self.leads)
        self.horizon = sc.horizon
        self.n_weeks = sc.weeks
        self.mql = self.leads.score >= sc.scoring.threshold
        self.arrival = self.leads.arrival.tolist()
        self.score = self.leads.score.tolist()
        self.quality = self.leads.quality.tolist()
        nan = math.nan
        self.state = [NURTURE] * n
        self.first_attempt = [nan] * n
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
        self.w_replies = [0] * self.n_weeks
        self.retry_token: dict[int, int] = {}
        self.nurture_since: dict[int, float] = {}
        self.self_serve_at: dict[int, float] = {}
        self.info_start: dict[int, float] = {}
        self.reply_p = sc.cadence.email_reply_probability
        self.u_reply = Pool(uniform, self.streams.rng("email", "reply"))
        self.d_reply = Pool(sc.cadence.email_reply_after.sample, self.streams.rng("email", "delay"))
        self.u_budget = Pool(uniform, self.streams.rng("postponed", "budget"))
        self.budget_starts = _period_starts(sc)
        self.score_floor = np.array([s.score.min for s in sc.sources])[self.leads.source]
        self.contacted_at = [nan] * n
        self.sql_at = [nan] * n
        self.attempts = [0] * n
        self.cycle_attempts = [0] * n
        self.cycle_start = [nan] * n
        self.follow_ups = [0] * n
        self.callbacks = [0] * n
        w = self.n_weeks
        self.w_dials = [0] * w
        self.w_connects = [0] * w
        self.w_contacts = [0] * w
        self.w_outcomes = [[0] * w for _ in OUTCOMES]
        self.w_recycled = [0] * w
        self.w_busy = [0.0] * w
        self.w_backlog_area = [0.0] * w
        self.w_backlog_end = [0] * w
        self.busy = 0.0
        # Time-weighted level of untouched MQLs (a level, not a tally).
        self.backlog = 0
        self.backlog_t = 0.0
        self.backlog_area = 0.0
        # Random streams for what happens during the run, each its own.
        r = self.streams.rng
        self.u_connect = Pool(uniform, r("dial", "connect"))
        self.u_contact = Pool(uniform, r("dial", "contact"))
        self.u_outcome = Pool(uniform, r("contact", "outcome"))
        self.r_nurture = r("nurture", "paths")
        durations = sc.cadence.durations
        self.d_no_connect = Pool(durations.no_connect.sample, r("duration", "no_connect"))
        self.d_connect = Pool(durations.connect.sample, r("duration", "connect"))
        self.d_conversation = Pool(durations.conversation.sample, r("duration", "conversation"))
        self.d_acw = Pool(durations.after_call_work.sample, r("duration", "after_call_work"))
        self.d_callback = Pool(sc.outcomes.callback_after.sample, r("delay", "callback"))
        stl = sc.speed_to_lead
        self.contact_decay = Decay(stl.contact if stl.enabled else None)
        self.qualify_decay = Decay(stl.qualify if stl.enabled else None)
        probs = sc.outcomes.probabilities
        effects = sc.outcomes.quality_effect
        self.outcome_p = [getattr(probs, k) for k in OUTCOMES]
        self.outcome_beta = [getattr(effects, k) for k in OUTCOMES]
        cadence = sc.cadence
        self.gaps = [cadence.gap(a) for a in range(1, cadence.max_attempts)]
        rule = sc.sdr.queue_rule
        self.key_new = {"new_first": 0.0, "fifo": 0.0, "score": None}[rule]
        self.key_retry = {"new_first": 1.0, "fifo": 0.0, "score": None}[rule]
        self.heap: list[tuple[float, float, int, int]] = []
        self.in_queue: set[int] = set()
        self.seq = 0
        self.idle: list[simpy.Event] = []
        self.roster = build_roster(sc.sdr, sc, self.calendar, self.streams, "sdr")
        self.shifts = self.roster.shifts
        self.available = self.roster.available_hours
        self.available_by_week = self.roster.available_by_week(self.n_weeks)
        reps = len(self.shifts)
        self.rep_dials = [0] * reps
        self.rep_contacts = [0] * reps
        self.rep_busy = [0.0] * reps
        self.sql_rep = [-1] * n

    # ------------------------------------------------------------------ the queue

    def _push(self, lead: int, now: float, priority: bool = False) -> None:
        """Make a lead ready to call and wake one idle rep, if any (never twice in the queue)."""
        if lead in self.in_queue:
            return
        self.in_queue.add(lead)
        if self.key_new is None:
            k1 = -self.score[lead]
        else:
            k1 = self.key_new if priority or self.attempts[lead] == 0 else self.key_retry
        self.seq += 1
        heappush(self.heap, (k1, now, self.seq, lead))
        if self.idle:
            self.idle.pop().succeed()

    def _on_due(self, event: simpy.Event) -> None:
        lead, token = event.value
        if token == self.retry_token.get(lead, 0):  # not replaced by a reply's callback
            self._push(lead, self.env.now)

    def _schedule(self, lead: int, at: float, now: float) -> None:
        """Put the lead back in the queue at ``at``; after the horizon it simply stays waiting."""
        if at < self.horizon:
            token = self.retry_token.get(lead, 0)
            self.env.timeout(at - now, value=(lead, token)).callbacks.append(self._on_due)

    def _on_reply(self, event: simpy.Event) -> None:
        """A lead answered the automated email after a failed call: call it back first thing."""
        lead, dials = event.value
        now = self.env.now
        if self.attempts[lead] != dials or self.state[lead] not in (WORKING, RECYCLED):
            return  # called again since, or the lead's path moved on
        self.retry_token[lead] = self.retry_token.get(lead, 0) + 1  # the pending retry is void
        self.aged_out_at.pop(lead, None)
        self.nurture_since.pop(lead, None)
        if self.state[lead] == RECYCLED:
            self.cycle_attempts[lead] = 0
            self.cycle_start[lead] = now
        self.state[lead] = WORKING
        self.w_replies[int(now // WEEK_HOURS)] += 1
        if self.trace is not None:
            self.trace.append((now, "email_reply", lead, None, None))
        self._push(lead, now, priority=True)

    def _start_cycle(self, event: simpy.Event) -> None:
        lead = event.value
        now = self.env.now
        self.cycle_attempts[lead] = 0
        self.cycle_start[lead] = now
        self.state[lead] = WORKING
        self._push(lead, now)

    def _backlog_step(self, delta: int, now: float) -> None:
        """Advance the untouched-MQL level to ``now`` (splitting at week ends), then change it."""
        t = self.backlog_t
        while t < now:
            week = int(t // WEEK_HOURS)
            boundary = (week + 1) * WEEK_HOURS
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
        env = self.env
        arrival = self.arrival
        for lead in np.flatnonzero(self.mql).tolist():
            t = arrival[lead]
            if t > env.now:
                yield env.timeout(t - env.now)
            self._become_mql(lead, t, "mql")

    def _become_mql(self, lead: int, t: float, event: str) -> None:
        """A lead never called before is now an MQL: it waits, untouched, for a first attempt."""
        self.state[lead] = UNTOUCHED
        self.cycle_start[lead] = t
        self._backlog_step(+1, t)
        if self.trace is not None:
            self.trace.append((t, event, lead, None, None))
        self._push(lead, t)
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
            if self.leads.self_serve[lead] <= 0 or state not in _SELF_SERVE_FROM:
                continue
            if not math.isnan(self.contacted_at[lead]):
                continue
            if state == UNTOUCHED:
                self._backlog_step(-1, t)
            self.state[lead] = SELF_SERVE
            self.self_serve_at[lead] = t
            if self.trace is not None:
                self.trace.append((t, "self_serve", lead, None, None))

    # ------------------------------------------------------------------ nurture

    def _to_nurture(self, lead: int, now: float, score: float) -> None:
        if self.scenario.nurture is not None:
            self.nurture_since[lead] = now
            self.nurture_inbox.append((lead, now, score))

    def _nurture(self):
        """Once a day, walk the score paths of the leads that entered nurture since last time.

        A re-MQL is at least ``cool_down`` (>= 1 day) after entry, so it is always still ahead.
        """
        env = self.env
        below = np.flatnonzero(~self.mql)
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
        if self.state[lead] not in _IN_NURTURE:
            return
        if since != self.nurture_since.get(lead, self.arrival[lead]):
            return  # a path from an earlier stay in nurture: the lead has moved on since
        self.w_re_mql[int(now // WEEK_HOURS)] += 1
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
        self.state[lead] = WORKING
        self._push(lead, now)

    def _on_cold(self, event: simpy.Event) -> None:
        """Patience ran out: if still untouched, the lead goes cold (and is skipped in the queue)."""
        lead = event.value
        if self.state[lead] != UNTOUCHED:
            return
        now = self.env.now
        self.state[lead] = COLD
        self.cold_at[lead] = now
        self.w_cold[int(now // WEEK_HOURS)] += 1
        self._backlog_step(-1, now)
        if self.trace is not None:
            self.trace.append((now, "cold", lead, None, None))

    def _rep(self, rep: int, shift: Shift):
        env = self.env
        heap = self.heap
        horizon = self.horizon
        while True:
            now = env.now
            on = shift.next_on(now)
            if on > now:
                if on >= horizon:
                    return
                yield env.timeout(on - now)
                continue
            if not heap:
                wake = env.event()
                self.idle.append(wake)
                yield wake
                continue
            lead = heappop(heap)[3]
            self.in_queue.discard(lead)
            if self.state[lead] not in _CALLABLE:
                continue  # went cold or bought self-serve while waiting
            yield env.timeout(self._attempt(lead, rep, now))

    # ------------------------------------------------------------------ one call attempt

    def _attempt(self, lead: int, rep: int, now: float) -> float:
        """Dial ``lead`` at ``now``: decide how far the call gets and what follows; return rep time."""
        week = int(now // WEEK_HOURS)
        if self.attempts[lead] == 0:
            self.first_attempt[lead] = now
            self._backlog_step(-1, now)
        self.attempts[lead] += 1
        self.cycle_attempts[lead] += 1
        self.state[lead] = WORKING
        self.w_dials[week] += 1
        self.rep_dials[rep] += 1
        age = now - self.cycle_start[lead]
        if self.u_connect() >= self.scenario.cadence.connect_probability:
            result = "no_connect"
            duration = self.d_no_connect() + self.d_acw()
        else:
            self.w_connects[week] += 1
            p_contact = self.scenario.cadence.contact_probability * self.contact_decay(age)
            if self.u_contact() >= p_contact:
                result = "connect"
                duration = self.d_connect() + self.d_acw()
            else:
                self.w_contacts[week] += 1
                duration = self.d_conversation() + self.d_acw()
                if self.trace is not None:
                    self.trace.append((now, "attempt", lead, rep, "contact"))
                self.rep_contacts[rep] += 1
                self._contact(lead, rep, now, now + duration, age, week)
                self.busy += duration
                self.w_busy[week] += duration
                self.rep_busy[rep] += duration
                return duration
        if self.trace is not None:
            self.trace.append((now, "attempt", lead, rep, result))
        self.busy += duration
        self.w_busy[week] += duration
        self.rep_busy[rep] += duration
        if self.reply_p > 0 and self.u_reply() < self.reply_p:
            reply = now + duration + self.d_reply()
            if reply < self.horizon:
                event = self.env.timeout(reply - now, value=(lead, self.attempts[lead]))
                event.callbacks.append(self._on_reply)
        done = self.cycle_attempts[lead]
        if done >= len(self.gaps) + 1:
            self.state[lead] = RECYCLED
            self.w_recycled[week] += 1
            if self.trace is not None:
                self.trace.append((now, "recycled", lead, rep, None))
            if self.scenario.nurture is not None:
                score = self.re_mql_score.get(lead, self.score[lead])
                self._to_nurture(lead, now, score - self.scenario.nurture.recycle_penalty)
        else:
            self._schedule(lead, now + self.gaps[done - 1], now)
        return duration

    def _contact(self, lead: int, rep: int, now: float, end: float, age: float, week: int) -> None:
        """Pick the outcome of a conversation and start its path."""
        q = self.quality[lead]
        weights = [
            p * math.exp(b * q) if p > 0 else 0.0
            for p, b in zip(self.outcome_p, self.outcome_beta, strict=True)
        ]
        total = sum(weights)
        probs = [w / total for w in weights]
        qualified = probs[0] * self.qualify_decay(age)
        rest = 1.0 - probs[0]
        scale = (1.0 - qualified) / rest if rest > 0 else 0.0
        probs = [qualified] + [p * scale for p in probs[1:]]
        u = self.u_outcome()
        k = 0
        acc = probs[0]
        while u >= acc and k < len(probs) - 1:
            k += 1
            acc += probs[k]
        self.w_outcomes[k][week] += 1
        self.state[lead] = _OUTCOME_STATE[k]
        self.contacted_at[lead] = now
        if self.trace is not None:
            self.trace.append((end, "outcome", lead, None, OUTCOMES[k]))
        outcomes = self.scenario.outcomes
        if k == 0:
            self.sql_at[lead] = end
            self.sql_rep[lead] = rep
            self.ae.toss_up(lead, end)
        elif k == 1 and self.follow_ups[lead] < len(outcomes.follow_ups):
            first = self.info_start.setdefault(lead, now)
            at = max(first + outcomes.follow_ups[self.follow_ups[lead]], end)
            self.follow_ups[lead] += 1
            self._schedule_cycle(lead, at, now)
        elif k == 2 and self.callbacks[lead] < outcomes.max_callbacks:
            self.callbacks[lead] += 1
            if self.budget_starts and self.u_budget() < outcomes.budget_period_share:
                i = bisect.bisect_right(self.budget_starts, end)
                at = self.budget_starts[i] if i < len(self.budget_starts) else math.inf
            else:
                at = now + self.d_callback()
            self._schedule_cycle(lead, at, now)
        elif k in (1, 2):  # follow-ups or callbacks used up: back to marketing
            self._to_nurture(lead, end, self.re_mql_score.get(lead, self.score[lead]))

    def _schedule_cycle(self, lead: int, at: float, now: float) -> None:
        if at < self.horizon:
            self.env.timeout(at - now, value=lead).callbacks.append(self._start_cycle)

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
        )
        env.process(self._arrivals())
        if sc.nurture is not None:
            env.process(self._nurture())
        if any(src.pql is not None for src in sc.sources):
            env.process(self._trials())
        for i, shift in enumerate(self.shifts):
            env.process(self._rep(i, shift))
        env.run(until=self.horizon)
        self._backlog_step(0, self.horizon)
        last = min(int((self.horizon - 1e-9) // WEEK_HOURS), self.n_weeks - 1)
        self.w_backlog_end[last] = self.backlog
        return self._collect()

    def _collect(self) -> RunData:
        sc = self.scenario
        leads = self.leads
        ae = self.ae
        ae.finish()
        for lead in self.aged_out_at:
            if self.state[lead] in _IN_NURTURE:
                self.state[lead] = AGED_OUT
        state = np.array(self.state, dtype=np.int8)
        sql_at = np.array(self.sql_at)
        mql_at = np.where(self.mql, leads.arrival, np.nan)
        if self.first_mql:
            keys = np.fromiter(self.first_mql, dtype=np.int64, count=len(self.first_mql))
            mql_at[keys] = np.fromiter(self.first_mql.values(), dtype=float, count=len(keys))
        valid_at = ae.array("valid_at")
        closed_at = ae.array("closed_at")

        weekly = {
            "dials": np.array(self.w_dials),
            "connects": np.array(self.w_connects),
            "contacts": np.array(self.w_contacts),
            "recycled": np.array(self.w_recycled),
            "cold": np.array(self.w_cold),
            "re_mqls": np.array(self.w_re_mql),
            "email_replies": np.array(self.w_replies),
            "busy_hours": np.array(self.w_busy),
            "available_hours": self.available_by_week,
            "backlog_area": np.array(self.w_backlog_area),
            "backlog_end": np.array(self.w_backlog_end),
            "ae_queue_area": np.array(ae.queue_level.weekly_area),
            "ae_open_area": np.array(ae.open_level.weekly_area),
            "ae_capacity_area": np.array(ae.capacity_level.weekly_area),
        }
        for name, counts in zip(OUTCOMES, self.w_outcomes, strict=True):
            weekly[name] = np.array(counts)
        return RunData(
            scenario=sc,
            seed=self.seed,
            leads=leads,
            mql=self.mql,
            state=state,
            first_attempt=np.array(self.first_attempt),
            cold_at=np.array(self.cold_at),
            mql_at=mql_at,
            self_serve_at=_sparse(self.self_serve_at, n_leads=len(leads)),
            attempts=np.array(self.attempts, dtype=np.int32),
            contacted_at=np.array(self.contacted_at),
            sql_at=sql_at,
            valid_at=valid_at,
            closed_at=closed_at,
            weekly=weekly,
            busy_hours=self.busy,
            available_hours=self.available,
            backlog_area=self.backlog_area,
            sdr_roster=self.roster,
            rep_dials=np.array(self.rep_dials, dtype=np.int64),
            rep_contacts=np.array(self.rep_contacts, dtype=np.int64),
            rep_busy=np.array(self.rep_busy),
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
        )


def _logistic(x: np.ndarray) -> np.ndarray:
    with np.errstate(over="ignore"):
        return 1.0 / (1.0 + np.exp(-x))
