"""What every command shares: exit codes, option groups, loading a scenario, finishing a run.

Why one module: the commands differ in what they ask and print, not in how a scenario is read,
how a run reports failures or which output options they take; those live here once. Nothing
here loads more than the standard library when the parser is built: each helper loads the
layer it needs when a command runs, so that ``simfunnel --help`` answers at once.
"""

from __future__ import annotations

import argparse
import sys
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import options as opt

if TYPE_CHECKING:
    from ..experiments import Experiment
    from ..model import Snapshot
    from ..scenario import Scenario


@dataclass(frozen=True)
class Command:
    """One subcommand: its name, one line of help, its options and what runs it."""

    name: str
    help: str
    arguments: Callable[[argparse.ArgumentParser], None]
    handler: Callable[[argparse.Namespace], int]


EXIT_OK = 0
EXIT_FAILED = 1
EXIT_BAD_INPUT = 2
EXIT_INTERRUPTED = 130
NA = "n/a"  # an undefined figure (NaN) in a printed table
MEMORY_VARIABLE = "SIMFUNNEL_MAX_MEMORY"  # --max-memory sets it; simfunnel.scenario.limits reads it
# An interval needs two replications: commands that report one refuse --reps 1.
INTERVAL_REPS = opt.whole(2, ": an interval needs two replications, 10 or more is usual")
# The CRM styles of simfunnel.data.STYLES, named here so that the parser does not load the
# data layer (pandas); tests/cli/test_startup.py checks that the two agree.
STYLE_NAMES = ("hubspot", "salesforce")
FORMATS = ("text", "json", "csv")


def load(path: Any) -> Scenario:
    """The scenario file, validated and checked against the memory limit before any work
    (one line naming the file and the fields that make it too large)."""
    from ..scenario import check_size, load_scenario

    scenario = load_scenario(path)
    check_size(scenario, source=str(path))
    return scenario


# What a decision would have done with leads, for the line that says none arrive.
NOTHING_TO = {
    "thresholds": "compare",
    "size": "size a team for",
    "hire": "hire for",
    "forecast": "forecast",
    "explain": "explain",
    "diagnose": "diagnose",
    "waterfall": "staff",
}


def leads_arrive(args: argparse.Namespace, scenario: Scenario) -> None:
    """Refuse, before any work, a decision on a scenario where no lead ever arrives (every
    source at rate_per_week 0, no burst, no outbound list, no --snapshot to start from): the
    file is valid, but there is no funnel to decide on, and the analytic start each decision
    takes would fail in its own words instead."""
    from ..decisions import spreadsheet_funnel

    if scenario.outbound is not None or getattr(args, "snapshot", None) is not None:
        return
    funnel = spreadsheet_funnel(scenario)
    if not float(funnel.loc[funnel["motion"] == "inbound", "leads_per_week"].sum()) > 0:
        raise problem(
            f"{args.scenario}: no leads arrive: every source has rate_per_week 0 and no bursts "
            f"within the horizon, so there is nothing to {NOTHING_TO[args.command]}; give a "
            "source a rate_per_week above 0"
        )


def positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"needs a whole number >= 1 (got {text!r})")
    return value


# What a decision's replications run until, by default: its own rule (see add_execution).
SETTLED_BY = {
    "precision": "--precision",
    "band": "--precision",
    "pass": "showing each headcount's pass rate above or below --confidence",
}
PRECISION_HELP = {
    "precision": "run until each option's (or step's) paired difference against today (or the "
    "first step) is known to this share of its level (default 0.02: +/-2%%); with "
    "--reps, --reps is the first batch",
    "band": "run until the P10, P50 and P90 of the valid opportunities over the horizon are "
    "each known to this share of the P50 (default 0.02: +/-2%%); 20 first, then 10 at a time; "
    "with --reps, --reps is the first look",
}
MAX_REPS_DEFAULT = {"precision": 40, "pass": 40, "band": 100}
# The fewest replications each stopping rule can take as its limit, and why: a paired interval
# is judged from three (simfunnel.experiments.settle.MIN_REPS), a pass rate's first look is
# three runs (PassRule.batch), a band needs two (BandRule). tests/cli checks they agree.
SETTLE_MIN_REPS = {
    "precision": (3, "the stopping rule judges an interval from three replications"),
    "pass": (3, "a pass rate is first judged on three runs"),
    "band": (2, "a band needs two replications"),
}


def max_reps_type(settle: str) -> Any:
    """The argparse type of --max-reps under the ``settle`` rule: its real minimum, so that
    a limit the rule cannot take is one line before any work, not a traceback after it."""
    minimum, why = SETTLE_MIN_REPS[settle]
    return opt.whole(minimum, f": {why}")


def check_replications(args: argparse.Namespace) -> None:
    """Refuse --max-reps below --reps: --reps is then the first batch, and a limit below it
    would be ignored or cut the batch short without a word."""
    reps, most = getattr(args, "reps", None), getattr(args, "max_reps", None)
    if reps is not None and most is not None and most < reps:
        raise problem(
            f"--max-reps {most} is below --reps {reps}, the first batch: give --max-reps {reps} "
            "or more"
        )


def add_execution(
    parser: argparse.ArgumentParser,
    reps_default: int | None,
    *,
    interval: bool = True,
    settle: str = "",
) -> None:
    """--reps, --workers and --snapshot; with ``settle``, --max-reps too (and for
    ``settle="precision"`` --precision): the decision runs until its answer is settled unless
    --reps fixes the count."""
    reps_help = (
        f"a fixed number of replications (default: as many as {SETTLED_BY[settle]} needs)"
        if settle
        else f"replications, seeds spawned from --seed (default {reps_default})"
    )
    parser.add_argument(
        "--reps",
        type=INTERVAL_REPS if interval else positive,
        default=None if settle else reps_default,
        help=reps_help,
    )
    if settle in PRECISION_HELP:
        parser.add_argument(
            "--precision", type=opt.share(one=False), default=None, help=PRECISION_HELP[settle]
        )
    if settle:
        parser.add_argument(
            "--max-reps",
            type=max_reps_type(settle),
            default=None,
            help=f"the most replications per option while settling (default "
            f"{MAX_REPS_DEFAULT[settle]}); with --reps, --reps is the "
            + ("first look" if settle == "band" else "batch"),
        )
    parser.add_argument(
        "--workers",
        type=positive,
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


def scenario_args(parser: argparse.ArgumentParser, *, seed: bool, report: bool = False) -> None:
    """Every command reads one scenario file; those that simulate take a seed, and those
    whose answer has a report can also write it as HTML."""
    parser.add_argument("scenario", type=Path, help="scenario YAML file")
    if seed:
        parser.add_argument(
            "--seed", type=opt.seed, default=0, help="random seed, a whole number >= 0 (default 0)"
        )
    if report:
        report_arg(parser)


def report_arg(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--report",
        type=Path,
        default=None,
        metavar="FILE",
        help="also write the answer as one self-contained HTML file",
    )


def excel_arg(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--excel",
        type=Path,
        default=None,
        metavar="FILE",
        help="also write the answer as an Excel workbook (.xlsx: verdict, tables, assumptions; "
        "needs pip install simfunnel[excel])",
    )


def format_arg(parser: argparse.ArgumentParser, *, alias: bool = False) -> None:
    """--format: how the results reach standard output (messages go to standard error)."""
    parser.add_argument(
        "--format",
        choices=(*FORMATS, "table") if alias else FORMATS,
        default="text",
        help="results on standard output: text (default), json (the shape in docs/cli.md) or "
        "csv (the main table)" + ("; table is text" if alias else ""),
    )


def out_arg(parser: argparse.ArgumentParser, files: str, *, required: bool = False) -> None:
    """--out DIR: the directory an answer's files go to (``files`` says which)."""
    parser.add_argument(
        "--out",
        type=Path,
        required=required,
        default=None,
        metavar="DIR",
        help=f"directory to write {files} in",
    )


def answer_outputs(
    parser: argparse.ArgumentParser, files: str, *, excel: bool = True, report: bool = True
) -> None:
    """The output options of a command that prints an answer: --format, --out DIR, --report
    FILE and (decisions, backtests) --excel FILE; --force for the directory."""
    format_arg(parser)
    out_arg(parser, files)
    if report:
        report_arg(parser)
    if excel:
        excel_arg(parser)
    force(parser)


def target_args(parser: argparse.ArgumentParser) -> None:
    """The role and targets that size and hire share."""
    parser.add_argument(
        "--role",
        choices=("sdr", "bdr", "ae"),
        default="sdr",
        help="the team whose headcount is sized (default sdr); the others stay as the "
        "scenario has them",
    )
    parser.add_argument(
        "--target",
        action="append",
        required=True,
        metavar="METRIC>=VALUE",
        help="a target, repeatable, e.g. 'speed_to_lead_1h>=0.8' 'valid_opps_per_month>=120'",
    )
    parser.add_argument(
        "--confidence",
        type=opt.share(one=False),
        default=0.8,
        help="share of simulated runs that must meet every target (default 0.8)",
    )


def force(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--force",
        action="store_true",
        help="write into an output directory that holds another kind of simfunnel output",
    )


def set_option(parser: argparse.ArgumentParser) -> None:
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


def export_args(parser: argparse.ArgumentParser) -> None:
    """The CRM exports and how to read them: fit, outlook and backtest share them."""
    parser.add_argument(
        "--leads",
        type=Path,
        default=None,
        help="lead lifecycle CSV (required, but for a rolling backtest of deals only)",
    )
    parser.add_argument("--calls", type=Path, default=None, help="call activity CSV")
    parser.add_argument("--opportunities", type=Path, default=None, help="opportunities CSV")
    parser.add_argument("--style", choices=STYLE_NAMES, default="hubspot")
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
    parser.add_argument(
        "--decimal",
        choices=(".", ","),
        default=None,
        help="decimal mark of the numbers (default: read from the values; a file whose "
        "numbers could be either, such as 1.500 in a ';' file, asks for it)",
    )


def reading(args: argparse.Namespace) -> dict[str, Any]:
    """How to read the exports: the options fit and backtest share."""
    return {
        "style": args.style,
        "mapping": args.mapping,
        "date_format": args.date_format,
        "start": args.start,
        "encoding": args.encoding,
        "sep": args.sep,
        "decimal": args.decimal,
    }


def problem(text: str) -> Exception:
    """A problem of the options given: one line, exit code 2 (a ScenarioError)."""
    from ..scenario import ScenarioError

    return ScenarioError([text])


def need_leads(args: argparse.Namespace) -> None:
    if args.leads is None:
        raise problem(f"{args.command} needs --leads LEADS.csv (the lead lifecycle export)")


def progress(args: argparse.Namespace) -> bool:
    """Show a progress bar: only to a person at a terminal, and not with --quiet."""
    return not getattr(args, "quiet", False) and sys.stderr.isatty()


def note(args: argparse.Namespace, text: str) -> None:
    """A message on standard error (a file written, a note on the data); --quiet drops it."""
    if not getattr(args, "quiet", False):
        print(text, file=sys.stderr)


def quietly(call: Any, *args: Any, **kwargs: Any) -> Any:
    """Run an experiment; its interrupt warning is reported by the caller instead, and a
    replication file discarded on resume is one line on standard error."""
    from ..experiments import DiscardedPartWarning

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


def finish(experiment: Experiment) -> int:
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


def snapshot_of(args: argparse.Namespace, scenario: Scenario) -> Snapshot | None:
    if args.snapshot is None:
        return None
    from ..model import read_snapshot

    return read_snapshot(args.snapshot, scenario)


def flush() -> None:
    """Show what is printed (the verdict) before files are written. A reader gone (``| head``)
    does not stop the work (main's GuardedStdout)."""
    sys.stdout.flush()
