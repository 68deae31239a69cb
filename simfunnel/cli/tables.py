"""Figures as a sales leader reads them in a terminal: aligned KPI tables, summaries, JSON.

Why apart from the commands: the same formatting serves `run`, `sweep` and the decision commands.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from ..base.files import write_csv, write_json
from ..base.units import format_duration
from ..experiments import Experiment
from ..results import SECTION_TITLES, SimulationResult, Unit, find_kpi
from .common import NA


def fmt(value: Any, key: str, section: str | None = None) -> str:
    """A KPI value as the terminal shows it, by its unit in the KPI registry: a share as a percent,
    a duration in its own unit, money whole. ``key`` without ``section``: the first section that
    has it; a key the registry lacks shows as a plain number."""
    if value is None:
        return "n/a"
    if isinstance(value, float):
        if math.isnan(value):
            return "n/a"
        entry = find_kpi(key, section)
        unit = entry.unit if entry is not None else Unit.NUMBER
        if unit is Unit.SHARE:
            return f"{value:6.1%}"
        if unit is Unit.DURATION:
            return format_duration(value)
        if unit is Unit.MONEY:
            return f"{value:,.0f}"
        return f"{value:,.1f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def format_table(result: SimulationResult) -> str:
    """The KPI report as aligned plain text, one section after another."""
    report = result.to_dict()
    lines = [
        f"{report['scenario']}  (seed {report['seed']}, {report['weeks']} weeks from "
        f"{report['start_date']})",
    ]
    outbound = result.scenario.outbound is not None
    for section, title in SECTION_TITLES.items():
        lines.append("")
        lines.append(title)
        lines.append("-" * len(title))
        for key, value in report[section].items():
            if not outbound and key.startswith(("bdr", "outbound_", "sgls")):
                continue  # no BDR team: its figures are all n/a
            # Durations carry their own unit ("5.4 h", "12 min"), so the "_h" of the key goes.
            label = key.removesuffix("_h")
            lines.append(f"  {label.replace('_', ' '):<28}{fmt(value, key, section):>16}")
    return "\n".join(lines)


def write_outputs(result: SimulationResult, out: Path) -> None:
    """A single run's tables (CSV, each written whole, text cells made inert) and KPIs (JSON)."""
    out.mkdir(parents=True, exist_ok=True)
    write_csv(result.weekly, out / "weekly.csv")
    write_csv(result.weekly_by_source, out / "weekly_by_source.csv")
    write_csv(result.leads, out / "leads.csv")
    write_csv(result.reps, out / "reps.csv")
    write_csv(result.funnel_by_source, out / "funnel_by_source.csv")
    write_json(out / "kpis.json", result.to_dict(), allow_nan=False)


def section_title(section: str) -> str:
    return SECTION_TITLES.get(section, section.replace("_", " ").capitalize())


def format_summary(experiment: Experiment, level: float = 0.95) -> str:
    """Replications as aligned plain text: mean, confidence interval of the mean, P10-P90."""
    summary = experiment.summary(level)
    scenario = next(iter(experiment.scenarios.values()))
    n = int(experiment.totals["replication"].nunique())
    lines = [
        f"{scenario.name}  ({n} replications, seed {experiment.seed}, {scenario.weeks} weeks "
        f"from {scenario.start_date})",
        "",
        f"{'':<26}{'mean':>14}{f'{level:.0%} CI of the mean':>30}{'P10 - P90 of replications':>30}",
    ]
    for section, rows in summary.groupby("section", sort=False):
        title = section_title(str(section))
        lines += ["", title, "-" * len(title)]
        for row in rows.itertuples(index=False):
            key = str(row.metric)
            label = key.removesuffix("_h").replace("_", " ")
            mean, ci, spread = (
                " - ".join(fmt(v, key, str(section)).strip() for v in values)
                for values in ((row.mean,), (row.ci_low, row.ci_high), (row.p10, row.p90))
            )
            lines.append(f"  {label:<24}{mean:>14}{ci:>30}{spread:>30}")
    return "\n".join(lines)


def json_value(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value.item() if hasattr(value, "item") else value


def experiment_json(experiment: Experiment, level: float = 0.95) -> dict[str, Any]:
    """Replications as JSON-ready data: per section and KPI, n, mean, sd, interval, P10/50/90."""
    summary: dict[str, dict[str, Any]] = {}
    for row in experiment.summary(level).itertuples(index=False):
        summary.setdefault(str(row.section), {})[str(row.metric)] = {
            key: json_value(getattr(row, key))
            for key in ("n", "mean", "sd", "ci_low", "ci_high", "p10", "p50", "p90")
        }
    scenario = next(iter(experiment.scenarios.values()))
    return {
        "scenario": scenario.name,
        "seed": experiment.seed,
        "reps": experiment.reps,
        "level": level,
        "complete": experiment.complete,
        "summary": summary,
        "failures": experiment.failures.drop(columns="traceback").to_dict("records"),
    }


def diagnosis_text(found: Any) -> str:
    """A Diagnosis as ``str(diagnosis)`` shows it, with "n/a" where a figure is undefined."""
    fmt = "{:.3f}".format
    cols = ["stage", "rate", "low", "high", "status", "uplift", "bottleneck"]
    parts = [found.verdict, found.table[cols].to_string(index=False, float_format=fmt, na_rep=NA)]
    if not found.activity.empty:
        parts.append(found.activity.to_string(index=False, float_format="{:.2f}".format, na_rep=NA))
    cap = ["role", "binds", "weeks_binding", "mean_level", "peak_level"]
    if not found.capacity.empty:
        parts.append(found.capacity[cap].to_string(index=False, float_format=fmt, na_rep=NA))
    if not found.levers.empty:
        cols = ["what", "valid_gain", "valid_low", "valid_high", "valid_gain_share"]
        cols += ["won_gain", "won_low", "won_high", "binding"]
        levers = found.levers[cols]
        parts.append(levers.to_string(index=False, float_format="{:.2f}".format, na_rep=NA))
    return "\n\n".join(parts)


def share_text(value: float) -> str:
    return f"{value:.0%}" if math.isfinite(value) else NA
