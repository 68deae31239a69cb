"""Commands that simulate a scenario as it is: run, sweep, export, report, validate."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import options as opt
from .common import (
    EXIT_OK,
    STYLE_NAMES,
    Command,
    add_execution,
    finish,
    force,
    format_arg,
    load,
    note,
    problem,
    progress,
    quietly,
    report_arg,
    scenario_args,
    snapshot_of,
)
from .output import deliver, ticking
from .tables import currency_json, experiment_json, records

if TYPE_CHECKING:
    from ..experiments import Experiment
    from ..scenario import Scenario

SWEEP_KPIS = ("mqls", "sqls", "won", "won_value")  # what `sweep` prints unless --kpi is given


def run_args(run: argparse.ArgumentParser) -> None:
    """The options of `simfunnel run`."""
    scenario_args(run, seed=True)
    format_arg(run, alias=True)
    run.add_argument(
        "--out",
        type=Path,
        default=None,
        metavar="DIR",
        help="directory to also write weekly.csv, weekly_by_source.csv, leads.csv and kpis.json "
        "in; with --reps above 1, every replication as it finishes (a rerun resumes) and the "
        "tidy tables",
    )
    report_arg(run)
    force(run)
    add_execution(run, reps_default=1, interval=False)


def run_command(args: argparse.Namespace) -> int:
    from ..experiments import simulate

    if args.format == "table":  # the name the format had before text
        args.format = "text"
    scenario = load(args.scenario)
    if args.reps > 1:
        return replicate(args, scenario)
    with ticking(args, "simulating"):
        result = simulate(scenario, seed=args.seed, snapshot=snapshot_of(args, scenario))
    deliver(args, result, summary=False, extra=result.to_dict())
    return EXIT_OK


def replicate(args: argparse.Namespace, scenario: Scenario) -> int:
    from ..experiments import run

    experiment = quietly(
        run,
        scenario,
        args.reps,
        seed=args.seed,
        workers=args.workers,
        progress=progress(args),
        out=args.out,
        snapshot=snapshot_of(args, scenario),
    )
    deliver(args, experiment, summary=False, extra=experiment_json(experiment))
    return finish(experiment)


def sweep_args(grid: argparse.ArgumentParser) -> None:
    """The options of `simfunnel sweep`."""
    scenario_args(grid, seed=True)
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
        "--out",
        type=Path,
        required=True,
        metavar="DIR",
        help="directory for the tidy tables (and resuming)",
    )
    grid.add_argument(
        "--kpi",
        action="append",
        default=None,
        metavar="NAME",
        help=f"KPI to print, repeatable (default: {', '.join(SWEEP_KPIS)})",
    )
    format_arg(grid)
    report_arg(grid)
    force(grid)
    add_execution(grid, reps_default=None, interval=False, settle="precision")


def split_values(text: str) -> list[str]:
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


def settings_grid(scenario: Scenario, settings: list[str], source: str) -> dict[str, list[Any]]:
    """``--set path=v1,v2`` options as a grid; each value checked alone, like a file."""
    import yaml

    from ..scenario import with_overrides

    grid: dict[str, list[Any]] = {}
    for setting in settings:
        path, sep, text = setting.partition("=")
        path = path.strip()
        if not sep or not path or not text.strip():
            raise problem(f"--set {setting!r}: write PATH=VALUE[,VALUE...]")
        if path in grid:
            raise problem(f"--set {path}: given twice; list every value in one --set")
        values = []
        for item in split_values(text):
            try:
                value = yaml.safe_load(item) if item.strip() else None
            except yaml.YAMLError:
                raise problem(f"--set {path}: cannot read the value {item!r}") from None
            if opt.not_finite(value):
                raise problem(f"--set {path}: the value {item.strip()!r} is not finite")
            with_overrides(scenario, {path: value}, source=f"{source} --set")
            if value in values:
                raise problem(f"--set {path}: the value {item.strip()!r} is given twice")
            values.append(value)
        grid[path] = values
    return grid


def check_kpis(names: list[str], scenario: Scenario) -> None:
    """Refuse a --kpi the report never has before the sweep runs, naming the close ones: a
    typo found after an hour of runs would cost the hour."""
    import difflib

    from ..results.kpis import KPIS, find_kpi

    for name in names:
        section, _, metric = name.rpartition(".")
        if find_kpi(metric, section or None) is None:
            known = [k.key for k in KPIS.values() if not k.pattern]
            near = difflib.get_close_matches(name, known + [k.name for k in KPIS.values()], 3)
            hint = f"; did you mean {', '.join(near)}?" if near else ""
            raise problem(
                f"--kpi {name}: no such KPI{hint} (a name such as won or totals.won; "
                "docs/results.md lists them all)"
            )
        sources = scenario.source_names
        if section == "leads_by_source" and metric not in sources:
            raise problem(f"--kpi {name}: the scenario's sources are {', '.join(sources)}")


def sweep_table(experiment: Experiment, kpis: list[str]) -> str:
    """One row per variant: its parameters, then mean +- half-width of each KPI."""
    from ..results import kpi_text

    summary = experiment.summary()
    table = experiment.params.copy()
    for name in kpis:
        section, _, metric = name.rpartition(".")
        rows = summary[summary["metric"] == metric]
        if section:
            rows = rows[rows["section"] == section]
        if rows.empty:
            there = summary.loc[summary["section"] == section, "metric"].unique().tolist()
            has = f"; {section} has {', '.join(map(str, there))}" if section and there else ""
            raise problem(f"--kpi {name}: not in this scenario's report{has}")
        rows = rows.drop_duplicates("variant")  # a bare name: the first section that has it
        currency = experiment.scenario.currency
        cells = {
            r.variant: " ± ".join(
                kpi_text(v, metric, str(r.section), currency=currency).strip()
                for v in (r.mean, r.half_width)
            )
            for r in rows.itertuples(index=False)
        }
        table[name] = table["variant"].map(cells)
    shown = table.drop(columns="variant") if table.shape[1] > 1 + len(kpis) else table
    return shown.to_string(index=False)


def sweep_command(args: argparse.Namespace) -> int:
    from ..experiments import settle_plan, sweep

    scenario = load(args.scenario)
    grid = settings_grid(scenario, args.settings, str(args.scenario))
    check_kpis(args.kpi or [], scenario)
    # Unless --reps alone fixes the count: until each point's valid opportunities against the
    # first point's are known to --precision (every point runs on: a sweep ranks nothing).
    first, rule = settle_plan(
        args.reps,
        args.precision,
        args.max_reps,
        "totals.valid_opportunities",
        ranked=False,
        baseline="the first point",
    )
    experiment = quietly(
        sweep,
        scenario,
        grid,
        first,
        seed=args.seed,
        workers=args.workers,
        progress=progress(args),
        out=args.out,
        snapshot=snapshot_of(args, scenario),
        settle=rule,
    )
    kpis = args.kpi or [k for k in SWEEP_KPIS if (experiment.totals["metric"] == k).any()]
    settled = (
        ""
        if rule is None
        else f", until each point's valid opportunities against the first point's were known "
        f"to +/-{rule.relative:.0%} of its level (at most {rule.max_reps})"
    )
    counts = experiment.totals.groupby("variant")["replication"].nunique()
    runs = (
        f"{counts.min()}" if counts.min() == counts.max() else f"{counts.min()} to {counts.max()}"
    )
    text = (
        f"{scenario.name}: {len(experiment.scenarios)} variants x {runs} replications{settled} "
        f"(seed {experiment.seed}); mean ± half-width of the 95% confidence interval\n"
        f"{sweep_table(experiment, kpis)}"
    )
    deliver(args, experiment, text=text, summary=False, extra=sweep_json(experiment))
    return finish(experiment)


def sweep_json(experiment: Experiment) -> dict[str, Any]:
    """What `sweep --format json` adds to the shape: the run and each variant's settings."""
    return {
        "seed": experiment.seed,
        "reps": experiment.reps,
        "complete": experiment.complete,
        **currency_json(experiment.scenario),
        "variants": records(experiment.params),
        "failures": records(experiment.failures.drop(columns="traceback")),
    }


def export_args(export: argparse.ArgumentParser) -> None:
    """The options of `simfunnel export`."""
    scenario_args(export, seed=True)
    export.add_argument("--style", choices=STYLE_NAMES, default="hubspot")
    export.add_argument(
        "--out", type=Path, required=True, metavar="DIR", help="directory for the CSV files"
    )
    force(export)


def export_command(args: argparse.Namespace) -> int:
    from ..experiments import simulate
    from ..results import write_exports

    scenario = load(args.scenario)
    with ticking(args, "simulating and writing the exports"):
        result = simulate(scenario, seed=args.seed, trace=True)
        written = write_exports(result, args.out, style=args.style, seed=args.seed)
    for name, path in written.items():
        print(f"{name}: {path}")
    return EXIT_OK


def report_args(report: argparse.ArgumentParser) -> None:
    """The options of `simfunnel report`."""
    scenario_args(report, seed=True)
    report.add_argument(
        "--out",
        type=Path,
        default=Path("report.html"),
        metavar="FILE",
        help="the HTML file to write (a file, not a directory; default report.html)",
    )
    report.add_argument("--title", default=None, help="the report's title")


def report_command(args: argparse.Namespace) -> int:
    from ..decisions import diagnose
    from ..experiments import simulate
    from ..present import write_report

    scenario = load(args.scenario)
    with ticking(args, "simulating"):
        result = simulate(scenario, seed=args.seed)
        # A run's report also says where its funnel leaks (a decision on the run, not the run).
        leaks = diagnose(result, levers=0)
        look = " ".join(text for _, text in leaks.points)
        path = write_report(
            result,
            args.out,
            title=args.title,
            points=[("Where to look first", look)] if look else [],
        )
    note(args, f"wrote {path}")
    return EXIT_OK


def validate_args(validate: argparse.ArgumentParser) -> None:
    """The options of `simfunnel validate`."""
    scenario_args(validate, seed=False)


def validate_command(args: argparse.Namespace) -> int:
    scenario = load(args.scenario)
    print(
        f"{args.scenario}: ok ({scenario.name}, {len(scenario.sources)} sources, {scenario.period})"
    )
    return EXIT_OK


# This module's commands, in the order `simfunnel --help` lists them.
COMMANDS = (
    Command(
        "run",
        "simulate a scenario and print its KPIs",
        run_args,
        run_command,
    ),
    Command(
        "sweep",
        "replicate every combination of --set values, on common random numbers",
        sweep_args,
        sweep_command,
    ),
    Command(
        "export",
        "simulate a scenario and write synthetic CRM exports",
        export_args,
        export_command,
    ),
    Command(
        "report",
        "one self-contained HTML report of a run",
        report_args,
        report_command,
    ),
    Command(
        "validate",
        "check a scenario file and report every problem",
        validate_args,
        validate_command,
    ),
)
