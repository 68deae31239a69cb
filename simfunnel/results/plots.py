"""Charts of one run, for the people who decide: the funnel, weekly volumes, capacity, speed; and
the parts every chart of the package is made of.

Every chart function takes ``ax=None`` (a new figure is made when none is given), imports
matplotlib only when called, and returns the axes; nothing is shown. The decision objects draw
their charts in :mod:`simfunnel.decisions.charts` with the parts kept here, so that a report or
notebook reads as one piece:

- one colour-blind-safe palette (Okabe and Ito), ``COLORS`` by meaning and ``SERIES`` in order;
  good and bad differ in hue (blue, vermillion) and in hatch or marker, never red against green;
- legends to the right of the plot area, where they cover no data (:func:`legend_outside`);
- shares on a percent axis from 0 (:func:`share_axis`), money in the scenario's currency
  (:func:`money_axis`), time spans in minutes, hours or days (:func:`duration_axis`);
- today's option a ring, the recommended one a star: both show when they are the same
  (:func:`mark_options`);
- volumes of different scale in panels of their own (:func:`panels`). A chart that needs several
  splits the axes it is given into panels drawn inside it (``ax.inset_axes``) and returns that
  axes, which then holds the chart's title and no axis of its own; the panels are its
  ``child_axes``. A chart of one panel draws on the axes itself.
"""

from __future__ import annotations

import math
import textwrap
from collections.abc import Hashable, Iterable, Sequence
from typing import Any

import numpy as np
import pandas as pd

from ..base.units import WEEK, format_duration
from ..scenario import Currency
from .run_kpis import RunKPIs

__all__ = [
    "COLORS",
    "HATCH",
    "LABELS",
    "PALETTE",
    "SERIES",
    "axes",
    "capacity",
    "count_axis",
    "date_axis",
    "duration_axis",
    "finish",
    "funnel",
    "funnel_table",
    "label",
    "legend_outside",
    "mark_options",
    "money_axis",
    "panel_title",
    "panels",
    "share_axis",
    "speed_to_lead",
    "speed_to_lead_hours",
    "title",
    "weekly",
]

# Okabe and Ito (2008), "Color Universal Design": told apart under every common colour-vision
# deficiency, and in greyscale by lightness for the pairs used together here.
PALETTE: dict[str, str] = {
    "blue": "#0072B2",
    "orange": "#E69F00",
    "sky": "#56B4E9",
    "green": "#009E73",
    "vermillion": "#D55E00",
    "purple": "#CC79A7",
    "yellow": "#F0E442",
    "black": "#000000",
    "grey": "#999999",
}

# One colour per thing, whatever the chart: a motion, a team, a level, a mark.
COLORS: dict[str, str] = {
    "inbound": PALETTE["blue"],
    "outbound": PALETTE["orange"],
    "sdr": PALETTE["blue"],
    "bdr": PALETTE["orange"],
    "ae": PALETTE["purple"],
    "backlog": PALETTE["grey"],
    "good": PALETTE["blue"],
    "bad": PALETTE["vermillion"],  # drawn with HATCH["bad"] or its own marker too
    "up": PALETTE["blue"],
    "down": PALETTE["vermillion"],  # drawn with HATCH["down"] too
    "mark": "#555555",  # reference lines and notes
    "band": PALETTE["sky"],  # intervals
    "today": PALETTE["black"],
    "recommended": PALETTE["green"],
    "target": PALETTE["vermillion"],
}
# Series in order, when they mean nothing but "the first, the second".
_ORDER = ("blue", "orange", "green", "purple", "sky", "vermillion", "black")
SERIES: tuple[str, ...] = tuple(PALETTE[name] for name in _ORDER)
# What is bad is hatched as well as coloured: it reads without colour.
HATCH: dict[str, str] = {"bad": "///", "down": "///"}

# Weekly columns: (what it is, its unit on an axis). Amounts are per week in the scenario's
# currency (its code is put in front when drawn).
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
    "pipeline_value": ("pipeline value created", "per week"),
    "won_value": ("won value", "per week"),
    "backlog_mean": ("untouched MQLs waiting (mean)", "leads"),
    "backlog_end": ("untouched MQLs at week end", "leads"),
    "utilisation": ("SDR utilisation", "% of on-phone hours"),
    "bdr_utilisation": ("BDR utilisation", "% of on-phone hours"),
    "ae_occupancy": ("AE occupancy", "% of AE room"),
}
_PERCENT = frozenset({"utilisation", "bdr_utilisation", "ae_occupancy"})
_MONEY = frozenset({"pipeline_value", "won_value"})

# Today's option and the recommended one: a ring with a star inside it when they are the same.
TODAY_MARK: dict[str, Any] = dict(marker="o", ms=16, color="black", mfc="none", mew=2, ls="none")
RECOMMENDED_MARK: dict[str, Any] = dict(
    marker="*", ms=13, color=COLORS["recommended"], mec="black", mew=0.6, ls="none"
)
_PANEL_HEAD_IN = 0.3  # room above each panel for its title, in inches


def label(column: str) -> tuple[str, str]:
    """(name, unit) of a weekly column, for titles and axis labels."""
    return LABELS.get(column, (column.replace("_", " "), "per week"))


# --------------------------------------------------------------------------- the parts


def axes(ax: Any, figsize: tuple[float, float] = (8, 4.5)) -> Any:
    """The given axes, or a new figure's (pyplot imported only here). A new figure lays itself
    out tightly when drawn, so that a legend beside the plot stays on the page."""
    if ax is not None:
        return ax
    # pyplot is loaded only when a chart needs its own figure: importing plots stays light.
    import matplotlib.pyplot as plt

    _, ax = plt.subplots(figsize=figsize, layout="tight")
    return ax


def title(ax: Any, text: str) -> None:
    """The chart's title, wrapped to the width of its axes: a long one is not cut at the page's
    edge (a title is centred on the plot area, which a legend beside it makes narrower)."""
    width = ax.get_position().width * ax.figure.get_figwidth()
    ax.set_title(textwrap.fill(text, max(40, int(width * 9))))


def finish(ax: Any, text: str, xlabel: str, ylabel: str) -> Any:
    """Title, axis labels and a light grid: the same finish on every chart of a report."""
    title(ax, text)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.grid(alpha=0.3)
    return ax


def panels(ax: Any, n: int, *, across: bool = False, ratios: Sequence[float] = ()) -> list[Any]:
    """``n`` panels inside ``ax``: stacked on one x axis, or side by side (``across``) on one y
    axis, sized by ``ratios``. One panel is ``ax`` itself; several turn ``ax`` into their frame
    (no axis of its own, the chart's title above) with room above each panel for its title."""
    if n <= 1:
        return [ax]
    ax.set_axis_off()
    weights = np.asarray(list(ratios) or [1.0] * n, dtype=float)
    weights = weights / weights.sum()
    box = ax.get_position()
    height = max(box.height * ax.figure.get_figheight(), 1e-6)
    head = min(_PANEL_HEAD_IN / height, 0.25)
    out: list[Any] = []
    if across:
        gap = 0.04
        left = 0.0
        for i, w in enumerate(weights):
            width = w * (1 - gap * (n - 1))
            share = {"sharey": out[0]} if out else {}
            panel = ax.inset_axes((left, 0.0, width, 1 - head), **share)
            if i:
                panel.tick_params(labelleft=False)
            out.append(panel)
            left += width + gap
        return out
    top = 1.0
    for i, w in enumerate(weights):
        h = w * (1 - head * n)
        share = {"sharex": out[0]} if out else {}
        panel = ax.inset_axes((0.0, top - head - h, 1.0, h), **share)
        if i < n - 1:
            panel.tick_params(labelbottom=False)
        out.append(panel)
        top -= head + h
    return out


def panel_title(ax: Any, text: str) -> None:
    """A panel's own title, small and to the left, under the chart's title."""
    ax.set_title(text, loc="left", fontsize="small")


def legend_outside(
    ax: Any, handles: Sequence[Any] | None = None, labels: Sequence[str] | None = None
) -> Any:
    """A frameless legend to the right of the plot area, where it covers no data; long
    entries wrapped. None when there is nothing to name."""
    if handles is None or labels is None:
        handles, labels = ax.get_legend_handles_labels()
    if not handles:
        return None
    return ax.legend(
        handles,
        [textwrap.fill(str(text), 30) for text in labels],
        loc="upper left",
        bbox_to_anchor=(1.02, 1.0),
        borderaxespad=0.0,
        frameon=False,
        fontsize="small",
    )


def share_axis(ax: Any, values: Iterable[float] = (), *, axis: str = "y") -> None:
    """A percent axis (values drawn x100) from 0: to 100% when the values come near it, else to
    a round step above the largest, so that no small change looks like a large one."""
    from matplotlib.ticker import PercentFormatter  # loaded on use, as pyplot

    finite = [float(v) for v in values if v is not None and math.isfinite(float(v))]
    high = max(finite, default=100.0) * 1.1
    top = 105.0 if high >= 90 else max(10.0, math.ceil(high / 10) * 10)
    if axis == "y":
        ax.set_ylim(0, top)
        ax.yaxis.set_major_formatter(PercentFormatter(100, decimals=0))
    else:
        ax.set_xlim(0, top)
        ax.xaxis.set_major_formatter(PercentFormatter(100, decimals=0))


def money_axis(axis: Any, currency: Currency) -> None:
    """Tick labels as amounts in the scenario's currency ("$1.2M"), never an offset of 1e7."""
    from matplotlib.ticker import FuncFormatter  # loaded on use, as pyplot

    axis.set_major_formatter(FuncFormatter(lambda v, _: currency.format(v)))


def duration_axis(axis: Any) -> None:
    """Tick labels of a time span in hours as a person reads them: 30 min, 5 h, 3 days."""
    from matplotlib.ticker import FuncFormatter  # loaded on use, as pyplot

    axis.set_major_formatter(FuncFormatter(lambda v, _: "0" if v == 0 else format_duration(v)))


def count_axis(axis: Any) -> None:
    """Counts with thousands separators (12,500; 2.5 between whole ones), never "1e4"."""
    from matplotlib.ticker import FuncFormatter  # loaded on use, as pyplot

    def text(v: float, _: Any) -> str:
        return f"{v:,.0f}" if abs(v) >= 100 or float(v).is_integer() else f"{v:,.2f}".rstrip("0")

    axis.set_major_formatter(FuncFormatter(text))


def date_axis(axis: Any) -> None:
    """Dates as short, unrotated ticks (Feb, Mar, ... with the year where it changes)."""
    from matplotlib import dates  # loaded on use, as pyplot

    locator = dates.AutoDateLocator(minticks=4, maxticks=10)
    axis.set_major_locator(locator)
    axis.set_major_formatter(dates.ConciseDateFormatter(locator))


def mark_options(
    ax: Any,
    today: tuple[float, float] | None,
    today_label: str,
    recommended: tuple[float, float] | None,
    recommended_label: str,
) -> None:
    """Today's option as a ring and the recommended one as a star (inside the ring when they
    are the same option), both in the legend; one that is not drawn is still named there."""
    for point, text, style, z in (
        (today, today_label, TODAY_MARK, 5),
        (recommended, recommended_label, RECOMMENDED_MARK, 6),
    ):
        xs, ys = ([point[0]], [point[1]]) if point is not None else ([], [])
        ax.plot(xs, ys, label=text, zorder=z, clip_on=False, **style)


def _pct(rate: float) -> str:
    """A conversion as a label writes it: 41%, and 0.4% below 1%."""
    return f"{rate:.1%}" if 0 < rate < 0.01 else f"{rate:.0%}"


def _ink(color: str) -> str:
    """Black or white, whichever reads on ``color``."""
    r, g, b = (int(color[i : i + 2], 16) / 255 for i in (1, 3, 5))
    return "black" if 0.299 * r + 0.587 * g + 0.114 * b > 0.55 else "white"


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
_INBOUND_NAMES = (
    "leads",
    "MQLs",
    "attempted",
    "reached",
    "SQLs (SALs)",
    "valid\nopportunities",
    "won",
)
# A stage as a bar's label names it: "41% of SQLs".
_BEFORE = {
    "leads": "leads",
    "mqls": "MQLs",
    "attempted": "attempted",
    "contacted": "reached",
    "sqls": "SQLs",
    "valid_opportunities": "valid opps",
}


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


def _funnel_panel(ax: Any, rows: pd.DataFrame, motion: str, names: Sequence[str] | None) -> None:
    """One motion's stages as horizontal bars, first on top, on a linear axis from 0; each bar
    labelled with its count and its share of the stage before (inside a long bar, else after
    it)."""
    y = np.arange(len(rows))[::-1]
    counts = rows["count"].to_numpy(dtype=float)
    top = max(float(np.nanmax(counts)) if np.isfinite(counts).any() else 0.0, 1.0)
    color = COLORS.get(motion, SERIES[0])
    ax.barh(y, np.nan_to_num(counts), 0.7, color=color, label=motion)
    before = "accounts" if motion == "outbound" else "leads"
    for yi, stage, n, rate in zip(y, rows["stage"], counts, rows["conversion"], strict=True):
        if math.isnan(n):
            note = "no MQL stage: accounts go straight to calls"
            ax.text(top * 0.01, yi, note, va="center", fontsize="x-small", color=COLORS["mark"])
            continue
        text = f"{n:,.0f}" if math.isnan(rate) else f"{n:,.0f} ({_pct(rate)} of {before})"
        inside = n > 0.6 * top
        ax.annotate(
            text,
            (n, yi),
            xytext=(-4 if inside else 4, 0),
            textcoords="offset points",
            ha="right" if inside else "left",
            va="center",
            fontsize="small",
            color=_ink(color) if inside else "black",
        )
        before = (
            "accounts" if motion == "outbound" and stage == "leads" else _BEFORE.get(str(stage), "")
        )
    if names is not None:  # a panel beside shares these ticks
        ax.set_yticks(y, list(names), fontsize="small")
    count_axis(ax.xaxis)
    ax.set_xlim(0, top * 1.45)
    ax.grid(alpha=0.3, axis="x")


def funnel(result: RunKPIs, ax: Any = None) -> Any:
    """The Demand Waterfall from leads to wins on a linear axis, first stage on top, each bar
    labelled with its count and its share of the stage before. Inbound and outbound, when both
    run, get a panel each on their own scale: accounts and leads are not the same count, and an
    outbound funnel a fifth the size would vanish beside the inbound one."""
    ax = axes(ax, (9, 4.8))
    table = funnel_table(result)
    motions = list(dict.fromkeys(table["motion"]))
    live = [m for m in motions if float(table.loc[table["motion"] == m, "count"].iloc[0]) > 0]
    motions = live or motions
    boxes = panels(ax, len(motions), across=True)
    both = len(motions) > 1
    names = [n for _, n in _STAGES] if both or motions != ["inbound"] else list(_INBOUND_NAMES)
    for i, (box, motion) in enumerate(zip(boxes, motions, strict=True)):
        rows = table[table["motion"] == motion].reset_index(drop=True)
        _funnel_panel(box, rows, motion, names if i == 0 else None)
        unit = "accounts" if motion == "outbound" else "leads"
        box.set_xlabel(f"{unit} (bar labels: count, % of the stage before)")
        if both:
            panel_title(box, f"{motion} ({unit})")
    title(ax, f"{result.scenario.name}: funnel over {result.scenario.period}")
    return ax


# --------------------------------------------------------------------------- weekly series


def _weekly_words(column: str, currency: Currency) -> str:
    """A weekly column's name and unit: "MQLs (leads per week)", "won value (USD per week)"."""
    name, unit = label(column)
    return f"{name} ({currency.code} per week)" if column in _MONEY else f"{name} ({unit})"


def weekly(
    result: RunKPIs,
    columns: Sequence[str] = ("mqls", "sqls", "valid_opportunities"),
    ax: Any = None,
) -> Any:
    """Weekly series of ``result.weekly`` columns, drawn at each week's end, each in a panel of
    its own on one time axis: volumes of different scale (MQLs and valid opportunities) each
    keep an axis that shows their changes. One column draws on ``ax`` itself."""
    frame = result.weekly
    unknown = [c for c in columns if c not in frame.columns]
    if unknown:
        raise ValueError(
            f"unknown weekly column(s) {', '.join(unknown)}; use columns of result.weekly "
            f"such as {', '.join(list(LABELS)[:6])}"
        )
    if not columns:
        raise ValueError("give at least one weekly column, e.g. ('mqls', 'sqls')")
    ax = axes(ax, (9, max(4.5, 1.5 * len(columns))))
    currency = result.scenario.currency
    x = _week_ends(result)
    boxes = panels(ax, len(columns))
    for i, (box, column) in enumerate(zip(boxes, columns, strict=True)):
        scale = 100.0 if column in _PERCENT else 1.0
        values = frame[column].to_numpy(dtype=float) * scale
        box.plot(x, values, marker="o", ms=3, color=SERIES[i % len(SERIES)])
        if column in _PERCENT:
            share_axis(box, values)
        else:
            box.set_ylim(bottom=0)
        if column in _MONEY:
            money_axis(box.yaxis, currency)
        box.grid(alpha=0.3)
        if len(columns) > 1:
            panel_title(box, _weekly_words(column, currency))
        else:
            box.set_ylabel(_weekly_words(column, currency))
    date_axis(boxes[-1].xaxis)
    boxes[-1].set_xlabel("week ending")
    names = ", ".join(label(c)[0] for c in columns)
    title(ax, f"{result.scenario.name}: weekly {names}")
    return ax


# --------------------------------------------------------------------------- capacity


def capacity(result: RunKPIs, ax: Any = None, busy: float = 0.9) -> Any:
    """Each team's weekly utilisation (SDR; BDR and AE occupancy when the scenario has them) in
    the upper panel, with the dotted line at ``busy`` (90%: full), and the untouched MQL
    backlog in the lower one: when a team runs full, the backlog grows and speed-to-lead goes
    with it. Returns ``ax``, the frame of the two panels."""
    ax = axes(ax, (9, 4.5))
    frame = result.weekly
    x = _week_ends(result)
    top, bottom = panels(ax, 2, ratios=(3, 2))
    series = [("utilisation", "SDR utilisation", "sdr")]
    if "bdr_utilisation" in frame:
        series.append(("bdr_utilisation", "BDR utilisation", "bdr"))
    if frame["ae_occupancy"].notna().any():
        series.append(("ae_occupancy", "AE occupancy (open deals / room)", "ae"))
    for column, name, role in series:
        values = frame[column].to_numpy(dtype=float) * 100
        top.plot(x, values, marker="o", ms=3, color=COLORS[role], label=name)
    top.axhline(busy * 100, color=COLORS["bad"], ls=":", lw=1.5, label=f"full ({busy:.0%})")
    share_axis(top, [100.0])
    top.grid(alpha=0.3)
    panel_title(top, "utilisation (% of on-phone hours) and AE occupancy")
    legend_outside(top)
    bottom.bar(x, frame["backlog_mean"].to_numpy(dtype=float), width=5, color=COLORS["backlog"])
    bottom.set_ylim(bottom=0)
    bottom.grid(alpha=0.3, axis="y")
    panel_title(bottom, "untouched MQLs waiting (weekly mean, leads)")
    date_axis(bottom.xaxis)
    bottom.set_xlabel("week ending")
    title(ax, f"{result.scenario.name}: team capacity and untouched backlog")
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
    """How long MQLs wait for a first call, on a log time axis: above, the share of all MQLs
    called by then (never-attempted ones never arrive, so the line stops short of 100%), with
    the 1 h and 24 h marks that decide whether a lead still qualifies (HBR 2011); below, the
    share called in each time bin."""
    ax = axes(ax, (8, 4.5))
    hours, never = speed_to_lead_hours(result)
    heading = f"{result.scenario.name}: time from MQL to first call"
    if hours.size == 0:
        ax.text(0.5, 0.5, "no MQL was attempted", ha="center", va="center", transform=ax.transAxes)
        ax.set_xscale("log")
        return finish(ax, heading, "time to first call (log scale)", "MQLs (% of all MQLs)")
    cum, hist = panels(ax, 2, ratios=(3, 2))
    floor = 1 / 60  # a minute: waits below it are drawn in the first bin
    shown = np.clip(hours, floor, None)
    top = max(float(shown.max()) * 1.5, 48.0)
    total = hours.size + never
    order = np.sort(shown)
    share = np.arange(1, order.size + 1) * 100.0 / total
    cum.step(order, share, where="post", color=COLORS["sdr"], lw=1.8)
    share_axis(cum, [100.0])
    note = f"; {never:,} never called, so the line stops short of 100%" if never else ""
    panel_title(cum, f"MQLs called by then (% of all MQLs{note})")
    for limit, text in ((1.0, "1 h"), (24.0, "24 h")):
        reached = float((hours <= limit).sum()) * 100.0 / total
        cum.axvline(limit, color=COLORS["mark"], ls="--", lw=1)
        cum.annotate(
            f"{text}: {reached:.0f}%",
            (limit, reached),
            xytext=(4, -12),
            textcoords="offset points",
            fontsize="small",
            color=COLORS["mark"],
        )
    weights = np.full(hours.size, 100.0 / total)
    counts, _, _ = hist.hist(
        shown, bins=np.geomspace(floor, top, 40), weights=weights, color=COLORS["sdr"], alpha=0.6
    )
    share_axis(hist, counts)
    panel_title(hist, "MQLs called in each time bin (% of all MQLs)")
    for box in (cum, hist):
        box.grid(alpha=0.3)
    hist.set_xscale("log")
    ticks = [(h, t) for h, t in _TIME_TICKS if h <= top]
    hist.set_xticks([h for h, _ in ticks], [t for _, t in ticks])
    hist.minorticks_off()
    hist.set_xlabel("time from MQL to first call (log scale)")
    title(ax, heading)
    return ax
