"""Command-line faces of the cohort model: ``simfunnel outlook`` (a monthly forecast straight
from an export) and the rolling-origin form of ``simfunnel backtest`` (``--every month`` or
``--cutoffs``). Kept apart from cli.py, which holds the simulation's commands."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

import pandas as pd

from ..base.files import save_figure, write_csv
from . import options as opt

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
    parser.add_argument(
        "--out",
        type=Path,
        default=None,
        help="write stages.csv, arrivals.csv, forecast.csv, variance.csv here",
    )


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


def _fmt(frame: pd.DataFrame, pct: tuple[str, ...] = (), ints: tuple[str, ...] = ()) -> str:
    """A table a person reads: shares as percentages, counts as whole numbers."""
    out = frame.copy()
    for c in pct:
        if c in out:
            out[c] = out[c].map(lambda x: "n/a" if pd.isna(x) else f"{x:.1%}")
    for c in ints:
        if c in out:
            out[c] = out[c].map(lambda x: "n/a" if pd.isna(x) else f"{x:,.0f}")
    return out.to_string(index=False)


def _days(x: float) -> str:
    return f"{x * 24:.0f} h" if x < 1 else f"{x:.0f} days"


def outlook(args: argparse.Namespace) -> int:
    """Fit the cohort model on the export and forecast each calendar month."""
    from ..calibration import fit_cohorts, forecast_cohorts
    from ..data import CalibrationError, check_exports, read_leads

    if args.leads is None:
        raise CalibrationError("outlook needs --leads LEADS.csv (the lead lifecycle export)")
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
        model, end, reps=args.reps, seed=args.seed, parameter_draws=not args.no_parameter_draws
    )
    print(f"Outlook from {args.leads} as of {as_of:%Y-%m-%d}: {model.window}.\n")
    stages = model.report()
    fitted = stages[stages["fit"].isin(["lognormal", "immediate", "assumed_shape"])]
    fitted = fitted.assign(
        median_days=fitted["median_days"].map(_days), p90_days=fitted["p90_days"].map(_days)
    )
    print(
        "Conversion from the previous stage the export dates (cure-fraction fit, open leads "
        "censored):"
    )
    print(
        _fmt(
            fitted[
                ["stage", "source", "n", "events", "rate", "low", "high", "median_days", "p90_days"]
            ],
            pct=("rate", "low", "high"),
            ints=("n", "events"),
        )
    )
    for stage, why in model.missing.items():
        print(
            f"NOT FORECAST: {stage}: {why}; the stages after it are fitted from the one before it",
            file=sys.stderr,
        )
    for note in model.notes:
        print(f"note: {note}", file=sys.stderr)
    print("\nArrivals per source:")
    arrivals = model.arrivals_table().round({"per_week_now": 1, "overdispersion": 3})
    print(_fmt(arrivals, pct=("trend_per_year", "level_error_sd"), ints=("leads",)))
    table = fc.table()
    part = "" if as_of.day == 1 else f"; {fc.months[0]} from {as_of:%Y-%m-%d} on"
    print(f"\nMonthly forecast, median (P10-P90){part}:")
    band = table.assign(
        text=table.apply(lambda r: f"{r.p50:,.0f} ({r.p10:,.0f}-{r.p90:,.0f})", axis=1)
    )
    wide = band.pivot(index="month", columns="metric", values="text")[list(fc.metrics)]
    print(wide.to_string())
    split = fc.variance_split()
    print("\nWhere the band's width comes from (horizon total):")
    print(_fmt(split, pct=("parameter_share",), ints=("sd_total", "sd_process_only")))
    if args.out is not None:
        tables = {
            "stages": stages,
            "arrivals": model.arrivals_table(),
            "forecast": table,
            "variance": split,
            "cohorts": model.cohorts,
            "shifts": model.shifts,
        }
        _save(args.out, tables, fc.plot, fc.metrics)
    return 0


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
        progress=(lambda s: print(s, file=sys.stderr)) if sys.stderr.isatty() else None,
        **{k: getattr(args, k) for k in _READ},
    )
    s = rb.summary()
    ahead = f"{number} calendar months" if unit == "months" else f"{number} weeks (scored by month)"
    print(
        f"Rolling-origin backtest: {len(rb.cutoffs)} cutoffs, {ahead} ahead, {rb.method} "
        "against baselines\n"
    )
    print(
        _fmt(
            s[["metric", "method", "months", "coverage", "mape", "crps", "total_error"]],
            pct=("coverage", "mape", "total_error"),
            ints=("crps",),
        )
    )
    print()
    for line in rb.verdict():
        print(line)
    misses = rb.misses(3)
    if len(misses):
        print("\nWhere it missed most (actual outside the band), per metric:")
        shown = misses.assign(cutoff=misses["cutoff"].dt.strftime("%Y-%m-%d"))
        print(_fmt(shown, ints=("actual", "p10", "p50", "p90")))
    for note in rb.notes:
        print(f"note: {note}", file=sys.stderr)
    if args.out is not None:
        tables = {
            "cells": rb.cells,
            "totals": rb.totals,
            "summary": s,
            "variance": rb.variance,
            "misses": rb.misses(10),
        }
        _save(args.out, tables, rb.plot, tuple(rb.cells["metric"].unique()))
    return 0


def _save(out: Path, tables: dict[str, pd.DataFrame], plot: Any, metrics: tuple[str, ...]) -> None:
    """Write each table as CSV and ``plot(metric)`` per metric as PNG, and say so."""
    import matplotlib.pyplot as plt

    out.mkdir(parents=True, exist_ok=True)
    for name, frame in tables.items():
        write_csv(frame, out / f"{name}.csv")
    for metric in metrics:
        ax = plot(metric)
        ax.figure.tight_layout()
        save_figure(ax.figure, out / f"{metric}.png", dpi=100)
        plt.close(ax.figure)
    print(f"wrote {', '.join(tables)} (CSV) and a chart per metric to {out}", file=sys.stderr)


def wants_rolling(args: Any) -> bool:
    return bool(getattr(args, "cutoffs", None) or getattr(args, "every", None))
