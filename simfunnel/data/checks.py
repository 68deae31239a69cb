"""The exports checked against each other and against the export date (``check_exports``):
placeholder dates, activity after a stated as-of date, calls and opportunities for leads the
lead table does not hold or created before their lead. Rows that cannot be true are excluded
(or their dates blanked) and reported; the as-of date is the latest plausible date unless
stated.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from .dates import PlaceholderRule, minute, parse_timestamp, plausible_window, stray_bounds
from .limits import EARLY_CALL, FUTURE_LIMIT, UNKNOWN_CALLS_SHARE, CalibrationError
from .tables import LEAD_STAGES, ExportTable, add_problem, with_problems

__all__ = ["check_exports"]


@dataclass(frozen=True)
class _KnownLeads:
    """The leads the other tables are checked against: the checked lead table, the leads kept
    (by id, first row of each), and the ids of the leads it excluded."""

    table: ExportTable
    known: pd.DataFrame
    dropped_ids: set[Any]

    @property
    def file(self) -> str:
        """The lead file's name, for problems (the report's file column has the path)."""
        return Path(self.table.path).name


def check_exports(
    leads: ExportTable,
    calls: ExportTable | None = None,
    opportunities: ExportTable | None = None,
    *,
    as_of: Any = None,
    today: Any = None,
) -> tuple[ExportTable, ExportTable | None, ExportTable | None, pd.Timestamp]:
    """The tables checked against each other and against the export date; returns them with
    the rows that cannot be true excluded (or their dates blanked) and reported with line,
    column, problem and action, and the as-of date.

    ``as_of``: when the extract was taken; by default the latest plausible date in the tables
    (not today's date: synthetic exports of a simulated future read too). Checked:

    - placeholder dates: more than two years after ``today`` (default: the clock's date), more
      than a year after ``as_of``, or beyond a gap of more than a year from the bulk of the
      dates (``2099-12-31``, ``1900-01-01``): the row is excluded;
    - with ``as_of`` stated: a lead, call or opportunity created after it is excluded; a stage
      date or close after it is blanked (not reached at ``as_of``; the lead's status with it);
    - calls for leads the lead table does not hold (or excluded) are excluded; when they are
      more than half of the calls the read stops (the id columns do not match); calls more
      than a day before their lead was created are excluded (less than a day: time zones,
      kept with a note); opportunities created more than a day before their lead, excluded.
    """
    now = parse_timestamp(today, "today") if today is not None else pd.Timestamp.now().normalize()
    stated = _stated_as_of(as_of, now)
    lead_dates = [c for c in (*LEAD_STAGES, "won_date", "lost_date") if c in leads.data]
    window, bulk = _window(leads, calls, opportunities, lead_dates, now + FUTURE_LIMIT)
    rule = PlaceholderRule(now, stated, window, bulk)
    checked_leads, known = _check_lead_rows(leads, lead_dates, rule)
    checked_calls = _check_call_rows(calls, known, rule) if calls is not None else None
    checked_opps = (
        _check_opportunity_rows(opportunities, known, rule) if opportunities is not None else None
    )
    if stated is None:
        found = _latest_date(checked_leads, checked_calls, checked_opps, lead_dates)
        return checked_leads, checked_calls, checked_opps, pd.Timestamp(found)
    return checked_leads, checked_calls, checked_opps, pd.Timestamp(stated)


def _stated_as_of(as_of: Any, now: pd.Timestamp) -> pd.Timestamp | None:
    """The as-of date given (None when not), refused when over two years after today."""
    if as_of is None:
        return None
    stamp = parse_timestamp(as_of, "as_of")
    if stamp > now + FUTURE_LIMIT:
        raise CalibrationError(
            f"as_of {stamp:%Y-%m-%d} is more than two years after today ({now:%Y-%m-%d})"
        )
    return stamp


def _window(
    leads: ExportTable,
    calls: ExportTable | None,
    opportunities: ExportTable | None,
    lead_dates: list[str],
    limit: pd.Timestamp,
) -> tuple[tuple[pd.Timestamp, pd.Timestamp] | None, tuple[pd.Timestamp, pd.Timestamp] | None]:
    """The span of the bulk of every date in the tables (closes of closed deals only),
    leaving out dates past the future limit, against which placeholders stand out; and the
    span within it without stray dates (:func:`simfunnel.data.dates.stray_bounds`)."""
    pool = [leads.data[c] for c in lead_dates]
    if calls is not None:
        pool.append(calls.data["timestamp"])
    if opportunities is not None:
        o = opportunities.data
        pool += [o["created"], o["close_date"].where(o["won"].notna())]
    stamps: pd.Series = (
        pd.concat(pool, ignore_index=True).dropna() if pool else pd.Series([], dtype="M8[ns]")
    )
    window = plausible_window(stamps[stamps <= limit])
    if window is None:
        return None, None
    return window, stray_bounds(stamps[stamps.between(*window)])


def _mark_placeholders(
    table: ExportTable,
    data: pd.DataFrame,
    fields: list[str],
    bad: pd.Series,
    problems: list[dict[str, Any]],
    rule: PlaceholderRule,
    only: pd.Series | None = None,
    early: bool = False,
) -> pd.Series:
    """Rows with a placeholder or stray date in one of ``fields``, reported (excluded; a stray
    also as a warning, since one typo would have moved the data period), added to the rows
    already ``bad``; ``only``: the rows whose dates count (closes of closed deals); ``early``:
    strays before the rest count too (a lead's dates: the first lead starts the period)."""
    out = bad.copy()
    for name in fields:
        why = rule.reasons(data[name], early)
        hit = why.notna() & ~out
        if only is not None:
            hit &= only
        column = table.columns.get(name, name)
        for j in data.index[hit]:
            line, value = data.at[j, "line"], minute(data[name].at[j])
            add_problem(problems, table.path, line, column, why[j], value, "excluded")
            if why[j].startswith("stray"):
                said = (
                    f"line {line!s}: '{column}' {value} is a {why[j]}: the row is excluded "
                    "(a typo?), so that it does not stretch the data period and dilute the rates"
                )
                add_problem(problems, table.path, line, column, said, value, "warning")
        out |= hit
    return out


def _after_as_of(
    table: ExportTable,
    data: pd.DataFrame,
    name: str,
    bad: pd.Series,
    problems: list[dict[str, Any]],
    as_of: pd.Timestamp,
    words: str,
) -> pd.Series:
    """Rows (not yet ``bad``) whose ``name`` date is after the as-of date: excluded, since the
    extract taken then could not hold them; ``words`` begins the problem."""
    later = (data[name] > as_of) & ~bad
    for j in data.index[later]:
        add_problem(
            problems,
            table.path,
            data.at[j, "line"],
            table.columns.get(name, name),
            f"{words} the as-of date {as_of:%Y-%m-%d %H:%M}",
            minute(data[name].at[j]),
            "excluded",
        )
    return later


def _blank_stages_after(
    leads: ExportTable,
    data: pd.DataFrame,
    lead_dates: list[str],
    bad: pd.Series,
    problems: list[dict[str, Any]],
    as_of: pd.Timestamp,
) -> None:
    """Stage dates after the as-of date blanked (not reached then), and the lead's status with
    them, in ``data``."""
    moved = pd.Series(False, index=data.index)
    for name in lead_dates[1:]:
        after = (data[name] > as_of) & ~bad
        for j in data.index[after]:
            add_problem(
                problems,
                leads.path,
                data.at[j, "line"],
                leads.columns.get(name, name),
                f"after the as-of date {as_of:%Y-%m-%d %H:%M}: not reached then "
                "(the lead's status blanked too)",
                minute(data[name].at[j]),
                "blanked",
            )
        data[name] = data[name].where(~after)
        moved |= after
    if "status" in data:
        data["status"] = data["status"].where(~moved)


def _check_lead_rows(
    leads: ExportTable, lead_dates: list[str], rule: PlaceholderRule
) -> tuple[ExportTable, _KnownLeads]:
    """The lead table with placeholders and leads created after the as-of date excluded and
    later stages blanked; refused when no lead is left. Also the leads the others check
    against."""
    data = leads.data.copy()
    problems: list[dict[str, Any]] = []
    bad = pd.Series(False, index=data.index)
    bad = _mark_placeholders(leads, data, lead_dates, bad, problems, rule, early=True)
    if rule.as_of is not None:
        bad |= _after_as_of(leads, data, "created", bad, problems, rule.as_of, "created after")
        _blank_stages_after(leads, data, lead_dates, bad, problems, rule.as_of)
    kept = data[~bad]
    if kept.empty:
        _no_leads(leads, problems, rule.as_of)
    checked = with_problems(leads, data, bad, problems)
    known = kept.drop_duplicates("lead_id").set_index("lead_id")
    gone = checked.dropped
    dropped_ids = set(gone["lead_id"].dropna()) if "lead_id" in gone else set()
    return checked, _KnownLeads(checked, known, dropped_ids)


def _calls_for_unknown_leads(
    calls: ExportTable, data: pd.DataFrame, leads: _KnownLeads, problems: list[dict[str, Any]]
) -> pd.Series:
    """Calls for leads not kept from the lead table: excluded; refused when more than half the
    leads called are unknown (the id columns do not match)."""
    column = calls.columns.get("lead_id", "lead_id")
    unknown = ~data["lead_id"].isin(leads.known.index)
    stranger = unknown & ~data["lead_id"].isin(leads.dropped_ids)
    ids, strangers = data["lead_id"].nunique(), data.loc[stranger, "lead_id"].nunique()
    if ids and strangers > UNKNOWN_CALLS_SHARE * ids:
        example = data.loc[stranger, "lead_id"].iloc[0]
        raise CalibrationError(
            f"{calls.path}: {strangers} of the {ids} leads called are not in {leads.table.path} "
            f"(column '{column}' against '{leads.table.columns.get('lead_id')}', e.g. "
            f"{example!r}): do the two id columns match?"
        )
    for j in data.index[unknown]:
        lead_id = data["lead_id"].at[j]
        why = (
            f"call for a lead excluded from the lead table ({leads.file})"
            if lead_id in leads.dropped_ids
            else f"call for a lead not in the lead table ({leads.file})"
        )
        add_problem(problems, calls.path, data.at[j, "line"], column, why, lead_id, "excluded")
    return unknown


def _calls_before_their_lead(
    calls: ExportTable,
    data: pd.DataFrame,
    leads: _KnownLeads,
    bad: pd.Series,
    problems: list[dict[str, Any]],
) -> pd.Series:
    """Calls more than a day before their lead was created: excluded (less than a day: time
    zones, kept with a note)."""
    column = calls.columns.get("timestamp", "timestamp")
    created = data["lead_id"].map(leads.known["created"])
    lead_lines = data["lead_id"].map(leads.known["line"])
    early = (data["timestamp"] < created) & ~bad
    too_early = early & (data["timestamp"] < created - EARLY_CALL)
    for j in data.index[early]:
        line = int(lead_lines[j])
        why = (
            f"call before its lead was created ({leads.file})"
            if too_early[j]
            else f"call less than a day before its lead was created ({leads.file}): time "
            "zones? kept"
        )
        add_problem(
            problems,
            calls.path,
            data.at[j, "line"],
            column,
            why,
            f"{minute(data['timestamp'].at[j])} < {minute(created[j])} (line {line})",
            "excluded" if too_early[j] else "note",
        )
    return too_early


def _check_call_rows(calls: ExportTable, leads: _KnownLeads, rule: PlaceholderRule) -> ExportTable:
    """The call table with calls for unknown leads, placeholders, calls after the as-of date
    and calls well before their lead excluded."""
    data = calls.data.copy()
    problems: list[dict[str, Any]] = []
    bad = pd.Series(False, index=data.index)
    bad |= _calls_for_unknown_leads(calls, data, leads, problems)
    bad = _mark_placeholders(calls, data, ["timestamp"], bad, problems, rule)
    if rule.as_of is not None:
        bad |= _after_as_of(calls, data, "timestamp", bad, problems, rule.as_of, "after")
    bad |= _calls_before_their_lead(calls, data, leads, bad, problems)
    return with_problems(calls, data, bad, problems)


def _blank_closes_after(
    opportunities: ExportTable,
    data: pd.DataFrame,
    bad: pd.Series,
    problems: list[dict[str, Any]],
    as_of: pd.Timestamp,
) -> None:
    """Deals closed after the as-of date were open then: close and won/lost blanked in
    ``data``."""
    shut = (data["close_date"] > as_of) & data["won"].notna() & ~bad
    for j in data.index[shut]:
        add_problem(
            problems,
            opportunities.path,
            data.at[j, "line"],
            opportunities.columns.get("close_date", "close_date"),
            f"closed after the as-of date {as_of:%Y-%m-%d %H:%M}: open then (won/lost blanked too)",
            minute(data["close_date"].at[j]),
            "blanked",
        )
    data["close_date"] = data["close_date"].where(~shut)
    data["won"] = data["won"].where(~shut)


def _opportunities_against_leads(
    opportunities: ExportTable,
    data: pd.DataFrame,
    leads: _KnownLeads,
    bad: pd.Series,
    problems: list[dict[str, Any]],
) -> pd.Series:
    """Deals created more than a day before their lead: excluded; deals naming a lead not
    kept: kept as deals on their own, with one note."""
    cols = opportunities.columns
    named = data["lead_id"].notna()
    lead_created = data["lead_id"].map(leads.known["created"])
    lead_lines = data["lead_id"].map(leads.known["line"])
    early = named & (data["created"] < lead_created - EARLY_CALL) & ~bad
    for j in data.index[early]:
        line = int(lead_lines[j])
        add_problem(
            problems,
            opportunities.path,
            data.at[j, "line"],
            cols.get("created", "created"),
            f"opportunity created before its lead ({leads.file})",
            f"{minute(data['created'].at[j])} < {minute(lead_created[j])} (line {line})",
            "excluded",
        )
    strange = named & ~data["lead_id"].isin(leads.known.index) & ~(bad | early)
    if strange.any():
        add_problem(
            problems,
            opportunities.path,
            None,
            cols["lead_id"],
            f"{int(strange.sum())} opportunities name a lead not among the leads "
            f"kept from {leads.file}: kept, as deals on their own",
            None,
            "note",
        )
    return early


def _check_opportunity_rows(
    opportunities: ExportTable, leads: _KnownLeads, rule: PlaceholderRule
) -> ExportTable:
    """The opportunity table with placeholders, deals created after the as-of date and deals
    well before their lead excluded, and closes after the as-of date blanked."""
    data = opportunities.data.copy()
    closed = data["won"].notna()
    problems: list[dict[str, Any]] = []
    bad = pd.Series(False, index=data.index)
    bad = _mark_placeholders(opportunities, data, ["created"], bad, problems, rule)
    bad = _mark_placeholders(opportunities, data, ["close_date"], bad, problems, rule, closed)
    if rule.as_of is not None:
        as_of = rule.as_of
        bad |= _after_as_of(opportunities, data, "created", bad, problems, as_of, "created after")
        _blank_closes_after(opportunities, data, bad, problems, as_of)
    if "lead_id" in opportunities.columns:
        bad |= _opportunities_against_leads(opportunities, data, leads, bad, problems)
    return with_problems(opportunities, data, bad, problems)


def _latest_date(
    leads: ExportTable,
    calls: ExportTable | None,
    opportunities: ExportTable | None,
    lead_dates: list[str],
) -> Any:
    """The as-of date when not stated: the latest date left in the checked tables (closes of
    closed deals only)."""
    latest = [leads.data[c].max() for c in lead_dates]
    if calls is not None:
        latest.append(calls.data["timestamp"].max())
    if opportunities is not None:
        o = opportunities.data
        latest += [o["created"].max(), o["close_date"].where(o["won"].notna()).max()]
    return max(x for x in latest if pd.notna(x))


def _no_leads(leads: ExportTable, problems: list[dict[str, Any]], as_of: Any) -> None:
    """Every lead excluded: one line saying why, with the first reason."""
    first = leads.data["created"].min() if len(leads.data) else pd.NaT
    if as_of is not None and pd.notna(first) and first > as_of:
        raise CalibrationError(
            f"{leads.path}: no lead created on or before the as-of date {as_of:%Y-%m-%d} (the "
            f"first was created {first:%Y-%m-%d})"
        )
    reason = next((p for p in problems if p["action"] == "excluded"), None)
    if reason is None and not leads.report.empty:
        excluded = leads.report[leads.report["action"] == "excluded"].to_dict("records")
        reason = {str(k): v for k, v in excluded[0].items()} if excluded else None
    why = (
        f"; e.g. line {reason['line']}: '{reason['column']}': {reason['problem']}"
        if reason is not None
        else ""
    )
    raise CalibrationError(
        f"{leads.path}: no usable lead rows ({leads.rows_read} read, all excluded{why})"
    )
