"""Commands that read CRM exports: fit a scenario, and backtest its forecasts."""

from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path
from typing import Any

from . import cohorts as cli_cohorts
from . import options as opt
from .common import (
    EXIT_OK,
    Command,
    answer_outputs,
    export_args,
    flush,
    force,
    format_arg,
    need_leads,
    note,
    positive,
    problem,
    progress,
    reading,
    report_arg,
    set_option,
)
from .output import show, ticking, write_files


def fit_args(fit: argparse.ArgumentParser) -> None:
    """The options of `simfunnel fit`."""
    export_args(fit)
    fit.add_argument(
        "--as-of", type=opt.date, default=None, help="when the extract was taken (YYYY-MM-DD)"
    )
    fit.add_argument("--horizon", type=positive, default=13, help="weeks the scenario runs")
    cli_cohorts.add_window_args(fit)
    set_option(fit)
    fit.add_argument(
        "--out",
        type=Path,
        required=True,
        metavar="FILE",
        help="the scenario YAML to write (a file, not a directory: --tables takes the directory)",
    )
    fit.add_argument(
        "--tables",
        type=Path,
        default=None,
        metavar="DIR",
        help="directory to also save the fitted tables and plots in",
    )
    fit.add_argument(
        "--snapshot-out",
        type=Path,
        default=None,
        metavar="FILE",
        help="also write the open pipeline at the as-of date (a lead table, CSV) for "
        "`simfunnel forecast SCENARIO --snapshot FILE --warm-up 0`: the forecast then starts "
        "from the leads and deals open today, not from a warm-up",
    )
    format_arg(fit)
    report_arg(fit)
    force(fit)


def fit_command(args: argparse.Namespace) -> int:
    from ..calibration import fit

    need_leads(args)
    with ticking(args, "fitting"):
        cal = fit(
            args.leads,
            args.calls,
            args.opportunities,
            **reading(args),
            as_of=args.as_of,
            horizon_weeks=args.horizon,
            overrides=opt.settings(args.overrides),
            since=args.since,
            half_life_weeks=args.half_life,
        )
    path = cal.write_scenario(args.out)
    if args.format == "text":
        print(f"wrote {path}: {cal.text()}")
    else:
        note(args, f"wrote {path}")
        show(args, cal, extra={"scenario_file": path})
    flush()
    if args.tables is not None:
        saved = cal.save(args.tables)
        note(args, f"wrote {len(saved)} tables and plots to {args.tables}")
    if args.snapshot_out is not None:
        _write_pipeline(args, cal, path)
    write_files(args, cal)  # --report: its --out is the scenario file, written above
    return EXIT_OK


def _write_pipeline(args: argparse.Namespace, cal: Any, scenario_file: Path) -> None:
    """The open pipeline at the as-of date, written for ``forecast --snapshot``; how many
    leads in each state, what was assumed, and the command that uses it."""
    from ..base.files import write_csv
    from ..calibration import open_pipeline

    table, notes = open_pipeline(cal)
    write_csv(table, args.snapshot_out)
    counts = table["end_state"].value_counts()
    states = ", ".join(f"{n:,} {s}" for s, n in counts.items())
    note(
        args,
        f"wrote {args.snapshot_out}: the funnel at {cal.as_of:%Y-%m-%d}, {len(table):,} leads "
        f"({states}); forecast from it with: simfunnel forecast {scenario_file} "
        f"--snapshot {args.snapshot_out} --warm-up 0",
    )
    for text in notes:
        note(args, f"note: {text}")


def backtest_args(bt: argparse.ArgumentParser) -> None:
    """The options of `simfunnel backtest`."""
    export_args(bt)
    bt.add_argument(
        "--cutoff",
        type=opt.date,
        default=None,
        help="the date the fit stops and the test starts (YYYY-MM-DD): one cutoff, simulated",
    )
    cli_cohorts.add_rolling_args(bt)
    bt.add_argument(
        "--horizon",
        type=cli_cohorts.horizon,
        required=True,
        help="weeks to forecast (13, 13weeks) or calendar months (3months: to a month's end, "
        f"scored by month); at most {cli_cohorts.MAX_HORIZON_WEEKS} weeks or "
        f"{cli_cohorts.MAX_HORIZON_MONTHS} months",
    )
    set_option(bt)
    bt.add_argument(
        "--reps",
        type=cli_cohorts.within(
            2, cli_cohorts.MAX_REPS, ": a band needs two, and more only take longer"
        ),
        default=19,
        help="replications (default 19; at least 100 with --every or --cutoffs; at most "
        f"{cli_cohorts.MAX_REPS:,})",
    )
    bt.add_argument("--seed", type=opt.seed, default=0, help="random seed (default 0)")
    bt.add_argument("--workers", type=positive, default=None, help="worker processes")
    bt.add_argument(
        "--arrivals",
        choices=("forecast", "actual"),
        default=None,
        help="forecast arrivals, or replay the leads that actually came (default forecast)",
    )
    bt.add_argument(
        "--start-from",
        choices=("snapshot", "warm_up"),
        default=None,
        help="the funnel as the export shows it at the cutoff, or a warm-up (default snapshot)",
    )
    bt.add_argument(
        "--freq",
        choices=("W", "M", "Q"),
        default=None,
        help="weeks or calendar months (default W; M with a horizon in months); Q scores "
        "months and adds the quarters",
    )
    answer_outputs(bt, "periods.csv, summary.csv and a chart per metric")


def backtest_command(args: argparse.Namespace) -> int:
    from ..calibration import backtest

    if cli_cohorts.wants_rolling(args):
        return cli_cohorts.rolling(args)
    need_leads(args)
    if args.cutoff is None:
        raise problem(
            "backtest needs --cutoff DATE (one cutoff, simulated) or "
            "--every month / --cutoffs A,B (rolling origin, cohort model)"
        )
    cli_cohorts.refuse_unused(
        args,
        cli_cohorts.ROLLING_ONLY,
        "with --cutoff, which runs the simulation's backtest at that one cutoff (--model, "
        "--from and --to belong to --every or --cutoffs)",
    )
    number, unit = args.horizon
    if unit == "months" and args.freq == "W":
        raise problem("--horizon in months is scored by month: leave out --freq W")
    bt = backtest(
        args.leads,
        args.cutoff,
        number if unit == "weeks" else None,
        args.calls,
        args.opportunities,
        **reading(args),
        horizon_months=number if unit == "months" else None,
        overrides=opt.settings(args.overrides),
        reps=args.reps,
        seed=args.seed,
        workers=args.workers,
        progress=progress(args),
        arrivals=args.arrivals or "forecast",
        start_from=args.start_from or "snapshot",
        freq="M" if args.freq == "Q" else args.freq,
        since=args.since,
        half_life_weeks=args.half_life,
        parameter_draws=False if args.no_parameter_draws else None,
    )
    answer = dataclasses.replace(bt, roll_up="Q") if args.freq == "Q" else bt
    show(args, answer)
    flush()
    cli_cohorts.report_rows(args, bt.calibration.problems)
    for text in bt.notes:
        note(args, f"note: {text}")
    write_files(args, answer)
    return EXIT_OK


def outlook_args(look: argparse.ArgumentParser) -> None:
    """The options of `simfunnel outlook`."""
    export_args(look)
    cli_cohorts.add_outlook_args(look)
    answer_outputs(
        look, "stages.csv, arrivals.csv, forecast.csv, variance.csv and a chart per metric"
    )


# This module's commands, in the order `simfunnel --help` lists them.
COMMANDS = (
    Command(
        "fit",
        "fit a scenario from CRM exports (leads, calls, opps)",
        fit_args,
        fit_command,
    ),
    Command(
        "outlook",
        "forecast each calendar month straight from a lead export",
        outlook_args,
        cli_cohorts.outlook,
    ),
    Command(
        "backtest",
        "fit before a cutoff, forecast past it, score it",
        backtest_args,
        backtest_command,
    ),
)
