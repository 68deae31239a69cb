"""The ``simfunnel`` command: run and validate scenario files.

Exit codes: 0 success, 2 bad input (a scenario problem, one line each, never a traceback).
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path
from typing import Any

from . import __version__, simulate
from .results import SimulationResult
from .scenario import ScenarioError, load_scenario
from .units import format_duration

EXIT_OK = 0
EXIT_BAD_INPUT = 2


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="simfunnel",
        description="Simulate a B2B inside-sales funnel from a scenario file.",
    )
    parser.add_argument("--version", action="version", version=f"simfunnel {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    run = sub.add_parser("run", help="simulate a scenario and print its KPIs")
    run.add_argument("scenario", type=Path, help="scenario YAML file")
    run.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
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
        help="also write weekly.csv, weekly_by_source.csv, leads.csv and kpis.json here",
    )

    validate = sub.add_parser("validate", help="check a scenario file and report every problem")
    validate.add_argument("scenario", type=Path, help="scenario YAML file")
    return parser


def _fmt(value: Any, key: str) -> str:
    if value is None:
        return "n/a"
    if isinstance(value, float):
        if math.isnan(value):
            return "n/a"
        if key.endswith(("_rate", "_to_sql", "_to_valid")) or key in {
            "sdr",
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
    "staffing": "SDR team",
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
    for section, title in _TITLES.items():
        lines.append("")
        lines.append(title)
        lines.append("-" * len(title))
        for key, value in report[section].items():
            # Durations carry their own unit ("5.4 h", "12 min"), so the "_h" of the key goes.
            label = key.removesuffix("_h")
            lines.append(f"  {label.replace('_', ' '):<24}{_fmt(value, key):>16}")
    return "\n".join(lines)


def _write_outputs(result: SimulationResult, out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    result.weekly.to_csv(out / "weekly.csv", index=False)
    result.weekly_by_source.to_csv(out / "weekly_by_source.csv", index=False)
    result.leads.to_csv(out / "leads.csv", index=False)
    result.reps.to_csv(out / "reps.csv", index=False)
    result.funnel_by_source.to_csv(out / "funnel_by_source.csv", index=False)
    (out / "kpis.json").write_text(json.dumps(result.to_dict(), indent=2, allow_nan=False) + "\n")


def _run(args: argparse.Namespace) -> int:
    scenario = load_scenario(args.scenario)
    result = simulate(scenario, seed=args.seed)
    if args.format == "json":
        print(json.dumps(result.to_dict(), indent=2, allow_nan=False))
    elif args.format == "csv":
        print(result.summary().to_csv(index=False), end="")
    else:
        print(format_table(result))
    if args.out is not None:
        _write_outputs(result, args.out)
        print(
            f"wrote weekly.csv, weekly_by_source.csv, leads.csv, kpis.json to {args.out}",
            file=sys.stderr,
        )
    return EXIT_OK


def _validate(args: argparse.Namespace) -> int:
    scenario = load_scenario(args.scenario)
    print(
        f"{args.scenario}: ok ({scenario.name}, {len(scenario.sources)} sources, "
        f"{scenario.weeks} weeks)"
    )
    return EXIT_OK


def main(argv: list[str] | None = None) -> int:
    """Entry point of the console script; returns the exit code."""
    args = _parser().parse_args(argv)
    try:
        return {"run": _run, "validate": _validate}[args.command](args)
    except ScenarioError as exc:
        for problem in exc.problems:
            print(problem, file=sys.stderr)
        return EXIT_BAD_INPUT


if __name__ == "__main__":
    sys.exit(main())
