"""The ``simfunnel`` command: run, replicate, sweep and validate scenario files.

Exit codes: 0 success, 1 a replication failed or a file could not be written (one line naming
it), 2 bad input (a scenario problem, a bad option or an output path that cannot be written, one
line each, before any work; never a traceback), 130 interrupted (Ctrl-C; what finished is still
reported). Option checks are in :mod:`simfunnel.cli.options`, safe writing in
:mod:`simfunnel.base.files`.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import re
import sys
import warnings
from pathlib import Path
from typing import Any

import yaml

from ..base.files import OutputError, save_figure, write_csv, write_json
from ..base.units import format_duration
from ..base.version import __version__
from ..calibration import CalibrationError
from ..decisions import (
    SLACK,
    compare_thresholds,
    diagnose,
    explain_gap,
    forecast,
    hiring_plan,
    parse_costs,
    reverse_waterfall_for,
    scenario_rates,
    sdr_workload,
    size_team,
)
from ..experiments import (
    DiscardedPartWarning,
    Experiment,
    ExperimentError,
    ReplicationError,
    run,
    simulate,
    sweep,
)
from ..model import Snapshot, read_snapshot
from ..results import SimulationResult
from ..scenario import Scenario, ScenarioError, check_size, load_scenario, with_overrides
from . import cohorts as cli_cohorts
from . import options as opt

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_BAD_INPUT = 2
EXIT_INTERRUPTED = 130
SWEEP_KPIS = ("mqls", "sqls", "won", "won_value")  # what `sweep` prints unless --kpi is given
NA = "n/a"  # an undefined figure (NaN) in a printed table
MEMORY_VARIABLE = "SIMFUNNEL_MAX_MEMORY"  # --max-memory sets it; simfunnel.scenario.limits reads it
# An interval needs two replications: commands that report one refuse --reps 1.
_INTERVAL_REPS = opt.whole(2, ": an interval needs two replications, 10 or more is usual")


def _load(path: Any) -> Scenario:
    """The scenario file, validated and checked against the memory limit before any work
    (one line naming the file and the fields that make it too large)."""
    scenario = load_scenario(path)
    check_size(scenario, source=str(path))
    return scenario


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"needs a whole number >= 1 (got {text!r})")
    return value


def _add_execution(
    parser: argparse.ArgumentParser, reps_default: int, *, interval: bool = True
) -> None:
    parser.add_argument(
        "--reps",
        type=_INTERVAL_REPS if interval else _positive,
        default=reps_default,
        help=f"replications, seeds spawned from --seed (default {reps_default})",
    )
    parser.add_argument(
        "--workers",
        type=_positive,
        default=None,
        help="worker processes (default: every core; 1 runs in this process)",
    )
    parser.add_argument(
        "--snapshot",
        type=Path,
        default=None,
        metavar="CSV",
        help="start from today's open leads and opportunities: a lead table like leads.csv",
    )


def _scenario_args(parser: argparse.ArgumentParser, *, seed: bool, report: bool = False) -> None:
    """Every command reads one scenario file; those that simulate take a seed, and the
    decision commands can also write their answer as an HTML report."""
    parser.add_argument("scenario", type=Path, help="scenario YAML file")
    if seed:
        parser.add_argument(
            "--seed", type=opt.seed, default=0, help="random seed, a whole number >= 0 (default 0)"
        )
    if report:
        parser.add_argument(
            "--report", type=Path, default=None, metavar="HTML", help="also write an HTML report"
        )


def _target_args(parser: argparse.ArgumentParser) -> None:
    """The role and targets that size and hire share."""
    parser.add_argument("--role", choices=("sdr", "bdr", "ae"), default="sdr")
    parser.add_argument(
        "--target",
        action="append",
        required=True,
        metavar="METRIC>=VALUE",
        help="a target, repeatable, e.g. 'speed_to_lead_1h>=0.8' 'valid_opps_per_month>=120'",
    )
    parser.add_argument(
        "--confidence",
        type=opt.share(),
        default=0.8,
        help="share of simulated runs that must meet every target (default 0.8)",
    )


def _force(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--force",
        action="store_true",
        help="write into an output directory that holds another kind of simfunnel output",
    )


def _set_option(parser: argparse.ArgumentParser) -> None:
    """--set PATH=VALUE on fit and backtest: a value the user knows better than the exports."""
    parser.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=None,
        metavar="PATH=VALUE",
        help="set a scenario field instead of fitting it, e.g. sdr.headcount=12 (repeatable); "
        "marked 'set by the user' in the scenario",
    )


def _parser() -> argparse.ArgumentParser:
    parser = opt.OneLineParser(
        prog="simfunnel",
        description="Simulate a B2B inside-sales funnel from a scenario file.",
    )
    parser.add_argument("--version", action="version", version=f"simfunnel {__version__}")
    memory = {
        "type": opt.memory_size,
        "metavar": "SIZE",
        "help": f"most memory a run may plan to use, e.g. 16GiB (sets {MEMORY_VARIABLE})",
    }
    parser.add_argument("--max-memory", default=None, **memory)
    # Also after the command; SUPPRESS keeps a value given before it.
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--max-memory", default=argparse.SUPPRESS, **memory)
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def command(name: str, **options: Any) -> argparse.ArgumentParser:
        return sub.add_parser(name, parents=[common], **options)

    run = command("run", help="simulate a scenario and print its KPIs")
    _scenario_args(run, seed=True)
    run.add_argument(
        "--format",
        choices=("table", "json", "csv"),
        default="table",
        help="KPI report format on standard output (default: table)",
    )
    run.add_argument(
        "--out",
        type=Path,
        default=None,
        help="also write weekly.csv, weekly_by_source.csv, leads.csv and kpis.json here; with "
        "--reps above 1, every replication as it finishes (a rerun resumes) and the tidy tables",
    )
    _force(run)
    _add_execution(run, reps_default=1, interval=False)

    grid = command(
        "sweep", help="replicate every combination of --set values, on common random numbers"
    )
    _scenario_args(grid, seed=True)
    grid.add_argument(
        "--set",
        dest="settings",
        action="append",
        required=True,
        metavar="PATH=V1,V2,...",
        help="a scenario field by dotted path and the values to try, e.g. sdr.headcount=8,10,12; "
        "repeat for a grid",
    )
    grid.add_argument(
        "--out", type=Path, required=True, help="directory for the tidy tables (and resuming)"
    )
    grid.add_argument(
        "--kpi",
        action="append",
        default=None,
        metavar="NAME",
        help=f"KPI to print, repeatable (default: {', '.join(SWEEP_KPIS)})",
    )
    _force(grid)
    _add_execution(grid, reps_default=10, interval=False)

    th = command(
        "thresholds", help="compare MQL thresholds on common random numbers, with a verdict"
    )
    _scenario_args(th, seed=True, report=True)
    th.add_argument(
        "--values",
        default="",
        metavar="T1,T2,...",
        help="thresholds to compare with the scenario's own, e.g. 40,50,60,70",
    )
    th.add_argument(
        "--sql-require",
        default="",
        metavar="N1,N2,...",
        help="toss-up requirements (how many toss_up.criteria a lead must meet) to compare as a "
        "grid with --values, e.g. 0,2,3; 0 tosses up every qualified conversation",
    )
    th.add_argument(
        "--cost",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="a cost on top of the scenario's costs section (repeatable): sdr=90000, bdr=..., "
        "ae=... (per rep-year), ae_per_hour=120, per_lead.SOURCE=40",
    )
    th.add_argument(
        "--service-level",
        type=opt.share(zero="no target"),
        default=0.5,
        help="target: least share of MQLs called within an hour (default 0.5; 0 = none)",
    )
    th.add_argument(
        "--max-utilisation",
        type=opt.share(),
        default=None,
        help="target: most SDR utilisation (default: none; saturation is only flagged)",
    )
    th.add_argument(
        "--min-valid-rate",
        type=opt.share(),
        default=None,
        help="target: least AE valid rate, valid / decided SQLs (default: none)",
    )
    th.add_argument(
        "--min-valid-per-week",
        type=opt.finite(at_least=0),
        default=0.0,
        help="target: least valid opportunities per week (default 0: none)",
    )
    th.add_argument(
        "--saturation",
        type=opt.share(),
        default=0.9,
        help="SDR utilisation flagged as saturated, not excluded (default 0.9)",
    )
    th.add_argument(
        "--fallback",
        choices=("valid_opportunities", "won_value"),
        default="valid_opportunities",
        help="what options are ranked on when there are no costs (default valid_opportunities)",
    )
    th.add_argument(
        "--no-open-pipeline",
        action="store_true",
        help="leave out opportunities open at the horizon (counted by default at expected win "
        "value)",
    )
    th.add_argument(
        "--no-explain",
        action="store_true",
        help="skip measuring the spreadsheet gap (about halves the run time)",
    )
    th.add_argument("--out", type=Path, default=None, help="write the tables and plots here")
    _force(th)
    _add_execution(th, reps_default=10)

    size = command("size", help="the smallest headcount of a role that meets targets")
    _scenario_args(size, seed=True, report=True)
    _target_args(size)
    size.add_argument(
        "--no-explain",
        action="store_true",
        help="skip measuring what ramp, attrition and leave cost (two runs per mechanism)",
    )
    size.add_argument("--out", type=Path, default=None, help="write the table and plot here")
    _force(size)
    _add_execution(size, reps_default=10)

    fc = command("forecast", help="weekly pipeline forecast with P10/P50/P90 bands")
    _scenario_args(fc, seed=True, report=True)
    fc.add_argument(
        "--weeks",
        type=_positive,
        default=None,
        help="weeks ahead (default: the scenario's horizon)",
    )
    fc.add_argument(
        "--level",
        type=opt.share(one=False),
        default=0.8,
        help="share of outcomes the bands hold (default 0.8: P10 to P90)",
    )
    fc.add_argument(
        "--warm-up",
        type=int,
        default=None,
        metavar="WEEKS",
        help="weeks simulated first to fill the funnel (default: the scenario's warm_up, else "
        "the sales cycle's P90 plus 4 weeks; 0: start from an empty funnel); not with --snapshot",
    )
    fc.add_argument(
        "--no-parameter-draws",
        action="store_true",
        help="hold the scenario's uncertain values fixed: bands of process noise only (default: "
        "each replication draws its 'uncertainty' entries, and the split is printed)",
    )
    fc.add_argument(
        "--out",
        type=Path,
        default=None,
        help="write bands.csv, cumulative.csv, fan charts (and variance_split.csv with draws)",
    )
    _force(fc)
    _add_execution(fc, reps_default=20)

    hire = command("hire", help="dated hires that keep a role big enough for a volume plan")
    _scenario_args(hire, seed=True, report=True)
    _target_args(hire)
    hire.add_argument(
        "--volume",
        action="append",
        default=[],
        metavar="YYYY-MM=FACTOR",
        help="lead volume of a month against the scenario's (repeatable), e.g. 2026-04=1.5",
    )
    hire.add_argument(
        "--no-explain",
        action="store_true",
        help="skip placing the hires again without ramp, attrition and leave",
    )
    hire.add_argument(
        "--reps", type=_INTERVAL_REPS, default=6, help="replications per sizing run (default 6)"
    )
    hire.add_argument("--workers", type=_positive, default=None, help="worker processes")
    hire.add_argument("--out", type=Path, default=None, help="write the plan and its chart here")
    _force(hire)

    gap = command("explain", help="why the simulation departs from the spreadsheet, step by step")
    _scenario_args(gap, seed=True)
    gap.add_argument(
        "--metric", choices=("valid_opportunities", "won"), default="valid_opportunities"
    )
    _add_execution(gap, reps_default=10)

    wf = command(
        "waterfall", help="the reverse waterfall: leads needed for a revenue target (no simulation)"
    )
    _scenario_args(wf, seed=False)
    wf.add_argument(
        "--revenue",
        type=opt.finite(above=0),
        required=True,
        help="revenue target over the scenario's horizon",
    )
    diag = command("diagnose", help="where one run's funnel leaks, and which capacity binds")
    _scenario_args(diag, seed=True)
    diag.add_argument(
        "--phase",
        choices=("auto", "launch", "mature"),
        default="auto",
        help="judge a launch-phase team on activity, a mature one on results (default auto: "
        "launch when most SDRs start inside their ramp or learning curve)",
    )
    diag.add_argument(
        "--reps",
        type=_INTERVAL_REPS,
        default=5,
        help="replications per lever (one more rep, AE, other queue rules; default 5)",
    )
    diag.add_argument(
        "--no-levers",
        action="store_true",
        help="skip measuring what one more unit of each lever buys (one run only)",
    )
    diag.add_argument("--workers", type=_positive, default=None, help="worker processes")

    def exports(parser: argparse.ArgumentParser) -> None:
        parser.add_argument(
            "--leads",
            type=Path,
            default=None,
            help="lead lifecycle CSV (required, but for a rolling backtest of deals only)",
        )
        parser.add_argument("--calls", type=Path, default=None, help="call activity CSV")
        parser.add_argument("--opportunities", type=Path, default=None, help="opportunities CSV")
        parser.add_argument("--style", choices=("hubspot", "salesforce"), default="hubspot")
        parser.add_argument("--mapping", type=Path, default=None, help="YAML/JSON column mapping")
        parser.add_argument(
            "--date-format",
            type=opt.date_format,
            default=None,
            help="iso, dayfirst, monthfirst or a strftime pattern (e.g. '%%d.%%m.%%Y %%H:%%M')",
        )
        parser.add_argument(
            "--start", type=opt.date, default=None, help="first day of the data period (YYYY-MM-DD)"
        )
        parser.add_argument(
            "--encoding",
            default=None,
            help="text encoding of the CSV files, e.g. cp1252 (default: UTF-8, or UTF-16 by its "
            "byte-order mark)",
        )
        parser.add_argument(
            "--sep", default=None, help="column separator (default: read from the header line)"
        )

    fit = command("fit", help="fit a scenario from CRM exports (leads, calls, opps)")
    exports(fit)
    fit.add_argument(
        "--as-of", type=opt.date, default=None, help="when the extract was taken (YYYY-MM-DD)"
    )
    fit.add_argument("--horizon", type=_positive, default=13, help="weeks the scenario runs")
    cli_cohorts.add_window_args(fit)
    _set_option(fit)
    fit.add_argument("--out", type=Path, required=True, help="scenario YAML to write")
    fit.add_argument(
        "--tables", type=Path, default=None, help="also save the fitted tables and plots here"
    )
    fit.add_argument(
        "--report", type=Path, default=None, metavar="HTML", help="also write an HTML report"
    )
    _force(fit)

    look = command("outlook", help="forecast each calendar month straight from a lead export")
    exports(look)
    cli_cohorts.add_outlook_args(look)

    bt = command("backtest", help="fit before a cutoff, forecast past it, score it")
    exports(bt)
    bt.add_argument(
        "--cutoff",
        type=opt.date,
        default=None,
        help="the date the fit stops and the test starts (YYYY-MM-DD): one cutoff, simulated",
    )
    cli_cohorts.add_rolling_args(bt)
    bt.add_argument(
        "--horizon",
        type=opt.horizon,
        required=True,
        help="weeks to forecast (13, 13weeks) or calendar months (3months: to a month's end, "
        "scored by month)",
    )
    _set_option(bt)
    bt.add_argument(
        "--reps",
        type=_INTERVAL_REPS,
        default=19,
        help="replications (default 19; at least 100 with --every or --cutoffs)",
    )
    bt.add_argument("--seed", type=opt.seed, default=0, help="random seed (default 0)")
    bt.add_argument("--workers", type=_positive, default=None, help="worker processes")
    bt.add_argument("--out", type=Path, default=None, help="weekly.csv, summary.csv and plots")
    bt.add_argument(
        "--arrivals",
        choices=("forecast", "actual"),
        default="forecast",
        help="forecast arrivals, or replay the leads that actually came (default forecast)",
    )
    bt.add_argument(
        "--start-from",
        choices=("snapshot", "warm_up"),
        default="snapshot",
        help="the funnel as the export shows it at the cutoff, or a warm-up (default snapshot)",
    )
    bt.add_argument(
        "--freq",
        choices=("W", "M"),
        default=None,
        help="weeks or calendar months (default W; M with a horizon in months)",
    )
    bt.add_argument(
        "--report", type=Path, default=None, metavar="HTML", help="also write an HTML report"
    )
    _force(bt)

    export = command("export", help="simulate a scenario and write synthetic CRM exports")
    _scenario_args(export, seed=True)
    export.add_argument("--style", choices=("hubspot", "salesforce"), default="hubspot")
    export.add_argument("--out", type=Path, required=True, help="directory for the CSV files")
    _force(export)

    report = command("report", help="one self-contained HTML report of a run")
    _scenario_args(report, seed=True)
    report.add_argument(
        "--out", type=Path, default=Path("report.html"), help="HTML file (default report.html)"
    )
    report.add_argument("--title", default=None, help="the report's title")

    validate = command("validate", help="check a scenario file and report every problem")
    _scenario_args(validate, seed=False)
    return parser


def _fmt(value: Any, key: str) -> str:
    if value is None:
        return "n/a"
    if isinstance(value, float):
        if math.isnan(value):
            return "n/a"
        if key.endswith(("_rate", "_to_sql", "_to_valid", "_goal_met")) or key in {
            "sdr",
            "bdr",
            "within_1h",
            "within_24h",
            "ae_waited_share",
            "ae_occupancy",
        }:
            return f"{value:6.1%}"
        if key.endswith("_h"):
            return format_duration(value)
        if key.endswith("_value"):
            return f"{value:,.0f}"
        return f"{value:,.1f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


_TITLES = {
    "totals": "Volumes",
    "leads_by_source": "Leads by source",
    "rates": "Conversion rates",
    "speed_to_lead": "Speed to lead (MQL to first attempt)",
    "utilisation": "Utilisation",
    "teams": "Calling teams: activity and conversion",
    "by_motion": "Inbound (SALs) and outbound (SGLs)",
    "staffing": "Teams over time",
    "ae": "AE stage",
    "lost_reasons": "Lost opportunities by reason",
    "backlog": "Untouched MQL backlog",
    "end_states": "End state of every lead",
}


def format_table(result: SimulationResult) -> str:
    """The KPI report as aligned plain text, one section after another."""
    report = result.to_dict()
    lines = [
        f"{report['scenario']}  (seed {report['seed']}, {report['weeks']} weeks from "
        f"{report['start_date']})",
    ]
    outbound = result.scenario.outbound is not None
    for section, title in _TITLES.items():
        lines.append("")
        lines.append(title)
        lines.append("-" * len(title))
        for key, value in report[section].items():
            if not outbound and key.startswith(("bdr", "outbound_", "sgls")):
                continue  # no BDR team: its figures are all n/a
            # Durations carry their own unit ("5.4 h", "12 min"), so the "_h" of the key goes.
            label = key.removesuffix("_h")
            lines.append(f"  {label.replace('_', ' '):<28}{_fmt(value, key):>16}")
    return "\n".join(lines)


def _write_outputs(result: SimulationResult, out: Path) -> None:
    """A single run's tables (CSV, each written whole, text cells made inert) and KPIs (JSON)."""
    out.mkdir(parents=True, exist_ok=True)
    write_csv(result.weekly, out / "weekly.csv")
    write_csv(result.weekly_by_source, out / "weekly_by_source.csv")
    write_csv(result.leads, out / "leads.csv")
    write_csv(result.reps, out / "reps.csv")
    write_csv(result.funnel_by_source, out / "funnel_by_source.csv")
    write_json(out / "kpis.json", result.to_dict(), allow_nan=False)


def _title(section: str) -> str:
    return _TITLES.get(section, section.replace("_", " ").capitalize())


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
        title = _title(str(section))
        lines += ["", title, "-" * len(title)]
        for row in rows.itertuples(index=False):
            key = str(row.metric)
            label = key.removesuffix("_h").replace("_", " ")
            mean, ci, spread = (
                " - ".join(_fmt(v, key).strip() for v in values)
                for values in ((row.mean,), (row.ci_low, row.ci_high), (row.p10, row.p90))
            )
            lines.append(f"  {label:<24}{mean:>14}{ci:>30}{spread:>30}")
    return "\n".join(lines)


def _json_value(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value.item() if hasattr(value, "item") else value


def experiment_json(experiment: Experiment, level: float = 0.95) -> dict[str, Any]:
    """Replications as JSON-ready data: per section and KPI, n, mean, sd, interval, P10/50/90."""
    summary: dict[str, dict[str, Any]] = {}
    for row in experiment.summary(level).itertuples(index=False):
        summary.setdefault(str(row.section), {})[str(row.metric)] = {
            key: _json_value(getattr(row, key))
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


def _quietly(call: Any, *args: Any, **kwargs: Any) -> Any:
    """Run an experiment; its interrupt warning is reported by the caller instead, and a
    replication file discarded on resume is one line on standard error."""
    caught: list[warnings.WarningMessage] = []
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("ignore", UserWarning)
            warnings.simplefilter("always", DiscardedPartWarning)
            return call(*args, **kwargs)
    finally:
        for w in caught:
            if issubclass(w.category, DiscardedPartWarning):
                print(f"warning: {w.message}", file=sys.stderr)
            else:
                warnings.showwarning(w.message, w.category, w.filename, w.lineno)


def _finish(experiment: Experiment) -> int:
    """Report failures and interruptions on standard error; the exit code they call for."""
    for row in experiment.failures.itertuples(index=False):
        print(
            f"replication {row.replication} of {row.variant!r} failed: {row.error}; "
            f"replay: {row.replay}",
            file=sys.stderr,
        )
    if experiment.interrupted:
        print("interrupted: the tables above hold only the finished replications", file=sys.stderr)
        return EXIT_INTERRUPTED
    return EXIT_FAILED if not experiment.failures.empty else EXIT_OK


def _snapshot(args: argparse.Namespace, scenario: Scenario) -> Snapshot | None:
    return None if args.snapshot is None else read_snapshot(args.snapshot, scenario)


def _replicate(args: argparse.Namespace, scenario: Scenario) -> int:
    experiment = _quietly(
        run,
        scenario,
        args.reps,
        seed=args.seed,
        workers=args.workers,
        progress=sys.stderr.isatty(),
        out=args.out,
        snapshot=_snapshot(args, scenario),
    )
    if args.format == "json":
        print(json.dumps(experiment_json(experiment), indent=2, allow_nan=False))
    elif args.format == "csv":
        print(experiment.summary().to_csv(index=False), end="")
    else:
        print(format_summary(experiment))
    if args.out is not None:
        _flush()
        names = ", ".join(p.name for p in experiment.save(args.out))
        print(f"wrote {names} to {args.out}", file=sys.stderr)
    return _finish(experiment)


def _split_values(text: str) -> list[str]:
    """``8,10,[1 h, 2 h]`` -> ``['8', '10', '[1 h, 2 h]']``: commas inside brackets stay."""
    parts, depth, current = [], 0, ""
    for char in text:
        if char in "[{":
            depth += 1
        elif char in "]}":
            depth -= 1
        if char == "," and depth == 0:
            parts.append(current)
            current = ""
        else:
            current += char
    return [*parts, current]


def _grid(scenario: Scenario, settings: list[str], source: str) -> dict[str, list[Any]]:
    """``--set path=v1,v2`` options as a grid; each value checked alone, like a file."""
    grid: dict[str, list[Any]] = {}
    for setting in settings:
        path, sep, text = setting.partition("=")
        path = path.strip()
        if not sep or not path or not text.strip():
            raise ScenarioError([f"--set {setting!r}: write PATH=VALUE[,VALUE...]"])
        if path in grid:
            raise ScenarioError([f"--set {path}: given twice; list every value in one --set"])
        values = []
        for item in _split_values(text):
            try:
                value = yaml.safe_load(item) if item.strip() else None
            except yaml.YAMLError:
                raise ScenarioError([f"--set {path}: cannot read the value {item!r}"]) from None
            if opt.not_finite(value):
                raise ScenarioError([f"--set {path}: the value {item.strip()!r} is not finite"])
            with_overrides(scenario, {path: value}, source=f"{source} --set")
            if value in values:
                raise ScenarioError([f"--set {path}: the value {item.strip()!r} is given twice"])
            values.append(value)
        grid[path] = values
    return grid


def _sweep_table(experiment: Experiment, kpis: list[str]) -> str:
    """One row per variant: its parameters, then mean +- half-width of each KPI."""
    summary = experiment.summary()
    table = experiment.params.copy()
    for name in kpis:
        section, _, metric = name.rpartition(".")
        rows = summary[summary["metric"] == metric]
        if section:
            rows = rows[rows["section"] == section]
        if rows.empty:
            raise ScenarioError([f"--kpi {name}: no such KPI in the report"])
        rows = rows.drop_duplicates("variant")  # a bare name: the first section that has it
        cells = {
            r.variant: f"{_fmt(r.mean, metric).strip()} ± {_fmt(r.half_width, metric).strip()}"
            for r in rows.itertuples(index=False)
        }
        table[name] = table["variant"].map(cells)
    shown = table.drop(columns="variant") if table.shape[1] > 1 + len(kpis) else table
    return shown.to_string(index=False)


def _sweep(args: argparse.Namespace) -> int:
    scenario = _load(args.scenario)
    grid = _grid(scenario, args.settings, str(args.scenario))
    experiment = _quietly(
        sweep,
        scenario,
        grid,
        args.reps,
        seed=args.seed,
        workers=args.workers,
        progress=sys.stderr.isatty(),
        out=args.out,
        snapshot=_snapshot(args, scenario),
    )
    kpis = args.kpi or [k for k in SWEEP_KPIS if (experiment.totals["metric"] == k).any()]
    n = int(experiment.totals["replication"].nunique())
    print(
        f"{scenario.name}: {len(experiment.scenarios)} variants x {n} replications "
        f"(seed {experiment.seed}); mean ± half-width of the 95% confidence interval"
    )
    print(_sweep_table(experiment, kpis))
    _flush()
    names = ", ".join(p.name for p in experiment.save(args.out))
    print(f"wrote {names} to {args.out}", file=sys.stderr)
    return _finish(experiment)


def _run(args: argparse.Namespace) -> int:
    scenario = _load(args.scenario)
    if args.reps > 1:
        return _replicate(args, scenario)
    result = simulate(scenario, seed=args.seed, snapshot=_snapshot(args, scenario))
    if args.format == "json":
        print(json.dumps(result.to_dict(), indent=2, allow_nan=False))
    elif args.format == "csv":
        print(result.summary().to_csv(index=False), end="")
    else:
        print(format_table(result))
    if args.out is not None:
        _flush()
        _write_outputs(result, args.out)
        print(
            f"wrote weekly.csv, weekly_by_source.csv, funnel_by_source.csv, leads.csv, "
            f"reps.csv, kpis.json to {args.out}",
            file=sys.stderr,
        )
    return EXIT_OK


def _costs(items: list[str]) -> dict[str, Any]:
    for item in items:
        try:
            value = float(item.partition("=")[2])
        except ValueError:
            continue  # parse_costs says how to write it
        if not math.isfinite(value):
            raise ScenarioError([f"--cost {item!r}: the value must be a finite number >= 0"])
    try:
        return parse_costs(items)
    except ValueError as exc:
        raise ScenarioError([str(exc)]) from None


def _numbers(option: str, text: str, kind: type = float) -> list[Any]:
    example = "40,50,60" if kind is float else "0,2,3"
    try:
        values = [kind(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise ScenarioError([f"{option} {text!r}: write numbers, e.g. {example}"]) from None
    if text.strip() and not values:
        raise ScenarioError([f"{option} {text!r}: no numbers given; write e.g. {example}"])
    if not all(math.isfinite(v) for v in values):
        raise ScenarioError([f"{option} {text!r}: write finite numbers, e.g. {example}"])
    return values


def _thresholds(args: argparse.Namespace) -> int:
    scenario = _load(args.scenario)
    values = _numbers("--values", args.values)
    requires = _numbers("--sql-require", args.sql_require, int)
    if not values and not requires:
        raise ScenarioError(["give --values (thresholds) or --sql-require, e.g. --values 40,50,60"])
    try:
        comparison = _quietly(
            compare_thresholds,
            scenario,
            values,
            args.reps,
            sql_require=requires or None,
            seed=args.seed,
            workers=args.workers,
            progress=sys.stderr.isatty(),
            snapshot=_snapshot(args, scenario),
            costs=_costs(args.cost),
            service_level=args.service_level or None,
            max_utilisation=args.max_utilisation,
            min_valid_rate=args.min_valid_rate,
            min_valid_per_week=args.min_valid_per_week,
            saturation=args.saturation,
            open_pipeline=not args.no_open_pipeline,
            fallback=args.fallback,
            explain=not args.no_explain,
        )
    except ValueError as exc:
        raise ScenarioError([f"{args.scenario}: {exc}"]) from None
    texts = ["failed_targets", "marginal_targets"]
    table = comparison.overview.drop(columns=texts).set_index("option").T
    print(comparison.verdict)
    print()
    print(
        table.to_string(
            float_format=lambda v: f"{v:,.0f}" if abs(v) >= 1000 else f"{v:.3g}", na_rep=NA
        )
    )
    for row in comparison.overview.itertuples(index=False):
        if row.failed_targets:
            print(f"{row.option} fails: {row.failed_targets}")
        if row.marginal_targets:
            print(f"{row.option} meets only within the noise: {row.marginal_targets}")
    if comparison.gap is not None:
        print()
        print(f"Spreadsheet against simulation at {comparison.current_option}: "
              f"{comparison.gap.verdict}")  # fmt: skip
    _flush()  # the answer is out before anything is written
    _write_report(comparison, args)
    if args.out is not None:
        args.out.mkdir(parents=True, exist_ok=True)
        write_csv(comparison.table, args.out / "thresholds.csv")
        write_csv(comparison.overview, args.out / "overview.csv")
        _save(comparison.plot("valid_opportunities"), args.out / "valid_opportunities.png")
        _save(comparison.plot("objective"), args.out / "objective.png")
        _save(comparison.plot_tradeoff(), args.out / "tradeoff.png")
        print(f"wrote thresholds.csv, overview.csv and three plots to {args.out}", file=sys.stderr)
    return _finish(comparison.experiment)


def _size(args: argparse.Namespace) -> int:
    scenario = _load(args.scenario)
    try:
        sizing = size_team(
            scenario,
            args.role,
            opt.targets(args.target),
            args.confidence,
            args.reps,
            seed=args.seed,
            workers=args.workers,
            progress=sys.stderr.isatty(),
            snapshot=_snapshot(args, scenario),
            explain=not args.no_explain,
        )
    except ValueError as exc:
        raise ScenarioError([f"{args.scenario}: {exc}"]) from None
    print(sizing.verdict)
    print()
    print(sizing.table.to_string(index=False, float_format=lambda v: f"{v:,.3g}", na_rep=NA))
    if not sizing.explanation.empty:
        print()
        print(
            sizing.explanation.to_string(index=False, float_format=lambda v: f"{v:,.3g}", na_rep=NA)
        )
    _flush()
    _write_report(sizing, args)
    if args.out is not None:
        args.out.mkdir(parents=True, exist_ok=True)
        write_csv(sizing.table, args.out / "sizing.csv")
        if not sizing.explanation.empty:
            write_csv(sizing.explanation, args.out / "explanation.csv")
        for i, target in enumerate(sizing.targets):
            _save(sizing.plot(i), args.out / f"{target.metric}.png")
        print(f"wrote sizing.csv and {len(sizing.targets)} plot(s) to {args.out}", file=sys.stderr)
    return EXIT_OK if sizing.headcount is not None else EXIT_FAILED


def _forecast(args: argparse.Namespace) -> int:
    scenario = _load(args.scenario)
    try:
        result = _quietly(
            forecast,
            scenario,
            args.weeks,
            args.reps,
            seed=args.seed,
            workers=args.workers,
            snapshot=_snapshot(args, scenario),
            progress=sys.stderr.isatty(),
            level=args.level,
            warm_up=args.warm_up,
            parameter_draws=False if args.no_parameter_draws else None,
        )
    except ValueError as exc:
        raise ScenarioError([f"{args.scenario}: {exc}"]) from None
    except ReplicationError as exc:
        print(exc, file=sys.stderr)
        return EXIT_FAILED
    print(result.verdict)
    print()
    totals = result.totals_table()
    print(totals.to_string(index=False, float_format=lambda v: f"{v:,.0f}", na_rep=NA))
    split = result.variance_split() if result.parameter_draws else None
    if split is not None:
        print()
        print("Spread of the totals: with parameter draws, process noise only, parameter share")
        shown = split.assign(parameter_share=split["parameter_share"].map(_share_text))
        print(shown.to_string(index=False, float_format=lambda v: f"{v:,.1f}", na_rep=NA))
    _flush()
    _write_report(result, args)
    if args.out is not None:
        args.out.mkdir(parents=True, exist_ok=True)
        write_csv(result.bands, args.out / "bands.csv")
        write_csv(result.cumulative, args.out / "cumulative.csv")
        _save(result.plot("valid_opportunities"), args.out / "valid_opportunities.png")
        _save(result.plot("pipeline_value", cumulative=True), args.out / "pipeline_value.png")
        if split is not None:
            write_csv(split, args.out / "variance_split.csv")
        what = "bands.csv, cumulative.csv and two fan charts"
        if split is not None:
            what = "bands.csv, cumulative.csv, two fan charts and variance_split.csv"
        print(f"wrote {what} to {args.out}", file=sys.stderr)
    return _finish(result.experiment)


def _share_text(value: float) -> str:
    return f"{value:.0%}" if math.isfinite(value) else NA


def _hire(args: argparse.Namespace) -> int:
    scenario = _load(args.scenario)
    volume = {}
    for item in args.volume:
        month, sep, factor = item.partition("=")
        try:
            volume[month.strip()] = float(factor)
            if not math.isfinite(volume[month.strip()]) or volume[month.strip()] < 0:
                raise ValueError
        except ValueError:
            raise ScenarioError(
                [
                    f"--volume {item!r}: write YYYY-MM=FACTOR (a finite number >= 0), e.g. 2026-04=1.5"
                ]
            ) from None
        if not sep or not re.fullmatch(r"\d{4}-\d{2}", month.strip()):
            raise ScenarioError([f"--volume {item!r}: write YYYY-MM=FACTOR, e.g. 2026-04=1.5"])
    try:
        plan = hiring_plan(
            scenario,
            volume,
            args.role,
            opt.targets(args.target),
            args.confidence,
            args.reps,
            seed=args.seed,
            workers=args.workers,
            progress=sys.stderr.isatty(),
            explain=not args.no_explain,
        )
    except ValueError as exc:
        raise ScenarioError([f"{args.scenario}: {exc}"]) from None
    print(plan.verdict)
    print()
    print(plan.table.to_string(index=False, float_format=lambda v: f"{v:,.2f}", na_rep=NA))
    if not plan.explanation.empty:
        print()
        print(plan.explanation.to_string(index=False, na_rep=NA))
    _flush()
    _write_report(plan, args)
    if args.out is not None:
        args.out.mkdir(parents=True, exist_ok=True)
        write_csv(plan.table, args.out / "hiring_plan.csv")
        _save(plan.plot(), args.out / "hiring_plan.png")
        print(f"wrote hiring_plan.csv and hiring_plan.png to {args.out}", file=sys.stderr)
    # Exit 1 when a month stays short by more than the tolerance (status "short").
    return EXIT_FAILED if (plan.table["shortfall"] > SLACK).any() else EXIT_OK


def _explain(args: argparse.Namespace) -> int:
    scenario = _load(args.scenario)
    gap = explain_gap(
        scenario,
        args.metric,
        args.reps,
        seed=args.seed,
        workers=args.workers,
        progress=sys.stderr.isatty(),
        snapshot=_snapshot(args, scenario),
    )
    print(gap.verdict)
    print()
    print(gap.table.to_string(index=False, float_format=lambda v: f"{v:,.1f}", na_rep=""))
    return _finish(gap.experiment)


def _waterfall(args: argparse.Namespace) -> int:
    scenario = _load(args.scenario)
    try:
        table = reverse_waterfall_for(scenario, args.revenue)
    except ValueError as exc:
        raise ScenarioError([f"{args.scenario}: {exc}"]) from None
    r = scenario_rates(scenario)
    print(
        f"{scenario.name}: {args.revenue:,.0f} in {scenario.weeks} weeks at a mean deal of "
        f"{r.deal_value:,.0f} (nominal rates: no capacity limit, no speed-to-lead decay)"
    )
    print(table.to_string(index=False, float_format="{:,.2f}".format, na_rep=""))
    w = sdr_workload(scenario)
    print(
        f"\nSDR load of the scenario's own MQL flow: {w.load_hours_per_week:,.0f} rep-hours a "
        f"week; {w.headcount_by_occupancy:.1f} SDRs at {w.target_occupancy:.0%} occupancy, "
        f"{w.headcount_by_erlang_c:.1f} by Erlang C for {w.erlang_c.target:.0%} of touches "
        f"within {w.erlang_c.answer_within:g} h (now {w.headcount_now})"
    )
    return EXIT_OK


def _diagnose(args: argparse.Namespace) -> int:
    scenario = _load(args.scenario)
    result = simulate(scenario, seed=args.seed, snapshot=None)
    found = diagnose(
        result,
        phase=args.phase,
        levers=0 if args.no_levers else args.reps,
        seed=args.seed,
        workers=args.workers,
        progress=sys.stderr.isatty(),
    )
    print(_diagnosis_text(found))
    return EXIT_OK


def _diagnosis_text(found: Any) -> str:
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


def _reading(args: argparse.Namespace) -> dict[str, Any]:
    """How to read the exports: the options fit and backtest share."""
    return {
        "style": args.style,
        "mapping": args.mapping,
        "date_format": args.date_format,
        "start": args.start,
        "encoding": args.encoding,
        "sep": args.sep,
    }


def _need_leads(args: argparse.Namespace) -> None:
    if args.leads is None:
        raise ScenarioError([f"{args.command} needs --leads LEADS.csv (the lead lifecycle export)"])


def _fit(args: argparse.Namespace) -> int:
    from ..calibration import fit

    _need_leads(args)
    cal = fit(
        args.leads,
        args.calls,
        args.opportunities,
        **_reading(args),
        as_of=args.as_of,
        horizon_weeks=args.horizon,
        overrides=opt.settings(args.overrides),
        since=args.since,
        half_life_weeks=args.half_life,
    )
    path = cal.write_scenario(args.out)
    report = cal.report
    print(f"wrote {path}: {len(cal.parameters)} fitted parameters; {len(report)} rows reported")
    if len(report):
        print(report.groupby(["file", "problem", "action"]).size().to_string())
    _flush()
    if args.tables is not None:
        saved = cal.save(args.tables)
        print(f"wrote {len(saved)} tables and plots to {args.tables}", file=sys.stderr)
    _write_report(cal, args)
    return EXIT_OK


def _backtest(args: argparse.Namespace) -> int:
    from ..calibration import STAGES, backtest

    if cli_cohorts.wants_rolling(args):
        return cli_cohorts.rolling(args)
    _need_leads(args)
    if args.cutoff is None:
        raise ScenarioError(["backtest needs --cutoff DATE (one cutoff, simulated) or "
                             "--every month / --cutoffs A,B (rolling origin, cohort model)"])  # fmt: skip
    number, unit = args.horizon
    if unit == "months" and args.freq == "W":
        raise ScenarioError(["--horizon in months is scored by month: leave out --freq W"])
    bt = backtest(
        args.leads,
        args.cutoff,
        number if unit == "weeks" else None,
        args.calls,
        args.opportunities,
        **_reading(args),
        horizon_months=number if unit == "months" else None,
        overrides=opt.settings(args.overrides),
        reps=args.reps,
        seed=args.seed,
        workers=args.workers,
        progress=sys.stderr.isatty(),
        arrivals=args.arrivals,
        start_from=args.start_from,
        freq=args.freq,
    )
    print(bt.summary.to_string(index=False, na_rep=NA))
    _flush()
    _write_report(bt, args)
    if args.out is not None:
        args.out.mkdir(parents=True, exist_ok=True)
        write_csv(bt.periods, args.out / "periods.csv")
        write_csv(bt.summary, args.out / "summary.csv")
        for metric in STAGES:
            _save(bt.plot(metric), args.out / f"{metric}.png")
        print(f"wrote periods.csv, summary.csv and plots to {args.out}", file=sys.stderr)
    return EXIT_OK


def _export(args: argparse.Namespace) -> int:
    from ..results import write_exports

    result = simulate(_load(args.scenario), seed=args.seed, trace=True)
    for name, path in write_exports(result, args.out, style=args.style, seed=args.seed).items():
        print(f"{name}: {path}")
    return EXIT_OK


def _report(args: argparse.Namespace) -> int:
    from ..present import write_report

    scenario = _load(args.scenario)
    result = simulate(scenario, seed=args.seed)
    path = write_report(result, args.out, title=args.title)
    print(f"wrote {path}", file=sys.stderr)
    return EXIT_OK


def _flush() -> None:
    """Show what is printed (the verdict) before files are written. A reader gone (``| head``)
    does not stop the work (main's GuardedStdout)."""
    sys.stdout.flush()


def _write_report(obj: Any, args: argparse.Namespace) -> None:
    """--report PATH on a decision command: the same answer as one HTML file."""
    if getattr(args, "report", None) is not None:
        from ..present import write_report

        print(f"wrote {write_report(obj, args.report)}", file=sys.stderr)


def _save(ax: Any, path: Path) -> None:
    import matplotlib.pyplot as plt

    ax.figure.tight_layout()
    try:
        save_figure(ax.figure, path, dpi=120)
    finally:
        plt.close(ax.figure)


def _validate(args: argparse.Namespace) -> int:
    scenario = _load(args.scenario)
    print(
        f"{args.scenario}: ok ({scenario.name}, {len(scenario.sources)} sources, "
        f"{scenario.weeks} weeks)"
    )
    return EXIT_OK


def main(argv: list[str] | None = None) -> int:
    """Entry point of the console script; returns the exit code."""
    try:
        args = _parser().parse_args(argv)
    except SystemExit as exc:  # --help, --version, or a bad option (one line already printed)
        return exc.code if isinstance(exc.code, int) else EXIT_BAD_INPUT
    if getattr(args, "max_memory", None) is not None:
        os.environ[MEMORY_VARIABLE] = args.max_memory  # before any work, and for the workers
    commands = {
        "run": _run,
        "sweep": _sweep,
        "thresholds": _thresholds,
        "size": _size,
        "forecast": _forecast,
        "hire": _hire,
        "explain": _explain,
        "report": _report,
        "fit": _fit,
        "backtest": _backtest,
        "outlook": cli_cohorts.outlook,
        "export": _export,
        "waterfall": _waterfall,
        "diagnose": _diagnose,
        "validate": _validate,
    }
    guard = sys.stdout = opt.GuardedStdout(sys.stdout)
    try:
        opt.check_outputs(args)  # every output path, before any simulation or fit
        code = commands[args.command](args)
        sys.stdout.flush()  # here, so that a closed pipe is seen while it can be handled
        # `simfunnel ... | head`: the work went on; exit code 1, as Python's on EPIPE (the
        # docs' note on SIGPIPE).
        return EXIT_FAILED if guard.closed and code == EXIT_OK else code
    except BrokenPipeError:  # not through the guard (a library writing to the file itself)
        opt.stdout_gone()
        return EXIT_FAILED
    except OutputError as exc:
        print(exc, file=sys.stderr)
        return EXIT_BAD_INPUT
    except ScenarioError as exc:
        for problem in exc.problems:
            print(problem, file=sys.stderr)
        return EXIT_BAD_INPUT
    except (ExperimentError, CalibrationError) as exc:
        print(exc, file=sys.stderr)
        return EXIT_BAD_INPUT
    except OSError as exc:  # read-only, no space, a folder where a file goes...: one line
        print(opt.os_error(exc), file=sys.stderr)
        return EXIT_FAILED
    finally:
        sys.stdout = guard.stream
