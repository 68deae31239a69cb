"""What a fit's verdict and report say: the scenario fitted from CRM exports, how well and from
what.

The verdict walks the fit from arrivals down to the sales cycle and the rows left out; the key
figures list every parameter with its interval and basis; the charts are the survival fits and
the score curve. Also here: the data-quality tables and the assumption notes a backtest report
shares, and the short verdict a :class:`~simfunnel.calibration.fit_result.Calibration` gives.
Nothing here writes HTML.
"""

from __future__ import annotations

import functools
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from ..base.formatting import fmt, interval, missing, one_line, value_text
from ..results.answer import Chart, Report, Tile
from ..results.plots import COLORS, SERIES, finish, legend_outside
from ..scenario import Scenario

if TYPE_CHECKING:
    from .fit_result import Calibration

__all__ = ["assumption_notes", "calibration_report", "fit_verdict", "problem_summary"]

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
    """The row of one fitted parameter, or None when the fit has not got it."""
    rows = params[params["parameter"] == name]
    return rows.iloc[0] if len(rows) else None


def _lines(lines: pd.Series, most: int = 6) -> str:
    """Line numbers as a reader scans them: '2, 7, 12 and 3 more'."""
    values = sorted({int(v) for v in lines.dropna()})
    text = ", ".join(str(v) for v in values[:most])
    return text + (f" and {len(values) - most} more" if len(values) > most else "")


def _rows(lines: pd.Series) -> int:
    """Rows a problem touches: each line once, and each problem without a line (a whole
    column, a warning) as one."""
    return int(lines.nunique() + lines.isna().sum())


def assumption_notes(params: pd.DataFrame) -> list[str]:
    """One note per value the exports cannot give, with its basis, for the assumptions list."""
    assumed = params[params["kind"] == "assumption"]
    return [
        f"ASSUMPTION {p.parameter} = {value_text(p.value)}: {p.basis}"
        for p in assumed.itertuples(index=False)
    ]


# --------------------------------------------------------------------------- data quality


# Parts of a problem that name one row's other line: a duplicate's first line. Grouped
# without them, 560 duplicates are one line of the report, not 560.
_OWN_LINE = re.compile(r"\((?:first|a fuller row) on line \d+\)")


def problem_summary(report: pd.DataFrame) -> pd.DataFrame:
    """The read problems grouped by file, kind of problem and action: rows counted once,
    with the first lines (what ``simfunnel fit`` prints and the report's data quality)."""
    return _problems(report, most=5)


def _problems(report: pd.DataFrame, most: int = 6) -> pd.DataFrame:
    """The read problems grouped by file, problem and action, rows counted once, with lines;
    a problem naming another line of its row (a duplicate's first) grouped as one kind."""
    if report.empty:
        return pd.DataFrame(columns=["file", "problem", "action", "rows", "lines"])
    kind = (
        report["problem"].astype(str).str.replace(_OWN_LINE, "(kept on another line)", regex=True)
    )
    grouped = report.assign(
        line=pd.to_numeric(report["line"], errors="coerce"), problem=kind
    ).groupby(["file", "problem", "action"], dropna=False, sort=False)
    problems = grouped.agg(
        rows=("line", _rows), lines=("line", functools.partial(_lines, most=most))
    ).reset_index()
    problems["rows"] = problems["rows"].astype(int)
    return problems.sort_values(
        ["file", "action", "rows"], ascending=[True, True, False], kind="stable"
    ).reset_index(drop=True)


def _data_quality(cal: Calibration) -> tuple[str, pd.DataFrame, pd.DataFrame]:
    """The sentence on rows used and left out, a table per file, and the problems grouped by
    file, problem and action (rows counted once per problem, with their lines)."""
    files = pd.DataFrame(
        [
            (t.path, t.kind, t.rows_read, len(t.data), t.excluded, t.date_format)
            for t in cal.exports.values()
        ],
        columns=["file", "table", "rows read", "rows used", "rows excluded", "dates"],
    )
    read = int(files["rows read"].sum())
    excluded = int(files["rows excluded"].sum())
    problems = _problems(cal.problems)
    n_files = len(files)
    where = f"{read:,} rows in {n_files} file{'s' if n_files != 1 else ''}"
    if excluded == 0 and cal.problems.empty:
        return f"All {where} were used; none was excluded or changed.", files, problems
    out = problems[problems["action"] == "excluded"]
    reasons = "; ".join(
        f"{r.problem}, {r.rows:,} row{'s' if r.rows != 1 else ''} in {Path(str(r.file)).name}"
        for r in out.head(4).itertuples()
    )
    more = f"; and {len(out) - 4} other reasons" if len(out) > 4 else ""
    blanked = int(problems.loc[problems["action"] == "blanked", "rows"].sum())
    text = f"Of {where}, {excluded:,} were excluded" + (f": {reasons}{more}." if reasons else ".")
    if blanked:
        text += (
            f" {blanked:,} unreadable value{' was' if blanked == 1 else 's were'} blanked "
            f"and {'its row' if blanked == 1 else 'their rows'} kept."
        )
    text += " Every problem is listed below with its lines."
    return text, files, problems


# --------------------------------------------------------------------------- the verdict


def _fit_opening(cal: Calibration) -> str:
    """What was read and the rates it gave: arrivals by source and conversions down the funnel."""
    weeks = (cal.as_of - cal.start).total_seconds() / 604800
    counts = [f"{len(cal.exports['leads'].data):,} leads"]
    if "calls" in cal.exports:
        counts.append(f"{len(cal.exports['calls'].data):,} calls")
    if "opportunities" in cal.exports:
        counts.append(f"{len(cal.exports['opportunities'].data):,} opportunities")
    arrivals = ", ".join(
        f"{r['source']} {interval(float(r['rate_per_week']), float(r['low']), float(r['high']))}"
        for r in cal.arrivals.to_dict("records")
    )
    overall = cal.conversion[cal.conversion["source"] == "all"]
    conv = {c["stage"]: c for c in overall.to_dict("records")}  # one row per stage
    rates = [
        f"{interval(float(c['rate']), float(c['low']), float(c['high']), True)} {words}"
        for stage, words in _CONVERSIONS
        if stage in conv and (c := conv[stage])["n"] > 0
    ]
    first = (
        f"Fitted from {', '.join(counts)} between {cal.start:%Y-%m-%d} and "
        f"{cal.as_of:%Y-%m-%d} ({weeks:.1f} weeks). Leads a week by source, with 95% intervals: "
        f"{arrivals or 'none in the period'}."
    )
    if rates:
        first += " Down the funnel, " + ", ".join(rates[:-1]) + (" and " if len(rates) > 1 else "")
        first += rates[-1] + "."
    return first


def _phone_paragraph(params: pd.DataFrame) -> str | None:
    """The MQL threshold and the call outcomes, when the fit has them."""
    threshold = _parameter(params, "scoring.threshold")
    steps = []
    if threshold is not None and threshold["kind"] == "fitted":
        steps.append(
            f"The MQL threshold is {value_text(threshold['value'])} (the {threshold['basis']})."
        )
    connect = _parameter(params, "cadence.connect_probability")
    contact = _parameter(params, "cadence.contact_probability")
    qualified = _parameter(params, "outcomes.probabilities.qualified")
    attempts = _parameter(params, "cadence.max_attempts")
    if connect is not None and contact is not None and qualified is not None:
        cadence = (
            f", over a cadence of {attempts['value']} attempts." if attempts is not None else "."
        )
        steps.append(
            f"On the phone, {fmt(float(connect['value']), True)} of dials connect, "
            f"{fmt(float(contact['value']), True)} of connects reach the person and "
            f"{fmt(float(qualified['value']), True)} of those conversations qualify" + cadence
        )
    return " ".join(steps) if steps else None


def _sales_cycle_paragraph(durations: pd.DataFrame) -> str:
    """The sales-cycle fit chosen by AIC and its distance to Kaplan-Meier, or why it is assumed."""
    cycle = (
        durations[(durations["stage"] == "sales_cycle") & durations["chosen"]]
        if not durations.empty
        else durations
    )
    if not len(cycle):
        return (
            "No opportunity closed in the data, so the sales cycle is an assumption (a "
            "lognormal of median 45 and p90 90 days): forecasts of wins rest on it."
        )
    b = cycle.iloc[0]
    if b["dist"] == "fixed" and float(b["median"]) == 0:
        return (
            f"Every one of the {int(b['events']):,} closed opportunities closed on the day "
            "and at the time it opened (close date = opportunity date), so the sales cycle "
            "is 0 days: check whether the CRM stamps both dates at the close."
        )
    median = interval(float(b["median"]), float(b["median_low"]), float(b["median_high"]))
    closed, still_open = int(b["events"]), int(b["n"] - b["events"])
    ks = float(b["ks"])
    return (
        f"The sales cycle is best described (by AIC, of lognormal, gamma and Weibull) by a "
        f"{b['dist']} with a median of {median} days, from {closed:,} closed and "
        f"{still_open:,} still open opportunities; its survival curve is at most "
        f"{ks:.3f} from the Kaplan-Meier curve ({_ks_words(ks)}), whose median is "
        f"{fmt(float(b['km_median']))} days."
    )


# --------------------------------------------------------------------------- figures and charts


def _parameter_table(params: pd.DataFrame) -> pd.DataFrame:
    """Every value the scenario gets, with its interval where it has one, kind and basis."""
    rows = []
    for p in params.itertuples(index=False):
        has_interval = not (missing(p.low) or missing(p.high))
        rows.append(
            (
                p.parameter,
                value_text(p.value),
                f"{value_text(p.low)} to {value_text(p.high)}" if has_interval else "",
                p.kind,
                p.basis,
            )
        )
    return pd.DataFrame(rows, columns=["parameter", "value", "95% interval", "kind", "basis"])


def _draw_score_curve(cal: Calibration, threshold: float | None, ax: Any) -> Any:
    """The share of each score band that became an SQL, with the MQL threshold marked."""
    # matplotlib is loaded only when a chart is drawn: importing the report must stay light.
    from matplotlib.ticker import PercentFormatter

    t = cal.score_curve
    low, high = t["score_low"].to_numpy(float), t["score_high"].to_numpy(float)
    mid = (low + high) / 2
    rate = 100 * t["rate"].to_numpy(float)
    below = np.clip(rate - 100 * t["low"].to_numpy(float), 0, None)  # rounding at k = 0
    above = np.clip(100 * t["high"].to_numpy(float) - rate, 0, None)
    ax.errorbar(
        mid,
        rate,
        yerr=[below, above],
        xerr=[mid - low, high - mid],
        fmt="o",
        color=COLORS["inbound"],
        capsize=3,
        label="SQL rate, 95% interval",
    )
    if threshold is not None:
        ax.axvline(
            threshold, color=COLORS["mark"], linestyle=":", label=f"MQL threshold {threshold:g}"
        )
    ax.yaxis.set_major_formatter(PercentFormatter())
    ax.set_ylim(bottom=0)
    legend_outside(ax)
    return finish(
        ax,
        "Conversion to SQL by score band (each band a tenth of the scored leads)",
        "lead score (bar: the band's range)",
        "leads that became SQLs (% of the band)",
    )


def _draw_survival(cal: Calibration, stage: str, ax: Any) -> Any:
    """A stage's survival chart on the axes the page gives (``plot`` takes them by keyword),
    finished as every chart of a report: the stage's name, a share axis from 0, the palette and
    the legend beside the plot."""
    ax = cal.plot(stage, ax=ax)
    name, span, what = _DURATION_STAGES.get(
        stage, (stage.replace("_", " ").capitalize(), "its start to its end", "records")
    )
    for line, color in zip(ax.lines, SERIES, strict=False):
        line.set_color(color)
    ax.set_title(f"{name} ({span}): share still open")
    ax.set_ylabel(f"{what} still open")
    # matplotlib is loaded only when a chart is drawn: importing the report must stay light.
    from matplotlib.ticker import PercentFormatter

    ax.yaxis.set_major_formatter(PercentFormatter(1.0, decimals=0))  # survival runs 0 to 1
    ax.set_ylim(0, 1.05)
    legend_outside(ax)
    return ax


def _calibration_charts(cal: Calibration, scenario: Scenario) -> list[Chart]:
    """A survival chart per fitted duration stage, then the score curve when scores were read."""
    durations = cal.durations
    charts: list[Chart] = []
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
                functools.partial(_draw_survival, cal, stage),
                (8, 4.2),
            )
        )
    if not cal.score_curve.empty:
        threshold = float(scenario.scoring.threshold)
        charts.append(
            (
                "How much the score says: the share of each score band that became an SQL, "
                "with the MQL threshold.",
                lambda ax: _draw_score_curve(cal, threshold, ax),
                (8, 4.2),
            )
        )
    return charts


# --------------------------------------------------------------------------- the report


def _calibration_verdict(cal: Calibration) -> tuple[list[str], pd.DataFrame, pd.DataFrame]:
    """The verdict's paragraphs, and the files and problems tables its data-quality one sums."""
    params = cal.parameters
    verdict = [_fit_opening(cal)]
    phone = _phone_paragraph(params)
    if phone is not None:
        verdict.append(phone)
    verdict.append(_sales_cycle_paragraph(cal.durations))
    quality, files, problems = _data_quality(cal)
    verdict.append(quality)
    assumed = params[params["kind"] == "assumption"]
    if len(assumed):
        verdict.append(
            f"{len(assumed)} values are assumptions the exports cannot give "
            f"({', '.join(assumed['parameter'])}): check them, above all before asking "
            "capacity questions (how many SDRs, how fast they call)."
        )
    return verdict, files, problems


def _calibration_tiles(cal: Calibration) -> list[Tile]:
    """What the fit rests on and the rates a leader checks first, with their 95% intervals."""
    weeks = (cal.as_of - cal.start).total_seconds() / 604800
    tiles = [
        Tile("Leads read", f"{len(cal.exports['leads'].data):,}", f"over {weeks:.0f} weeks"),
        Tile(
            "Leads a week",
            f"{float(cal.arrivals['rate_per_week'].sum()):,.0f}",
            f"{len(cal.arrivals)} source(s)",
        ),
    ]
    overall = cal.conversion[cal.conversion["source"] == "all"]
    conv = {c["stage"]: c for c in overall.to_dict("records")}
    named = {
        "mql->sql": "MQL to SQL",
        "sql->opportunity": "SQL to valid",
        "opportunity->won": "Win rate",
    }
    for stage, words in named.items():
        c = conv.get(stage)
        if c is not None and c["n"] > 0:
            low, high = fmt(float(c["low"]), True), fmt(float(c["high"]), True)
            tiles.append(Tile(words, fmt(float(c["rate"]), True), f"95%: {low} to {high}"))
    assumed = len(assumption_notes(cal.parameters))
    if assumed:
        tiles.append(Tile("Assumptions to check", str(assumed), "the exports cannot give them"))
    return tiles[:5]


def _calibration_points(cal: Calibration) -> list[tuple[str, str]]:
    """What the fit rests on, what a leader must check (the values the exports cannot give),
    and what could be off (the loudest warnings, rows left out)."""
    weeks = (cal.as_of - cal.start).total_seconds() / 604800
    rests = f"{_export_counts(cal)} from {cal.start:%Y-%m-%d} to {cal.as_of:%Y-%m-%d} ({weeks:.0f} weeks)"
    params = cal.parameters
    assumed: list[str] = (
        [str(x) for x in params.loc[params["kind"] == "assumption", "parameter"]]
        if len(params)
        else []
    )
    check = (
        f"{len(assumed)} value(s) the exports cannot give, assumed: {', '.join(assumed)}"
        if assumed
        else "nothing assumed: every value was fitted or given"
    )
    excluded = sum(t.excluded for t in cal.exports.values())
    risk = _loudest_warnings(cal)
    if excluded:
        risk += f" {excluded:,} row(s) left out (the data quality table says which and why)."
    return [("What it rests on", rests), ("What to check", check), ("What could be off", risk)]


def calibration_report(cal: Calibration) -> Report:
    """A scenario fitted from CRM exports: how well, from what, and what had to be assumed."""
    scenario = cal.scenario
    verdict, files, problems = _calibration_verdict(cal)
    notes = assumption_notes(cal.parameters)
    notes += [f"note from the fit: {n}" for n in cal.notes]
    notes.append(
        "fitted values are observed averages: speed-to-lead decay is off and quality effects "
        "are 0 (see docs/calibration.md before studying response-time or threshold changes)"
    )
    return Report(
        title=f"{scenario.name}: a scenario fitted from CRM exports",
        subtitle=(
            f"Data from {cal.start:%Y-%m-%d} to {cal.as_of:%Y-%m-%d}; the scenario starts "
            f"{scenario.start_date:%Y-%m-%d} and runs {scenario.period}"
        ),
        verdict=verdict,
        tiles=_calibration_tiles(cal),
        points=_calibration_points(cal),
        charts=_calibration_charts(cal, scenario),
        kpis=_parameter_table(cal.parameters),
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


# --------------------------------------------------------------------------- the short verdict

_SHOUTED = re.compile(r"\b[A-Z]{4,}\b")  # a warning in capitals is one the fit shouts


def _export_counts(cal: Calibration) -> str:
    """The records each export gave: '1,234 leads, 5,678 calls and 321 opportunities'."""
    counts = [f"{len(t.data):,} {kind}" for kind, t in cal.exports.items()]
    return ", ".join(counts[:-1]) + (" and " if len(counts) > 1 else "") + counts[-1]


def _loudest_warnings(cal: Calibration, most: int = 2) -> str:
    """The fit's warnings, those in capitals first, the first ``most`` in full."""
    if not cal.warnings:
        return "No warnings."
    said = [one_line(str(w["problem"])) for w in cal.warnings]
    said.sort(key=lambda text: not _SHOUTED.search(text))  # stable: the fit's order otherwise
    more = len(said) - most
    rest = f" (and {more} more in the report table)" if more > 0 else ""
    count = f"{len(said)} warning{'s' if len(said) != 1 else ''}"
    return f"{count}: {'; '.join(said[:most])}{rest}."


def fit_verdict(cal: Calibration) -> str:
    """What was fitted from how much data, the window the rates describe and the loudest
    warnings: the calibration's verdict in a few sentences."""
    params = cal.parameters
    weeks = (cal.as_of - cal.start).total_seconds() / 604800
    assumed = int((params["kind"] == "assumption").sum()) if len(params) else 0
    user = int((params["kind"] == "user").sum()) if len(params) else 0
    excluded = sum(t.excluded for t in cal.exports.values())
    first = (
        f"Fitted {len(params)} scenario values from {_export_counts(cal)} between "
        f"{cal.start:%Y-%m-%d} and {cal.as_of:%Y-%m-%d} ({weeks:.1f} weeks"
        + (f"; {excluded:,} rows excluded" if excluded else "")
        + ")"
    )
    kinds = [f"{assumed} are assumptions the exports cannot give"] if assumed else []
    kinds += [f"{user} were set by the user"] if user else []
    first += (": " + " and ".join(kinds) + ".") if kinds else "."
    window = (
        f"Rates describe {cal.cohorts.window}."
        if cal.cohorts is not None
        else "Rates are averages over the whole period (the cohort model could not be fitted)."
    )
    return f"{first} {window} {_loudest_warnings(cal)}"
