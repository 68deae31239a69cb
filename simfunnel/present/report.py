"""One self-contained HTML report for the people who decide, from a run or a decision.

``write_report`` takes a :class:`~simfunnel.results.result.SimulationResult`, a
:class:`~simfunnel.decisions.thresholds.ThresholdComparison`, a :class:`~simfunnel.decisions.sizing.Sizing`, a
:class:`~simfunnel.decisions.hiring.HiringPlan`, a :class:`~simfunnel.decisions.forecasting.Forecast`, a
:class:`~simfunnel.calibration.fitting.Calibration` or a :class:`~simfunnel.calibration.backtesting.Backtest` and
writes one HTML file that can be mailed as is: the verdict in plain words first, then the
charts (PNG embedded as base64: no external file, no script), the key figures with their
intervals where the object has them, and at the end every assumption: the scenario as YAML,
which reads back with ``simfunnel.load_scenario``. All text is escaped.
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

from ..base.units import format_amount
from ..scenario import Scenario, scenario_to_dict

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
    tables: list[tuple[str, str, pd.DataFrame]] = field(default_factory=list)  # heading, note


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
    from ..decisions import diagnose
    from . import plots

    s = result.scenario
    t, r, stl = result.totals, result.rates, result.speed_to_lead
    util = result.utilisations
    opening = (
        f"Over {s.weeks} weeks from {s.start_date:%Y-%m-%d}, {t['leads']:,} inbound leads "
        f"gave {t['mqls']:,} MQLs, {t['sqls']:,} SQLs and {t['valid_opportunities']:,} valid "
        f"opportunities worth {format_amount(t['pipeline_value'])}; {t['won']:,} deals were won "
        f"({format_amount(t['won_value'])}). {_fmt(stl['within_1h'], True)} of MQLs were "
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
        verdict=[opening, diagnose(result, levers=0).verdict],
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
    from ..decisions import KPIS
    from . import plots

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
        current = row.option == comparison.current_option
        rows.append(
            (
                labels.get(row.kpi, row.kpi),
                str(row.option),
                _interval(row.mean, row.ci_low, row.ci_high, p),
                "(current)"
                if current
                else _interval(row.diff, row.diff_low, row.diff_high, p, True),
            )
        )
    kpis = pd.DataFrame(
        rows, columns=["KPI", "option", "mean (95% CI)", "change vs current (95% CI)"]
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
            f"Options {', '.join(comparison.options)} (current {comparison.current_option}), "
            f"{exp.reps} replications each on common random numbers"
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
            "the only fields changed between options: scoring.threshold and toss_up.require",
            comparison.rule,
            *(["started from a snapshot of open leads"] if exp.snapshot is not None else []),
        ],
        details=overview,
    )


def _sizing_report(sizing: Any) -> Report:
    from ..decisions import MEASURES

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
    from ..decisions.forecasting import LABELS

    low, mid, high = fc.quantile_columns
    totals = fc.totals_table()
    rows = []
    for row in totals.itertuples(index=False):
        d = row._asdict()
        rows.append(
            (
                LABELS[d["metric"]][0],
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
                else f"started after a {fc.warm_up_weeks}-week warm-up ({fc.warm_up_basis})"
                if fc.warm_up_weeks
                else "WARNING: started from an empty funnel (no snapshot, no warm-up)"
            ),
        ],
    )


# --------------------------------------------------------------------------- calibration

_CONVERSIONS = (  # stage: how the verdict words it
    ("lead->mql", "of leads became MQLs"),
    ("mql->sql", "of MQLs became SQLs"),
    ("sql->opportunity", "of SQLs became valid opportunities"),
    ("opportunity->won", "of closed deals were won"),
)
_DURATION_STAGES = {
    "sales_cycle": ("Sales cycle", "opportunity to won or lost", "opportunities"),
    "meeting_delay": ("Meeting delay", "SQL to opportunity", "SQLs"),
}


def _ks_words(ks: float) -> str:
    """How close a fitted survival curve is to Kaplan-Meier's, by its largest gap."""
    if ks <= 0.05:
        return "a close fit"
    if ks <= 0.10:
        return "a fair fit"
    return "a poor fit: read its tail with care"


def _parameter(params: pd.DataFrame, name: str) -> pd.Series | None:
    rows = params[params["parameter"] == name]
    return rows.iloc[0] if len(rows) else None


def _value_text(value: Any) -> str:
    if hasattr(value, "item") and not isinstance(value, str):
        value = value.item()
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e6:
        return f"{value:g}"
    return _fmt(value)


def _missing(x: Any) -> bool:
    return x is None or (isinstance(x, float) and math.isnan(x)) or bool(pd.isna(x))


def _lines(lines: pd.Series, most: int = 6) -> str:
    """Line numbers as a reader scans them: '2, 7, 12 and 3 more'."""
    values = sorted({int(v) for v in lines.dropna()})
    text = ", ".join(str(v) for v in values[:most])
    return text + (f" and {len(values) - most} more" if len(values) > most else "")


def _data_quality(cal: Any) -> tuple[str, pd.DataFrame, pd.DataFrame]:
    """The sentence on rows used and left out, a table per file, and the problems grouped by
    file, problem and action (rows counted once per problem, with their lines)."""
    files = pd.DataFrame(
        [
            (t.path, t.kind, t.rows_read, len(t.data), t.excluded, t.date_format)
            for t in cal.tables.values()
        ],
        columns=["file", "table", "rows read", "rows used", "rows excluded", "dates"],
    )
    read = int(files["rows read"].sum())
    excluded = int(files["rows excluded"].sum())
    report = cal.report
    if report.empty:
        problems = pd.DataFrame(columns=["file", "problem", "action", "rows", "lines"])
    else:
        grouped = report.assign(line=pd.to_numeric(report["line"], errors="coerce")).groupby(
            ["file", "problem", "action"], dropna=False, sort=False
        )
        problems = grouped.agg(rows=("line", "nunique"), lines=("line", _lines)).reset_index()
        problems["rows"] = problems["rows"].astype(int)
        problems = problems.sort_values(
            ["file", "action", "rows"], ascending=[True, True, False], kind="stable"
        ).reset_index(drop=True)
    n_files = len(files)
    where = f"{read:,} rows in {n_files} file{'s' if n_files != 1 else ''}"
    if excluded == 0 and report.empty:
        text = f"All {where} were used; none was excluded or changed."
    else:
        out = problems[problems["action"] == "excluded"]
        reasons = "; ".join(
            f"{r.problem}, {r.rows:,} row{'s' if r.rows != 1 else ''} in {Path(str(r.file)).name}"
            for r in out.head(4).itertuples()
        )
        more = f"; and {len(out) - 4} other reasons" if len(out) > 4 else ""
        blanked = int(problems.loc[problems["action"] == "blanked", "rows"].sum())
        text = f"Of {where}, {excluded:,} were excluded" + (
            f": {reasons}{more}." if reasons else "."
        )
        if blanked:
            text += (
                f" {blanked:,} unreadable value{' was' if blanked == 1 else 's were'} blanked "
                f"and {'its row' if blanked == 1 else 'their rows'} kept."
            )
        text += " Every problem is listed below with its lines."
    return text, files, problems


def _draw_score_curve(cal: Any, threshold: float | None, ax: Any) -> Any:
    import numpy as np
    from matplotlib.ticker import PercentFormatter

    from .plots import COLORS, finish

    t = cal.score_curve
    low, high = t["score_low"].to_numpy(float), t["score_high"].to_numpy(float)
    mid = (low + high) / 2
    rate = 100 * t["rate"].to_numpy(float)
    below = np.clip(rate - 100 * t["low"].to_numpy(float), 0, None)  # rounding at k = 0
    above = np.clip(100 * t["high"].to_numpy(float) - rate, 0, None)
    ax.errorbar(mid, rate, yerr=[below, above], xerr=[mid - low, high - mid], fmt="o",
                color=COLORS["inbound"], capsize=3, label="SQL rate, 95% interval")  # fmt: skip
    if threshold is not None:
        ax.axvline(threshold, color=COLORS["mark"], linestyle=":",
                   label=f"MQL threshold {threshold:g}")  # fmt: skip
    ax.yaxis.set_major_formatter(PercentFormatter())
    ax.set_ylim(bottom=0)
    ax.legend(loc="upper left")
    return finish(
        ax,
        "Conversion to SQL by score band (each band a tenth of the scored leads)",
        "lead score (bar: the band's range)",
        "leads that became SQLs (% of the band)",
    )


def _calibration_report(cal: Any) -> Report:
    scenario = cal.scenario()
    params = cal.parameters
    weeks = (cal.as_of - cal.start).total_seconds() / 604800
    counts = [f"{len(cal.tables['leads'].data):,} leads"]
    if "calls" in cal.tables:
        counts.append(f"{len(cal.tables['calls'].data):,} calls")
    if "opportunities" in cal.tables:
        counts.append(f"{len(cal.tables['opportunities'].data):,} opportunities")
    arrivals = ", ".join(
        f"{r.source} {_interval(float(r.rate_per_week), float(r.low), float(r.high))}"
        for r in cal.arrivals.itertuples()
    )
    conv = cal.conversion[cal.conversion["source"] == "all"].set_index("stage")
    rates = [
        f"{_interval(float(c['rate']), float(c['low']), float(c['high']), True)} {words}"
        for stage, words in _CONVERSIONS
        if stage in conv.index and (c := conv.loc[stage])["n"] > 0
    ]
    first = (
        f"Fitted from {', '.join(counts)} between {cal.start:%Y-%m-%d} and "
        f"{cal.as_of:%Y-%m-%d} ({weeks:.1f} weeks). Leads a week by source, with 95% intervals: "
        f"{arrivals or 'none in the period'}."
    )
    if rates:
        first += " Down the funnel, " + ", ".join(rates[:-1]) + (" and " if len(rates) > 1 else "")
        first += rates[-1] + "."
    verdict = [first]

    threshold = _parameter(params, "scoring.threshold")
    steps = []
    if threshold is not None and threshold["kind"] == "fitted":
        steps.append(f"The MQL threshold is {_value_text(threshold['value'])} (the "
                     f"{threshold['basis']}).")  # fmt: skip
    connect = _parameter(params, "cadence.connect_probability")
    contact = _parameter(params, "cadence.contact_probability")
    qualified = _parameter(params, "outcomes.probabilities.qualified")
    attempts = _parameter(params, "cadence.max_attempts")
    if connect is not None and contact is not None and qualified is not None:
        steps.append(
            f"On the phone, {_fmt(float(connect['value']), True)} of dials connect, "
            f"{_fmt(float(contact['value']), True)} of connects reach the person and "
            f"{_fmt(float(qualified['value']), True)} of those conversations qualify"
            + (f", over a cadence of {attempts['value']} attempts." if attempts is not None
               else ".")
        )  # fmt: skip
    if steps:
        verdict.append(" ".join(steps))

    durations = cal.durations
    cycle = (
        durations[(durations["stage"] == "sales_cycle") & durations["chosen"]]
        if not durations.empty
        else durations
    )
    if len(cycle):
        b = cycle.iloc[0]
        median = _interval(float(b["median"]), float(b["median_low"]), float(b["median_high"]))
        closed, still_open = int(b["events"]), int(b["n"] - b["events"])
        ks = float(b["ks"])
        verdict.append(
            f"The sales cycle is best described (by AIC, of lognormal, gamma and Weibull) by a "
            f"{b['dist']} with a median of {median} days, from {closed:,} closed and "
            f"{still_open:,} still open opportunities; its survival curve is at most "
            f"{ks:.3f} from the Kaplan-Meier curve ({_ks_words(ks)}), whose median is "
            f"{_fmt(float(b['km_median']))} days."
        )
    else:
        verdict.append(
            "No opportunity closed in the data, so the sales cycle is an assumption (a "
            "lognormal of median 45 and p90 90 days): forecasts of wins rest on it."
        )
    quality, files, problems = _data_quality(cal)
    verdict.append(quality)
    assumed = params[params["kind"] == "assumption"]
    if len(assumed):
        verdict.append(
            f"{len(assumed)} values are assumptions the exports cannot give "
            f"({', '.join(assumed['parameter'])}): check them, above all before asking "
            "capacity questions (how many SDRs, how fast they call)."
        )

    rows = []
    for p in params.itertuples(index=False):
        has_interval = not (_missing(p.low) or _missing(p.high))
        rows.append(
            (
                p.parameter,
                _value_text(p.value),
                f"{_value_text(p.low)} to {_value_text(p.high)}" if has_interval else "",
                p.kind,
                p.basis,
            )
        )
    kpis = pd.DataFrame(rows, columns=["parameter", "value", "95% interval", "kind", "basis"])

    charts: list[tuple[str, Draw, tuple[float, float]]] = []
    stages = list(cal.survival["stage"].unique()) if not cal.survival.empty else []
    for stage in stages:
        name, span, what = _DURATION_STAGES.get(
            stage, (stage.replace("_", " ").capitalize(), "its start to its end", "records")
        )
        chosen = durations[(durations["stage"] == stage) & durations["chosen"]]
        fitted = f" against the {chosen.iloc[0]['dist']} fit" if len(chosen) else ""
        charts.append(
            (
                f"{name} ({span}): share of {what} still open after each number of days, "
                f"Kaplan-Meier (open ones counted until the extract){fitted}.",
                lambda ax, stage=stage: cal.plot(stage, ax=ax),
                (8, 4.2),
            )
        )
    if not cal.score_curve.empty:
        thr = float(scenario.scoring.threshold)
        charts.append(
            (
                "How much the score says: the share of each score band that became an SQL, "
                "with the MQL threshold.",
                lambda ax: _draw_score_curve(cal, thr, ax),
                (8, 4.2),
            )
        )

    notes = [
        f"ASSUMPTION {p.parameter} = {_value_text(p.value)}: {p.basis}"
        for p in assumed.itertuples(index=False)
    ]
    notes += [f"note from the fit: {n}" for n in cal.notes]
    notes.append(
        "fitted values are observed averages: speed-to-lead decay is off and quality effects "
        "are 0 (see docs/calibration.md before studying response-time or threshold changes)"
    )
    return Report(
        title=f"{scenario.name}: a scenario fitted from CRM exports",
        subtitle=(
            f"Data from {cal.start:%Y-%m-%d} to {cal.as_of:%Y-%m-%d}; the scenario starts "
            f"{scenario.start_date:%Y-%m-%d} and runs {scenario.weeks} weeks"
        ),
        verdict=verdict,
        charts=charts,
        kpis=kpis,
        kpi_note=(
            "Every value the scenario gets: fitted (with its 95% interval and what it rests on), "
            "derived from fitted values, an assumption the exports cannot give, or a check "
            "shown but not written."
        ),
        scenario=scenario,
        notes=notes,
        tables=[
            ("The exports read", "One row per file: rows read, used and excluded.", files),
            (
                "Data quality",
                "Rows excluded or values changed, grouped by file, problem and action."
                if len(problems)
                else "No row was excluded and no value changed.",
                problems,
            ),
        ],
    )


# --------------------------------------------------------------------------- backtest


_BACKTEST_NAMES = {
    "leads": "leads",
    "mqls": "MQLs",
    "sqls": "SQLs",
    "valid_opportunities": "valid opportunities",
    "won": "deals won",
    "lost": "deals lost",
}


def _count(x: float) -> str:
    """A band's end as a count: whole when it is one (quantiles of counts are)."""
    return f"{x:,.0f}" if float(x).is_integer() else _fmt(float(x))


def _backtest_periods(bt: Any) -> tuple[pd.DataFrame, str]:
    """The table the backtest scored and its unit: weekly, or monthly with ``freq="M"``."""
    if getattr(bt, "freq", "W") == "M" and getattr(bt, "monthly", None) is not None:
        return bt.monthly, "month"
    return bt.weekly, "week"


def _draw_backtest(bt: Any, metric: str, ax: Any) -> Any:
    """Backtest.plot, with the y axis stretched to show every actual count: the forecast's
    fan chart fixes the limits from the band before the actual weeks are drawn over it, so a
    week above the band (the ones that matter most) would fall off the chart."""
    bt.plot(metric, ax=ax)
    table, _ = _backtest_periods(bt)
    actual = table.loc[table["metric"] == metric, "actual"]
    bottom, top = ax.get_ylim()
    if len(actual) and float(actual.max()) > top:
        ax.set_ylim(bottom, float(actual.max()) * 1.08)
        ax.legend(loc="best")  # out of the way of the count that was off the chart
    return ax


def _backtest_report(bt: Any) -> Report:
    from ..calibration import STAGES
    from ..decisions.forecasting import LABELS

    fc = bt.forecast
    low, _, high = fc.quantile_columns
    level = fc.level
    periods, unit = _backtest_periods(bt)
    summary = bt.summary.set_index("metric")
    inside = periods.groupby("metric")["inside"].sum().astype(int)
    scored = periods.groupby("metric").size()
    n = len(periods)
    spread = 2 * math.sqrt(level * (1 - level) / n) if n else math.nan
    lo, hi = max(level - spread, 0.0), min(level + spread, 1.0)
    coverage = float(periods["inside"].mean())
    if coverage < lo:
        judgement = (
            "too few: the bands are too narrow, so the fitted scenario is surer than the data "
            "allow, or something changed after the cutoff"
        )
    elif coverage > hi:
        judgement = "more than promised: the bands are wider than they need to be"
    else:
        judgement = "about as many as promised, so the bands are about as wide as they should be"
    verdict = [
        f"Fitted only on the exports up to {bt.cutoff:%Y-%m-%d} and asked to forecast the "
        f"{bt.horizon_weeks} weeks after it, the scenario's {level:.0%} bands held the actual "
        f"{unit}ly count in {coverage:.0%} of {n} stage-{unit}s (nominal {level:.0%}; by chance "
        f"alone anything from about {lo:.0%} to {hi:.0%}): {judgement}."
    ]
    names = {m: _BACKTEST_NAMES.get(m, LABELS[m][0]) for m in STAGES}
    per_stage = "; ".join(
        f"{names[m]} {inside.get(m, 0)} of {scored.get(m, 0)} {unit}s inside, mean off by "
        f"{_fmt(float(s['mape']), True)} a {unit}"
        for m, s in summary.iterrows()
        if not _missing(s["mape"])
    )
    verdict.append(f"By stage: {per_stage}.")
    outside = [m for m, s in summary.iterrows() if not bool(s["total_inside"])]
    totals = (
        f"Over the {bt.horizon_weeks} weeks every stage's total fell inside its band."
        if not outside
        else f"Over the {bt.horizon_weeks} weeks {len(STAGES) - len(outside)} of {len(STAGES)} "
        f"stage totals fell inside their band; outside: "
        + "; ".join(
            f"{names[m]} ({summary.at[m, 'actual_total']:,} actual against "
            f"{_fmt(float(summary.at[m, 'forecast_total']))} forecast, band "
            f"{_count(summary.at[m, f'total_{low}'])} to "
            f"{_count(summary.at[m, f'total_{high}'])})"
            for m in outside
        )
        + "."
    )
    verdict.append(totals)
    small = [
        f"{names[m]}, {s['actual_total'] / scored[m]:.1f} a {unit}"
        for m, s in summary.iterrows()
        if scored.get(m, 0) and s["actual_total"] / scored[m] < 5
    ]
    if small:
        verdict.append(
            f"The percentage error is large where counts are small ({'; '.join(small)}): one "
            "more or one less is a big share of a small count, so judge those stages by their "
            "coverage and totals."
        )

    rows = []
    for m, s in summary.iterrows():
        rows.append(
            (
                names[m],
                f"{inside.get(m, 0)} of {scored.get(m, 0)} ({_fmt(float(s['coverage']), True)})",
                _fmt(float(s["nominal"]), True),
                _fmt(float(s["mape"]), True),
                f"{int(s['actual_total']):,}",
                _fmt(float(s["forecast_total"])),
                f"{_count(s[f'total_{low}'])} to {_count(s[f'total_{high}'])}",
                "yes" if bool(s["total_inside"]) else "no",
            )
        )
    kpis = pd.DataFrame(
        rows,
        columns=[
            "stage",
            f"{unit}s inside the band",
            "nominal",
            f"MAPE ({unit}ly mean)",
            "actual total",
            "forecast total (mean)",
            f"{level:.0%} band of the total",
            "total inside",
        ],
    )
    charts: list[tuple[str, Draw, tuple[float, float]]] = [
        (
            f"{names[m].capitalize()} per {unit}: the forecast's {level:.0%} band from "
            f"{bt.cutoff:%Y-%m-%d} with what happened (black).",
            functools.partial(_draw_backtest, bt, m),
            (9, 4.2),
        )
        for m in STAGES
    ]
    details = periods.copy()
    for col in ("week_start", "month_start"):
        if col in details:
            details[col] = [f"{d:%Y-%m-%d}" for d in details[col]]
    details["inside"] = details["inside"].map({True: "yes", False: "no"})
    cal = bt.calibration
    exp = fc.experiment
    start_from = getattr(bt, "start_from", "warm_up")
    snapshot = getattr(bt, "snapshot", None)
    if start_from == "snapshot" and snapshot is not None:
        start = (
            f"the forecast starts from the funnel as it stood at the cutoff: {len(snapshot):,} "
            "open leads and opportunities rebuilt from the exports"
        )
    else:
        start = (
            "the forecast starts from a pipeline the fitted model filled itself (the scenario's "
            "warm_up), not from the leads actually open at the cutoff"
        )
    notes = [
        f"cutoff {bt.cutoff:%Y-%m-%d}: the fit saw no lead created, stage reached, call made or "
        "deal closed after it",
        f"root seed: {exp.seed}; replications: {fc.reps}; band: {level:.0%} "
        f"({low.upper()} to {high.upper()})",
        start,
        (
            "new leads replay the ones that actually arrived after the cutoff, so only what "
            "happens downstream of arrivals is tested"
            if getattr(bt, "arrivals", "forecast") == "actual"
            else "new leads are drawn from the fitted arrival rates"
        ),
        f"coverage is the share of {unit}s inside the band; MAPE the mean absolute percentage "
        f"error of the forecast mean over the {unit}s with an actual above 0",
        *getattr(bt, "notes", ()),
    ]
    notes += [
        f"ASSUMPTION {p.parameter} = {_value_text(p.value)}: {p.basis}"
        for p in cal.parameters[cal.parameters["kind"] == "assumption"].itertuples(index=False)
    ]
    return Report(
        title=f"Backtest from {bt.cutoff:%Y-%m-%d}: would the fitted scenario have been right?",
        subtitle=(
            f"Fitted on {cal.start:%Y-%m-%d} to {bt.cutoff:%Y-%m-%d}, forecast "
            f"{bt.horizon_weeks} weeks with {fc.reps} replications, scored {unit} by {unit} "
            "against what happened"
        ),
        verdict=verdict,
        charts=charts,
        kpis=kpis,
        kpi_note=(
            f"Per stage: the {unit}s whose actual count fell inside the forecast's {level:.0%} "
            f"band, the mean absolute percentage error of the {unit}ly mean, and the horizon's "
            "total against its band."
        ),
        scenario=fc.scenario,
        notes=notes,
        details=details,
    )


def build_report(obj: Any, title: str | None = None) -> Report:
    """The report's content for a run, a decision, a calibration or a backtest."""
    from ..calibration import Backtest, Calibration
    from ..decisions import Forecast, HiringPlan, Sizing, ThresholdComparison
    from ..results import SimulationResult

    builders: list[tuple[type, Callable[[Any], Report]]] = [
        (SimulationResult, _result_report),
        (ThresholdComparison, _threshold_report),
        (Sizing, _sizing_report),
        (HiringPlan, _hiring_report),
        (Forecast, _forecast_report),
        (Calibration, _calibration_report),
        (Backtest, _backtest_report),
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
    from ..base.version import __version__

    e = html.escape
    figures = []
    for i, (caption, draw, size) in enumerate(report.charts, start=1):
        data = _png(draw, size)
        figures.append(
            f'<figure id="chart-{i}">\n<img src="data:image/png;base64,{data}" '
            f'alt="{e(caption)}">\n<figcaption>Figure {i}. {e(caption)}</figcaption>\n</figure>'
        )
    tables = []
    for heading, note, frame in report.tables:
        tables.append(f"<h3>{e(heading)}</h3>")
        tables.append(f'<p class="note">{e(note)}</p>')
        if len(frame):
            tables.append(_table_html(frame))
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
        *tables,
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
    """Write a self-contained HTML report of a run or decision to ``path``; return the path.

    The file is written whole or not at all (a temporary file, renamed: simfunnel.base.files)."""
    from ..base.files import write_text

    out = Path(path)
    text = render_html(build_report(obj, title))
    if out.parent and not out.parent.exists():
        out.parent.mkdir(parents=True, exist_ok=True)
    write_text(out, text)
    return out
