"""What the engine hands to the results layer: the figures of a calling team (:class:`DeskRecord`),
those of a whole run (:class:`RunData`), and :func:`window`, which takes a warm-up off them.

Flat arrays and counters only, no DataFrames: the results layer builds its tables from these.
"""

from __future__ import annotations

from array import array
from dataclasses import dataclass, field, replace

import numpy as np

from ..base.units import WEEK
from ..scenario import Scenario
from .arrivals import Leads
from .staffing import Roster


def lead_array(n: int, value: float, typecode: str = "d") -> np.ndarray:
    """``n`` values ``value`` (``typecode`` as in :mod:`array`: "d" float64, "i" int32, "h"
    int16), in memory from Python's allocator that numpy then shares, rather than numpy's own.

    Why: numpy asks the kernel for huge pages for an array of 4 MB or more (a float per lead
    from about 500k leads), and where the kernel compacts memory to find them (THP defrag
    "madvise", the usual default) a fresh array over 2M leads took 40-120 ms to fill against
    7-9 ms in plain pages: the arrays of a run cost more per lead at 2M leads than at 100k.
    """
    return np.frombuffer(array(typecode, [value]) * n, dtype=np.dtype(typecode))


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


# Per-lead times moved by the warm-up offset in :func:`window`.
_TIMES = (
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


def shift_roster(roster: Roster, offset: float, first_day: int) -> Roster:
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
    leads = replace(
        data.leads, arrival=data.leads.arrival - offset, trial_end=data.leads.trial_end - offset
    )
    desks = {}
    for role, desk in data.desks.items():
        weekly = {name: values[k:] for name, values in desk.weekly.items()}
        desks[role] = replace(
            desk,
            roster=shift_roster(desk.roster, offset, first_day),
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
        **{name: getattr(data, name) - offset for name in _TIMES},
        desks=desks,
        weekly=weekly,
        backlog_area=float(weekly["backlog_area"].sum()),
        ae_roster=None
        if data.ae_roster is None
        else shift_roster(data.ae_roster, offset, first_day),
        ae_queue_area=float(weekly["ae_queue_area"].sum()),
        ae_open_area=float(weekly["ae_open_area"].sum()),
        ae_capacity_area=float(weekly["ae_capacity_area"].sum()),
        ae_reps=ae_reps,
        trace=trace,
        odds_trace=odds_trace,
    )
