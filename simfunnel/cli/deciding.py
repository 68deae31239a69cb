"""Commands that answer a decision: thresholds, size, forecast, hire, explain, waterfall, diagnose."""

from __future__ import annotations

import argparse
import dataclasses
import math
import re
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, TypeVar

from . import options as opt
from .common import (
    EXIT_FAILED,
    EXIT_INTERRUPTED,
    EXIT_OK,
    INTERVAL_REPS,
    Command,
    add_execution,
    answer_outputs,
    finish,
    leads_arrive,
    load,
    max_reps_type,
    positive,
    problem,
    progress,
    quietly,
    scenario_args,
    snapshot_of,
    target_args,
)
from .output import complete, deliver, interrupted_line, noticing_interrupts, ticking
from .waterfall import waterfall_args, waterfall_command

if TYPE_CHECKING:
    from ..decisions import Diagnosis, Forecast, Gap, HiringPlan, Sizing, ThresholdComparison
    from ..results.answer import Answer
    from ..scenario import Scenario

A = TypeVar("A", bound="Answer")


def decide(
    args: argparse.Namespace,
    build: Callable[[argparse.Namespace], A],
    exit_code: Callable[[A], int],
) -> int:
    """How every decision command runs: build the answer, print it in the --format asked for,
    write the --report, --excel and --out files, and exit with the command's code for it.

    A replication that fails under ``fail_fast`` (forecast: a band from the survivors would be
    biased) is one line on standard error and exit code 1. After Ctrl-C the verdict on
    standard output starts by saying the answer is partial, the JSON says ``"complete":
    false``, and the exit code is 130, whatever the answer would have called for."""
    from ..decisions import NoHeadcount
    from ..experiments import ReplicationError

    try:
        with noticing_interrupts() as cut:
            answer = build(args)
    except (ReplicationError, NoHeadcount) as exc:  # no answer, not a bad input: exit 1
        print(f"{args.scenario}: {exc}" if isinstance(exc, NoHeadcount) else exc, file=sys.stderr)
        return EXIT_FAILED
    first = interrupted_line(answer, cut)
    deliver(args, answer, first=first, extra={"complete": complete(answer, first)})
    code = exit_code(answer)
    if first and code != EXIT_INTERRUPTED:  # finish() has not said it
        print("interrupted: the answer above holds only the finished replications", file=sys.stderr)
        return EXIT_INTERRUPTED
    return code


@contextmanager
def scenario_problem(args: argparse.Namespace) -> Iterator[None]:
    """A ValueError of a decision (a bad target, a role the scenario has not got) is a
    problem of the scenario or options given: one line naming the file, exit code 2."""
    from ..decisions import NoHeadcount

    try:
        yield
    except NoHeadcount:
        raise
    except ValueError as exc:
        raise problem(f"{args.scenario}: {exc}") from None


def thresholds_args(th: argparse.ArgumentParser) -> None:
    """The options of `simfunnel thresholds`."""
    scenario_args(th, seed=True)
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
        action=opt.append_once(opt.cost_key, "give each cost once"),
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
    answer_outputs(th, "the tables and plots")
    add_execution(th, reps_default=None, settle="precision")


def costs(items: list[str]) -> dict[str, Any]:
    from ..decisions import parse_costs

    for item in items:
        try:
            value = float(item.partition("=")[2])
        except ValueError:
            continue  # parse_costs says how to write it
        if not math.isfinite(value):
            raise problem(f"--cost {item!r}: the value must be a finite number >= 0")
    try:
        return parse_costs(items)
    except ValueError as exc:
        raise problem(str(exc)) from None


def numbers(option: str, text: str, kind: type = float) -> list[Any]:
    example = "40,50,60" if kind is float else "0,2,3"
    try:
        values = [kind(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise problem(f"{option} {text!r}: write numbers, e.g. {example}") from None
    if text.strip() and not values:
        raise problem(f"{option} {text!r}: no numbers given; write e.g. {example}")
    if not all(math.isfinite(v) for v in values):
        raise problem(f"{option} {text!r}: write finite numbers, e.g. {example}")
    return values


def compared(args: argparse.Namespace) -> ThresholdComparison:
    """`simfunnel thresholds`: the options compared."""
    from ..decisions import compare_thresholds

    scenario = load(args.scenario)
    leads_arrive(args, scenario)
    values = numbers("--values", args.values)
    requires = numbers("--sql-require", args.sql_require, int)
    if not values and not requires:
        raise problem("give --values (thresholds) or --sql-require, e.g. --values 40,50,60")
    with scenario_problem(args):
        comparison: ThresholdComparison = quietly(
            compare_thresholds,
            scenario,
            values,
            args.reps,
            precision=args.precision,
            max_reps=args.max_reps,
            sql_require=requires or None,
            seed=args.seed,
            workers=args.workers,
            progress=progress(args),
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
    return comparison


def thresholds_command(args: argparse.Namespace) -> int:
    """Exit 1 when no option is recommended (none meets the targets), as `size` does."""
    return decide(
        args,
        compared,
        lambda c: finish(c.experiment) or (EXIT_FAILED if c.recommended is None else EXIT_OK),
    )


def warm_up_arg(parser: argparse.ArgumentParser) -> None:
    """--warm-up of the commands that start each run on a full funnel (forecast, size)."""
    parser.add_argument(
        "--warm-up",
        type=int,
        default=None,
        metavar="WEEKS",
        help="weeks simulated first to fill the funnel (default: the scenario's warm_up, else "
        "the sales cycle's P90 plus 4 weeks; 0: start from an empty funnel); not with --snapshot",
    )


def without_warm_up(args: argparse.Namespace, scenario: Scenario) -> Scenario:
    """With --snapshot and --warm-up 0, the scenario's own warm_up is dropped: a fitted
    scenario always has one, and a snapshot is the funnel at the start, so the two could not
    be used together from the command line."""
    from ..scenario import with_overrides

    if args.snapshot is not None and args.warm_up == 0 and scenario.warm_up:
        return with_overrides(scenario, {"warm_up": "0 weeks"}, source="--warm-up 0")
    return scenario


def size_args(size: argparse.ArgumentParser) -> None:
    """The options of `simfunnel size`."""
    scenario_args(size, seed=True)
    target_args(size)
    warm_up_arg(size)
    size.add_argument(
        "--no-explain",
        action="store_true",
        help="skip measuring what ramp, attrition and leave cost (two runs per mechanism)",
    )
    answer_outputs(size, "the table and plot")
    add_execution(size, reps_default=None, settle="pass")


def sized(args: argparse.Namespace) -> Sizing:
    """`simfunnel size`: the smallest headcount that meets the targets."""
    from ..decisions import size_team

    scenario = without_warm_up(args, load(args.scenario))
    leads_arrive(args, scenario)
    with scenario_problem(args):
        return size_team(
            scenario,
            args.role,
            opt.targets(args.target),
            args.confidence,
            args.reps,
            max_reps=args.max_reps,
            seed=args.seed,
            workers=args.workers,
            progress=progress(args),
            snapshot=snapshot_of(args, scenario),
            explain=not args.no_explain,
            warm_up=args.warm_up,
        )


def size_command(args: argparse.Namespace) -> int:
    """Exit 1 when no headcount up to the limit meets the targets."""
    return decide(args, sized, lambda s: EXIT_OK if s.headcount is not None else EXIT_FAILED)


def forecast_args(fc: argparse.ArgumentParser) -> None:
    """The options of `simfunnel forecast`."""
    scenario_args(fc, seed=True)
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
    warm_up_arg(fc)
    fc.add_argument(
        "--freq",
        choices=("M", "Q"),
        default=None,
        help="also roll the bands up by calendar month (M) or quarter (Q): printed, and saved "
        "as periods.csv with --out",
    )
    fc.add_argument(
        "--target",
        type=opt.forecast_target,
        action=opt.append_once(lambda target: target[0], "give each metric one target"),
        default=[],
        metavar="METRIC=VALUE",
        help="a total to reach over the horizon (repeatable), e.g. won_value=2M: the verdict "
        "gives the chance of reaching it and the coverage",
    )
    fc.add_argument(
        "--no-parameter-draws",
        action="store_true",
        help="hold the scenario's uncertain values fixed: bands of process noise only (default: "
        "each replication draws its 'uncertainty' entries, and the split is printed)",
    )
    answer_outputs(fc, "bands.csv, cumulative.csv, fan charts (and variance_split.csv with draws)")
    add_execution(fc, reps_default=None, settle="band")


def forecasted(args: argparse.Namespace) -> Forecast:
    """`simfunnel forecast`: the bands of the weeks ahead."""
    from ..decisions import forecast

    scenario = without_warm_up(args, load(args.scenario))
    leads_arrive(args, scenario)
    with scenario_problem(args):
        result: Forecast = quietly(
            forecast,
            scenario,
            args.weeks,
            args.reps,
            precision=args.precision,
            max_reps=args.max_reps,
            seed=args.seed,
            workers=args.workers,
            snapshot=snapshot_of(args, scenario),
            progress=progress(args),
            level=args.level,
            warm_up=args.warm_up,
            parameter_draws=False if args.no_parameter_draws else None,
            targets=dict(args.target),
        )
    return dataclasses.replace(result, freq=args.freq) if args.freq else result


def forecast_command(args: argparse.Namespace) -> int:
    return decide(args, forecasted, lambda f: finish(f.experiment))


def hire_args(hire: argparse.ArgumentParser) -> None:
    """The options of `simfunnel hire`."""
    scenario_args(hire, seed=True)
    target_args(hire)
    hire.add_argument(
        "--volume",
        action=opt.append_once(opt.key_of, "give each month one factor"),
        default=[],
        metavar="YYYY-MM=FACTOR",
        help="lead volume of a month against the scenario's, above 0 (repeatable, one per "
        "month), e.g. 2026-04=1.5",
    )
    hire.add_argument(
        "--no-explain",
        action="store_true",
        help="skip placing the hires again without ramp, attrition and leave",
    )
    hire.add_argument(
        "--reps",
        type=INTERVAL_REPS,
        default=None,
        help="a fixed number of replications per headcount of each month's sizing (default: "
        "until each headcount's pass rate is shown above or below --confidence)",
    )
    hire.add_argument(
        "--max-reps",
        type=max_reps_type("pass"),
        default=None,
        help="the most replications per headcount while settling (default 40)",
    )
    hire.add_argument("--workers", type=positive, default=None, help="worker processes")
    answer_outputs(hire, "the plan and its chart")


def volumes(items: list[str]) -> dict[str, float]:
    """--volume YYYY-MM=FACTOR items as a plan: month -> finite factor > 0 (a month with no
    leads has no work to size a team for)."""
    volume = {}
    for item in items:
        month, sep, factor = item.partition("=")
        try:
            volume[month.strip()] = float(factor)
            if not math.isfinite(volume[month.strip()]) or volume[month.strip()] < 0:
                raise ValueError
        except ValueError:
            raise problem(
                f"--volume {item!r}: write YYYY-MM=FACTOR (a finite number > 0), e.g. 2026-04=1.5"
            ) from None
        if volume[month.strip()] == 0:
            raise problem(
                f"--volume {item!r}: no leads would arrive that month, so there is no team to "
                "size for it; give a factor above 0, e.g. 0.1"
            )
        if not sep or not re.fullmatch(r"\d{4}-\d{2}", month.strip()):
            raise problem(f"--volume {item!r}: write YYYY-MM=FACTOR, e.g. 2026-04=1.5")
    return volume


def planned(args: argparse.Namespace) -> HiringPlan:
    """`simfunnel hire`: dated hires for the volume plan."""
    from ..decisions import hiring_plan

    scenario = load(args.scenario)
    leads_arrive(args, scenario)
    volume = volumes(args.volume)
    with scenario_problem(args):
        return hiring_plan(
            scenario,
            volume,
            args.role,
            opt.targets(args.target),
            args.confidence,
            args.reps,
            max_reps=args.max_reps,
            seed=args.seed,
            workers=args.workers,
            progress=progress(args),
            explain=not args.no_explain,
        )


def hire_command(args: argparse.Namespace) -> int:
    """Exit 1 when a month stays short by more than the tolerance (status "short")."""
    from ..decisions import SLACK

    return decide(
        args, planned, lambda p: EXIT_FAILED if (p.table["shortfall"] > SLACK).any() else EXIT_OK
    )


def explain_args(gap: argparse.ArgumentParser) -> None:
    """The options of `simfunnel explain`."""
    scenario_args(gap, seed=True)
    gap.add_argument(
        "--metric", choices=("valid_opportunities", "won"), default="valid_opportunities"
    )
    answer_outputs(gap, "the steps (table) and their chart")
    add_execution(gap, reps_default=None, settle="precision")


def explained(args: argparse.Namespace) -> Gap:
    """`simfunnel explain`: the spreadsheet's figure, step by step to the simulation's."""
    from ..decisions import explain_gap

    scenario = load(args.scenario)
    leads_arrive(args, scenario)
    with scenario_problem(args):
        return explain_gap(
            scenario,
            args.metric,
            args.reps,
            precision=args.precision,
            max_reps=args.max_reps,
            seed=args.seed,
            workers=args.workers,
            progress=progress(args),
            snapshot=snapshot_of(args, scenario),
        )


def explain_command(args: argparse.Namespace) -> int:
    return decide(args, explained, lambda g: finish(g.experiment))


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
    answer_outputs(diag, "the findings (tables) and their charts")


def diagnosed(args: argparse.Namespace) -> Diagnosis:
    """`simfunnel diagnose`: one run, where it leaks and what binds."""
    from ..decisions import diagnose
    from ..experiments import simulate

    scenario = load(args.scenario)
    leads_arrive(args, scenario)
    with ticking(args, "simulating"):
        result = simulate(scenario, seed=args.seed, snapshot=None)
    return diagnose(
        result,
        phase=args.phase,
        levers=0 if args.no_levers else args.reps,
        seed=args.seed,
        workers=args.workers,
        progress=progress(args),
    )


def diagnose_command(args: argparse.Namespace) -> int:
    return decide(args, diagnosed, lambda _: EXIT_OK)


# This module's commands, in the order `simfunnel --help` lists them.
COMMANDS = (
    Command(
        "thresholds",
        "compare MQL thresholds on common random numbers, with a verdict",
        thresholds_args,
        thresholds_command,
    ),
    Command(
        "size",
        "the smallest headcount of a role that meets targets",
        size_args,
        size_command,
    ),
    Command(
        "forecast",
        "weekly pipeline forecast with P10/P50/P90 bands",
        forecast_args,
        forecast_command,
    ),
    Command(
        "hire",
        "dated hires that keep a role big enough for a volume plan",
        hire_args,
        hire_command,
    ),
    Command(
        "explain",
        "why the simulation departs from the spreadsheet, step by step",
        explain_args,
        explain_command,
    ),
    Command(
        "waterfall",
        "the reverse waterfall: leads needed for a revenue target (no simulation)",
        waterfall_args,
        waterfall_command,
    ),
    Command(
        "diagnose",
        "where one run's funnel leaks, and which capacity binds",
        diagnose_args,
        diagnose_command,
    ),
)
