"""The simulation engine: SDRs working inbound MQLs and BDRs prospecting outbound accounts, on simpy.

Everything that does not depend on the teams (arrivals, lead attributes, what an AE would do with
a lead) is drawn up front. The simpy part is only what needs it: reps and their shifts, the work
queues, the AE stage and a few timers. Leads are plain indices into flat lists, not processes.
Each calling team is a :class:`~simfunnel.model.desk.Desk`: its own reps, queue, cadence, odds,
outcome paths and random streams, so the SDR and BDR processes are one code path with two sets
of parameters.

The engine is built in layers: :class:`~simfunnel.model.queues.Queues` holds the run's state and
its work queues, :class:`~simfunnel.model.calls.Calls` adds the reps' work (where a call attempt
is decided), and :class:`Engine`, here, runs it all: it builds the run, starts the processes
that bring leads in (arrivals, a snapshot's leads, nurture, PQL trials, patience running out),
and collects what happened into a :class:`~simfunnel.model.records.RunData`.

Cadence retries do not each get a simpy timer: they wait in the desk's lines of retries (one
per cadence gap) and move to the ready queue when a rep next looks for work, or when a timer
fires for reps who are idle. The order of work is the same as with one timer per retry, at a
fraction of the events. Other timers far ahead (patience, email replies, agreed cadences,
re-MQLs and nurture's daily pass, the AE stage) wait in the run's
:class:`~simfunnel.model.queues.Agenda`, so simpy's queue holds a few dozen events whatever
the volume: what an event costs does not grow with the number of leads.
"""

from __future__ import annotations

import gc
import math

import numpy as np
import simpy
from simpy.events import ProcessGenerator

from ..base.units import WEEK
from ..scenario import Scenario
from .ae import AEStage
from .arrivals import Leads, Streams, generate_leads
from .calls import Calls
from .desk import DeskMark, ProspectingDesk
from .nurture import score_paths
from .queues import Agenda
from .records import RunData, lead_array, window
from .staffing import build_roster
from .start import Snapshot, snapshot_leads
from .states import (
    AGED_OUT,
    COLD,
    DAY_HOURS,
    IN_NURTURE,
    ON_LIST,
    RETURNED,
    SELF_SERVE,
    SELF_SERVE_FROM,
    UNTOUCHED,
    WORKING,
)
from .worktime import WorkCalendar


def _sparse(record: dict[int, float], n_leads: int) -> np.ndarray:
    """A per-lead record kept as a dictionary, as an array over all leads (NaN elsewhere)."""
    out = lead_array(n_leads, math.nan)
    if record:
        keys = np.fromiter(record, dtype=np.int64, count=len(record))
        out[keys] = np.fromiter(record.values(), dtype=float, count=len(record))
    return out


class Engine(Calls):
    """One run of one scenario. Build it, call :meth:`run` once."""

    def __init__(
        self,
        scenario: Scenario,
        seed: int | np.random.SeedSequence,
        trace: bool = False,
        snapshot: Snapshot | None = None,
    ) -> None:
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

    # ------------------------------------------------------------------ run

    def run(self) -> RunData:
        """Run the scenario to its horizon; what happened, the warm-up taken off."""
        self._prepare()
        self.env = env = simpy.Environment()
        self.later = Agenda(env)
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
            self.ae_roster,
            self.trace,
            self.later.add,
            on_return=self._from_ae if sc.nurture is not None else None,
            again=self.streams.rng("ae", "again"),
        )
        if self.snapshot is not None:
            self._restore()
        env.process(self._arrivals())
        if sc.nurture is not None:
            self._start_nurture()
        if any(src.pql is not None for src in sc.sources):
            env.process(self._trials())
        for desk in self.desks:
            for i, shift in enumerate(desk.shifts):
                env.process(self._rep(desk, i, shift))
        self.desk_marks: dict[str, DeskMark] | None = None
        self.ae_mark: dict[str, list] | None = None
        if self.reported.warm_up:
            self.later.add(self.reported.warm_up, self._end_warm_up, None)
        # The run makes no reference cycles worth collecting: the cyclic collector would only
        # walk the run's many live objects, again and again (a tenth of the time at 100k leads).
        collecting = gc.isenabled()
        gc.disable()
        try:
            env.run(until=self.horizon)
        finally:
            if collecting:
                gc.enable()
        self._backlog_step(0, self.horizon)
        last = min(int((self.horizon - 1e-9) // WEEK), self.n_weeks - 1)
        self.w_backlog_end[last] = self.backlog
        if self.bdr is not None:
            self.bdr.close(self.horizon)
        return self._collect()

    def _end_warm_up(self, _: None) -> None:
        """Note the counters at the end of the warm-up, to take off what it did at the end."""
        self.desk_marks = {desk.role: desk.mark() for desk in self.desks}
        self.ae_mark = {k: list(v) for k, v in self.ae.count.items()} | {
            "won_value": list(self.ae.won_value)
        }

    def _collect(self) -> RunData:
        """Close the levels and hand what happened over as flat arrays."""
        sc = self.scenario
        leads = self.leads
        ae = self.ae
        ae.finish()
        for lead in self.aged_out_at:
            if self.state[lead] in IN_NURTURE:
                self.state[lead] = AGED_OUT
        state = np.array(self.state, dtype=np.int8)
        n = len(leads)
        mql_at = lead_array(n, math.nan)
        np.copyto(mql_at, leads.arrival, where=self.mql & ~self.carried)
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
        # The per-lead arrays of the run are handed over as they are, not copied (see
        # records.lead_array): the engine is done with them.
        data = RunData(
            scenario=sc,
            seed=self.seed,
            leads=leads,
            inbound=self.inbound,
            carried=self.carried.copy(),
            mql=self.mql,
            state=state,
            first_attempt=np.frombuffer(self.first_attempt),
            researched_at=_sparse(self.researched_at, n),
            cold_at=np.frombuffer(self.cold_at),
            mql_at=mql_at,
            self_serve_at=_sparse(self.self_serve_at, n),
            attempts=np.frombuffer(self.attempts, dtype=np.int32),
            contacted_at=np.frombuffer(self.contacted_at),
            nurtured_at=np.frombuffer(self.nurtured_at),
            sql_at=np.frombuffer(self.sql_at),
            valid_at=ae.array("valid_at"),
            closed_at=ae.array("closed_at"),
            desks={
                desk.role: desk.record(
                    self.n_weeks,
                    None if self.desk_marks is None else self.desk_marks[desk.role],
                    int(self.reported.warm_up // DAY_HOURS),
                )
                for desk in self.desks
            },
            weekly=weekly,
            backlog_area=self.backlog_area,
            sql_rep=np.frombuffer(self.sql_rep, dtype=np.int32),
            ae_roster=self.ae_roster,
            ae_of=ae.array("ae_of"),
            ae_assigned_at=ae.array("assigned_at"),
            ae_waited=ae.array("waited"),
            lost_reason=ae.array("lost_reason"),
            ae_queue_area=ae.queue_level.area,
            ae_open_area=ae.open_level.area,
            ae_capacity_area=ae.capacity_level.area,
            ae_queue_at_end=len(ae.queue),
            ae_reps=ae.per_ae(),
            trace=self.trace,
            odds_trace=self.odds_trace,
        )
        if self.reported.warm_up:
            assert self.ae_mark is not None  # the warm-up ends before the horizon
            data = window(data, self.reported, self.ae_mark)
        return data

    # ------------------------------------------------------------------ processes

    def _arrivals(self) -> ProcessGenerator:
        """MQLs reach the SDR queue, and accounts the BDRs' target list, as they arrive."""
        env = self.env
        arrival = self.arrival
        bdr = self.bdr
        for lead in np.flatnonzero((self.mql | ~self.inbound) & ~self.carried).tolist():
            t = arrival[lead]
            if t > env.now:
                yield env.timeout(t - env.now)
            if bdr is not None and self.state[lead] == ON_LIST:
                bdr.add_account(lead, t)
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
                assert isinstance(desk, ProspectingDesk)  # start.py lists only outbound accounts
                desk.add_account(lead, 0.0)
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
        self.odds_contact[lead] = math.nan
        self._backlog_step(+1, t)
        if self.trace is not None:
            self.trace.append((t, event, lead, None, None))
        self._push(self.sdr, lead, t)
        if self.patience is not None:
            cold = t + float(self.patience[lead])
            if cold < self.horizon:
                self.later.add(cold - t, self._on_cold, lead)

    # ------------------------------------------------------------------ PQL trials

    def _trials(self) -> ProcessGenerator:
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

    def _start_nurture(self) -> None:
        """Walk the score paths of the leads that arrive below the threshold, and set the first
        daily pass.

        A re-MQL is at least ``cool_down`` (>= 1 day) after entry, so it is always still ahead.
        """
        below = np.flatnonzero(self.inbound & ~self.mql & ~self.carried)
        self._walk(below, self.leads.arrival[below], self.leads.score[below])
        self.later.add(24.0, self._nurture_pass, None)

    def _nurture_pass(self, _: None) -> None:
        """Once a day, walk the score paths of the leads that entered nurture since last time."""
        if self.nurture_inbox:
            leads, starts, scores = (np.array(c) for c in zip(*self.nurture_inbox, strict=True))
            self.nurture_inbox.clear()
            self._walk(leads.astype(np.int64), starts, scores)
        self.later.add(24.0, self._nurture_pass, None)

    def _walk(self, leads: np.ndarray, starts: np.ndarray, scores: np.ndarray) -> None:
        """Draw the score paths of leads entering nurture; time their re-MQL or age-out."""
        nurture = self.scenario.nurture
        if not len(leads) or nurture is None:
            return
        out = score_paths(
            nurture,
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
                self.later.add(at - now, self._on_re_mql, (lead, since))
            elif aged < self.horizon:
                self.aged_out_at[lead] = aged

    def _on_re_mql(self, entry: tuple[int, float]) -> None:
        """A lead in nurture scores above the threshold again: back to the SDR queue."""
        (lead, since), now = entry, self.env.now
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
        self.info_start[lead] = math.nan
        self.cycle_attempts[lead] = 0
        self.cycle_start[lead] = now
        self.odds_contact[lead] = math.nan
        self.late_reply.discard(lead)
        self.state[lead] = WORKING
        self._push(self.sdr, lead, now)

    def _on_cold(self, lead: int) -> None:
        """Patience ran out: if still untouched, the lead goes cold (and is skipped in the queue)."""
        if self.state[lead] != UNTOUCHED:
            return
        now = self.env.now
        self.state[lead] = COLD
        self.cold_at[lead] = now
        self.w_cold[int(now // WEEK)] += 1
        self._backlog_step(-1, now)
        if self.trace is not None:
            self.trace.append((now, "cold", lead, None, None))

    def _from_ae(self, lead: int, now: float) -> None:
        """A lead the AE rejected, or lost for a reason that keeps it open, goes back to
        marketing nurture (lost reasons feed the cycle); it keeps its state until a re-MQL."""
        if self.inbound[lead]:
            self._to_nurture(self.sdr, lead, now, self.re_mql_score.get(lead, self.score[lead]))
