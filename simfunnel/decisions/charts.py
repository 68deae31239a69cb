"""The charts of the decisions: each answer's ``plot(what)`` draws with one of these.

Every function takes the answer and the axes to draw on (``None``: a new figure), imports
matplotlib only when called, and returns the axes; nothing is shown. The answer types keep
what a chart means (which ``what`` names which chart); the drawing lives here, apart from the
verdicts, so that a type module holds its rule and its words. Charts of one run are in
:mod:`simfunnel.results.plots`, whose colours and finish these share where they can.
"""

from __future__ import annotations

import datetime as dt
import math
from typing import TYPE_CHECKING, Any

import numpy as np

from ..base.units import format_amount
from ..results import plots
from .forecast_bands import LABELS, LEVELS, VALUES
from .levers import role_name
from .measures import measure_label
from .objective import BY_NAME, Kpi, money

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


def _new_axes(ax: Any, figsize: tuple[float, float]) -> Any:
    """The given axes, or a new pyplot figure's (pyplot loaded only here, on use)."""
    if ax is not None:
        return ax
    import matplotlib.pyplot as plt  # loaded on use: most runs draw nothing

    _, ax = plt.subplots(figsize=figsize)
    return ax


def _money_axis(axis: Any, write: Any) -> None:
    """Tick labels as amounts (1.2M) rather than an offset of 1e7 above the axis."""
    from matplotlib.ticker import FuncFormatter  # loaded on use, as pyplot

    axis.set_major_formatter(FuncFormatter(lambda v, _: write(v)))


# --------------------------------------------------------------------------- thresholds


def threshold_kpi(comparison: ThresholdComparison, kpi: str, ax: Any = None) -> Any:
    """A KPI against the threshold, mean and 95% interval (one line per toss-up requirement
    in a grid); saturated options marked."""
    ax = _new_axes(ax, (6, 4))
    rows = comparison.kpi(kpi)
    spec = BY_NAME.get(kpi, Kpi(kpi, kpi, True))
    if kpi == "objective" and not comparison.costed:
        spec = Kpi(kpi, f"objective: {comparison.objective_name} (no costs)", True)
    scale = 100.0 if spec.percent else 1.0
    sat = comparison.overview.set_index("option")["saturated"]
    grid = len(comparison.sql_requires) > 1
    for require, part in rows.groupby("sql_require", sort=True):
        x = part["threshold"].to_numpy(dtype=float)
        label = f"SQL {require:g} of {comparison.criteria}" if grid else "mean, 95% interval"
        ax.fill_between(x, part["ci_low"] * scale, part["ci_high"] * scale, alpha=0.2, lw=0)
        ax.plot(x, part["mean"] * scale, marker="o", label=label)
        hot = sat.loc[part["option"]].to_numpy(dtype=bool)
        if hot.any():
            y = part["mean"].to_numpy()[hot] * scale
            ax.scatter(x[hot], y, s=90, marker="x", color="tab:red", zorder=3)
    if sat.any():
        ax.scatter([], [], s=90, marker="x", color="tab:red", label="SDRs saturated")
    ax.axvline(comparison.current, color="grey", ls=":", label="current threshold")
    if comparison.recommended is not None:
        ax.axvline(
            comparison.recommended_threshold, color="tab:green", ls="--", label="recommended"
        )
    ax.set_xlabel("MQL threshold (score points)")
    ax.set_ylabel(spec.label + (" (%)" if spec.percent else ""))
    if spec.money:
        _money_axis(ax.yaxis, money)
    ax.set_title(f"{spec.label[0].upper()}{spec.label[1:]} by MQL threshold")
    ax.legend(fontsize="small")
    return ax


def threshold_tradeoff(
    comparison: ThresholdComparison,
    x: str = "within_1h",
    y: str = "valid_opportunities",
    ax: Any = None,
) -> Any:
    """The trade-off plane: each option a point, the Pareto set joined up."""
    ax = _new_axes(ax, (6, 4))
    o = comparison.overview
    sx, sy = BY_NAME.get(x, Kpi(x, x, True)), BY_NAME.get(y, Kpi(y, y, True))
    fx, fy = (100.0 if sx.percent else 1.0), (100.0 if sy.percent else 1.0)
    ax.scatter(o[x] * fx, o[y] * fy, color="tab:blue", zorder=2)
    front = o[o["pareto"]].sort_values(x)
    ax.plot(front[x] * fx, front[y] * fy, color="tab:blue", alpha=0.5, label="Pareto set")
    for row in o.itertuples(index=False):
        ax.annotate(
            row.option,
            (getattr(row, x) * fx, getattr(row, y) * fy),
            textcoords="offset points",
            xytext=(4, 4),
            fontsize="small",
        )
    ax.set_xlabel(sx.label + (" (%)" if sx.percent else ""))
    ax.set_ylabel(sy.label + (" (%)" if sy.percent else ""))
    ax.set_title("Trade-off between options")
    ax.legend(fontsize="small")
    return ax


# --------------------------------------------------------------------------- sizing, hiring


def sizing_chart(sizing: Sizing, metric: str, ax: Any = None) -> Any:
    """One target metric against headcount (mean, P10-P90), its target lines, the answer and
    today's headcount."""
    ax = _new_axes(ax, (6, 4))
    rows = sizing.table.sort_values("headcount")
    x = rows["headcount"].to_numpy(dtype=float)
    ax.fill_between(
        x,
        rows[f"{metric}_p10"],
        rows[f"{metric}_p90"],
        alpha=0.25,
        lw=0,
        label="P10-P90 of runs",
    )
    ax.plot(x, rows[f"{metric}_mean"], marker="o", label="mean")
    for t in (t for t in sizing.targets if t.metric == metric):
        ax.axhline(t.value, color="tab:red", ls="--", label=f"target {t.op} {t.value:g}")
    if sizing.headcount is not None:
        ax.axvline(sizing.headcount, color="tab:green", ls=":", label="smallest that meets all")
    if sizing.current is not None and sizing.current in set(rows["headcount"]):
        ax.axvline(sizing.current, color="black", ls="-.", lw=1, label=f"today: {sizing.current}")
        y = rows.loc[rows["headcount"] == sizing.current, f"{metric}_mean"].iloc[0]
        ax.plot([sizing.current], [y], marker="*", ms=12, color="black", ls="none")
    label = measure_label(metric)
    ax.set_xlabel(f"{sizing.role.upper()} headcount (reps)")
    ax.set_ylabel(label)
    ax.set_title(f"{label} by {sizing.role.upper()} headcount")
    ax.legend(fontsize="small")
    return ax


def hiring_chart(plan: HiringPlan, ax: Any = None) -> Any:
    """Required (with its tolerance band) against expected effective headcount by month,
    today's team without hires, today's headcount, hires as bars, short months marked."""
    ax = _new_axes(ax, (8, 4.5))
    t = plan.table
    x = np.arange(len(t))
    req = t["required"].to_numpy(dtype=float)
    ax.step(x, req, where="mid", color="tab:red", label="required (sized)")
    ax.fill_between(
        x,
        req - plan.slack,
        req,
        step="mid",
        color="tab:red",
        alpha=0.15,
        lw=0,
        label=f"tolerance ({plan.slack:g} rep)",
    )
    ax.plot(x, t["expected_effective"], marker="o", label="expected effective, with hires")
    ax.plot(x, t["today_team"], ls="--", color="tab:gray", label="today's team, no new hires")
    today = f"today: {plan.current} {role_name(plan.role, plan.current)}"
    ax.axhline(plan.current, color="black", ls=":", lw=1, label=today)
    ax.bar(x, t["hires"], alpha=0.3, color="tab:green", label="hires that month")
    below = (t["status"] != "covered").to_numpy()
    if below.any():
        ax.scatter(
            x[below],
            t["expected_effective"].to_numpy(dtype=float)[below],
            marker="x",
            s=60,
            color="tab:red",
            zorder=3,
            label="below the requirement",
        )
    ax.set_xticks(x, [str(m) for m in t["month"]], rotation=45, ha="right")
    ax.set_ylabel(f"{plan.role.upper()}s (ramp- and leave-weighted)")
    ax.set_title(f"{plan.role.upper()} hiring plan")
    ax.legend(fontsize="small")
    return ax


# --------------------------------------------------------------------------- forecast


def forecast_fan(fc: Forecast, metric: str, cumulative: bool = False, ax: Any = None) -> Any:
    """A fan chart of one metric: the band shaded, the median drawn, the mean dashed."""
    ax = _new_axes(ax, (9, 4.5))
    table = fc.cumulative if cumulative else fc.bands
    rows = table[table["metric"] == metric].sort_values("week")
    # Each value counts the week that ends there: draw it at the week's end.
    x = [d + dt.timedelta(days=7) for d in rows["week_start"]]
    low, mid, high = fc.quantile_columns
    label, unit = LABELS[metric]
    ax.fill_between(
        x,
        rows[low].to_numpy(float),
        rows[high].to_numpy(float),
        alpha=0.3,
        color="C0",
        linewidth=0,
        label=f"{fc.level:.0%} band ({low.upper()}-{high.upper()})",
    )
    ax.plot(x, rows[mid].to_numpy(float), color="C0", linewidth=2, label="median")
    ax.plot(x, rows["mean"].to_numpy(float), color="C0", linestyle="--", label="mean")
    if metric in LEVELS:
        ylabel, how = f"{unit} at week end", "at week end"
    elif cumulative:
        ylabel, how = (
            f"{unit}, cumulative since {fc.scenario.start_date:%Y-%m-%d}",
            "running total",
        )
    else:
        ylabel, how = f"{unit} per week", "per week"
    ax.set_ylabel(ylabel)
    ax.set_xlabel("week ending")
    if metric in VALUES:
        _money_axis(ax.yaxis, format_amount)
    ax.set_title(f"{fc.scenario.name}: {label}, {how} ({fc.reps} replications)")
    ax.set_ylim(bottom=min(0.0, float(np.nanmin(rows[low].to_numpy(float)))))
    ax.grid(alpha=0.3)
    ax.legend(loc="upper left")
    return ax


# --------------------------------------------------------------------------- gap, diagnosis


def gap_bridge(gap: Gap, ax: Any = None) -> Any:
    """The bridge from the spreadsheet's figure to the simulation's: one floating bar per
    mechanism the spreadsheet leaves out (green adds, red takes away), each with its 95%
    interval, ending at the simulation's figure."""
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
        color = plots.COLORS["up"] if change >= 0 else plots.COLORS["down"]
        ax.bar(x[i], change, 0.6, bottom=level, color=color)
        end = level + change
        ax.errorbar(
            x[i],
            end,
            yerr=[[change - float(row["change_low"])], [float(row["change_high"]) - change]],
            color="black",
            capsize=3,
            lw=1,
        )
        ax.annotate(
            f"{change:+,.0f}",
            (x[i], max(level, end)),
            xytext=(0, 3),
            textcoords="offset points",
            ha="center",
            fontsize="small",
        )
        level = end
    final = float(t.loc[t["step"] == steps["step"].iloc[-1], "mean"].to_numpy(dtype=float)[0])
    ax.bar(x[-1], final, 0.6, color=plots.COLORS["sdr"])
    for i, v in ((0, sheet), (len(names) - 1, final)):
        ax.annotate(f"{v:,.0f}", (x[i], v), xytext=(0, 3), textcoords="offset points", ha="center")
    ax.set_xticks(x, [n.replace(" ", "\n", 1) for n in names], fontsize="small")
    name = gap.metric.replace("_", " ")
    plots.finish(
        ax,
        f"Spreadsheet against simulation: {name}, step by step",
        "mechanism put back (bars: change, whiskers: 95% interval)",
        f"{name} over the horizon",
    )
    ax.grid(False, axis="x")
    ax.set_ylim(bottom=0)
    return ax


def diagnosis_stages(diagnosis: Diagnosis, ax: Any = None) -> Any:
    """Each funnel stage's conversion (bars) against its benchmark range (a dark band over
    the bar): red below the range, the bottleneck outlined; detail rows (per-team rates)
    lighter."""
    ax = plots.axes(ax, (8, 4.5))
    t = diagnosis.table[diagnosis.table["rate"].notna()].reset_index(drop=True)
    y = np.arange(len(t))[::-1]
    colors = [plots.COLORS["bad"] if s == "below" else plots.COLORS["good"] for s in t["status"]]
    alphas = [1.0 if k == "stage" else 0.55 for k in t["kind"]]
    for yi, row, color, alpha in zip(y, t.to_dict("records"), colors, alphas, strict=True):
        edge = "black" if row["bottleneck"] else "none"
        ax.barh(yi, row["rate"] * 100, 0.5, color=color, alpha=alpha, edgecolor=edge, lw=1.5)
        if not math.isnan(row["low"]):  # a range to judge against, over the bar
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
    ax.set_yticks(y, list(t["stage"]), fontsize="small")
    ax.set_xlim(0, 105)
    plots.finish(
        ax,
        f"Where the funnel leaks ({diagnosis.phase} phase): conversion against benchmark",
        "conversion (%); dark band: the benchmark range",
        "",
    )
    ax.grid(False, axis="y")
    return ax
