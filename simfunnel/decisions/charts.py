"""The charts of the decisions: each answer's ``plot(what)`` draws with one of these.

Every function takes the answer and the axes to draw on (``None``: a new figure), imports
matplotlib only when called, and returns the axes; nothing is shown. The answer types keep
what a chart means (which ``what`` names which chart); the drawing lives here, apart from the
verdicts, so that a type module holds its rule and its words. The parts every chart shares (the
colour-blind-safe palette, legends beside the plot, percent axes from 0, money in the scenario's
currency, today's option as a ring and the recommended one as a star) are in
:mod:`simfunnel.results.plots`, with the charts of one run.
"""

from __future__ import annotations

import datetime as dt
import math
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from ..base.units import format_duration
from ..results import Unit, find_kpi, plots
from ..scenario import Currency
from .forecast_bands import LABELS, LEVELS, VALUES
from .levers import role_name
from .measures import MEASURES, measure_label, registry_kpi
from .objective import BY_NAME, Kpi, objective_kpi

if TYPE_CHECKING:
    from .diagnosis import Diagnosis
    from .forecasting import Forecast
    from .gap import Gap
    from .hiring import HiringPlan
    from .sizing import Sizing
    from .thresholds import ThresholdComparison

__all__ = [
    "diagnosis_stages",
    "forecast_fan",
    "gap_bridge",
    "hiring_chart",
    "sizing_chart",
    "threshold_kpi",
    "threshold_tradeoff",
]

_OPS = {">=": "at least", "<=": "at most", ">": "above", "<": "below"}


def _capital(text: str) -> str:
    return text[:1].upper() + text[1:]


def _words(label: str, unit: Unit | None) -> str:
    """A KPI's words on an axis: a duration's "(h)" dropped, since its ticks say the unit."""
    return label.removesuffix(" (h)") if unit is Unit.DURATION else label


def _scale(unit: Unit | None) -> float:
    """Shares are drawn in percent."""
    return 100.0 if unit is Unit.SHARE else 1.0


def _value_axis(
    ax: Any, unit: Unit | None, values: Any, currency: Currency, axis: str = "y"
) -> str:
    """Ticks for a KPI's unit (percent from 0, money in the currency, time in its own unit,
    counts with separators); returns what the axis label adds ("" or " in USD")."""
    target = ax.yaxis if axis == "y" else ax.xaxis
    if unit is Unit.SHARE:
        plots.share_axis(ax, np.asarray(values, dtype=float).ravel(), axis=axis)
        return ""
    if unit is Unit.MONEY:
        plots.money_axis(target, currency)
        return f" in {currency.code}"
    if unit is Unit.DURATION:
        plots.duration_axis(target)
    else:
        plots.count_axis(target)
    return " (hours)" if unit is Unit.HOURS else ""


def _value_text(value: float, unit: Unit | None, currency: Currency) -> str:
    """A target's value as a person reads it: 90%, 4 h, $1.2M, 40."""
    if unit is Unit.SHARE:
        return f"{value:.0%}"
    if unit is Unit.DURATION:
        return format_duration(value)
    if unit is Unit.MONEY:
        return currency.format(value)
    return f"{value:,g}"


def _integer_ticks(axis: Any) -> None:
    """Whole ticks on an axis of headcounts or thresholds: no 1.2 reps."""
    from matplotlib.ticker import MaxNLocator  # loaded on use, as pyplot

    axis.set_major_locator(MaxNLocator(integer=True))


def _point(rows: Any, option: object, x: str, y: str, fy: float) -> tuple[float, float] | None:
    """Where an option sits on the chart: None when it is not among the rows."""
    found = rows.iloc[:0] if option is None or option == "" else rows[rows["option"] == option]
    if found.empty:
        return None
    return float(found[x].iloc[0]), float(found[y].iloc[0]) * fy


# --------------------------------------------------------------------------- thresholds


def _spec(comparison: ThresholdComparison, kpi: str) -> Kpi:
    if kpi == "objective":
        return objective_kpi(comparison.costed, comparison.fallback)
    return BY_NAME.get(kpi, Kpi(kpi, kpi.replace("_", " "), True))


def _mark_choices(
    ax: Any, comparison: ThresholdComparison, rows: Any, x: str, y: str, fy: float
) -> None:
    """Today's option (a ring) and the recommended one (a star), both in the legend."""
    today = comparison.current_option
    if not today:
        hits = rows.loc[rows["threshold"] == comparison.current, "option"]
        today = str(hits.iloc[0]) if len(hits) else ""
    rec = comparison.recommended
    plots.mark_options(
        ax,
        _point(rows, today, x, y, fy),
        f"today: {today or f'MQL {comparison.current:g}'}",
        _point(rows, rec, x, y, fy),
        f"recommended: {rec}" if rec else "recommended: none (no option meets every target)",
    )


def threshold_kpi(comparison: ThresholdComparison, kpi: str, ax: Any = None) -> Any:
    """A KPI against the threshold, mean and 95% interval (one line per toss-up requirement
    in a grid); saturated options crossed, today's option ringed, the recommended one starred."""
    ax = plots.axes(ax, (8, 4.2))
    rows = comparison.kpi(kpi)
    spec = _spec(comparison, kpi)
    scale = _scale(spec.unit)
    sat = comparison.overview.set_index("option")["saturated"]
    grid = len(comparison.sql_requires) > 1
    for i, (require, part) in enumerate(rows.groupby("sql_require", sort=True)):
        x = part["threshold"].to_numpy(dtype=float)
        color = plots.SERIES[i % len(plots.SERIES)]
        label = f"SQL {require:g} of {comparison.criteria}" if grid else "mean, 95% interval"
        low, high = part["ci_low"] * scale, part["ci_high"] * scale
        ax.fill_between(x, low, high, color=color, alpha=0.2, lw=0)
        ax.plot(x, part["mean"] * scale, marker="o", ms=4, color=color, label=label)
        hot = sat.loc[part["option"]].to_numpy(dtype=bool)
        if hot.any():
            y = part["mean"].to_numpy()[hot] * scale
            ax.scatter(x[hot], y, s=90, marker="x", color=plots.COLORS["bad"], zorder=4)
    if sat.any():
        busy = f"SDRs saturated (at least {comparison.saturation:.0%} busy)"
        ax.scatter([], [], s=90, marker="x", color=plots.COLORS["bad"], label=busy)
    _mark_choices(ax, comparison, rows, "threshold", "mean", scale)
    values = np.concatenate([rows["ci_low"], rows["ci_high"], rows["mean"]]) * scale
    unit = _value_axis(ax, spec.unit, values, comparison.scenario.currency)
    if spec.unit is not Unit.SHARE and np.nanmin(values) >= 0:
        ax.set_ylim(bottom=0)
    tried = sorted(set(rows["threshold"].astype(float)))
    if len(tried) <= 12:
        ax.set_xticks(tried, [f"{t:g}" for t in tried])
    else:
        _integer_ticks(ax.xaxis)
    words = _words(spec.label, spec.unit)
    plots.finish(
        ax, f"{_capital(words)} by MQL threshold", "MQL threshold (score points)", words + unit
    )
    plots.legend_outside(ax)
    return ax


def threshold_tradeoff(
    comparison: ThresholdComparison,
    x: str = "within_1h",
    y: str = "valid_opportunities",
    ax: Any = None,
) -> Any:
    """The trade-off plane: each option a point, the Pareto set joined up, today's option
    ringed and the recommended one starred."""
    ax = plots.axes(ax, (8, 4.5))
    o = comparison.overview
    sx, sy = _spec(comparison, x), _spec(comparison, y)
    fx, fy = _scale(sx.unit), _scale(sy.unit)
    ax.scatter(o[x] * fx, o[y] * fy, color=plots.SERIES[0], zorder=3, label="an option")
    front = o[o["pareto"]].sort_values(x)
    ax.plot(front[x] * fx, front[y] * fy, color=plots.SERIES[0], alpha=0.5, label="Pareto set")
    for i, row in enumerate(o.sort_values(y).itertuples(index=False)):
        ax.annotate(  # alternately above and below: close options keep their names apart
            row.option,
            (getattr(row, x) * fx, getattr(row, y) * fy),
            textcoords="offset points",
            xytext=(9, 5 if i % 2 else -11),
            fontsize="small",
        )
    scaled = o.assign(_x=o[x] * fx)
    _mark_choices(ax, comparison, scaled, "_x", y, fy)
    currency = comparison.scenario.currency
    ux = _value_axis(ax, sx.unit, o[x] * fx, currency, axis="x")
    uy = _value_axis(ax, sy.unit, o[y] * fy, currency)
    if sy.unit is not Unit.SHARE and float(o[y].min()) >= 0:
        ax.set_ylim(bottom=0)
    wx, wy = _words(sx.label, sx.unit), _words(sy.label, sy.unit)
    plots.finish(ax, f"Trade-off between options: {wy} against {wx}", wx + ux, wy + uy)
    plots.legend_outside(ax)
    return ax


# --------------------------------------------------------------------------- sizing, hiring


def _measure_unit(metric: str) -> Unit | None:
    """The unit of a target's metric: a measure's own, else the KPI registry's."""
    return MEASURES[metric].unit if metric in MEASURES else registry_kpi(metric).unit


def sizing_chart(sizing: Sizing, metric: str, ax: Any = None) -> Any:
    """One target metric against headcount (mean, P10-P90), its target lines, today's headcount
    ringed and the answer starred."""
    ax = plots.axes(ax, (8, 4.2))
    rows = sizing.table.sort_values("headcount")
    unit = _measure_unit(metric)
    scale = _scale(unit)
    currency = sizing.scenario.currency
    x = rows["headcount"].to_numpy(dtype=float)
    low, high = rows[f"{metric}_p10"] * scale, rows[f"{metric}_p90"] * scale
    ax.fill_between(x, low, high, color=plots.COLORS["band"], alpha=0.35, lw=0, label="P10-P90")
    mean = rows[f"{metric}_mean"] * scale
    ax.plot(x, mean, marker="o", ms=4, color=plots.SERIES[0], label="mean of the runs")
    levels = [*low, *high]
    for t in (t for t in sizing.targets if t.metric == metric):
        text = f"target: {_OPS.get(t.op, t.op)} {_value_text(t.value, unit, currency)}"
        ax.axhline(t.value * scale, color=plots.COLORS["target"], ls="--", lw=1.2, label=text)
        levels.append(t.value * scale)
    points = rows.assign(option=rows["headcount"].astype(int), y=mean)
    role = sizing.role
    now, answer = sizing.current, sizing.headcount
    plots.mark_options(
        ax,
        _point(points, now, "headcount", "y", 1.0),
        "today: not known" if now is None else f"today: {now} {role_name(role, now)}",
        _point(points, answer, "headcount", "y", 1.0),
        "recommended: none of the headcounts tried meets every target"
        if answer is None
        else f"recommended: {answer} {role_name(role, answer)}"
        + (" (on the edge)" if _on_edge(rows, answer) else ""),
    )
    words = measure_label(metric)
    words = _words(words, unit)
    extra = _value_axis(ax, unit, levels, currency)
    if unit is not Unit.SHARE and min(levels) >= 0:
        ax.set_ylim(bottom=0)
    _integer_ticks(ax.xaxis)
    plots.finish(
        ax,
        f"{_capital(words)} by {role.upper()} headcount",
        f"{role.upper()} headcount (reps)",
        words + extra,
    )
    plots.legend_outside(ax)
    return ax


def _on_edge(rows: pd.DataFrame, headcount: int) -> bool:
    """Whether the sizing rule left ``headcount`` on the edge of the confidence asked."""
    if "edge" not in rows:
        return False
    edge = rows.loc[rows["headcount"] == headcount, "edge"]
    return bool(len(edge) and edge.iloc[0])


def _month(m: Any) -> str:
    """A month as a reader names it: Jan 2026 (for 2026-01)."""
    try:
        return pd.Period(str(m), freq="M").strftime("%b %Y")
    except ValueError:
        return str(m)


def hiring_chart(plan: HiringPlan, ax: Any = None) -> Any:
    """Required (with its tolerance band) against expected effective headcount by month,
    today's team without hires, today's headcount, hires as bars, short months crossed."""
    ax = plots.axes(ax, (8, 4.5))
    t = plan.table
    x = np.arange(len(t))
    req = t["required"].to_numpy(dtype=float)
    bad = plots.COLORS["bad"]
    ax.bar(x, t["hires"], 0.6, color=plots.COLORS["band"], alpha=0.6, label="hires that month")
    ax.step(x, req, where="mid", color=bad, lw=1.8, label="required (sized)")
    band = f"tolerance ({plan.slack:g} rep)"
    ax.fill_between(x, req - plan.slack, req, step="mid", color=bad, alpha=0.15, lw=0, label=band)
    ax.plot(
        x,
        t["expected_effective"],
        marker="o",
        color=plots.SERIES[0],
        label="expected effective, with hires",
    )
    no_hires = "today's team, no new hires"
    ax.plot(x, t["today_team"], ls="--", color=plots.COLORS["mark"], label=no_hires)
    today = f"today: {plan.current} {role_name(plan.role, plan.current)}"
    ax.axhline(plan.current, color=plots.COLORS["today"], ls=":", lw=1, label=today)
    below = (t["status"] != "covered").to_numpy()
    if below.any():
        effective = t["expected_effective"].to_numpy(dtype=float)
        ax.scatter(x[below], effective[below], marker="x", s=70, color=bad, zorder=3)
        ax.scatter([], [], marker="x", s=70, color=bad, label="below the requirement")
    ax.set_xticks(x, [_month(m) for m in t["month"]], rotation=30, ha="right")
    ax.set_ylim(bottom=0)
    role = plan.role.upper()
    plots.finish(
        ax,
        f"{role} hiring plan",
        "",
        f"{role}s (ramp- and leave-weighted)",
    )
    ax.grid(False, axis="x")
    plots.legend_outside(ax)
    return ax


# --------------------------------------------------------------------------- forecast


def forecast_fan(fc: Forecast, metric: str, cumulative: bool = False, ax: Any = None) -> Any:
    """A fan chart of one metric: the band shaded, the median drawn, the mean dashed."""
    ax = plots.axes(ax, (9, 4.5))
    table = fc.cumulative if cumulative else fc.bands
    rows = table[table["metric"] == metric].sort_values("week")
    # Each value counts the week that ends there: draw it at the week's end.
    x = [d + dt.timedelta(days=7) for d in rows["week_start"]]
    low, mid, high = fc.quantile_columns
    label, unit = LABELS[metric]
    currency = fc.scenario.currency
    if metric in VALUES:
        unit = currency.code
    color = plots.SERIES[0]
    ax.fill_between(
        x,
        rows[low].to_numpy(float),
        rows[high].to_numpy(float),
        alpha=0.35,
        color=plots.COLORS["band"],
        linewidth=0,
        label=f"{fc.level:.0%} band ({low.upper()}-{high.upper()})",
    )
    ax.plot(x, rows[mid].to_numpy(float), color=color, linewidth=2, label="median")
    ax.plot(x, rows["mean"].to_numpy(float), color=color, linestyle="--", label="mean")
    if metric in LEVELS:
        ylabel, how = f"{unit} at week end", "at week end"
    elif cumulative:
        start = fc.scenario.start_date
        ylabel, how = f"{unit}, running total since {start.day} {start:%b %Y}", "running total"
    else:
        ylabel, how = f"{unit} per week", "per week"
    if metric in VALUES:
        plots.money_axis(ax.yaxis, currency)
    else:
        plots.count_axis(ax.yaxis)
    plots.date_axis(ax.xaxis)
    ax.set_ylim(bottom=min(0.0, float(np.nanmin(rows[low].to_numpy(float)))))
    title = f"{fc.scenario.name}: {label}, {how} ({fc.reps} replications)"
    plots.finish(ax, title, "week ending", ylabel)
    plots.legend_outside(ax)
    return ax


# --------------------------------------------------------------------------- gap, diagnosis


def _bridge_legend(ax: Any) -> None:
    """What the bridge's bars mean, beside it."""
    from matplotlib.lines import Line2D  # loaded on use, as pyplot
    from matplotlib.patches import Patch

    c = plots.COLORS
    handles = [
        Patch(color=c["backlog"], label="the spreadsheet's figure"),
        Patch(color=c["up"], label="a mechanism adds"),
        Patch(facecolor=c["down"], hatch=plots.HATCH["down"], label="a mechanism takes away"),
        Patch(color=c["mark"], label="the simulation's figure"),
        Line2D([], [], color="black", marker="_", ms=8, lw=1, label="95% interval"),
    ]
    plots.legend_outside(ax, handles, [str(h.get_label()) for h in handles])


def gap_bridge(gap: Gap, ax: Any = None) -> Any:
    """The bridge from the spreadsheet's figure to the simulation's: one floating bar per
    mechanism the spreadsheet leaves out (blue adds; vermillion and hatched takes away), each
    with its 95% interval, ending at the simulation's figure."""
    ax = plots.axes(ax, (8, 4.5))
    t = gap.table.reset_index(drop=True)
    sheet = float(gap.spreadsheet)
    steps = t[t["step"] != "spreadsheet"]
    names = ["spreadsheet", *steps["step"], "simulation"]
    x = np.arange(len(names))
    ax.bar(x[0], sheet, 0.6, color=plots.COLORS["backlog"])
    level = sheet
    for i, row in enumerate(steps.to_dict("records"), start=1):
        change = float(row["change"])
        up = change >= 0
        hatch = None if up else plots.HATCH["down"]
        color = plots.COLORS["up" if up else "down"]
        ax.bar(x[i], change, 0.6, bottom=level, color=color, hatch=hatch, edgecolor="white")
        end = level + change
        ax.errorbar(
            x[i],
            end,
            yerr=[[change - float(row["change_low"])], [float(row["change_high"]) - change]],
            color="black",
            capsize=3,
            lw=1,
        )
        ax.annotate(  # above the bar and its whisker
            f"{change:+,.0f}",
            (x[i], max(level, end, level + float(row["change_high"]))),
            xytext=(0, 3),
            textcoords="offset points",
            ha="center",
            fontsize="small",
        )
        level = end
    final = float(t.loc[t["step"] == steps["step"].iloc[-1], "mean"].to_numpy(dtype=float)[0])
    ax.bar(x[-1], final, 0.6, color=plots.COLORS["mark"])
    for i, v in ((0, sheet), (len(names) - 1, final)):
        ax.annotate(f"{v:,.0f}", (x[i], v), xytext=(0, 3), textcoords="offset points", ha="center")
    ax.set_xticks(x, [n.replace(" ", "\n", 1) for n in names], fontsize="small")
    entry = find_kpi(gap.metric, "totals")
    name = entry.label if entry is not None else gap.metric.replace("_", " ")
    plots.finish(
        ax,
        f"Spreadsheet against simulation: {name}, step by step",
        "mechanism put back (bars: change, whiskers: 95% interval)",
        f"{name} over the horizon",
    )
    plots.count_axis(ax.yaxis)
    ax.grid(False, axis="x")
    ax.set_ylim(bottom=0)
    _bridge_legend(ax)
    return ax


def _stage_legend(ax: Any, t: pd.DataFrame) -> None:
    """What the diagnosis's bars and bands mean, beside it: the kinds the chart shows."""
    from matplotlib.lines import Line2D  # loaded on use, as pyplot
    from matplotlib.patches import Patch

    c = plots.COLORS
    judged = t["low"].notna()
    below = t["status"] == "below"
    shown = [
        ((judged & ~below).any(), Patch(color=c["good"], label="within or above the benchmark")),
        (
            below.any(),
            Patch(fc=c["bad"], ec="white", hatch=plots.HATCH["bad"], label="below the benchmark"),
        ),
        ((~judged).any(), Patch(color=c["backlog"], label="no benchmark")),
        (judged.any(), Line2D([], [], color="black", lw=5, alpha=0.3, label="benchmark range")),
        (t["bottleneck"].any(), Patch(fc="none", ec="black", lw=1.5, label="the bottleneck")),
        ((t["kind"] != "stage").any(), Patch(color=c["mark"], alpha=0.3, label="detail (lighter)")),
    ]
    handles = [h for show, h in shown if show]
    plots.legend_outside(ax, handles, [str(h.get_label()) for h in handles])


def diagnosis_stages(diagnosis: Diagnosis, ax: Any = None) -> Any:
    """Each funnel stage's conversion (bars) against its benchmark range (a dark band over
    the bar): vermillion and hatched below the range, the bottleneck outlined; detail rows
    (per-team rates) lighter."""
    ax = plots.axes(ax, (8, 4.5))
    t = diagnosis.table[diagnosis.table["rate"].notna()].reset_index(drop=True)
    y = np.arange(len(t))[::-1]
    c = plots.COLORS
    for yi, row in zip(y, t.to_dict("records"), strict=True):
        below = row["status"] == "below"
        judged = not math.isnan(row["low"])
        color = c["bad"] if below else c["good"] if judged else c["backlog"]
        edge = "black" if row["bottleneck"] else "white"
        alpha = 1.0 if row["kind"] == "stage" else 0.55
        hatch = plots.HATCH["bad"] if below else None
        ax.barh(yi, row["rate"] * 100, 0.5, color=color, alpha=alpha, hatch=hatch, ec=edge, lw=1.5)
        if judged:  # a range to judge against, over the bar
            span = [row["low"] * 100, row["high"] * 100]
            ax.plot(span, [yi, yi], color="black", lw=5, alpha=0.3, solid_capstyle="butt")
        ax.annotate(
            f"{row['rate']:.0%}",
            (row["rate"] * 100, yi),
            xytext=(3, 0),
            textcoords="offset points",
            va="center",
            fontsize="small",
        )
    ax.set_yticks(y, [str(s).replace("->", "→") for s in t["stage"]], fontsize="small")
    plots.share_axis(ax, [100.0], axis="x")
    plots.finish(
        ax,
        f"Where the funnel leaks ({diagnosis.phase} phase): conversion against benchmark",
        "conversion (% of the stage before); dark band: the benchmark range",
        "",
    )
    ax.grid(False, axis="y")
    _stage_legend(ax, t)
    return ax
