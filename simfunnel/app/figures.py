"""What the page shows, as plain data: KPI tiles, the funnel, capacity, the weekly band and the
side-by-side comparison, each built from the :class:`~simfunnel.app.runs.Outcome` of today's
settings and of the options, with every figure already written as a person reads it.

The page only lays these out; tests read them without a browser. Figures are written by the
unit the KPI registry gives them: counts whole, shares as percentages, durations in their own
unit, money in the scenario's currency.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd

from ..base.units import format_duration
from ..results import KPIS, Unit
from ..scenario import Scenario
from .runs import Change, Outcome, paired

__all__ = [
    "BAND_METRICS",
    "COMPARED",
    "TILES",
    "Tile",
    "band",
    "band_note",
    "capacity",
    "change_text",
    "comparison",
    "funnel",
    "label",
    "tiles",
    "value_text",
    "weekly_load",
]

# The KPI tiles, in order: what a sales leader watches.
TILES = (
    "totals.valid_opportunities",
    "totals.won",
    "totals.won_value",
    "utilisation.sdr",
    "speed_to_lead.within_1h",
)
# Lower is better for these; utilisation is neither (too low idles, too high leaves leads
# waiting), so its change is shown without a colour.
LOWER_IS_BETTER = frozenset({"speed_to_lead.median_h", "speed_to_lead.mean_h"})
NEUTRAL = frozenset({"utilisation.sdr", "utilisation.bdr", "ae.ae_occupancy"})
# The rows of the side-by-side comparison (those a scenario lacks are left out).
COMPARED = (
    "totals.leads",
    "totals.mqls",
    "totals.sqls",
    "totals.valid_opportunities",
    "totals.won",
    "totals.pipeline_value",
    "totals.won_value",
    "speed_to_lead.median_h",
    "speed_to_lead.within_1h",
    "utilisation.sdr",
    "utilisation.bdr",
    "ae.ae_occupancy",
    "ae.ae_mean_wait_h",
)
# Weekly metrics the forecast band can show: column of the weekly table -> label.
BAND_METRICS: dict[str, str] = {
    "sqls": "SQLs",
    "valid_opportunities": "valid opportunities",
    "won": "deals won",
    "pipeline_value": "pipeline value",
    "won_value": "won value",
    "mqls": "MQLs",
}
_MONEY_WEEKLY = frozenset({"pipeline_value", "won_value"})

_SHORT = {"speed_to_lead.within_1h": "Called within 1 h"}  # "MQLs called within 1 h"

DeltaColor = Literal["normal", "inverse", "off"]


def label(key: str, short: bool = False) -> str:
    """A KPI's label from the registry, capitalised: 'Valid opportunities'; ``short``: the
    tile's label where the registry's is too long for a tile."""
    if short and key in _SHORT:
        return _SHORT[key]
    entry = KPIS.get(key)
    text = entry.label if entry is not None else key.split(".")[-1].replace("_", " ")
    return _first_upper(text)


def _unit(key: str) -> Unit:
    entry = KPIS.get(key)
    return entry.unit if entry is not None else Unit.NUMBER


def value_text(scenario: Scenario, key: str, value: float) -> str:
    """A mean over replications as the page writes it, by the KPI's unit: a count whole
    ('1,234'), a share as a percent ('45.2%'), a duration in its unit ('12.0 min'), money in
    the scenario's currency ('$1.2M'); 'n/a' where it is undefined."""
    if value is None or math.isnan(value):
        return "n/a"
    unit = _unit(key)
    if unit is Unit.SHARE:
        return f"{value:.1%}"
    if unit is Unit.DURATION:
        return format_duration(value)
    if unit is Unit.MONEY:
        return scenario.currency.format(value)
    if unit in (Unit.COUNT, Unit.HEADCOUNT):
        return f"{round(value):,}"
    return f"{value:,.1f}"


def change_text(scenario: Scenario, key: str, diff: float, base: float) -> str:
    """A change against today's, signed, by the KPI's unit: '+12 (+5.1%)', '+$120K (+4.0%)',
    '-3.5 pp', '-4.0 min'; 'n/a' where it is undefined."""
    if diff is None or math.isnan(diff):
        return "n/a"
    unit = _unit(key)
    if unit is Unit.SHARE:
        return f"{round(100 * diff, 1) + 0.0:+.1f} pp"  # + 0.0: no "-0.0"
    if unit is Unit.DURATION:
        return ("-" if diff < 0 else "+") + format_duration(abs(diff))
    if unit is Unit.MONEY:
        text = scenario.currency.format(diff, signed=True)
    elif unit in (Unit.COUNT, Unit.HEADCOUNT):
        # A change of a mean: whole, unless it rounds to 0 (then its sign still shows).
        text = f"{round(diff):+,}" if abs(diff) >= 0.5 or diff == 0 else f"{diff:+.1f}"
    else:
        text = f"{diff:+,.1f}"
    if base and not math.isnan(base):
        text += f" ({diff / base:+.1%})"
    return text


@dataclass(frozen=True)
class Tile:
    """One KPI tile: its label, the option's figure, its change against today (None when the
    option is today's settings) and how to colour it, and a note with the interval."""

    key: str
    label: str
    value: str
    delta: str | None
    delta_color: DeltaColor
    note: str
    arrow: bool = True  # False where nothing changed: no arrow up or down


def tiles(scenario: Scenario, option: Outcome, today: Outcome, same: bool) -> list[Tile]:
    """The KPI tiles of an option; ``same``: the option is today's settings (no change shown)."""
    out = []
    for key in TILES:
        mean, base = option.mean(key), today.mean(key)
        change = paired(option, today, key)
        entry = KPIS.get(key)
        meaning = f"{entry.meaning[:1].upper()}{entry.meaning[1:]}. " if entry else ""
        note = (
            f"{meaning}Mean of {option.reps} replications; today: "
            f"{value_text(scenario, key, base)}."
        )
        if not same and not math.isnan(change.low):
            low = change_text(scenario, key, change.low, math.nan)
            high = change_text(scenario, key, change.high, math.nan)
            note += f" Change, 95% interval: {low} to {high}."
        flat = same or change.diff == 0
        # A change whose paired 95% interval holds 0 may be luck: no colour, and said so.
        noise = not same and not math.isnan(change.low) and change.low <= 0 <= change.high
        color: DeltaColor = "inverse" if key in LOWER_IS_BETTER else "normal"
        if key in NEUTRAL or flat or noise:
            color = "off"
        delta = None if same else change_text(scenario, key, change.diff, base)
        if delta is not None and change.diff == 0 and change.low == change.high == 0:
            delta = "no change"
        elif delta is not None and noise:  # short: a tile is narrow
            delta = change_text(scenario, key, change.diff, math.nan) + " (noise)"
        text = value_text(scenario, key, mean)
        out.append(Tile(key, label(key, short=True), text, delta, color, note, arrow=not flat))
    return out


# --------------------------------------------------------------------------- the funnel

_STAGES = (
    ("leads", "leads/accounts", "by_motion.inbound_leads", "by_motion.outbound_accounts"),
    ("mqls", "MQLs", "totals.mqls", None),
    ("attempted", "attempted", "by_motion.inbound_attempted", "by_motion.outbound_attempted"),
    ("contacted", "reached", "by_motion.inbound_contacted", "by_motion.outbound_contacted"),
    ("sqls", "SQLs", "by_motion.inbound_sqls", "by_motion.outbound_sqls"),
    (
        "valid_opportunities",
        "valid opportunities",
        "by_motion.inbound_valid_opportunities",
        "by_motion.outbound_valid_opportunities",
    ),
    ("won", "won", "by_motion.inbound_won", "by_motion.outbound_won"),
)
STAGE_LABELS = [stage_label for _, stage_label, _, _ in _STAGES]


def funnel(options: Mapping[str, Outcome], outbound: bool) -> pd.DataFrame:
    """Stage counts (means over replications) per option and motion, with the conversion from
    the stage before: option, motion, stage, count, text, conversion. Outbound accounts have
    no MQL stage."""
    rows = []
    motions = ["inbound", "outbound"] if outbound else ["inbound"]
    for name, out in options.items():
        for motion in motions:
            previous = math.nan
            for _, stage_label, inbound_key, outbound_key in _STAGES:
                key = inbound_key if motion == "inbound" else outbound_key
                if key is None:
                    continue
                n = out.mean(key)
                rate = n / previous if previous and not math.isnan(previous) else math.nan
                rows.append((name, motion, stage_label, n, f"{round(n):,}", rate))
                previous = n
    columns = ["option", "motion", "stage", "count", "text", "conversion"]
    return pd.DataFrame(rows, columns=columns)


# --------------------------------------------------------------------------- capacity

_TEAMS = (("SDR", "utilisation.sdr"), ("BDR", "utilisation.bdr"), ("AE", "ae.ae_occupancy"))
_TEAM_WEEKLY = {"SDR": "utilisation", "BDR": "bdr_utilisation", "AE": "ae_occupancy"}


def capacity(options: Mapping[str, Outcome]) -> pd.DataFrame:
    """Utilisation per team and option (SDR and BDR utilisation, AE occupancy), means over
    replications: option, team, utilisation, text. Teams the scenario lacks are left out."""
    rows = []
    for name, out in options.items():
        for team, key in _TEAMS:
            value = out.mean(key)
            if not math.isnan(value):
                rows.append((name, team, value, f"{value:.0%}"))
    return pd.DataFrame(rows, columns=["option", "team", "utilisation", "text"])


def weekly_load(option: Outcome) -> pd.DataFrame:
    """Each team's load week by week (mean over replications): week_start, team, utilisation."""
    frames = []
    for team, column in _TEAM_WEEKLY.items():
        rows = option.weekly[option.weekly["metric"] == column]
        if rows.empty or rows["value"].isna().all():
            continue
        mean = rows.groupby("week_start", sort=True)["value"].mean().reset_index()
        frames.append(mean.rename(columns={"value": "utilisation"}).assign(team=team))
    if not frames:
        return pd.DataFrame(columns=["week_start", "utilisation", "team"])
    return pd.concat(frames, ignore_index=True)


# --------------------------------------------------------------------------- the band


def band(option: Outcome, today: Outcome, metric: str) -> pd.DataFrame:
    """The weekly forecast band of one metric: per week, the P10, P50 and P90 of the option's
    replications and today's P50 (week, week_start, p10, p50, p90, today)."""

    def quantiles(out: Outcome) -> pd.DataFrame:
        rows = out.weekly[out.weekly["metric"] == metric]
        g = rows.groupby(["week", "week_start"], sort=True)["value"]
        return pd.DataFrame({f"p{q}": g.quantile(q / 100) for q in (10, 50, 90)})

    mine, base = quantiles(option), quantiles(today)
    frame = mine.assign(today=base["p50"].reindex(mine.index)).reset_index()
    frame["week_start"] = pd.to_datetime(frame["week_start"]).dt.strftime("%Y-%m-%d")
    return frame


def band_note(scenario: Scenario, option: Outcome, metric: str) -> str:
    """What the band says in one line: the horizon's total, with the P10-P90 of the totals."""
    rows = option.weekly[option.weekly["metric"] == metric]
    totals = rows.groupby("replication")["value"].sum().to_numpy(dtype=float)
    if not len(totals):
        return ""
    p10, p50, p90 = np.percentile(totals, [10, 50, 90])
    weeks = int(rows["week"].nunique())

    def said(x: float) -> str:
        return scenario.currency.format(x) if metric in _MONEY_WEEKLY else f"{round(x):,}"

    return (
        f"{_first_upper(BAND_METRICS.get(metric, metric))} over {weeks} weeks: {said(p50)} "
        f"(P10 {said(p10)} to P90 {said(p90)} across {option.reps} replications)."
    )


def _first_upper(text: str) -> str:
    return text[:1].upper() + text[1:]


# --------------------------------------------------------------------------- side by side


def comparison(scenario: Scenario, options: Mapping[str, Outcome], baseline: str) -> pd.DataFrame:
    """Options side by side, one row per KPI the scenario has: each option's figure, and each
    other option's change against ``baseline`` with its paired 95% interval, all as text."""
    base = options[baseline]
    rows = []
    for key in COMPARED:
        if key.startswith("ae.") and scenario.ae.team is None:
            continue  # unlimited AEs: nobody waits, nothing is occupied
        if all(math.isnan(out.mean(key)) for out in options.values()):
            continue
        row = {"KPI": label(key)}
        for name, out in options.items():
            row[name] = value_text(scenario, key, out.mean(key))
        for name, out in options.items():
            if name != baseline:
                row[f"{name}: change"] = _change_cell(scenario, key, paired(out, base, key), base)
        rows.append(row)
    return pd.DataFrame(rows)


def _change_cell(scenario: Scenario, key: str, change: Change, base: Outcome) -> str:
    """'+12 (+5.1%); 95%: +3 to +21', the change alone without an interval, or 'no change'
    where every replication gave the same (a KPI the setting cannot touch)."""
    if change.diff == 0 and change.low == 0 and change.high == 0:
        return "no change"
    text = change_text(scenario, key, change.diff, base.mean(key))
    if math.isnan(change.low):
        return text
    low = change_text(scenario, key, change.low, math.nan)
    high = change_text(scenario, key, change.high, math.nan)
    return f"{text}; 95%: {low} to {high}"
