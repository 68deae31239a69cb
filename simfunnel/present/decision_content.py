"""What the report says about a run and about each decision: thresholds, sizing, hiring, forecast.

One builder per object type, each returning a :class:`~simfunnel.results.answer.Report`: the
verdict in words, the charts (drawn later, by the page), the key figures as a table and the
assumptions. Nothing here writes HTML.
"""

from __future__ import annotations

import functools
import math

import pandas as pd

from ..base.formatting import fmt, interval
from ..base.units import format_amount
from ..decisions import (
    KPIS,
    LABELS,
    MEASURES,
    Forecast,
    HiringPlan,
    Sizing,
    ThresholdComparison,
    diagnose,
)
from ..results import SimulationResult, plots
from ..results.answer import Chart, Report

__all__ = [
    "forecast_report",
    "hiring_report",
    "result_report",
    "sizing_report",
    "threshold_report",
]


# --------------------------------------------------------------------------- one run


def _result_opening(result: SimulationResult) -> str:
    """The run in one paragraph: the funnel's counts, speed-to-lead and how busy the SDRs were."""
    s = result.scenario
    t, stl, util = result.totals, result.speed_to_lead, result.utilisations
    return (
        f"Over {s.weeks} weeks from {s.start_date:%Y-%m-%d}, {t['leads']:,} inbound leads "
        f"gave {t['mqls']:,} MQLs, {t['sqls']:,} SQLs and {t['valid_opportunities']:,} valid "
        f"opportunities worth {format_amount(t['pipeline_value'])}; {t['won']:,} deals were won "
        f"({format_amount(t['won_value'])}). {fmt(stl['within_1h'], True)} of MQLs were "
        f"called within an hour, and the SDRs were busy {fmt(util['sdr'], True)} of their "
        "on-phone time."
    )


def _result_kpis(result: SimulationResult) -> pd.DataFrame:
    """The run's key figures with their units, leaving out the ones the run has not got."""
    t, r, stl = result.totals, result.rates, result.speed_to_lead
    util = result.utilisations
    kpis = [
        ("inbound leads", t["leads"], "leads"),
        ("MQLs", t["mqls"], "leads"),
        ("outbound accounts", t["accounts"], "accounts"),
        ("dials", t["dials"], "calls"),
        ("connect rate", r["connect_rate"], "% of dials"),
        ("contact rate", r["contact_rate"], "% of connects"),
        ("SQLs", t["sqls"], "leads"),
        ("MQL to SQL", r["mql_to_sql"], "% of MQLs"),
        ("valid opportunities", t["valid_opportunities"], "opportunities"),
        ("SQL to valid", r["sql_to_valid"], "% of decided SQLs"),
        ("won", t["won"], "deals"),
        ("win rate", r["win_rate"], "% of closed"),
        ("pipeline value", t["pipeline_value"], "currency"),
        ("won value", t["won_value"], "currency"),
        ("speed-to-lead, median", stl["median_h"], "hours"),
        ("MQLs called within 1 h", stl["within_1h"], "% of MQLs"),
        ("MQLs called within 24 h", stl["within_24h"], "% of MQLs"),
        ("SDR utilisation", util["sdr"], "% of on-phone hours"),
        ("BDR utilisation", util["bdr"], "% of on-phone hours"),
        ("untouched MQLs waiting, mean", result.backlog["mean"], "leads"),
        ("AE occupancy", result.ae.get("ae_occupancy"), "% of AE room"),
    ]
    rows = [
        (name, fmt(v, unit.startswith("%")), unit)
        for name, v, unit in kpis
        if v is not None and not (isinstance(v, float) and math.isnan(v))
    ]
    return pd.DataFrame(rows, columns=["figure", "value", "unit"])


def _result_charts(result: SimulationResult) -> list[Chart]:
    """The four charts of one run: funnel, weekly volumes, capacity, speed-to-lead."""
    return [
        (
            "The funnel from leads to wins: each bar's count and its conversion from the stage "
            "before.",
            lambda ax: plots.funnel(result, ax=ax),
            (9, 4.8),
        ),
        (
            "Weekly MQLs, SQLs and valid opportunities.",
            lambda ax: plots.weekly(result, ax=ax),
            (9, 4.2),
        ),
        (
            "Team capacity: utilisation (lines, left) and untouched MQLs waiting (bars, right).",
            lambda ax: plots.capacity(result, ax=ax),
            (9, 4.5),
        ),
        (
            "Speed-to-lead: how long MQLs waited for a first call, with the 1 h and 24 h marks.",
            lambda ax: plots.speed_to_lead(result, ax=ax),
            (9, 4.5),
        ),
    ]


def result_report(result: SimulationResult) -> Report:
    """One simulated run: what it gave, and the diagnosis of what held it back."""
    s = result.scenario
    opening = _result_opening(result)
    kpis = _result_kpis(result)
    details = result.summary()
    details["value"] = [fmt(v) for v in details["value"]]
    charts = _result_charts(result)
    return Report(
        title=s.name,
        subtitle=f"One simulated run, seed {result.seed}, {s.weeks} weeks",
        verdict=[opening, diagnose(result, levers=0).verdict],
        charts=charts,
        kpis=kpis,
        kpi_note=(
            "One replication: every figure is one draw of luck. For intervals, run "
            "simfunnel.run(scenario, reps=20) or a decision (thresholds, sizing, forecast)."
        ),
        scenario=s,
        notes=[f"seed: {result.seed}"],
        details=details,
    )


# --------------------------------------------------------------------------- thresholds


def _threshold_kpis(comparison: ThresholdComparison) -> pd.DataFrame:
    """Each KPI per option with its interval, and its paired change against the current one."""
    percent = {k.name for k in KPIS if k.percent}
    labels = {k.name: k.label for k in KPIS}
    order = {k.name: i for i, k in enumerate(KPIS)}
    table = comparison.table.assign(_o=comparison.table["kpi"].map(order))
    rows = []
    for row in table.sort_values(["_o", "threshold"], kind="stable").to_dict("records"):
        if all(isinstance(v, float) and math.isnan(v) for v in (row["mean"], row["ci_low"])):
            continue  # a KPI not computed (cost per valid opportunity without costs)
        p = row["kpi"] in percent
        current = row["option"] == comparison.current_option
        rows.append(
            (
                labels.get(row["kpi"], row["kpi"]),
                str(row["option"]),
                interval(row["mean"], row["ci_low"], row["ci_high"], p),
                "(current)"
                if current
                else interval(row["diff"], row["diff_low"], row["diff_high"], p, True),
            )
        )
    return pd.DataFrame(
        rows, columns=["KPI", "option", "mean (95% CI)", "change vs current (95% CI)"]
    )


def _threshold_charts(comparison: ThresholdComparison) -> list[Chart]:
    """Four KPIs by threshold, the trade-off, and the spreadsheet gap when there is one."""
    labels = {k.name: k.label for k in KPIS}
    charts: list[Chart] = [
        (
            f"{labels[k]} by MQL threshold: mean and 95% interval.",
            functools.partial(comparison.plot, k),
            (8, 4.2),
        )
        for k in ("valid_opportunities", "within_1h", "sdr_utilisation", "won")
    ]
    charts.append(
        (
            "The trade-off: each threshold a point, the Pareto set joined.",
            lambda ax: comparison.plot_tradeoff(ax=ax),
            (8, 4.2),
        )
    )
    gap = comparison.gap
    if gap is not None:
        charts.append(
            (
                "Why the spreadsheet's figure differs at the current threshold, mechanism by "
                "mechanism.",
                lambda ax: gap.plot(ax=ax),
                (8, 4.5),
            )
        )
    return charts


def threshold_report(comparison: ThresholdComparison) -> Report:
    """MQL thresholds compared on common random numbers, against the current one."""
    exp = comparison.experiment
    base = exp.scenarios[exp.baseline]
    return Report(
        title=f"{base.name}: MQL threshold comparison",
        subtitle=(
            f"Options {', '.join(comparison.options)} (current {comparison.current_option}), "
            f"{exp.reps} replications each on common random numbers"
        ),
        verdict=[comparison.verdict],
        charts=_threshold_charts(comparison),
        kpis=_threshold_kpis(comparison),
        kpi_note=(
            "Means over the replications with their 95% confidence intervals; changes are paired "
            "differences against the current threshold (the same leads in every option)."
        ),
        scenario=base,
        notes=[
            f"root seed: {exp.seed}; replications: {exp.reps}",
            "the only fields changed between options: scoring.threshold and toss_up.require",
            comparison.rule,
            *(["started from a snapshot of open leads"] if exp.snapshot is not None else []),
        ],
        details=comparison.overview.copy(),
    )


# --------------------------------------------------------------------------- sizing and hiring


def _sizing_kpis(sizing: Sizing) -> pd.DataFrame:
    """Per headcount tried and per target: the metric's mean, its P10-P90 and runs meeting it."""
    rows = []
    for _, d in sizing.table.iterrows():
        for t in sizing.targets:
            name = MEASURES[t.metric].label if t.metric in MEASURES else t.metric
            rows.append(
                (
                    int(d["headcount"]),
                    f"{name} ({t})",
                    fmt(d[f"{t.metric}_mean"]),
                    f"{fmt(d[f'{t.metric}_p10'])} to {fmt(d[f'{t.metric}_p90'])}",
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
    h = sizing.headcount if sizing.headcount is not None else max(sizing.experiments)
    exp = sizing.experiments[h]
    scenario = next(iter(exp.scenarios.values()))
    charts: list[Chart] = [
        (
            f"{t} against {sizing.role.upper()} headcount: mean and P10-P90 of the runs.",
            functools.partial(sizing.plot, i),
            (8, 4.2),
        )
        for i, t in enumerate(sizing.targets)
    ]
    return Report(
        title=f"{scenario.name}: how many {sizing.role.upper()}s",
        subtitle=(
            f"Targets: {'; '.join(str(t) for t in sizing.targets)}, met in at least "
            f"{sizing.confidence:.0%} of {exp.reps} replications"
        ),
        verdict=[sizing.verdict],
        charts=charts,
        kpis=_sizing_kpis(sizing),
        kpi_note=(
            "Per headcount tried: each target's metric over the replications (mean and the range "
            "one period could bring), and the share of runs that meet it."
        ),
        scenario=scenario,
        notes=[
            f"the scenario below is the one at {h} {sizing.role.upper()}s; the others differ "
            "only in the headcount",
            f"root seed: {exp.seed}; replications per headcount: {exp.reps}",
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
        charts=[
            (
                "Required against expected effective headcount by month; bars are hires.",
                lambda ax: plan.plot(ax=ax),
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


def _forecast_kpis(fc: Forecast) -> pd.DataFrame:
    """Totals over the horizon: mean, the band, median and the spreadsheet's figure."""
    low, mid, high = fc.quantile_columns
    rows = []
    for d in fc.totals_table().to_dict("records"):
        rows.append(
            (
                LABELS[d["metric"]][0],
                fmt(float(d["mean"])),
                f"{fmt(float(d[low]))} to {fmt(float(d[high]))}",
                fmt(float(d[mid])),
                fmt(float(d["spreadsheet"])),
            )
        )
    return pd.DataFrame(
        rows,
        columns=[
            "over the horizon",
            "mean",
            f"{fc.level:.0%} range ({low.upper()} to {high.upper()})",
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


def forecast_report(fc: Forecast) -> Report:
    """The pipeline a period may bring, with its band and the spreadsheet's expectation."""
    kpis = _forecast_kpis(fc)
    charts: list[Chart] = [
        (
            "Valid opportunities per week: median, mean and the band.",
            lambda ax: fc.plot("valid_opportunities", ax=ax),
            (9, 4.5),
        ),
        (
            "Pipeline value created, cumulative.",
            lambda ax: fc.plot("pipeline_value", ax=ax, cumulative=True),
            (9, 4.5),
        ),
        (
            "Deals won, cumulative.",
            lambda ax: fc.plot("won", ax=ax, cumulative=True),
            (9, 4.5),
        ),
        (
            "Open pipeline at each week's end.",
            lambda ax: fc.plot("open_opportunities", ax=ax),
            (9, 4.5),
        ),
    ]
    return Report(
        title=f"{fc.scenario.name}: pipeline forecast",
        subtitle=(
            f"{fc.weeks} weeks from {fc.scenario.start_date:%Y-%m-%d}, {fc.reps} replications"
        ),
        verdict=[fc.verdict],
        charts=charts,
        kpis=kpis,
        kpi_note=(
            f"Totals over the horizon (for the open pipeline: open at the end). The range holds "
            f"a new period's outcome {fc.level:.0%} of the time; the spreadsheet column is what "
            "a rate-times-volume sheet expects, without capacity or a starting funnel."
        ),
        scenario=fc.scenario,
        notes=[f"root seed: {fc.experiment.seed}; replications: {fc.reps}", _forecast_start(fc)],
    )
