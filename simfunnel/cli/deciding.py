"""Commands that answer a decision: thresholds, size, forecast, hire, explain, waterfall, diagnose."""

from __future__ import annotations

import argparse
import math
import re
import sys
from pathlib import Path
from typing import Any

from ..base.files import write_csv
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
from ..experiments import ReplicationError, simulate
from ..scenario import ScenarioError
from . import options as opt
from .common import (
    EXIT_FAILED,
    EXIT_OK,
    INTERVAL_REPS,
    NA,
    add_execution,
    finish,
    flush,
    force,
    load,
    positive,
    quietly,
    save_plot,
    scenario_args,
    snapshot_of,
    target_args,
    write_report_if_asked,
)
from .tables import diagnosis_text, share_text


def thresholds_args(th: argparse.ArgumentParser) -> None:
    """The options of `simfunnel thresholds`."""
    scenario_args(th, seed=True, report=True)
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
    force(th)
    add_execution(th, reps_default=10)


def costs(items: list[str]) -> dict[str, Any]:
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


def numbers(option: str, text: str, kind: type = float) -> list[Any]:
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


def thresholds_command(args: argparse.Namespace) -> int:
    scenario = load(args.scenario)
    values = numbers("--values", args.values)
    requires = numbers("--sql-require", args.sql_require, int)
    if not values and not requires:
        raise ScenarioError(["give --values (thresholds) or --sql-require, e.g. --values 40,50,60"])
    try:
        comparison = quietly(
            compare_thresholds,
            scenario,
            values,
            args.reps,
            sql_require=requires or None,
            seed=args.seed,
            workers=args.workers,
            progress=sys.stderr.isatty(),
            snapshot=snapshot_of(args, scenario),
            costs=costs(args.cost),
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
        print(
            f"Spreadsheet against simulation at {comparison.current_option}: "
            f"{comparison.gap.verdict}"
        )
    flush()  # the answer is out before anything is written
    write_report_if_asked(comparison, args)
    if args.out is not None:
        args.out.mkdir(parents=True, exist_ok=True)
        write_csv(comparison.table, args.out / "thresholds.csv")
        write_csv(comparison.overview, args.out / "overview.csv")
        save_plot(comparison.plot("valid_opportunities"), args.out / "valid_opportunities.png")
        save_plot(comparison.plot("objective"), args.out / "objective.png")
        save_plot(comparison.plot_tradeoff(), args.out / "tradeoff.png")
        print(f"wrote thresholds.csv, overview.csv and three plots to {args.out}", file=sys.stderr)
    return finish(comparison.experiment)


def size_args(size: argparse.ArgumentParser) -> None:
    """The options of `simfunnel size`."""
    scenario_args(size, seed=True, report=True)
    target_args(size)
    size.add_argument(
        "--no-explain",
        action="store_true",
        help="skip measuring what ramp, attrition and leave cost (two runs per mechanism)",
    )
    size.add_argument("--out", type=Path, default=None, help="write the table and plot here")
    force(size)
    add_execution(size, reps_default=10)


def size_command(args: argparse.Namespace) -> int:
    scenario = load(args.scenario)
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
            snapshot=snapshot_of(args, scenario),
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
    flush()
    write_report_if_asked(sizing, args)
    if args.out is not None:
        args.out.mkdir(parents=True, exist_ok=True)
        write_csv(sizing.table, args.out / "sizing.csv")
        if not sizing.explanation.empty:
            write_csv(sizing.explanation, args.out / "explanation.csv")
        for i, target in enumerate(sizing.targets):
            save_plot(sizing.plot(i), args.out / f"{target.metric}.png")
        print(f"wrote sizing.csv and {len(sizing.targets)} plot(s) to {args.out}", file=sys.stderr)
    return EXIT_OK if sizing.headcount is not None else EXIT_FAILED


def forecast_args(fc: argparse.ArgumentParser) -> None:
    """The options of `simfunnel forecast`."""
    scenario_args(fc, seed=True, report=True)
    fc.add_argument(
        "--weeks",
        type=positive,
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
    force(fc)
    add_execution(fc, reps_default=20)


def forecast_command(args: argparse.Namespace) -> int:
    scenario = load(args.scenario)
    try:
        result = quietly(
            forecast,
            scenario,
            args.weeks,
            args.reps,
            seed=args.seed,
            workers=args.workers,
            snapshot=snapshot_of(args, scenario),
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
        shown = split.assign(parameter_share=split["parameter_share"].map(share_text))
        print(shown.to_string(index=False, float_format=lambda v: f"{v:,.1f}", na_rep=NA))
    flush()
    write_report_if_asked(result, args)
    if args.out is not None:
        args.out.mkdir(parents=True, exist_ok=True)
        write_csv(result.bands, args.out / "bands.csv")
        write_csv(result.cumulative, args.out / "cumulative.csv")
        save_plot(result.plot("valid_opportunities"), args.out / "valid_opportunities.png")
        save_plot(result.plot("pipeline_value", cumulative=True), args.out / "pipeline_value.png")
        if split is not None:
            write_csv(split, args.out / "variance_split.csv")
        what = "bands.csv, cumulative.csv and two fan charts"
        if split is not None:
            what = "bands.csv, cumulative.csv, two fan charts and variance_split.csv"
        print(f"wrote {what} to {args.out}", file=sys.stderr)
    return finish(result.experiment)


def hire_args(hire: argparse.ArgumentParser) -> None:
    """The options of `simfunnel hire`."""
    scenario_args(hire, seed=True, report=True)
    target_args(hire)
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
        "--reps", type=INTERVAL_REPS, default=6, help="replications per sizing run (default 6)"
    )
    hire.add_argument("--workers", type=positive, default=None, help="worker processes")
    hire.add_argument("--out", type=Path, default=None, help="write the plan and its chart here")
    force(hire)


def hire_command(args: argparse.Namespace) -> int:
    scenario = load(args.scenario)
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
    flush()
    write_report_if_asked(plan, args)
    if args.out is not None:
        args.out.mkdir(parents=True, exist_ok=True)
        write_csv(plan.table, args.out / "hiring_plan.csv")
        save_plot(plan.plot(), args.out / "hiring_plan.png")
        print(f"wrote hiring_plan.csv and hiring_plan.png to {args.out}", file=sys.stderr)
    # Exit 1 when a month stays short by more than the tolerance (status "short").
    return EXIT_FAILED if (plan.table["shortfall"] > SLACK).any() else EXIT_OK


def explain_args(gap: argparse.ArgumentParser) -> None:
    """The options of `simfunnel explain`."""
    scenario_args(gap, seed=True)
    gap.add_argument(
        "--metric", choices=("valid_opportunities", "won"), default="valid_opportunities"
    )
    add_execution(gap, reps_default=10)


def explain_command(args: argparse.Namespace) -> int:
    scenario = load(args.scenario)
    gap = explain_gap(
        scenario,
        args.metric,
        args.reps,
        seed=args.seed,
        workers=args.workers,
        progress=sys.stderr.isatty(),
        snapshot=snapshot_of(args, scenario),
    )
    print(gap.verdict)
    print()
    print(gap.table.to_string(index=False, float_format=lambda v: f"{v:,.1f}", na_rep=""))
    return finish(gap.experiment)


def waterfall_args(wf: argparse.ArgumentParser) -> None:
    """The options of `simfunnel waterfall`."""
    scenario_args(wf, seed=False)
    wf.add_argument(
        "--revenue",
        type=opt.finite(above=0),
        required=True,
        help="revenue target over the scenario's horizon",
    )


def waterfall_command(args: argparse.Namespace) -> int:
    scenario = load(args.scenario)
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


def diagnose_args(diag: argparse.ArgumentParser) -> None:
    """The options of `simfunnel diagnose`."""
    scenario_args(diag, seed=True)
    diag.add_argument(
        "--phase",
        choices=("auto", "launch", "mature"),
        default="auto",
        help="judge a launch-phase team on activity, a mature one on results (default auto: "
        "launch when most SDRs start inside their ramp or learning curve)",
    )
    diag.add_argument(
        "--reps",
        type=INTERVAL_REPS,
        default=5,
        help="replications per lever (one more rep, AE, other queue rules; default 5)",
    )
    diag.add_argument(
        "--no-levers",
        action="store_true",
        help="skip measuring what one more unit of each lever buys (one run only)",
    )
    diag.add_argument("--workers", type=positive, default=None, help="worker processes")


def diagnose_command(args: argparse.Namespace) -> int:
    scenario = load(args.scenario)
    result = simulate(scenario, seed=args.seed, snapshot=None)
    found = diagnose(
        result,
        phase=args.phase,
        levers=0 if args.no_levers else args.reps,
        seed=args.seed,
        workers=args.workers,
        progress=sys.stderr.isatty(),
    )
    print(diagnosis_text(found))
    return EXIT_OK
