"""Commands that read CRM exports: fit a scenario, and backtest its forecasts."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..scenario import ScenarioError
from . import cohorts as cli_cohorts
from . import options as opt
from .common import (
    EXIT_OK,
    INTERVAL_REPS,
    Command,
    export_args,
    flush,
    force,
    need_leads,
    positive,
    reading,
    set_option,
    write_report_if_asked,
)


def fit_args(fit: argparse.ArgumentParser) -> None:
    """The options of `simfunnel fit`."""
    export_args(fit)
    fit.add_argument(
        "--as-of", type=opt.date, default=None, help="when the extract was taken (YYYY-MM-DD)"
    )
    fit.add_argument("--horizon", type=positive, default=13, help="weeks the scenario runs")
    cli_cohorts.add_window_args(fit)
    set_option(fit)
    fit.add_argument("--out", type=Path, required=True, help="scenario YAML to write")
    fit.add_argument(
        "--tables", type=Path, default=None, help="also save the fitted tables and plots here"
    )
    fit.add_argument(
        "--report", type=Path, default=None, metavar="HTML", help="also write an HTML report"
    )
    force(fit)


def fit_command(args: argparse.Namespace) -> int:
    from ..calibration import fit

    need_leads(args)
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
    print(f"wrote {path}: {cal.text()}")
    flush()
    if args.tables is not None:
        saved = cal.save(args.tables)
        print(f"wrote {len(saved)} tables and plots to {args.tables}", file=sys.stderr)
    write_report_if_asked(cal, args)
    return EXIT_OK


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
        type=opt.horizon,
        required=True,
        help="weeks to forecast (13, 13weeks) or calendar months (3months: to a month's end, "
        "scored by month)",
    )
    set_option(bt)
    bt.add_argument(
        "--reps",
        type=INTERVAL_REPS,
        default=19,
        help="replications (default 19; at least 100 with --every or --cutoffs)",
    )
    bt.add_argument("--seed", type=opt.seed, default=0, help="random seed (default 0)")
    bt.add_argument("--workers", type=positive, default=None, help="worker processes")
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
    force(bt)


def backtest_command(args: argparse.Namespace) -> int:
    from ..calibration import backtest

    if cli_cohorts.wants_rolling(args):
        return cli_cohorts.rolling(args)
    need_leads(args)
    if args.cutoff is None:
        raise ScenarioError(
            [
                "backtest needs --cutoff DATE (one cutoff, simulated) or "
                "--every month / --cutoffs A,B (rolling origin, cohort model)"
            ]
        )
    number, unit = args.horizon
    if unit == "months" and args.freq == "W":
        raise ScenarioError(["--horizon in months is scored by month: leave out --freq W"])
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
        progress=sys.stderr.isatty(),
        arrivals=args.arrivals,
        start_from=args.start_from,
        freq=args.freq,
    )
    print(bt.text())
    flush()
    write_report_if_asked(bt, args)
    if args.out is not None:
        bt.save(args.out)
        print(f"wrote periods.csv, summary.csv and plots to {args.out}", file=sys.stderr)
    return EXIT_OK


def outlook_args(look: argparse.ArgumentParser) -> None:
    """The options of `simfunnel outlook`."""
    export_args(look)
    cli_cohorts.add_outlook_args(look)


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
