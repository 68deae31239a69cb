"""`simfunnel waterfall`: the reverse waterfall from a revenue target to the leads it needs,
and the SDR load of the scenario's own flow. Arithmetic, no simulation and no answer object,
so it lives apart from the decisions that simulate."""

from __future__ import annotations

import argparse
import math
from typing import Any

from . import options as opt
from .common import EXIT_OK, format_arg, leads_arrive, load, problem, scenario_args
from .output import print_json
from .tables import csv_text, currency_json, json_value, records

__all__ = ["waterfall_args", "waterfall_command", "waterfall_text"]


def waterfall_args(wf: argparse.ArgumentParser) -> None:
    """The options of `simfunnel waterfall`."""
    scenario_args(wf, seed=False)
    wf.add_argument(
        "--revenue",
        type=opt.finite(above=0),
        required=True,
        help="revenue target over the scenario's horizon",
    )
    format_arg(wf)


def waterfall_text(table: Any, money: Any) -> str:
    """The reverse waterfall as a leader reads it: revenue in the currency, counts whole
    (rounded up), rates as percents."""

    def cell(stage: str, value: float) -> str:
        if value != value:  # NaN: no rate on the revenue row
            return ""
        return money.format(value, compact=False) if stage == "revenue" else f"{math.ceil(value):,}"

    shown = table.copy()
    for col in ("needed", "per_week"):
        shown[col] = [cell(st, v) for st, v in zip(table["stage"], table[col], strict=True)]
    shown["rate"] = [("" if v != v else f"{100 * v:.0f}%") for v in table["rate"]]
    shown["stage"] = shown["stage"].str.replace("_", " ")
    shown["next_stage"] = shown["next_stage"].fillna("").str.replace("_", " ")
    return str(shown.to_string(index=False))


def waterfall_command(args: argparse.Namespace) -> int:
    """The reverse waterfall and the SDR load: arithmetic, no simulation, no answer object;
    its JSON has the same first keys as an answer's (no summary) and the workload figures."""
    from ..decisions import outbound_revenue, reverse_waterfall_for, scenario_rates, sdr_workload

    scenario = load(args.scenario)
    leads_arrive(args, scenario)
    try:
        table = reverse_waterfall_for(scenario, args.revenue)
        w = sdr_workload(scenario)
    except ValueError as exc:
        raise problem(f"{args.scenario}: {exc}") from None
    r = scenario_rates(scenario)
    money = scenario.currency
    heading = (
        f"{scenario.name}: {money.format(args.revenue, compact=False)} in {scenario.weeks} "
        f"weeks at a mean deal of {money.format(r.deal_value, compact=False)} (nominal rates: "
        "no capacity limit, no speed-to-lead decay; counts rounded up: a plan needs whole ones)"
    )
    outbound = outbound_revenue(scenario)
    if scenario.outbound is not None:
        rest = max(0.0, args.revenue - outbound)
        heading += (
            f". The outbound list brings about {money.format(outbound, compact=False)} of it at "
            f"its cadence's odds; "
            + (
                f"inbound must bring the other {money.format(rest, compact=False)}, worked back below"
                if rest > 0
                else "inbound need bring nothing more"
            )
        )
    load_line = (
        f"SDR load of the scenario's own MQL flow: {w.load_hours_per_week:,.0f} rep-hours a "
        f"week; {w.headcount_by_occupancy:.1f} SDRs at {w.target_occupancy:.0%} occupancy, "
        f"{w.headcount_by_erlang_c:.1f} by Erlang C for {w.erlang_c.target:.0%} of touches "
        f"within {w.erlang_c.answer_within:g} h (now {w.headcount_now})"
    )
    if args.format == "json":
        workload = {k: v for k, v in vars(w).items() if k != "erlang_c"}
        workload |= {"erlang_c_servers": w.erlang_c.servers, "erlang_c_target": w.erlang_c.target}
        workload["answer_within_hours"] = w.erlang_c.answer_within
        print_json(
            {
                "command": args.command,
                "scenario": scenario.name,
                "verdict": f"{heading}. {load_line}",
                "table": records(table),
                "revenue": args.revenue,
                **currency_json(scenario),
                "workload": json_value(workload),
            }
        )
    elif args.format == "csv":
        print(csv_text(table), end="")
    else:
        print(heading)
        print(waterfall_text(table, money))
        print(f"\n{load_line}")
    return EXIT_OK
