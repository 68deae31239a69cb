"""What the report says about each decision: thresholds, sizing, hiring, forecast, gap, diagnosis.

One builder per answer type, each returning a :class:`~simfunnel.results.answer.Report`: the
verdict in words, the charts (drawn later, by the page, through the answer's own ``plot``), the
key figures as a table and the assumptions. The types' ``report()`` methods call these, so the
report asks the answer; nothing here writes HTML (:mod:`simfunnel.present` renders it).
"""

from __future__ import annotations

import functools
import math
from typing import TYPE_CHECKING, Any

import pandas as pd

from ..base.formatting import fmt, interval
from ..base.units import WEEK, format_duration
from ..results import level_text
from ..results.answer import Chart, Draw, Report
from .forecast_bands import LABELS, VALUES
from .headlines import (
    diagnosis_tiles,
    forecast_points,
    forecast_tiles,
    gap_points,
    gap_tiles,
    hiring_points,
    hiring_tiles,
    sizing_points,
    sizing_tiles,
    threshold_tiles,
)
from .objective import KPIS, shown_kpis

if TYPE_CHECKING:
    from .diagnosis import Diagnosis
    from .forecasting import Forecast
    from .gap import Gap
    from .hiring import HiringPlan
    from .sizing import Sizing
    from .thresholds import ThresholdComparison

__all__ = [
    "diagnosis_report",
    "forecast_report",
    "gap_report",
    "hiring_report",
    "sizing_report",
    "threshold_report",
]


def _draw(answer: Any, what: str | None = None) -> Draw:
    """A chart of the answer, drawn on the axes the page gives (``plot`` takes them by name)."""
    return lambda ax: answer.plot(what, ax=ax)


# --------------------------------------------------------------------------- thresholds


def _threshold_kpis(comparison: ThresholdComparison) -> pd.DataFrame:
    """Each KPI per option with its interval, and its paired change against the current one,
    each figure in its unit (money in the scenario's currency, durations in their unit)."""
    shown = shown_kpis(comparison.costed, comparison.fallback)
    kpis = {k.name: k for k in shown}
    order = {k.name: i for i, k in enumerate(shown)}
    money = comparison.scenario.currency

    def said(name: str, mean: float, low: float, high: float, sign: bool = False) -> str:
        k = kpis.get(name)
        if k is not None and k.money:
            write = functools.partial(money.format, signed=sign)
        elif k is not None and k.hours:
            write = functools.partial(_signed_duration, sign=sign)
        else:
            return interval(mean, low, high, k is not None and k.percent, sign)
        return write(mean) if math.isnan(low) else f"{write(mean)} ({write(low)} to {write(high)})"

    table = comparison.kpis.assign(_o=comparison.kpis["kpi"].map(order))
    rows = []
    for row in table.sort_values(["_o", "threshold"], kind="stable").to_dict("records"):
        if all(isinstance(v, float) and math.isnan(v) for v in (row["mean"], row["ci_low"])):
            continue  # a KPI not computed (cost per valid opportunity without costs)
        name = str(row["kpi"])
        current = row["option"] == comparison.current_option
        rows.append(
            (
                kpis[name].label if name in kpis else name,
                f"{row['option']} (today)" if current else str(row["option"]),
                said(name, row["mean"], row["ci_low"], row["ci_high"]),
                "today's setting"
                if current
                else said(name, row["diff"], row["diff_low"], row["diff_high"], True),
            )
        )
    return pd.DataFrame(
        rows, columns=["KPI", "option", "mean (95% CI)", "change vs today (95% CI)"]
    )


def _signed_duration(hours: float, sign: bool = False) -> str:
    """A duration in its unit, with its sign for a change: '+2.1 min', '-38 s'."""
    text = format_duration(abs(hours))
    return ("-" if hours < 0 else "+") + text if sign and hours != 0 else text


def _target_mark(meets: bool, noise: bool) -> str:
    """A mark a reader scans: shown to fail, within the noise, or met."""
    if not meets:
        return "\u2717 no"
    return "~ within the noise" if noise else "\u2713 yes"


def _threshold_targets(comparison: ThresholdComparison) -> pd.DataFrame:
    """Per option: whether it meets every target (a mark a reader scans), what fails, and what
    is met only within the noise."""
    o = comparison.overview
    rows = [
        (
            f"{r['option']} (today)" if r["option"] == comparison.current_option else r["option"],
            _target_mark(r["meets_targets"], bool(r["marginal_targets"])),
            r["failed_targets"] or "",
            r["marginal_targets"] or "",
            "\u2605 recommended" if r["recommended"] else "",
        )
        for r in o.to_dict("records")
    ]
    columns = ["option", "meets every target", "fails", "met or missed within the noise", ""]
    return pd.DataFrame(rows, columns=columns)


def _threshold_charts(comparison: ThresholdComparison) -> list[Chart]:
    """Four KPIs by threshold, the trade-off, and the spreadsheet gap when there is one."""
    labels = {k.name: k.label for k in KPIS}
    charts: list[Chart] = [
        (
            f"{labels[k]} by MQL threshold: mean and 95% interval.",
            _draw(comparison, k),
            (8, 4.2),
        )
        for k in ("valid_opportunities", "within_1h", "sdr_utilisation", "won")
    ]
    charts.append(
        (
            "The trade-off: each threshold a point, the Pareto set joined.",
            _draw(comparison, "tradeoff"),
            (8, 4.2),
        )
    )
    if comparison.gap is not None:
        charts.append(
            (
                "Why the spreadsheet's figure differs at the current threshold, mechanism by "
                "mechanism.",
                _draw(comparison.gap),
                (8, 4.5),
            )
        )
    return charts


_POINT_HEADINGS = {"Do": "What to do"}


def threshold_report(comparison: ThresholdComparison) -> Report:
    """MQL thresholds compared on common random numbers, against the current one."""
    exp = comparison.experiment
    base = comparison.scenario
    points, rest = comparison.verdict_parts()
    return Report(
        title=f"{base.name}: MQL threshold comparison",
        subtitle=(
            f"Options {', '.join(comparison.options)} (current {comparison.current_option}), "
            f"{exp.runs_text()} replications each on common random numbers"
        ),
        verdict=[p for p in rest if p.startswith("WARNING")]
        + [p for p in rest if not p.startswith("WARNING")],
        points=[(_POINT_HEADINGS.get(h, h), text) for h, text in points],
        tiles=threshold_tiles(comparison),
        charts=_threshold_charts(comparison),
        kpis=_threshold_kpis(comparison),
        kpi_note=(
            "Means over the replications with their 95% confidence intervals; changes are paired "
            "differences against the current threshold (the same leads in every option)."
        ),
        scenario=base,
        notes=[
            f"root seed: {exp.seed}; replications: {exp.runs_text()}",
            "the only fields changed between options: scoring.threshold and toss_up.require",
            comparison.rule,
            *(["started from a snapshot of open leads"] if exp.snapshot is not None else []),
        ],
        details=comparison.overview.copy(),
        tables=[
            (
                "Targets",
                "Each option against the targets "
                f"({', '.join(map(str, comparison.targets)) or 'none set'}), on the means over "
                "the replications.",
                _threshold_targets(comparison),
            )
        ],
    )


# --------------------------------------------------------------------------- sizing and hiring


def sizing_kpis(sizing: Sizing) -> pd.DataFrame:
    """Per headcount tried and per target: the metric's mean, its P10-P90 and runs meeting it."""
    rows = []
    for _, d in sizing.table.iterrows():
        for t in sizing.targets:
            rows.append(
                (
                    int(d["headcount"]),
                    t.words,
                    t.figure(d[f"{t.metric}_mean"]),
                    f"{t.figure(d[f'{t.metric}_p10'])} to {t.figure(d[f'{t.metric}_p90'])}",
                    fmt(d[f"p_met: {t}"], True),
                    fmt(d["p_all_met"], True),
                )
            )
    return pd.DataFrame(
        rows,
        columns=[
            "headcount",
            "target",
            "mean",
            "P10 to P90 of runs",
            "runs meeting it",
            "runs meeting all",
        ],
    )


def sizing_report(sizing: Sizing) -> Report:
    """How many SDRs (or BDRs) meet the targets, headcount by headcount."""
    h = sizing.reported
    exp = sizing.experiments[h]
    scenario = next(iter(exp.scenarios.values()))
    charts: list[Chart] = [
        (
            f"{'; '.join(t.words for t in sizing.targets if t.metric == metric)} against "
            f"{sizing.role.upper()} headcount: mean and P10-P90 of the runs.",
            _draw(sizing, metric),
            (8, 4.2),
        )
        for metric in sizing.metrics
    ]
    runs = sizing.table["runs"]
    per = f"{runs.min()}" if runs.min() == runs.max() else f"{runs.min()} to {runs.max()}"
    return Report(
        title=f"{scenario.name}: how many {sizing.role.upper()}s",
        subtitle=(
            f"Targets: {'; '.join(t.words for t in sizing.targets)}, met in at least "
            f"{sizing.confidence:.0%} of runs ({per} replications per headcount)"
        ),
        verdict=[sizing.verdict],
        tiles=sizing_tiles(sizing),
        points=sizing_points(sizing),
        charts=charts,
        kpis=sizing_kpis(sizing),
        kpi_note=(
            "Per headcount tried: each target's metric over the replications (mean and the range "
            "one period could bring), and the share of runs that meet it."
        ),
        scenario=scenario,
        notes=[
            f"the scenario below is the one at {h} {sizing.role.upper()}s; the others differ "
            "only in the headcount",
            f"root seed: {exp.seed}; replications per headcount: {per}",
            f"the search started from the analytic estimate, {sizing.start}",
        ],
    )


def hiring_report(plan: HiringPlan) -> Report:
    """When to hire so that ramped headcount keeps up with the volume plan."""
    table = plan.table.rename(
        columns={
            "month": "month",
            "volume": "lead volume (x plan)",
            "required": "required (sized, fully ramped)",
            "expected_effective": "expected effective headcount",
            "hires": "hires that month",
        }
    )
    return Report(
        title=f"{plan.scenario.name}: {plan.role.upper()} hiring plan",
        subtitle="Hires dated so that ramped, leave- and attrition-weighted headcount keeps up",
        verdict=[plan.verdict],
        tiles=hiring_tiles(plan),
        points=hiring_points(plan),
        charts=[
            (
                "Required against expected effective headcount by month; bars are hires.",
                _draw(plan),
                (9, 4.5),
            )
        ],
        kpis=table,
        kpi_note=(
            "Expected effective headcount is a mean over simulated rosters (ramp, attrition with "
            "back-fill, leave); required is the smallest team that meets the targets at that "
            "month's volume."
        ),
        scenario=plan.scenario,
        notes=["the scenario below holds the volume plan (as seasonality) and the hires"],
    )


# --------------------------------------------------------------------------- forecast


def forecast_kpis(fc: Forecast) -> pd.DataFrame:
    """Totals over the horizon: mean, the band, median and the spreadsheet's figure."""
    low, mid, high = fc.quantile_columns
    money = fc.scenario.currency

    def figure(metric: str, x: float) -> str:
        if math.isnan(x):
            return ""
        return money.format(x) if metric in VALUES else f"{x:,.0f}"

    rows = []
    for d in fc.totals_table().to_dict("records"):
        m = str(d["metric"])
        rows.append(
            (
                LABELS[m][0],
                figure(m, float(d["mean"])),
                f"{figure(m, float(d[low]))} to {figure(m, float(d[high]))}",
                figure(m, float(d[mid])),
                figure(m, float(d["spreadsheet"])),
            )
        )
    return pd.DataFrame(
        rows,
        columns=[
            "over the horizon",
            "mean",
            f"{level_text(fc.level)} range ({low.upper()} to {high.upper()})",
            "median",
            "spreadsheet",
        ],
    )


def _forecast_start(fc: Forecast) -> str:
    """Where the forecast's funnel started: a snapshot, a warm-up, or (warned) empty."""
    exp = fc.experiment
    if exp.snapshot is not None:
        return (
            f"started from a snapshot of {len(exp.snapshot):,} open leads and opportunities "
            f"({exp.snapshot.origin})"
        )
    if fc.warm_up_weeks:
        return f"started after a {fc.warm_up_weeks}-week warm-up ({fc.warm_up_basis})"
    return "WARNING: started from an empty funnel (no snapshot, no warm-up)"


def period_text(fc: Forecast, freq: str) -> str:
    """The roll-up by month or quarter as the terminal prints it: one row per period, the
    median and band of each headline metric, money in the scenario's currency."""
    t = fc.by_period(freq)
    low, mid, high = fc.quantile_columns
    money = fc.scenario.currency
    shown = {"valid_opportunities": "valid opportunities", "pipeline_value": "pipeline value"}
    shown |= {"won": "deals won", "won_value": "won value"}
    rows = {}
    for metric, name in shown.items():
        part = t[t["metric"] == metric]
        write = money.format if metric in VALUES else (lambda v: f"{v:,.0f}")
        rows[name] = [
            f"{write(m)} ({write(lo)} to {write(hi)})"
            for m, lo, hi in zip(part[mid], part[low], part[high], strict=True)
        ]
    periods = t.drop_duplicates("period")
    index = [f"{p} ({w} weeks)" for p, w in zip(periods["period"], periods["weeks"], strict=True)]
    word = {"M": "month", "Q": "quarter"}[freq]
    head = f"By {word} (median, {low.upper()} to {high.upper()}):"
    return head + "\n" + pd.DataFrame(rows, index=index).to_string()


def forecast_report(fc: Forecast) -> Report:
    """The pipeline a period may bring, with its band and the spreadsheet's expectation."""
    charts: list[Chart] = [
        (
            "Valid opportunities per week: median, mean and the band.",
            _draw(fc, "valid_opportunities"),
            (9, 4.5),
        ),
        ("Pipeline value created, cumulative.", _draw(fc, "pipeline_value_cumulative"), (9, 4.5)),
        ("Deals won, cumulative.", _draw(fc, "won_cumulative"), (9, 4.5)),
        ("Open pipeline at each week's end.", _draw(fc, "open_opportunities"), (9, 4.5)),
    ]
    return Report(
        title=f"{fc.scenario.name}: pipeline forecast",
        subtitle=(
            f"{fc.weeks} weeks from {fc.scenario.start_date:%Y-%m-%d}, {fc.reps} replications"
        ),
        verdict=[fc.verdict],
        tiles=forecast_tiles(fc),
        points=forecast_points(fc),
        charts=charts,
        kpis=forecast_kpis(fc),
        kpi_note=(
            f"Totals over the horizon (for the open pipeline: open at the end). The range holds "
            f"a new period's outcome {level_text(fc.level)} of the time; the spreadsheet column is "
            "what a rate-times-volume sheet expects, without capacity or a starting funnel."
        ),
        scenario=fc.scenario,
        notes=[f"root seed: {fc.experiment.seed}; replications: {fc.reps}", _forecast_start(fc)],
    )


# --------------------------------------------------------------------------- gap, diagnosis


def gap_kpis(gap: Gap) -> pd.DataFrame:
    """Each step's figure with its interval, and what the step changed with its interval, in
    whole opportunities or deals (means of counts)."""

    def whole(mean: float, low: float, high: float, sign: str = "") -> str:
        if math.isnan(mean):
            return ""
        said = f"{mean:{sign},.0f}"
        return said if math.isnan(low) else f"{said} ({low:{sign},.0f} to {high:{sign},.0f})"

    rows = [
        (
            str(r["step"]),
            whole(r["mean"], r["ci_low"], r["ci_high"]),
            whole(r["change"], r["change_low"], r["change_high"], "+"),
        )
        for r in gap.table.to_dict("records")
    ]
    return pd.DataFrame(rows, columns=["step", "mean (95% CI)", "change (95% CI)"])


def gap_report(gap: Gap) -> Report:
    """Why the simulation departs from the spreadsheet, mechanism by mechanism."""
    exp, scenario = gap.experiment, gap.scenario
    name = gap.metric.replace("_", " ")
    return Report(
        title=f"{scenario.name}: spreadsheet against simulation",
        subtitle=(
            f"{name} over {scenario.horizon / WEEK:g} weeks, {exp.reps} replications per step "
            "on common random numbers"
        ),
        verdict=[gap.verdict],
        tiles=gap_tiles(gap),
        points=gap_points(gap),
        charts=[
            (
                "The bridge from the spreadsheet's figure to the simulation's, one mechanism at "
                "a time: bars are changes, whiskers their 95% intervals.",
                _draw(gap),
                (8, 4.5),
            )
        ],
        kpis=gap_kpis(gap),
        kpi_note=(
            "Each step puts back one mechanism the spreadsheet leaves out; its change is a paired "
            "difference against the step before (the same leads in every step)."
        ),
        scenario=scenario,
        notes=[f"root seed: {exp.seed}; replications: {exp.reps}"],
    )


def stage_kpis(diagnosis: Diagnosis) -> pd.DataFrame:
    """Each stage's conversion, its benchmark range, its status and the uplift to the range."""
    rows = [
        (
            str(r["stage"]),
            fmt(r["rate"], True),
            "" if math.isnan(r["low"]) else f"{fmt(r['low'], True)} to {fmt(r['high'], True)}",
            str(r["status"]),
            f"{r['uplift']:.2f}x" if r["status"] == "below" else "",
            "yes" if r["bottleneck"] else "",
        )
        for r in diagnosis.table.to_dict("records")
    ]
    columns = ["stage", "conversion", "benchmark", "status", "uplift to the range", "bottleneck"]
    return pd.DataFrame(rows, columns=columns)


def lever_kpis(diagnosis: Diagnosis) -> pd.DataFrame:
    """What one more unit of each lever buys, as people read it: whole opportunities and wins
    with their paired 95% intervals, the gain as a share of today's valid opportunities."""

    def said(gain: float, low: float, high: float) -> str:
        return "n/a" if math.isnan(gain) else f"{gain:+,.0f} ({low:+,.0f} to {high:+,.0f})"

    rows = [
        (
            str(r["what"]),
            said(r["valid_gain"], r["valid_low"], r["valid_high"]),
            "n/a" if math.isnan(r["valid_gain_share"]) else f"{r['valid_gain_share']:+.1%}",
            said(r["won_gain"], r["won_low"], r["won_high"]),
            "yes" if r["binding"] else "",
        )
        for r in diagnosis.levers.to_dict("records")
    ]
    columns = ["lever", "valid opportunities (95% CI)", "share", "wins (95% CI)", "binds"]
    return pd.DataFrame(rows, columns=columns)


def diagnosis_report(diagnosis: Diagnosis) -> Report:
    """Where one run's funnel leaks, which capacity binds, and what one more unit buys."""
    scenario = diagnosis.scenario
    charts: list[Chart] = [
        (
            "Each stage's conversion against its benchmark range; red is below it.",
            _draw(diagnosis, "stages"),
            (8, 4.5),
        ),
        (
            "Team capacity: utilisation (lines, left) and untouched MQLs waiting (bars, right).",
            _draw(diagnosis, "capacity"),
            (9, 4.5),
        ),
    ]
    tables = [("Capacity by role", "Weeks each team was at capacity.", diagnosis.capacity)]
    if not diagnosis.levers.empty:
        note = "Gains against the scenario as it is, paired over replications (95% intervals)."
        tables.append(("One more unit of each lever", note, lever_kpis(diagnosis)))
    return Report(
        title=f"{scenario.name}: where the funnel leaks",
        subtitle=f"One run, {diagnosis.phase} phase ({diagnosis.phase_why})",
        # The verdict is the three points; below them, which reading of the funnel it used.
        verdict=[f"Read as a {diagnosis.phase} team: {diagnosis.phase_why}."]
        if diagnosis.points
        else [diagnosis.verdict],
        tiles=diagnosis_tiles(diagnosis),
        points=list(diagnosis.points),
        charts=charts,
        kpis=stage_kpis(diagnosis),
        kpi_note="Conversions over the whole run against the benchmark ranges (docs/decisions.md).",
        scenario=scenario,
        tables=tables,
    )
