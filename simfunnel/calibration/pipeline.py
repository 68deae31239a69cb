"""The open pipeline at the as-of date: the funnel as the exports show it, as a lead table a
forecast can start from (``simfunnel forecast SCENARIO --snapshot FILE``).

Why: a fitted scenario forecasts from a warm-up, a funnel filled by the model itself; a leader
asks what the leads and deals open today will bring. :func:`open_pipeline` builds that table
from the exports the scenario was fitted on, with the rules the backtest scores
(:func:`simfunnel.calibration.lead_snapshot`): the cadence the scenario states decides which
MQLs without an SQL are still being worked, the fitted meeting delay which SQLs still wait for
their meeting, and without a call log the fitted MQL->SQL hazard keeps the old MQLs by the
chance their age leaves them.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from ..data import ExportTable
from .estimators import DISTS
from .fit_result import Calibration
from .hazard import sql_hazard
from .snapshot import DEFAULT_GAPS_DAYS, snapshot_with_chances

__all__ = ["open_pipeline"]


def open_pipeline(
    calibration: Calibration,
    cut: pd.Timestamp | None = None,
    leads: ExportTable | None = None,
    calls: ExportTable | None = None,
    opportunities: ExportTable | None = None,
    *,
    seed: int = 0,
    data: dict[str, Any] | None = None,
) -> tuple[pd.DataFrame, list[str]]:
    """The funnel at ``cut`` (default: the as-of date) as a lead table in the format
    :func:`simfunnel.read_snapshot` reads, with a ``rule`` column saying what set each state,
    and notes on what was left out or assumed.

    The exports default to those the calibration was fitted on (a backtest passes the whole
    exports, of which only what was known at the cutoff is used); ``data``, to the
    calibration's scenario (its cadence and sources). Leads of a source the fit has no rate
    for are left out, and said so."""
    exports = calibration.exports
    lt = leads if leads is not None else exports["leads"]
    if leads is None:
        calls, opportunities = exports.get("calls"), exports.get("opportunities")
    cut = calibration.as_of if cut is None else cut
    data = calibration.scenario_dict() if data is None else data
    names = [s["name"] for s in data["sources"]]
    hazard = sql_hazard(calibration.cohorts) if calls is None else None
    cadence_days = calendar_days(data)
    table, p_sql = snapshot_with_chances(
        lt,
        cut,
        calls,
        opportunities,
        max_attempts=int(data["cadence"].get("max_attempts", 6)),
        cadence_days=cadence_days,
        meeting_days=meeting_days(calibration),
        hazard=hazard,
        seed=seed,
    )
    notes: list[str] = []
    unknown = ~table["source"].isin(names)
    if unknown.any():
        notes.append(
            f"{int(unknown.sum())} leads of sources not in the fit left out of the snapshot"
        )
        table = table[~unknown].reset_index(drop=True)
        p_sql = p_sql[~unknown.to_numpy()]
    if calls is None:
        notes += _old_mql_note(table, p_sql, cadence_days, hazard is not None)
    return table, notes


def calendar_days(scenario_dict: dict[str, Any]) -> float:
    """Days a cadence runs: the sum of its gaps (default 1, 2, 2, 3, 4 days), plus a week."""
    gaps = scenario_dict.get("cadence", {}).get("gaps")
    if not gaps:
        return DEFAULT_GAPS_DAYS + 7
    hours = 0.0
    for g in gaps:
        number, unit = str(g).split()
        hours += float(number) * {"h": 1, "days": 24, "day": 24}.get(unit, 1)
    return hours / 24 + 7


def meeting_days(calibration: Calibration) -> float:
    """Days within which a first meeting is all but sure to be held: the fitted meeting delay's
    99th percentile plus a day (14 days without a fit)."""
    d = calibration.durations
    if d.empty or not (d["stage"] == "meeting_delay").any():
        return 14.0
    b = d[(d["stage"] == "meeting_delay") & d["chosen"]].iloc[0]
    if b["dist"] == "fixed":
        return float(b["median"]) + 1.0
    return float(DISTS[b["dist"]](b["shape"], scale=b["scale"]).ppf(0.99)) + 1.0


def _old_mql_note(
    table: pd.DataFrame, p_sql: np.ndarray, cadence_days: float, hazard: bool
) -> list[str]:
    """Without a call log: how many MQLs past the cadence were kept in it by the fitted
    MQL->SQL hazard and the SQLs they are expected to bring (or that all were settled)."""
    drawn = ~np.isnan(p_sql)
    if hazard:
        if not drawn.any():
            return []
        kept = int((drawn & (table["end_state"] == "working").to_numpy()).sum())
        return [
            f"{kept} of {int(drawn.sum())} MQLs over {cadence_days:.0f} days old with no SQL "
            "(no call log) kept in the cadence with 1 attempt by the fitted MQL->SQL hazard of "
            f"their age, the rest settled: {p_sql[drawn].sum():.1f} expected SQLs from them"
        ]
    old = int(table["rule"].str.startswith(f"MQL over {cadence_days:g} days old").sum())
    if not old:
        return []
    return [
        f"{old} MQLs over {cadence_days:.0f} days old with no SQL (no call log) settled: the fit "
        "has no MQL->SQL hazard (cohort model), so none of them becomes an SQL in the forecast"
    ]
