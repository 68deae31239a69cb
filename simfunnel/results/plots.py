"""Charts of one run, for the people who decide: the funnel, weekly volumes, capacity, speed.

Every function takes ``ax=None`` (a new figure is made when none is given), imports matplotlib
only when called, labels its axes with units, and returns the axes; nothing is shown. The
decision objects draw their own charts (``ThresholdComparison.plot``, ``Sizing.plot``,
``Forecast.plot``, ``Gap.plot``). Colours and labels come from one place (``COLORS``,
``LABELS``) so that a report or notebook reads as one piece.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Sequence
from typing import Any

import numpy as np
import pandas as pd

from ..base.units import WEEK, format_amount
from .run_kpis import RunKPIs

__all__ = [
    "COLORS",
    "LABELS",
    "axes",
    "capacity",
    "finish",
    "funnel",
    "label",
    "speed_to_lead",
    "weekly",
]

# One colour per thing, whatever the chart: a motion, a team, a level, a mark.
COLORS: dict[str, str] = {
    "inbound": "#1f77b4",
    "outbound": "#ff7f0e",
    "sdr": "#1f77b4",
    "bdr": "#ff7f0e",
    "ae": "#9467bd",
    "backlog": "#7f7f7f",
    "good": "#2ca02c",
    "bad": "#d62728",
    "mark": "#555555",
    "up": "#2ca02c",
    "down": "#d62728",
}
_SERIES = ("#1f77b4", "#ff7f0e", "#2ca02c", "#9467bd", "#8c564b", "#e377c2", "#17becf")

# Weekly columns: (what it is, its unit on an axis).
LABELS: dict[str, tuple[str, str]] = {
    "leads": ("inbound leads", "leads per week"),
    "mqls": ("MQLs", "leads per week"),
    "below_threshold": ("leads below the threshold", "leads per week"),
    "accounts_added": ("accounts added to the list", "accounts per week"),
    "accounts_researched": ("accounts researched", "accounts per week"),
    "dials": ("dials", "calls per week"),
    "connects": ("connects", "calls per week"),
    "contacts": ("contacts", "calls per week"),
    "nurture_leads": ("nurture leads", "leads per week"),
    "recycled": ("recycled (6-call-out)", "leads per week"),
    "cold": ("MQLs gone cold", "leads per week"),
    "re_mqls": ("re-MQLs", "leads per week"),
    "emails": ("email touches", "emails per week"),
    "sqls": ("SQLs", "leads per week"),
    "sqls_outbound": ("SQLs from outbound", "leads per week"),
    "valid_opportunities": ("valid opportunities", "opportunities per week"),
    "won": ("deals won", "deals per week"),
    "lost": ("deals lost", "deals per week"),
    "pipeline_value": ("pipeline value created", "currency per week"),
    "won_value": ("won value", "currency per week"),
    "backlog_mean": ("untouched MQLs waiting (mean)", "leads"),
    "backlog_end": ("untouched MQLs at week end", "leads"),
    "utilisation": ("SDR utilisation", "% of on-phone hours"),
    "bdr_utilisation": ("BDR utilisation", "% of on-phone hours"),
    "ae_occupancy": ("AE occupancy", "% of AE room"),
}


def label(column: str) -> tuple[str, str]:
    """(name, unit) of a weekly column, for legends and axis labels."""
    return LABELS.get(column, (column.replace("_", " "), "per week"))


def axes(ax: Any, figsize: tuple[float, float] = (8, 4.5)) -> Any:
    """The given axes, or a new figure's (pyplot imported only here)."""
    if ax is not None:
        return ax
    # pyplot is loaded only when a chart needs its own figure: importing plots stays light.
    import matplotlib.pyplot as plt

    _, ax = plt.subplots(figsize=figsize)
    return ax


def finish(ax: Any, title: str, xlabel: str, ylabel: str) -> Any:
    """Title, axis labels and a light grid: the same finish on every chart of a report."""
    ax.set_title(title)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.grid(alpha=0.3)
    return ax


def _week_ends(result: RunKPIs) -> list[Any]:
    """Each weekly value counts the week that ends there: draw it at the week's end."""
    return [pd.Timestamp(d) + pd.Timedelta(days=7) for d in result.weekly["week_start"]]


# --------------------------------------------------------------------------- the funnel

_STAGES = (
    ("leads", "leads /\naccounts"),
    ("mqls", "MQLs"),
    ("attempted", "attempted"),
    ("contacted", "reached"),
    ("sqls", "SQLs\n(SAL / SGL)"),
    ("valid_opportunities", "valid\nopportunities"),
    ("won", "won"),
)


def funnel_table(result: RunKPIs) -> pd.DataFrame:
    """Stage counts per motion (inbound, outbound) and the conversion from the stage before.

    Outbound accounts have no MQL stage (they never were marketing leads): it is NaN there,
    and their next stage converts from the accounts.
    """
    f = result.funnel_by_source
    counts = f.groupby("motion", sort=False)[[s for s, _ in _STAGES]].sum()
    rows: list[tuple[Hashable, str, str, float, float]] = []
    for motion, row in counts.iterrows():
        if motion == "outbound" and row["leads"] == 0:
            continue
        previous = math.nan
        for stage, name in _STAGES:
            n = float(row[stage])
            if motion == "outbound" and stage == "mqls":
                rows.append((motion, stage, name, math.nan, math.nan))
                continue
            rate = n / previous if previous and not math.isnan(previous) else math.nan
            rows.append((motion, stage, name, n, rate))
            previous = n
    return pd.DataFrame(rows, columns=["motion", "stage", "label", "count", "conversion"])


def funnel(result: RunKPIs, ax: Any = None) -> Any:
    """The Demand Waterfall from leads to wins, each bar labelled with its count and its
    conversion from the stage before; inbound and outbound side by side when both exist.

    The count axis is logarithmic: wins are a hundredth of leads, and a linear axis would hide
    the stages where the funnel leaks.
    """
    ax = axes(ax, (9, 4.8))
    table = funnel_table(result)
    motions = list(dict.fromkeys(table["motion"]))
    width = 0.8 / len(motions)
    x = np.arange(len(_STAGES))
    for i, motion in enumerate(motions):
        rows = table[table["motion"] == motion].reset_index(drop=True)
        pos = x - 0.4 + width * (i + 0.5)
        heights = rows["count"].to_numpy(dtype=float)
        shown = np.where(heights > 0, heights, np.nan)
        bars = ax.bar(pos, shown, width * 0.92, color=COLORS[motion], label=motion)
        for bar, n, rate in zip(bars, heights, rows["conversion"], strict=True):
            if math.isnan(n):
                continue
            text = f"{n:,.0f}" + ("" if math.isnan(rate) else f"\n{rate:.0%}")
            top = n if n > 0 else 1.0
            ax.annotate(
                text,
                (bar.get_x() + bar.get_width() / 2, top),
                xytext=(0, 2),
                textcoords="offset points",
                ha="center",
                va="bottom",
                fontsize="x-small",
            )
    ax.set_yscale("log")
    top = float(np.nanmax(table["count"].to_numpy(dtype=float))) if len(table) else 10.0
    ax.set_ylim(0.8, max(top, 10.0) * 12)
    ax.set_xticks(x, [name for _, name in _STAGES], fontsize="small")
    finish(
        ax,
        f"{result.scenario.name}: funnel over {result.scenario.weeks} weeks",
        "stage (bar labels: count, and % of the stage before)",
        "leads or accounts (log scale)",
    )
    ax.grid(alpha=0.3, axis="y")
    ax.grid(False, axis="x")
    ax.legend(fontsize="small", loc="upper right")
    return ax


# --------------------------------------------------------------------------- weekly series


def weekly(
    result: RunKPIs,
    columns: Sequence[str] = ("mqls", "sqls", "valid_opportunities"),
    ax: Any = None,
) -> Any:
    """Weekly series of ``result.weekly`` columns, one line each, drawn at each week's end."""
    frame = result.weekly
    unknown = [c for c in columns if c not in frame.columns]
    if unknown:
        raise ValueError(
            f"unknown weekly column(s) {', '.join(unknown)}; use columns of result.weekly "
            f"such as {', '.join(list(LABELS)[:6])}"
        )
    if not columns:
        raise ValueError("give at least one weekly column, e.g. ('mqls', 'sqls')")
    ax = axes(ax)
    x = _week_ends(result)
    percent = {"utilisation", "bdr_utilisation", "ae_occupancy"}
    for i, column in enumerate(columns):
        scale = 100.0 if column in percent else 1.0
        values = frame[column].to_numpy(dtype=float) * scale
        ax.plot(
            x, values, marker="o", ms=3, color=_SERIES[i % len(_SERIES)], label=label(column)[0]
        )
    units = list(dict.fromkeys(label(c)[1] for c in columns))
    if all(c in ("pipeline_value", "won_value") for c in columns):
        # matplotlib is loaded on use, like every chart's (see _axes).
        from matplotlib.ticker import FuncFormatter

        ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: format_amount(v)))
    ax.set_ylim(bottom=0)
    finish(
        ax,
        f"{result.scenario.name}: weekly " + ", ".join(label(c)[0] for c in columns),
        "week ending",
        " / ".join(units),
    )
    ax.legend(fontsize="small")
    ax.figure.autofmt_xdate()
    return ax


# --------------------------------------------------------------------------- capacity


def capacity(result: RunKPIs, ax: Any = None, busy: float = 0.9) -> Any:
    """Utilisation of each team (SDR, and BDR and AE occupancy when the scenario has them) on
    the left axis, the untouched MQL backlog on the right: when the team is full, the backlog
    grows and speed-to-lead goes with it. The dotted line is ``busy`` (90%: full).

    Returns the left axes; the backlog axes is its twin (``ax.figure.axes``).
    """
    ax = axes(ax, (9, 4.5))
    frame = result.weekly
    x = _week_ends(result)
    right = ax.twinx()
    right.bar(
        x,
        frame["backlog_mean"].to_numpy(dtype=float),
        width=5,
        color=COLORS["backlog"],
        alpha=0.3,
        label="untouched MQLs waiting (weekly mean)",
    )
    right.set_ylabel("untouched MQLs waiting (leads)")
    right.set_ylim(bottom=0)
    ax.set_zorder(right.get_zorder() + 1)  # lines above the bars
    ax.patch.set_visible(False)
    series = [("utilisation", "SDR utilisation", "sdr")]
    if "bdr_utilisation" in frame:
        series.append(("bdr_utilisation", "BDR utilisation", "bdr"))
    if frame["ae_occupancy"].notna().any():
        series.append(("ae_occupancy", "AE occupancy (open deals / room)", "ae"))
    for column, name, role in series:
        values = frame[column].to_numpy(dtype=float) * 100
        ax.plot(x, values, marker="o", ms=3, color=COLORS[role], label=name)
    ax.axhline(busy * 100, color=COLORS["bad"], ls=":", lw=1, label=f"full ({busy:.0%})")
    ax.set_ylim(0, 105)
    finish(
        ax,
        f"{result.scenario.name}: team capacity and untouched backlog",
        "week ending",
        "utilisation or occupancy (%)",
    )
    handles, names = ax.get_legend_handles_labels()
    more, more_names = right.get_legend_handles_labels()
    ax.legend(handles + more, names + more_names, fontsize="small", loc="lower left")
    ax.figure.autofmt_xdate()
    return ax


# --------------------------------------------------------------------------- speed-to-lead


_TIME_TICKS = (
    (1 / 60, "1 min"),
    (10 / 60, "10 min"),
    (1.0, "1 h"),
    (4.0, "4 h"),
    (24.0, "1 day"),
    (72.0, "3 days"),
    (WEEK, "1 week"),
    (672.0, "4 weeks"),
)


def speed_to_lead_hours(result: RunKPIs) -> tuple[np.ndarray, int]:
    """Hours from becoming an MQL to the first attempt, over attempted MQLs; and the number of
    MQLs never attempted (they count as late in the KPIs, and in the chart's cumulative line)."""
    d = result.data
    became = d.mql_at >= 0
    wait = d.first_attempt[became] - d.mql_at[became]
    done = ~np.isnan(wait)
    return np.maximum(wait[done], 0.0), int((~done).sum())


def speed_to_lead(result: RunKPIs, ax: Any = None) -> Any:
    """How long MQLs wait for a first call: a histogram on a log time axis (share of MQLs per
    bin) and the cumulative share of all MQLs called by then (never-attempted ones never
    arrive, so the line stops short of 100%), with the 1 h and 24 h marks that decide whether
    a lead still qualifies (HBR 2011)."""
    ax = axes(ax, (8, 4.5))
    hours, never = speed_to_lead_hours(result)
    title = f"{result.scenario.name}: hours from MQL to first call"
    if hours.size == 0:
        ax.text(0.5, 0.5, "no MQL was attempted", ha="center", va="center", transform=ax.transAxes)
        ax.set_xscale("log")
        return finish(ax, title, "hours to first attempt (log scale)", "MQLs (%)")
    floor = 1 / 60  # a minute: waits below it are drawn in the first bin
    shown = np.clip(hours, floor, None)
    top = max(float(shown.max()) * 1.5, 48.0)
    bins = np.geomspace(floor, top, 40)
    total = hours.size + never
    weights = np.full(hours.size, 100.0 / total)
    ax.hist(shown, bins=bins, weights=weights, color=COLORS["sdr"], alpha=0.6, label="MQLs per bin")
    ax.set_xscale("log")
    ticks = [(h, t) for h, t in _TIME_TICKS if h <= top]
    ax.set_xticks([h for h, _ in ticks], [t for _, t in ticks])
    ax.minorticks_off()
    finish(ax, title, "time to first attempt (log scale)", "MQLs in the bin (% of all MQLs)")
    cum = ax.twinx()
    order = np.sort(shown)
    share = np.arange(1, order.size + 1) * 100.0 / total
    cum.step(order, share, where="post", color=COLORS["mark"], lw=1.5, label="called by then")
    cum.set_ylim(0, 102)
    cum.set_ylabel("cumulative share of MQLs called (%)")
    for limit, text in ((1.0, "1 h"), (24.0, "24 h")):
        reached = float((hours <= limit).sum()) * 100.0 / total
        ax.axvline(limit, color=COLORS["bad"], ls="--", lw=1)
        cum.annotate(
            f"{text}: {reached:.0f}%",
            (limit, reached),
            xytext=(4, -12),
            textcoords="offset points",
            fontsize="small",
            color=COLORS["bad"],
        )
    handles, names = ax.get_legend_handles_labels()
    more, more_names = cum.get_legend_handles_labels()
    note = f" ({never:,} never attempted)" if never else ""
    ax.legend(
        handles + more,
        names + [n + note for n in more_names],
        fontsize="small",
        loc="center right",
    )
    return ax
