"""What the HTML report says about one run, before it is HTML: the run in a paragraph, its key
figures with their units, and its four charts (drawn later, by ``simfunnel.present``).
:meth:`SimulationResult.report <simfunnel.results.result.SimulationResult.report>` returns it.
"""

from __future__ import annotations

import math

import pandas as pd

from ..base.formatting import fmt
from ..base.units import format_duration
from . import plots
from .answer import Chart, Report, Tile
from .run_kpis import RunKPIs

__all__ = ["result_report"]


def _result_opening(result: RunKPIs) -> str:
    """The run in one paragraph: the funnel's counts, speed-to-lead and how busy the SDRs were."""
    s = result.scenario
    t, stl, util = result.totals, result.speed_to_lead, result.utilisations
    money = s.currency.format
    return (
        f"Over {s.period} from {s.start_date:%Y-%m-%d}, {t['leads']:,} inbound leads "
        f"gave {t['mqls']:,} MQLs, {t['sqls']:,} SQLs and {t['valid_opportunities']:,} valid "
        f"opportunities worth {money(t['pipeline_value'])}; {t['won']:,} deals were won "
        f"({money(t['won_value'])}). {fmt(stl['within_1h'], True)} of MQLs were "
        f"called within an hour, and the SDRs were busy {fmt(util['sdr'], True)} of their "
        "on-phone time."
    )


def _result_kpis(result: RunKPIs) -> pd.DataFrame:
    """The run's key figures with their units, leaving out the ones the run has not got."""
    t, r, stl = result.totals, result.rates, result.speed_to_lead
    util = result.utilisations
    currency = result.scenario.currency
    kpis = [
        ("inbound leads", t["leads"], "leads"),
        ("MQLs", t["mqls"], "leads"),
        ("outbound accounts", t["accounts"], "accounts"),
        ("dials", t["dials"], "calls"),
        ("connect rate", r["connect_rate"], "% of dials"),
        ("contact rate", r["contact_rate"], "% of connects"),
        ("SQLs", t["sqls"], "leads"),
        ("MQL to SQL", r["mql_to_sql"], "% of MQLs"),
        ("valid opportunities", t["valid_opportunities"], "opportunities"),
        ("SQL to valid", r["sql_to_valid"], "% of decided SQLs"),
        ("won", t["won"], "deals"),
        ("win rate", r["win_rate"], "% of closed"),
        ("pipeline value", t["pipeline_value"], currency.code),
        ("won value", t["won_value"], currency.code),
        ("speed-to-lead, median", stl["median_h"], "time"),
        ("MQLs called within 1 h", stl["within_1h"], "% of MQLs"),
        ("MQLs called within 24 h", stl["within_24h"], "% of MQLs"),
        ("SDR utilisation", util["sdr"], "% of on-phone hours"),
        ("BDR utilisation", util["bdr"], "% of on-phone hours"),
        ("untouched MQLs waiting, mean", result.backlog["mean"], "leads"),
        ("AE occupancy", result.ae.get("ae_occupancy"), "% of AE room"),
    ]
    shown = {currency.code: lambda v: currency.format(v, compact=False), "time": format_duration}
    rows = [
        (name, shown[unit](v) if unit in shown else fmt(v, unit.startswith("%")), unit)
        for name, v, unit in kpis
        if v is not None and not (isinstance(v, float) and math.isnan(v))
    ]
    return pd.DataFrame(rows, columns=["figure", "value", "unit"])


def _result_charts(result: RunKPIs) -> list[Chart]:
    """The four charts of one run: funnel, weekly volumes, capacity, speed-to-lead."""
    return [
        (
            "The funnel from leads to wins: each bar's count and its conversion from the stage "
            "before.",
            lambda ax: plots.funnel(result, ax=ax),
            (9, 4.8),
        ),
        (
            "Weekly MQLs, SQLs and valid opportunities.",
            lambda ax: plots.weekly(result, ax=ax),
            (9, 4.2),
        ),
        (
            "Team capacity: utilisation (lines, above) and untouched MQLs waiting (bars, below).",
            lambda ax: plots.capacity(result, ax=ax),
            (9, 4.5),
        ),
        (
            "Speed-to-lead: how long MQLs waited for a first call, with the 1 h and 24 h marks.",
            lambda ax: plots.speed_to_lead(result, ax=ax),
            (9, 4.5),
        ),
    ]


def _result_tiles(result: RunKPIs) -> list[Tile]:
    """The run's outcome at a glance: volumes, money, how busy the SDRs were, how fast."""
    t, stl = result.totals, result.speed_to_lead
    money = result.scenario.currency
    weeks = f"over {result.scenario.weeks:g} weeks"
    return [
        Tile("Valid opportunities", f"{t['valid_opportunities']:,}", weeks),
        Tile("Deals won", f"{t['won']:,}", f"worth {money.format(t['won_value'])}"),
        Tile("Pipeline value", money.format(t["pipeline_value"]), "valid opportunities created"),
        Tile("SDR utilisation", fmt(result.utilisations["sdr"], True), "of on-phone hours"),
        Tile("MQLs called within 1 h", fmt(stl["within_1h"], True), "speed to lead"),
    ]


def _result_points(result: RunKPIs) -> list[tuple[str, str]]:
    """What the run gave and why one run is not a plan; the layer above (the CLI) inserts
    where the funnel leaks between them (a decision on the run, which this layer cannot make)."""
    t, money = result.totals, result.scenario.currency
    won = int(t["won"])
    gave = (
        f"{t['valid_opportunities']:,} valid opportunities and {won:,} deals won worth "
        f"{money.format(t['won_value'])} over {result.scenario.weeks:g} weeks"
    )
    # How far another seed moves it depends on the funnel (fixed volumes vary less than a
    # Poisson count): only replications can say, so the point says so and not a guess.
    risk = (
        "this is one run, one draw of luck: another seed gives other figures, and by how much "
        "only replications tell (simfunnel run --reps 20, or a decision, gives intervals); "
        "and the scenario's rates are taken as exact: check them against the CRM"
    )
    return [("What it gave", gave), ("What could go wrong", risk)]


def _source_funnel(result: RunKPIs) -> pd.DataFrame:
    """The funnel of each source, in words and the scenario's currency: where leads turn into
    deals, and which sources carry the value."""
    f = result.funnel_by_source
    money = result.scenario.currency
    whole = ["leads", "mqls", "sqls", "valid_opportunities", "won"]
    shown = pd.DataFrame({"source": f["source"]})
    for col in whole:
        shown[col] = [f"{v:,.0f}" for v in f[col]]
    shown["won_value"] = [money.format(v) for v in f["won_value"]]
    for col in ("mql_rate", "mql_to_sql", "sql_to_valid"):
        shown[col] = [fmt(v, True) for v in f[col]]
    outbound = (f["motion"] == "outbound").to_numpy()
    shown.loc[outbound, ["mqls", "mql_rate", "mql_to_sql"]] = "outbound: no MQL"
    return shown.rename(
        columns={
            "mqls": "MQLs",
            "sqls": "SQLs",
            "valid_opportunities": "valid opportunities",
            "won_value": "won value",
            "mql_rate": "MQL rate",
            "mql_to_sql": "MQL to SQL",
            "sql_to_valid": "SQL to valid",
        }
    )


def result_report(result: RunKPIs) -> Report:
    """One simulated run: what it gave. The diagnosis of what held it back is a decision
    (``simfunnel.decisions.diagnose``), which this layer cannot import: a layer above that
    wants it in the report appends its verdict to ``verdict``."""
    s = result.scenario
    opening = _result_opening(result)
    kpis = _result_kpis(result)
    details = result.summary()
    details["value"] = [fmt(v) for v in details["value"]]
    charts = _result_charts(result)
    return Report(
        title=s.name,
        subtitle=f"One simulated run, seed {result.seed}, {s.period}",
        verdict=[opening],
        tiles=_result_tiles(result),
        points=_result_points(result),
        charts=charts,
        kpis=kpis,
        kpi_note=(
            "One replication: every figure is one draw of luck. For intervals, run it with "
            "replications (simfunnel run --reps 20) or a decision (thresholds, size, forecast)."
        ),
        scenario=s,
        notes=[f"seed: {result.seed}"],
        details=details,
        tables=[
            (
                "Funnel by source",
                "Each source from lead to deal won over the run; rates are of the stage before.",
                _source_funnel(result),
            )
        ],
    )
