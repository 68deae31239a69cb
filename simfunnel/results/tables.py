"""The tidy tables of one run, as plain functions of its ``RunData``: the weekly table, the
per-rep and per-source tables and the per-lead table. ``SimulationResult`` caches them as
properties; the KPI dictionaries stay in :mod:`.result`.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable
from typing import Any

import numpy as np
import pandas as pd

from ..base.units import WEEK
from ..model import DESK_COUNTERS, END_STATES, DeskRecord, Roster, RunData
from ..scenario import OUTCOMES

__all__ = [
    "funnel_by_source",
    "leads_table",
    "reps_table",
    "weekly_by_source",
    "weekly_counters",
    "weekly_table",
]

# Weekly columns counted from per-lead times: floats out of bincount, shown as whole numbers.
_WEEKLY_COUNTS = (
    "leads",
    "mqls",
    "below_threshold",
    "accounts_added",
    "sqls",
    "sqls_outbound",
    "valid_opportunities",
    "won",
    "lost",
)
_BDR_WEEKLY = ("dials", "emails", "connects", "contacts", "busy_hours", "available_hours")


def weekly_counters(data: RunData) -> dict[str, np.ndarray]:
    """Weekly counters: the engine's, and the calling teams' summed over SDRs and BDRs."""
    out = dict(data.weekly)
    for name in DESK_COUNTERS:
        # asarray: sum() starts from 0, but there is always the SDR desk, so it is an array.
        out[name] = np.asarray(sum(desk.weekly[name] for desk in data.desks.values()))
    return out


# --------------------------------------------------------------------------- by week


def _week_of(times: np.ndarray, weeks: int) -> np.ndarray:
    """The week of each time in the period (the last week takes the run's tail)."""
    t = times[times >= 0]  # NaN (never) and negative (before the period) drop out
    return np.minimum((t // WEEK).astype(int), weeks - 1)


def _weekly_count(times: np.ndarray, weeks: int, weights: np.ndarray | None = None) -> np.ndarray:
    """How many times (or how much weight) fall in each week of the period."""
    mask = times >= 0
    w = None if weights is None else weights[mask]
    return np.bincount(_week_of(times, weeks), weights=w, minlength=weeks)


def _weekly_days(per_day: np.ndarray, working: np.ndarray, weeks: int) -> np.ndarray:
    """Mean over each week's working days of a per-day series."""
    week = np.minimum(np.arange(len(working)) // 7, weeks - 1)
    days = np.bincount(week, weights=working, minlength=weeks)
    total = np.bincount(week, weights=per_day * working, minlength=weeks)
    return total / np.where(days > 0, days, np.nan)


def _weekly_employed(roster: Roster | None, working: np.ndarray, weeks: int) -> np.ndarray:
    """Mean reps employed over each week's working days (NaN without a roster)."""
    if roster is None:
        return np.full(weeks, np.nan)
    return _weekly_days(roster.employed, working, weeks)


def _weekly_staff(data: RunData, role: str, working: np.ndarray) -> dict[str, np.ndarray]:
    """Reps employed and effective (ramp- and leave-weighted), per week's working day."""
    roster = data.desks[role].roster
    weeks = data.scenario.weeks
    return {
        f"{role}_headcount": _weekly_days(roster.employed, working, weeks),
        f"{role}_effective": _weekly_days(roster.effective, working, weeks),
    }


def weekly_table(
    data: RunData, counters: dict[str, np.ndarray], working: np.ndarray
) -> pd.DataFrame:
    """One row per week: volumes, values, backlog and utilisation of that week.

    Volumes (dials, contacts, outcomes, SQLs...) count both calling teams; hours and
    utilisation without a prefix are the SDRs'. With an outbound section, ``bdr_`` columns
    give the BDRs' own activity, hours and headcount. ``counters``: :func:`weekly_counters`;
    ``working``: the working days of the run.
    """
    weeks = np.arange(data.scenario.weeks)
    week_hours = np.minimum(WEEK, data.scenario.horizon - weeks * WEEK)
    frame = pd.DataFrame(_weekly_columns(data, counters, working, week_hours))
    for col in _WEEKLY_COUNTS:
        frame[col] = frame[col].astype(int)
    frame["utilisation"] = frame["busy_hours"] / frame["available_hours"].where(
        frame["available_hours"] > 0
    )
    bdr = data.desks.get("bdr")
    if bdr is not None:
        _add_bdr_columns(frame, data, bdr, working, week_hours)
    return frame


def _weekly_columns(
    data: RunData, w: dict[str, np.ndarray], working: np.ndarray, week_hours: np.ndarray
) -> dict[str, Any]:
    """The weekly table's columns common to every run (both teams' volumes, the SDRs' hours)."""
    d = data
    n_weeks = d.scenario.weeks
    arrival = np.where(d.inbound, d.leads.arrival, np.nan)
    won = d.state == END_STATES.index("won")
    lost = d.lost_reason >= 0  # by reason: a lost lead may be back in nurture
    nan = np.full(len(arrival), np.nan)
    weeks = np.arange(n_weeks)

    def count(times: np.ndarray, weights: np.ndarray | None = None) -> np.ndarray:
        return _weekly_count(times, n_weeks, weights)

    return {
        "week": weeks,
        "week_start": [d.scenario.start_date + dt.timedelta(weeks=int(i)) for i in weeks],
        "leads": count(arrival),
        "mqls": count(np.where(d.mql, arrival, nan)),
        "below_threshold": count(np.where(d.mql, nan, arrival)),
        "accounts_added": count(np.where(d.inbound, nan, d.leads.arrival)),
        "accounts_researched": w["researched"],
        "dials": w["dials"],
        "connects": w["connects"],
        "contacts": w["contacts"],
        "nurture_leads": count(d.nurtured_at),
        **{name: w[name] for name in OUTCOMES[1:]},
        "recycled": w["recycled"],
        "cold": w["cold"],
        "re_mqls": w["re_mqls"],
        "emails": w["emails"],
        "email_replies": w["email_replies"],
        "sqls": count(d.sql_at),
        "sqls_outbound": count(np.where(d.inbound, nan, d.sql_at)),
        "valid_opportunities": count(d.valid_at),
        "won": count(np.where(won, d.closed_at, nan)),
        "lost": count(np.where(lost, d.closed_at, nan)),
        "pipeline_value": count(d.valid_at, d.leads.value),
        "won_value": count(np.where(won, d.closed_at, nan), d.leads.value),
        "backlog_mean": w["backlog_area"] / week_hours,
        "backlog_end": w["backlog_end"],
        "busy_hours": d.sdr.weekly["busy_hours"],
        "available_hours": d.sdr.weekly["available_hours"],
        **_weekly_staff(d, "sdr", working),
        "ae_queue_mean": w["ae_queue_area"] / week_hours,
        "ae_open_mean": w["ae_open_area"] / week_hours,
        "ae_headcount": _weekly_employed(d.ae_roster, working, n_weeks),
        "ae_occupancy": w["ae_open_area"]
        / np.where(w["ae_capacity_area"] > 0, w["ae_capacity_area"], np.nan),
    }


def _add_bdr_columns(
    frame: pd.DataFrame,
    data: RunData,
    bdr: DeskRecord,
    working: np.ndarray,
    week_hours: np.ndarray,
) -> None:
    """The BDRs' own weekly activity, hours, headcount and target list, after the others."""
    for name in _BDR_WEEKLY:
        frame[f"bdr_{name}"] = bdr.weekly[name]
    frame["bdr_utilisation"] = frame["bdr_busy_hours"] / frame["bdr_available_hours"].where(
        frame["bdr_available_hours"] > 0
    )
    for key, values in _weekly_staff(data, "bdr", working).items():
        frame[key] = values
    frame["target_list_mean"] = bdr.weekly["list_area"] / week_hours


def weekly_by_source(data: RunData) -> pd.DataFrame:
    """Long table: week, source, leads, mqls, sqls, valid_opportunities, won."""
    d = data
    weeks = d.scenario.weeks
    nan = np.full(len(d.leads), np.nan)
    won = d.state == END_STATES.index("won")

    def count(times: np.ndarray) -> np.ndarray:
        return _weekly_count(times, weeks).astype(int)

    frames = []
    for index, name in enumerate(d.scenario.source_names):
        mine = d.leads.source == index
        frames.append(
            pd.DataFrame(
                {
                    "week": np.arange(weeks),
                    "source": name,
                    "leads": count(np.where(mine, d.leads.arrival, nan)),
                    "mqls": count(np.where(mine & d.mql, d.leads.arrival, nan)),
                    "sqls": count(np.where(mine, d.sql_at, nan)),
                    "valid_opportunities": count(np.where(mine, d.valid_at, nan)),
                    "won": count(np.where(mine & won, d.closed_at, nan)),
                }
            )
        )
    return pd.concat(frames, ignore_index=True)


# --------------------------------------------------------------------------- by rep, source, lead


def reps_table(data: RunData) -> pd.DataFrame:
    """One row per rep (per employment spell; a back-fill is a new row in the same slot):
    SDRs and BDRs with hours, dials, emails, contacts and SQLs (BDRs also accounts
    researched); AEs (with an AE team) with deals and wins."""
    d = data
    start = d.scenario.start
    valid = d.valid_at >= 0
    frames = []
    for role, desk in d.desks.items():
        roster = desk.roster
        n = len(roster.spells)
        mine = (d.sql_rep >= 0) & (d.sql_at >= 0) & (d.inbound if role == "sdr" else ~d.inbound)
        frame = _spell_frame(role, roster, start)
        frame["available_hours"] = [shift.hours for shift in roster.shifts]
        frame["busy_hours"] = desk.rep_busy
        frame["dials"] = desk.rep_dials
        frame["emails"] = desk.rep_emails
        frame["contacts"] = desk.rep_contacts
        if role == "bdr":
            frame["accounts_researched"] = desk.rep_researched
        frame["sqls"] = np.bincount(d.sql_rep[mine], minlength=n)
        frame["valid_opportunities"] = np.bincount(d.sql_rep[mine & valid], minlength=n)
        frame["utilisation"] = frame["busy_hours"] / frame["available_hours"].where(
            frame["available_hours"] > 0
        )
        frames.append(frame)
    if d.ae_roster is not None:
        ae = _spell_frame("ae", d.ae_roster, start)
        for key, values in d.ae_reps.items():
            ae[f"deals_{key}" if key != "won_value" else key] = values
        frames.append(ae)
    return pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]


def _spell_frame(role: str, roster: Roster, start: dt.datetime) -> pd.DataFrame:
    """One row per employment spell of a team: who, in which slot, from when to when."""
    spells = roster.spells
    return pd.DataFrame(
        {
            "role": role,
            "rep": np.arange(len(spells)),
            "slot": [sp.slot for sp in spells],
            "joined": [start + dt.timedelta(hours=sp.start) for sp in spells],
            "left": [
                start + dt.timedelta(hours=sp.end) if math.isfinite(sp.end) else pd.NaT
                for sp in spells
            ],
            "exit": [sp.exit or None for sp in spells],
            "joined_as": [sp.joined for sp in spells],
        }
    )


def funnel_by_source(data: RunData) -> pd.DataFrame:
    """One row per source: the funnel from lead to win, with each stage's conversion."""
    d = data
    names = d.scenario.source_names
    src = d.leads.source
    k = len(names)
    won = (d.state == END_STATES.index("won")) & (d.closed_at >= 0)
    valid = d.valid_at >= 0

    def count(mask: np.ndarray) -> np.ndarray:
        return np.bincount(src[mask], minlength=k)

    frame = pd.DataFrame(
        {
            "source": names,
            "motion": ["inbound"] * len(d.scenario.sources)
            + ["outbound"] * (k - len(d.scenario.sources)),
            "leads": count(~d.carried),
            "mqls": count(d.mql_at >= 0),
            "attempted": count(d.first_attempt >= 0),
            "contacted": count(d.contacted_at >= 0),
            "sqls": count(d.sql_at >= 0),
            "valid_opportunities": count(valid),
            "won": count(won),
            "pipeline_value": np.bincount(src[valid], weights=d.leads.value[valid], minlength=k),
            "won_value": np.bincount(src[won], weights=d.leads.value[won], minlength=k),
        }
    )
    frame["mql_rate"] = frame["mqls"] / frame["leads"].where(frame["leads"] > 0)
    frame["mql_to_sql"] = frame["sqls"] / frame["mqls"].where(frame["mqls"] > 0)
    frame["sql_to_valid"] = frame["valid_opportunities"] / frame["sqls"].where(frame["sqls"] > 0)
    return frame


def _categorical(codes: np.ndarray, categories: Iterable[str]) -> pd.Categorical:
    """Codes as a categorical of the given names (code -1: missing)."""
    # pandas-stubs want the categories as an Index; pandas takes any list of them.
    return pd.Categorical.from_codes(codes, categories=list(categories))  # type: ignore[call-overload]


def leads_table(data: RunData) -> pd.DataFrame:
    """One row per lead with its attributes, its milestones (timestamps) and its end state."""
    d = data
    start = pd.Timestamp(d.scenario.start)

    def stamp(hours: np.ndarray) -> pd.DatetimeIndex:
        return start + pd.to_timedelta(hours, unit="h")

    return pd.DataFrame(
        {
            "lead_id": np.arange(len(d.leads)),
            "source": _categorical(d.leads.source, d.scenario.source_names),
            "score": d.leads.score,
            "quality": d.leads.quality,
            "mql": d.mql,
            "carried_in": d.carried,
            "arrived": stamp(d.leads.arrival),
            "researched": stamp(d.researched_at),
            "first_attempt": stamp(d.first_attempt),
            "went_cold": stamp(d.cold_at),
            "hours_to_first_attempt": d.first_attempt - d.leads.arrival,
            "attempts": d.attempts,
            "last_contact": stamp(d.contacted_at),
            "tossed_up": stamp(d.sql_at),
            "assigned_to_ae": stamp(d.ae_assigned_at),
            "hours_waiting_for_ae": np.where(np.isnan(d.ae_assigned_at), np.nan, d.ae_waited),
            "valid_opportunity": stamp(d.valid_at),
            "closed": stamp(d.closed_at),
            "value": np.where(np.isnan(d.valid_at), np.nan, d.leads.value),
            "end_state": _categorical(d.state, END_STATES),
            "lost_reason": _categorical(d.lost_reason, d.scenario.ae.lost_reasons),
        }
    )
