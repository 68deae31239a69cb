"""The simulation model on simpy: lead arrivals and random streams, work calendars, staffing, lead states, the desk of reps and the engine, the AE stage, nurture, and the start from a CRM snapshot.

It hands flat arrays to ``results``; it knows nothing of experiments or decisions.
"""

from __future__ import annotations

from .ae import logistic, logit, win_probability
from .arrivals import Streams, account_times
from .desk import Decay
from .engine import Engine
from .records import DeskRecord, RunData
from .staffing import DAY, MONTH_DAYS, Roster, build_roster
from .start import MAX_ATTEMPTS, Snapshot, read_snapshot
from .states import DESK_COUNTERS, END_STATES, OPEN_OPP, State
from .worktime import WorkCalendar

__all__ = [
    "DAY",
    "DESK_COUNTERS",
    "END_STATES",
    "MAX_ATTEMPTS",
    "MONTH_DAYS",
    "OPEN_OPP",
    "Decay",
    "DeskRecord",
    "Engine",
    "Roster",
    "RunData",
    "Snapshot",
    "State",
    "Streams",
    "WorkCalendar",
    "account_times",
    "build_roster",
    "logistic",
    "logit",
    "read_snapshot",
    "win_probability",
]
