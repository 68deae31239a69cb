"""Command-line faces of the cohort model: ``simfunnel outlook`` (a monthly forecast straight
from an export) and the rolling-origin form of ``simfunnel backtest`` (``--every month`` or
``--cutoffs``). Kept apart from ``reading``, which holds the simulation's fit and backtest."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from . import options as opt
from .common import flush, note, progress
from .output import show, ticking, write_files

__all__ = ["add_outlook_args", "add_rolling_args", "add_window_args", "outlook", "rolling"]

_READ = ("style", "mapping", "date_format", "encoding", "sep")


def add_window_args(parser: argparse.ArgumentParser) -> None:
    """The cohort window: ``fit``, ``outlook`` and the rolling backtest share it."""
    parser.add_argument(
        "--since",
        type=opt.date,
        default=None,
        help="fit only cohorts from this date (default: all, or since a "
        "detected shift in a stage's conversion)",
    )
    parser.add_argument(
        "--half-life",
        type=float,
        default=None,
        metavar="WEEKS",
        help="weigh cohorts by recency with this half-life in weeks",
    )


def _draws_arg(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--no-parameter-draws",
        action="store_true",
        help="bands from process noise only (the fitted values held fixed)",
    )


def add_outlook_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--as-of",
        type=opt.date,
        default=None,
        help="when the extract was taken (default: its latest plausible date)",
    )
    parser.add_argument(
        "--months",
        type=int,
        default=3,
        help="whole calendar months to forecast, after the rest of the as-of month",
    )
    parser.add_argument("--reps", type=int, default=500, help="replications (default 500)")
    parser.add_argument("--seed", type=opt.seed, default=0, help="random seed (default 0)")
    add_window_args(parser)
    _draws_arg(parser)


def add_rolling_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--model",
        choices=("cohort", "simulation"),
        default="cohort",
        help="rolling origin: the forecaster judged (default cohort; simulation "
        "runs the simulation's backtest at every cutoff, slower)",
    )
    parser.add_argument(
        "--cutoffs",
        default=None,
        help="rolling origin: comma-separated cutoff dates (cohort model)",
    )
    parser.add_argument(
        "--every",
        choices=("month",),
        default=None,
        help="rolling origin: a cutoff at every month start (cohort model)",
    )
    parser.add_argument(
        "--from",
        dest="first",
        type=opt.date,
        default=None,
        help="first cutoff with --every (default: six months into the data)",
    )
    parser.add_argument(
        "--to",
        dest="last",
        type=opt.date,
        default=None,
        help="last cutoff with --every (default: the last the data can score)",
    )
    add_window_args(parser)
    _draws_arg(parser)


def outlook(args: argparse.Namespace) -> int:
    """Fit the cohort model on the export and forecast each calendar month."""
    import pandas as pd

    from ..calibration import fit_cohorts, forecast_cohorts
    from ..data import CalibrationError, check_exports, read_leads

    if args.leads is None:
        raise CalibrationError("outlook needs --leads LEADS.csv (the lead lifecycle export)")
    with ticking(args, "forecasting"):
        lt = read_leads(args.leads, **{k: getattr(args, k) for k in _READ})
        lt, _, _, as_of = check_exports(lt, as_of=args.as_of)
        model = fit_cohorts(
            lt.data, as_of, start=args.start, since=args.since, half_life_weeks=args.half_life
        )
        # Whole calendar months: from the as-of month when the extract is from its first day,
        # else the rest of that month and then ``months`` whole ones.
        extra = 0 if as_of.day == 1 else 1
        end = as_of.to_period("M").start_time + pd.DateOffset(months=args.months + extra)
        fc = forecast_cohorts(
            model,
            end,
            reps=args.reps,
            seed=args.seed,
            parameter_draws=not args.no_parameter_draws,
            source=str(args.leads),
        )
    show(args, fc)
    flush()
    _model_notes(args, model)
    write_files(args, fc)
    return 0


def _model_notes(args: argparse.Namespace, model: Any) -> None:
    """What the cohort model could not fit (always said), and its notes (not with --quiet)."""
    for stage, why in model.missing.items():
        print(
            f"NOT FORECAST: {stage}: {why}; the stages after it are fitted from the one before it",
            file=sys.stderr,
        )
    for text in model.notes:
        note(args, f"note: {text}")


def rolling(args: argparse.Namespace) -> int:
    """Rolling-origin backtest of the cohort model, baselines in the same table."""
    from ..calibration import rolling_backtest

    number, unit = args.horizon
    cutoffs = [c.strip() for c in args.cutoffs.split(",")] if args.cutoffs else None
    # The cohort forecast is cheap, and a band needs its tails drawn: at least 100.
    reps = args.reps if args.model == "simulation" else max(args.reps, 100)
    rb = rolling_backtest(
        args.leads,
        args.opportunities,
        cutoffs=cutoffs,
        every=args.every,
        first=args.first,
        last=args.last,
        horizon_months=number if unit == "months" else None,
        calls=args.calls,
        model=args.model,
        workers=args.workers,
        horizon_weeks=number if unit == "weeks" else None,
        reps=reps,
        seed=args.seed,
        since=args.since,
        half_life_weeks=args.half_life,
        parameter_draws=not args.no_parameter_draws,
        progress=progress(args),
        **{k: getattr(args, k) for k in _READ},
    )
    show(args, rb)
    flush()
    for text in rb.notes:
        note(args, f"note: {text}")
    write_files(args, rb)
    return 0


def wants_rolling(args: Any) -> bool:
    return bool(getattr(args, "cutoffs", None) or getattr(args, "every", None))
