"""One self-contained HTML report for the people who decide, from a run or a decision.

``write_report`` takes a :class:`~simfunnel.results.SimulationResult`, a
:class:`~simfunnel.thresholds.ThresholdComparison`, a :class:`~simfunnel.sizing.Sizing`, a
:class:`~simfunnel.sizing.HiringPlan` or a :class:`~simfunnel.forecast.Forecast` and writes one
HTML file that can be mailed as is: the verdict in plain words first, then the charts (PNG
embedded as base64: no external file, no script), the key figures with their intervals where
the object has them, and at the end every assumption: the scenario as YAML, which reads back
with ``simfunnel.load_scenario``. All text is escaped.
"""

from __future__ import annotations

import base64
import datetime as dt
import functools
import html
import io
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from .experiments import scenario_to_dict
from .scenario import Scenario

__all__ = ["SECTIONS", "Report", "build_report", "render_html", "write_report"]

# Every report has these sections, in this order (their HTML ids).
SECTIONS = ("verdict", "charts", "kpis", "assumptions")

Draw = Callable[[Any], Any]  # draws on the axes it is given


@dataclass
class Report:
    """What a report says, before it is HTML: built per object type by :func:`build_report`."""

    title: str
    subtitle: str
    verdict: list[str]
    charts: list[tuple[str, Draw, tuple[float, float]]]  # caption, draw(ax), figure size
    kpis: pd.DataFrame
    kpi_note: str
    scenario: Scenario
    notes: list[str] = field(default_factory=list)  # assumptions besides the scenario
    details: pd.DataFrame | None = None  # every figure, folded away


# --------------------------------------------------------------------------- formatting


def _fmt(value: Any, percent: bool = False) -> str:
    """A figure as a reader wants it: 1,234 / 12.5 / 0.42 / 42%; blank for a missing one."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        if math.isnan(value):
            return ""
        if percent:
            return f"{value:.0%}"
        if math.isinf(value):
            return "inf"
        if abs(value) >= 100:
            return f"{value:,.0f}"
        if abs(value) >= 10:
            return f"{value:.1f}"
        if abs(value) >= 1 or value == 0:
            return f"{value:.2f}"
        return f"{value:.2g}"
    return str(value)


def _interval(mean: float, low: float, high: float, percent: bool = False, sign: bool = False):
    """``mean (low to high)``, signed for differences."""

    def f(x: float) -> str:
        if isinstance(x, float) and math.isnan(x):
            return ""
        if percent:  # a change of a share is in percentage points
            return f"{100 * x:+.1f} pp" if sign else f"{x:.0%}"
        text = _fmt(float(x))
        return ("+" + text) if sign and x > 0 else text

    if any(isinstance(v, float) and math.isnan(v) for v in (mean, low, high)):
        return f(mean)
    return f"{f(mean)} ({f(low)} to {f(high)})"


def _table_html(frame: pd.DataFrame, percent: Sequence[str] = ()) -> str:
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in frame.columns)
    rows = []
    for _, row in frame.iterrows():
        cells = []
        for c in frame.columns:
            value = row[c]
            if hasattr(value, "item") and not isinstance(value, str):
                value = value.item()
            text = value if isinstance(value, str) else _fmt(value, c in percent)
            cls = ' class="num"' if not isinstance(value, str) else ""
            cells.append(f"<td{cls}>{html.escape(text)}</td>")
        rows.append("<tr>" + "".join(cells) + "</tr>")
    return (
        f"<table>\n<thead><tr>{head}</tr></thead>\n<tbody>\n" + "\n".join(rows) + "\n</tbody>\n"
        "</table>"
    )


def _png(draw: Draw, size: tuple[float, float]) -> str:
    """Draw on a fresh figure (no pyplot: no global state, no window) and return base64 PNG."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=size, layout="constrained")
    ax = fig.subplots()
    draw(ax)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=100)
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def _yaml(scenario: Scenario) -> str:
    return yaml.safe_dump(scenario_to_dict(scenario), sort_keys=False, allow_unicode=True)


# --------------------------------------------------------------------------- per object


def _result_report(result: Any) -> Report:
    from . import plots
    from .diagnose import diagnose

    s = result.scenario
    t, r, stl = result.totals, result.rates, result.speed_to_lead
    util = result.utilisations
    opening = (
        f"Over {s.weeks} weeks from {s.start_date:%Y-%m-%d}, {t['leads']:,} inbound leads "
        f"gave {t['mqls']:,} MQLs, {t['sqls']:,} SQLs and {t['valid_opportunities']:,} valid "
        f"opportunities worth {plots._amount(t['pipeline_value'])}; {t['won']:,} deals were won "
        f"({plots._amount(t['won_value'])}). {_fmt(stl['within_1h'], True)} of MQLs were "
        f"called within an hour, and the SDRs were busy {_fmt(util['sdr'], True)} of their "
        "on-phone time."
    )
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
        (name, _fmt(v, unit.startswith("%")), unit)
        for name, v, unit in kpis
        if v is not None and not (isinstance(v, float) and math.isnan(v))
    ]
    details = result.summary()
    details["value"] = [_fmt(v) for v in details["value"]]
    charts: list[tuple[str, Draw, tuple[float, float]]] = [
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
    return Report(
        title=s.name,
        subtitle=f"One simulated run, seed {result.seed}, {s.weeks} weeks",
        verdict=[opening, diagnose(result).verdict],
        charts=charts,
        kpis=pd.DataFrame(rows, columns=["figure", "value", "unit"]),
        kpi_note=(
            "One replication: every figure is one draw of luck. For intervals, run "
            "simfunnel.run(scenario, reps=20) or a decision (thresholds, sizing, forecast)."
        ),
        scenario=s,
        notes=[f"seed: {result.seed}"],
        details=details,
    )


def _threshold_report(comparison: Any) -> Report:
    from . import plots
    from .thresholds import KPIS

    exp = comparison.experiment
    base = exp.scenarios[exp.baseline]
    percent = {k.name for k in KPIS if k.percent}
    labels = {k.name: k.label for k in KPIS}
    order = {k.name: i for i, k in enumerate(KPIS)}
    table = comparison.table.assign(_o=comparison.table["kpi"].map(order))
    rows = []
    for row in table.sort_values(["_o", "threshold"], kind="stable").itertuples(index=False):
        if all(isinstance(v, float) and math.isnan(v) for v in (row.mean, row.ci_low)):
            continue  # a KPI not computed (cost per valid opportunity without costs)
        p = row.kpi in percent
        current = row.threshold == comparison.current
        rows.append(
            (
                labels.get(row.kpi, row.kpi),
                f"{row.threshold:g}",
                _interval(row.mean, row.ci_low, row.ci_high, p),
                "(current)"
                if current
                else _interval(row.diff, row.diff_low, row.diff_high, p, True),
            )
        )
    kpis = pd.DataFrame(
        rows, columns=["KPI", "threshold", "mean (95% CI)", "change vs current (95% CI)"]
    )
    charts: list[tuple[str, Draw, tuple[float, float]]] = [
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
    if comparison.gap is not None:
        charts.append(
            (
                "Why the spreadsheet's figure differs at the current threshold, mechanism by "
                "mechanism.",
                lambda ax: plots.gap_bridge(comparison.gap, ax=ax),
                (8, 4.5),
            )
        )
    overview = comparison.overview.copy()
    return Report(
        title=f"{base.name}: MQL threshold comparison",
        subtitle=(
            f"Thresholds {', '.join(f'{t:g}' for t in comparison.thresholds)} (current "
            f"{comparison.current:g}), {exp.reps} replications each on common random numbers"
        ),
        verdict=[comparison.verdict],
        charts=charts,
        kpis=kpis,
        kpi_note=(
            "Means over the replications with their 95% confidence intervals; changes are paired "
            "differences against the current threshold (the same leads in every option)."
        ),
        scenario=base,
        notes=[
            f"root seed: {exp.seed}; replications: {exp.reps}",
            "the only field changed between options: scoring.threshold",
            "recommendation rule: see simfunnel.thresholds (saturation, service level, supply)",
            *(["started from a snapshot of open leads"] if exp.snapshot is not None else []),
        ],
        details=overview,
    )


def _sizing_report(sizing: Any) -> Report:
    from .sizing import MEASURES

    h = sizing.headcount if sizing.headcount is not None else max(sizing.experiments)
    exp = sizing.experiments[h]
    scenario = next(iter(exp.scenarios.values()))
    rows = []
    for _, d in sizing.table.iterrows():
        for t in sizing.targets:
            name = MEASURES[t.metric].label if t.metric in MEASURES else t.metric
            rows.append(
                (
                    int(d["headcount"]),
                    f"{name} ({t})",
                    _fmt(d[f"{t.metric}_mean"]),
                    f"{_fmt(d[f'{t.metric}_p10'])} to {_fmt(d[f'{t.metric}_p90'])}",
                    _fmt(d[f"p_met: {t}"], True),
                    _fmt(d["p_all_met"], True),
                )
            )
    kpis = pd.DataFrame(
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
    charts: list[tuple[str, Draw, tuple[float, float]]] = [
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
        kpis=kpis,
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


def _hiring_report(plan: Any) -> Report:
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


def _forecast_report(fc: Any) -> Report:
    from .forecast import _LABELS

    low, mid, high = fc.quantile_columns
    totals = fc.totals_table()
    rows = []
    for row in totals.itertuples(index=False):
        d = row._asdict()
        rows.append(
            (
                _LABELS[d["metric"]][0],
                _fmt(float(d["mean"])),
                f"{_fmt(float(d[low]))} to {_fmt(float(d[high]))}",
                _fmt(float(d[mid])),
                _fmt(float(d["spreadsheet"])),
            )
        )
    kpis = pd.DataFrame(
        rows,
        columns=[
            "over the horizon",
            "mean",
            f"{fc.level:.0%} range ({low.upper()} to {high.upper()})",
            "median",
            "spreadsheet",
        ],
    )
    charts: list[tuple[str, Draw, tuple[float, float]]] = [
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
    exp = fc.experiment
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
        notes=[
            f"root seed: {exp.seed}; replications: {fc.reps}",
            (
                f"started from a snapshot of {len(exp.snapshot):,} open leads and opportunities "
                f"({exp.snapshot.origin})"
                if exp.snapshot is not None
                else "started from an empty funnel (or the scenario's warm_up)"
            ),
        ],
    )


def build_report(obj: Any, title: str | None = None) -> Report:
    """The report's content for a run or a decision object."""
    from .forecast import Forecast
    from .results import SimulationResult
    from .sizing import HiringPlan, Sizing
    from .thresholds import ThresholdComparison

    builders: list[tuple[type, Callable[[Any], Report]]] = [
        (SimulationResult, _result_report),
        (ThresholdComparison, _threshold_report),
        (Sizing, _sizing_report),
        (HiringPlan, _hiring_report),
        (Forecast, _forecast_report),
    ]
    for kind, build in builders:
        if isinstance(obj, kind):
            report = build(obj)
            if title is not None:
                report.title = title
            return report
    names = ", ".join(k.__name__ for k, _ in builders)
    raise TypeError(f"write_report takes a {names}; got {type(obj).__name__}")


# --------------------------------------------------------------------------- HTML

_CSS = """
body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; max-width: 62rem;
       margin: 2rem auto; padding: 0 1rem; color: #222; line-height: 1.45; }
h1 { margin-bottom: 0.2rem; } .subtitle { color: #555; margin-top: 0; }
section { margin-top: 2rem; }
#verdict p { font-size: 1.1rem; background: #f3f7fb; border-left: 4px solid #1f77b4;
             padding: 0.6rem 0.9rem; }
figure { margin: 1rem 0 1.5rem; } figure img { max-width: 100%; height: auto; }
figcaption { color: #444; font-size: 0.95rem; }
table { border-collapse: collapse; font-size: 0.92rem; margin: 0.5rem 0; }
th, td { border-bottom: 1px solid #ddd; padding: 0.25rem 0.6rem; text-align: left; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
thead th { border-bottom: 2px solid #999; }
pre { background: #f6f6f6; padding: 0.8rem; overflow-x: auto; font-size: 0.85rem; }
.note { color: #555; font-size: 0.92rem; } footer { color: #777; font-size: 0.85rem;
margin-top: 2rem; }
"""


def render_html(report: Report) -> str:
    """The report as one HTML5 document: images inline, no script, every text escaped."""
    from . import __version__

    e = html.escape
    figures = []
    for i, (caption, draw, size) in enumerate(report.charts, start=1):
        data = _png(draw, size)
        figures.append(
            f'<figure id="chart-{i}">\n<img src="data:image/png;base64,{data}" '
            f'alt="{e(caption)}">\n<figcaption>Figure {i}. {e(caption)}</figcaption>\n</figure>'
        )
    details = ""
    if report.details is not None:
        details = (
            "<details>\n<summary>Every figure</summary>\n"
            + _table_html(report.details)
            + "\n</details>"
        )
    notes = "".join(f"<li>{e(n)}</li>" for n in report.notes)
    verdict = "\n".join(f"<p>{e(v)}</p>" for v in report.verdict)
    made = dt.datetime.now().strftime("%Y-%m-%d %H:%M")
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en">',
        "<head>",
        '<meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{e(report.title)}</title>",
        f"<style>{_CSS}</style>",
        "</head>",
        "<body>",
        "<header>",
        f"<h1>{e(report.title)}</h1>",
        f'<p class="subtitle">{e(report.subtitle)}</p>',
        "</header>",
        '<section id="verdict">',
        "<h2>Verdict</h2>",
        verdict,
        "</section>",
        '<section id="charts">',
        "<h2>Charts</h2>",
        *figures,
        "</section>",
        '<section id="kpis">',
        "<h2>Key figures</h2>",
        f'<p class="note">{e(report.kpi_note)}</p>',
        _table_html(report.kpis),
        details,
        "</section>",
        '<section id="assumptions">',
        "<h2>Assumptions</h2>",
        f"<ul>{notes}</ul>" if notes else "",
        "<p>The scenario, every field as simulated (it reads back with "
        "<code>simfunnel.load_scenario</code>):</p>",
        f"<pre>{e(_yaml(report.scenario))}</pre>",
        "</section>",
        f"<footer>Made by simfunnel {e(__version__)} on {e(made)}.</footer>",
        "</body>",
        "</html>",
        "",
    ]
    return "\n".join(p for p in parts if p != "") + "\n"


def write_report(obj: Any, path: str | Path, *, title: str | None = None) -> Path:
    """Write a self-contained HTML report of a run or decision to ``path``; return the path."""
    out = Path(path)
    text = render_html(build_report(obj, title))
    if out.parent and not out.parent.exists():
        out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text, encoding="utf-8")
    return out
