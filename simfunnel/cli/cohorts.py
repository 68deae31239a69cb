"""Command-line faces of the cohort model: ``simfunnel outlook`` (a monthly forecast straight
from an export) and the rolling-origin form of ``simfunnel backtest`` (``--every month`` or
``--cutoffs``). Kept apart from ``reading``, which holds the simulation's fit and backtest."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from . import options as opt
from .common import flush, note, problem, progress
from .output import show, ticking, write_files

__all__ = [
    "MAX_HORIZON_MONTHS",
    "MAX_HORIZON_WEEKS",
    "MAX_REPS",
    "add_outlook_args",
    "add_rolling_args",
    "add_window_args",
    "horizon",
    "outlook",
    "refuse_unused",
    "report_rows",
    "rolling",
    "within",
]

_READ = ("style", "mapping", "date_format", "encoding", "sep", "decimal")
# The most a forecast or a backtest is asked for, checked when the command line is read (the
# Python functions check the same: simfunnel.calibration.cohort_forecast.MAX_REPS and
# MAX_MONTHS, simfunnel.calibration.backtesting.MAX_HORIZON_WEEKS; tests hold them equal).
# Named here so that the parser loads no pandas.
MAX_REPS = 20_000  # a band's P10 and P90 are settled long before; more only takes hours
MAX_HORIZON_MONTHS = 120  # ten years: no export says anything that far ahead
MAX_HORIZON_WEEKS = 520
# Options of `backtest` that one of its two forms reads and the other would ignore: refused
# there, by name (option -> the attribute argparse stores it in).
SINGLE_ONLY = {
    "--cutoff": "cutoff",
    "--set": "overrides",
    "--arrivals": "arrivals",
    "--start-from": "start_from",
    "--start": "start",
}
ROLLING_ONLY = {"--model": "model", "--from": "first", "--to": "last"}


def within(low: int, high: int, why: str = "") -> Any:
    """An argparse type: a whole number from ``low`` to ``high`` (``why`` explains them)."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            value = None
        if value is None or not low <= value <= high:
            raise argparse.ArgumentTypeError(
                f"needs a whole number from {low:,} to {high:,}{why} (got {text!r})"
            )
        return value

    parse.__name__ = f"whole number from {low} to {high}"
    return parse


def horizon(text: str) -> tuple[int, str]:
    """An argparse type: :func:`simfunnel.cli.options.horizon`, at most MAX_HORIZON_WEEKS
    weeks or MAX_HORIZON_MONTHS months (a date centuries ahead is past what pandas holds)."""
    number, unit = opt.horizon(text)
    top = MAX_HORIZON_MONTHS if unit == "months" else MAX_HORIZON_WEEKS
    if number > top:
        raise argparse.ArgumentTypeError(
            f"at most {top} {unit} (ten years): no export says anything further ahead (got "
            f"{text!r})"
        )
    return number, unit


def refuse_unused(args: argparse.Namespace, options: dict[str, str], why: str) -> None:
    """Refuse the options given that the command, in the form chosen, would ignore: one line
    naming them and why (exit code 2), before anything is read."""
    given = [o for o, attr in options.items() if getattr(args, attr, None) not in (None, False)]
    if given:
        names = ", ".join(given)
        raise problem(f"{names}: not used {why}; leave {'it' if len(given) == 1 else 'them'} out")


def report_rows(args: argparse.Namespace, problems: Any) -> None:
    """The rows the reads excluded or changed, counted by file, problem and action on standard
    error, as ``fit`` prints them: no row is left out silently (``--quiet`` drops it)."""
    if problems is None or len(problems) == 0:
        return
    counts = problems.groupby(["file", "problem", "action"]).size().to_string()
    note(args, f"{len(problems)} rows reported\n{counts}")


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
        type=opt.finite(above=0),
        default=None,
        metavar="WEEKS",
        help="weigh cohorts by recency with this half-life in weeks (a number above 0)",
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
        type=within(1, MAX_HORIZON_MONTHS),
        default=3,
        help="whole calendar months to forecast, after the rest of the as-of month "
        f"(default 3, at most {MAX_HORIZON_MONTHS})",
    )
    parser.add_argument(
        "--reps",
        type=within(2, MAX_REPS, ": a band needs two, and more only take longer"),
        default=500,
        help=f"replications (default 500, at most {MAX_REPS:,})",
    )
    parser.add_argument("--seed", type=opt.seed, default=0, help="random seed (default 0)")
    add_window_args(parser)
    _draws_arg(parser)


def add_rolling_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--model",
        choices=("cohort", "simulation"),
        default=None,
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
    refuse_unused(
        args,
        {"--calls": "calls", "--opportunities": "opportunities"},
        "by outlook, which forecasts from the lead table alone",
    )
    with ticking(args, "reading and fitting"):
        raw = read_leads(args.leads, **{k: getattr(args, k) for k in _READ})
        lt, _, _, as_of = check_exports(raw, as_of=args.as_of)
        # The model hides what came after the as-of date itself; given the dates after it, it
        # can tell a stage dated only later from one the export never dates.
        data = lt.data if args.as_of is None else check_exports(raw)[0].data
        model = fit_cohorts(
            data, as_of, start=args.start, since=args.since, half_life_weeks=args.half_life
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
        progress=progress(args),
    )
    missing = [f"NOT FORECAST: {stage}: {why}" for stage, why in model.missing.items()]
    said = list(dict.fromkeys([*fc.warnings, *missing, *model.notes]))
    show(args, fc, extra={"notes": said})
    flush()
    report_rows(args, lt.report)
    _model_notes(args, model, fc.warnings)
    write_files(args, fc)
    return 0


def _model_notes(args: argparse.Namespace, model: Any, warnings: list[str]) -> None:
    """What the cohort model could not fit and the warnings that qualify the forecast (always
    said: the text holds the warnings already), and its notes (not with --quiet)."""
    for stage, why in model.missing.items():
        print(
            f"NOT FORECAST: {stage}: {why}; the stages after it are fitted from the one before it",
            file=sys.stderr,
        )
    if args.format != "text":
        for text in warnings:
            print(text, file=sys.stderr)
    for text in model.notes:
        if text not in warnings:
            note(args, f"note: {text}")


def rolling(args: argparse.Namespace) -> int:
    """Rolling-origin backtest of the cohort model, baselines in the same table."""
    from ..calibration import rolling_backtest

    model = _rolling_options(args)
    number, unit = args.horizon
    cutoffs = [c.strip() for c in args.cutoffs.split(",")] if args.cutoffs else None
    # The cohort forecast is cheap, and a band needs its tails drawn: at least 100.
    reps = args.reps if model == "simulation" else max(args.reps, 100)
    rb = rolling_backtest(
        args.leads,
        args.opportunities,
        cutoffs=cutoffs,
        every=args.every,
        first=args.first,
        last=args.last,
        horizon_months=number if unit == "months" else None,
        calls=args.calls,
        model=model,
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
    report_rows(args, rb.problems)
    for text in rb.notes:
        note(args, f"note: {text}")
    write_files(args, rb)
    return 0


def _rolling_options(args: argparse.Namespace) -> str:
    """Refuse what a rolling backtest would ignore (the single cutoff's options, a weekly
    frequency, --from/--to without --every, the simulation's options with the cohort model);
    the model judged."""
    model: str = args.model or "cohort"
    if args.cutoffs and args.every:
        raise problem("give --every month or --cutoffs A,B, not both")
    refuse_unused(
        args,
        SINGLE_ONLY,
        "by a rolling backtest (--every, --cutoffs), which fits the cohort model or the "
        "simulation at each cutoff as the data stood then and draws forecast arrivals",
    )
    if args.freq not in (None, "M"):
        raise problem(
            f"--freq {args.freq}: a rolling backtest scores calendar months; leave it out"
        )
    if args.cutoffs:
        refuse_unused(args, {"--from": "first", "--to": "last"}, "with --cutoffs (only --every)")
    if model == "cohort":
        refuse_unused(
            args,
            {"--calls": "calls", "--workers": "workers"},
            "by the cohort model (--model simulation reads them)",
        )
    return model


def wants_rolling(args: Any) -> bool:
    return bool(getattr(args, "cutoffs", None) or getattr(args, "every", None))
