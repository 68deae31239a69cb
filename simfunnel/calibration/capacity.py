"""Who does the work, as far as the exports show it: the owners active per role and month
(SDRs from the call log's reps, AEs from the deals' owners), today's team, and the SDR
headcount the fitted scenario assumes from it."""

from __future__ import annotations

import pandas as pd

from ..data import ExportTable

__all__ = ["active_last_month", "capacity_notes", "capacity_table", "sdr_headcount"]

# Who works which side of the funnel, by the table that names them.
_ROLES = (("sdr", "calls", "rep"), ("ae", "opportunities", "owner"))


def _activity(ct: ExportTable | None, ot: ExportTable | None, reps: list[str]) -> pd.DataFrame:
    """Every dated act of a named owner: ``role, owner, when``. Calls by the reps the fit
    counts as SDRs; deals created, and closed (an open deal's close date is a plan, not an
    act), by their owner."""
    frames = []
    if ct is not None and not ct.data.empty:
        c = ct.data[ct.data["rep"].isin(reps)]
        frames.append(pd.DataFrame({"role": "sdr", "owner": c["rep"], "when": c["timestamp"]}))
    if ot is not None and not ot.data.empty and ot.data["owner"].notna().any():
        o = ot.data[ot.data["owner"].notna()]
        closed = o["close_date"].where(o["won"].notna())
        for when in (o["created"], closed):
            frames.append(pd.DataFrame({"role": "ae", "owner": o["owner"], "when": when}))
    if not frames:
        return pd.DataFrame(columns=["role", "owner", "when"])
    return pd.concat(frames, ignore_index=True).dropna(subset=["when"])


def capacity_table(
    ct: ExportTable | None,
    ot: ExportTable | None,
    reps: list[str],
    start: pd.Timestamp,
    as_of: pd.Timestamp,
) -> pd.DataFrame:
    """Owners active per role and calendar month: ``role, table, column, month, active,
    complete``. An owner counts in every month from their first act to their last (a quiet
    month is not a leaver); ``complete`` says the month lies wholly in the data period."""
    columns = ["role", "table", "column", "month", "active", "complete"]
    acts = _activity(ct, ot, reps)
    if acts.empty:
        return pd.DataFrame(columns=columns)
    span = acts.groupby(["role", "owner"])["when"].agg(["min", "max"])
    rows = []
    for role, table, column in _ROLES:
        if role not in span.index.get_level_values("role"):
            continue
        mine = span.loc[role]
        months = pd.period_range(mine["min"].min(), mine["max"].max(), freq="M")
        for month in months:
            first, end = month.start_time, (month + 1).start_time
            active = int(((mine["min"] < end) & (mine["max"] >= first)).sum())
            complete = bool(first >= start.normalize() and end <= as_of)
            rows.append((role, table, column, str(month), active, complete))
    return pd.DataFrame(rows, columns=columns)


def active_last_month(capacity: pd.DataFrame) -> dict[str, tuple[int, str]]:
    """Per role, the owners active in the last complete month before the as-of date, and
    that month: today's team, not every name the history holds."""
    out: dict[str, tuple[int, str]] = {}
    if capacity.empty:
        return out
    for role, group in capacity[capacity["complete"]].groupby("role"):
        last = group.iloc[-1]
        out[str(role)] = (int(last["active"]), str(last["month"]))
    return out


def capacity_notes(capacity: pd.DataFrame, active: dict[str, tuple[int, str]]) -> list[str]:
    """One note per role: the owners active in the last months (the capacity table has all)."""
    notes = []
    names = {"sdr": "SDRs (the call log's reps)", "ae": "AEs (the deals' owners)"}
    for key, group in capacity.groupby("role", sort=False):
        role = str(key)
        tail = group.iloc[-6:]
        recent = ", ".join(f"{m} {a}" for m, a in zip(tail["month"], tail["active"], strict=True))
        last = f"; last complete month {active[role][1]}" if role in active else ""
        notes.append(
            f"capacity: {names[role]} active by month (Calibration.capacity), latest: "
            f"{recent}{last}"
        )
    return notes


def sdr_headcount(reps: list[str], active: tuple[int, str] | None) -> tuple[int, str]:
    """The SDR headcount and its basis: the reps active in the last complete month before the
    as-of date (leavers and joiners of the past do not count), else every rep seen."""
    check = "check against the roster (part-timers, leavers)"
    if active is not None and active[0] > 0:
        n, month = active
        return n, (
            f"{n} owners active in {month} (the last complete month before the as-of date; a "
            f"rep is active from their first call to their last), of {len(reps)} in the whole "
            f"call log: {check}"
        )
    return len(reps) or 1, (
        f"distinct SDRs in the call log ({len(reps)}; no complete month of calls): {check}"
    )
