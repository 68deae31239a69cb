"""What the fit refuses and what it warns of: too few leads or MQLs, values fitted from small
samples, an export whose stages collapse, and a fitted scenario that fails its own validation
(one line naming the CSV column behind the bad value)."""

from __future__ import annotations

from typing import Any

import pandas as pd

from ..base.formatting import one_line
from ..data import CalibrationError, ExportTable
from ..scenario import ScenarioError, scenario_from_dict
from .cohorts import CohortModel
from .records import plain_values, warn

__all__ = [
    "MIN_LEADS",
    "MIN_MQLS",
    "SHORT_PERIOD_WEEKS",
    "SMALL_SAMPLE",
    "blame",
    "collapsed_stages",
    "enough",
    "small_samples",
    "validate",
]

# What a fit needs (docs/calibration.md, "What is refused, and why"): below these it refuses.
MIN_LEADS = 30  # usable leads created in the data period
MIN_MQLS = 5  # leads with an MQL date
SMALL_SAMPLE = 10  # a value fitted from fewer events than this is kept with a warning
SHORT_PERIOD_WEEKS = 4  # a data period shorter than this is kept with a warning


def enough(lt: ExportTable, L: pd.DataFrame, outside: pd.Series, t0: Any, t1: Any) -> None:
    """Refuse a fit the data cannot support: fewer than MIN_LEADS leads in the period, or
    fewer than MIN_MQLS MQLs."""
    n = int((~outside).sum())
    if n < MIN_LEADS:
        where = f" created {t0:%Y-%m-%d} to {t1:%Y-%m-%d}" if outside.any() else ""
        raise CalibrationError(
            f"{lt.path}: {n} usable lead{'' if n == 1 else 's'}{where} ({lt.rows_read} read, "
            f"{lt.excluded} excluded: see the report); a fit needs at least {MIN_LEADS}"
        )
    mqls = int(L["mql_date"].notna().sum())
    if mqls < MIN_MQLS:
        column = lt.columns.get("mql_date")
        what = f"column '{column}'" if column else "no MQL date column"
        raise CalibrationError(
            f"{lt.path}: {mqls} MQLs ({what}) among {len(L)} leads; a fit needs at least {MIN_MQLS}"
        )


# Conversion stage -> the lead-table field that counts its successes.
STAGE_FIELD = {
    "lead->mql": "mql_date",
    "mql->sql": "sql_date",
    "sql->opportunity": "opportunity_date",
    "opportunity->won": "won_date",
}


def collapsed_stages(
    warned: list[dict[str, Any]], lt: ExportTable, L: pd.DataFrame, model: CohortModel | None
) -> None:
    """A thin export (won dates without SQL or opportunity dates) fits MQL->SQL at 0, and the
    scenario would forecast no wins: say so loudly, with the MQL->won conversion the export
    does show (censored cohorts, :mod:`simfunnel.calibration.cohorts`) and where to get its forecast."""
    gaps = [c for c in ("sql_date", "opportunity_date") if L[c].isna().all()]
    if not gaps or L["won_date"].isna().all() or model is None:
        return
    won = model.report()
    won = won[won["stage"] == "won"]
    rate = float((won["rate"] * won["n"]).sum() / won["n"].sum())
    median = float(won["median_days"].iloc[0])
    label = {"sql_date": "SQL dates", "opportunity_date": "opportunity dates"}
    names = " and ".join(label[c] for c in gaps)
    warn(
        warned,
        lt.path,
        lt.columns.get(gaps[0]),
        f"COLLAPSED STAGES: the export has won dates but no {names}, so MQL->SQL, "
        f"SQL->opportunity and opportunity->won cannot be fitted and this scenario forecasts "
        f"no wins from new MQLs. The export shows MQL->won at {rate:.1%} after a median "
        f"{median:.0f} days (censored cohorts): `simfunnel outlook` forecasts from that, or "
        "state the stages with --set",
    )


def small_samples(
    rows: list[dict[str, Any]],
    tables: dict[str, ExportTable],
    arrivals: pd.DataFrame,
    conversion: pd.DataFrame,
    chosen: dict[str, pd.Series],
    deal_values: pd.DataFrame,
    calls: dict[str, Any],
) -> None:
    """A warning for each value fitted from fewer than SMALL_SAMPLE events."""
    lt = tables["leads"]
    few = f"fewer than {SMALL_SAMPLE}"
    for _, a in arrivals.iterrows():
        if a["leads"] < SMALL_SAMPLE:
            warn(
                rows,
                lt.path,
                lt.columns.get("source"),
                f"source {a['source']!r}: rate from "
                f"{int(a['leads'])} leads ({few}): 95% {a['low']:.2f} to {a['high']:.2f} a week",
            )
    for _, c in conversion[conversion["source"] == "all"].iterrows():
        if 0 < c["n"] < SMALL_SAMPLE:
            warn(
                rows,
                lt.path,
                lt.columns.get(STAGE_FIELD[c["stage"]]),
                f"{c['stage']}: {int(c['k'])} of {int(c['n'])} ({few}): 95% "
                f"{c['low']:.2f} to {c['high']:.2f}",
            )
    for stage, row in chosen.items():
        if row["events"] < SMALL_SAMPLE:
            field_ = "won_date" if stage == "sales_cycle" else "opportunity_date"
            warn(
                rows,
                lt.path,
                lt.columns.get(field_),
                f"{stage}: fitted from {int(row['events'])} completed durations ({few})",
            )
    if not deal_values.empty and deal_values["n"].iloc[0] < SMALL_SAMPLE:
        warn(
            rows,
            lt.path,
            lt.columns.get("amount"),
            f"deal value: fitted from {int(deal_values['n'].iloc[0])} amounts ({few})",
        )
    if calls:
        ct = tables["calls"]
        for what, n, column in (
            ("cadence.connect_probability", calls["dials"], "outcome"),
            ("cadence.contact_probability", calls["connects"], "outcome"),
            ("outcomes.probabilities.qualified", calls["contacts"], "outcome"),
            ("cadence.max_attempts and gaps", calls["never_contacted"], "lead_id"),
        ):
            if n < SMALL_SAMPLE:
                warn(
                    rows,
                    ct.path,
                    ct.columns.get(column),
                    f"{what}: fitted from {int(n)} "
                    f"{'leads never contacted' if 'attempts' in what else 'calls'} ({few})",
                )


# Scenario setting (its path's start) -> the export fields behind it, the likeliest first.
BLAME: tuple[tuple[str, tuple[tuple[str, str], ...]], ...] = (
    ("sources", (("leads", "source"), ("leads", "created"))),
    ("scoring", (("leads", "score"), ("leads", "mql_date"))),
    ("cadence.durations", (("calls", "duration_s"),)),
    ("cadence.gaps", (("calls", "timestamp"),)),
    ("cadence.max_attempts", (("calls", "lead_id"),)),
    ("cadence", (("calls", "outcome"),)),
    ("outcomes", (("leads", "status"), ("leads", "sql_date"), ("calls", "outcome"))),
    ("sdr", (("calls", "rep"),)),
    ("ae.acceptance", (("leads", "opportunity_date"), ("leads", "sql_date"))),
    ("ae.win", (("leads", "won_date"), ("opportunities", "won"), ("opportunities", "stage"))),
    ("ae.sales_cycle", (("leads", "won_date"), ("opportunities", "close_date"))),
    ("ae.meeting_delay", (("leads", "opportunity_date"), ("leads", "sql_date"))),
    ("ae.deal_value", (("leads", "amount"), ("opportunities", "amount"))),
    ("", (("leads", "created"),)),
)


def blame(problems: list[str], tables: dict[str, ExportTable]) -> str:
    """A scenario problem as one line naming the export file and column behind the value."""
    first = str(problems[0])
    parts = first.split(": ", 2)
    loc, what = (parts[1], parts[2]) if len(parts) == 3 else ("", first)
    plain = loc.replace("[", ".").replace("]", "")
    if plain.startswith("sources") and ".score" in plain:
        plain = "scoring"
    for prefix, fields in BLAME:
        if plain.startswith(prefix):
            for kind, name in fields:
                table = tables.get(kind)
                if table is not None and name in table.columns:
                    more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
                    return (
                        f"{table.path}: column '{table.columns[name]}' ({name}) gives the "
                        f"fitted {loc or 'scenario'} a value the scenario refuses: {what}{more}; "
                        "no scenario written"
                    )
    return f"{tables['leads'].path}: the fitted scenario is refused ({first}); no scenario written"


def validate(scenario: dict[str, Any], tables: dict[str, ExportTable]) -> None:
    """The fitted scenario must pass the scenario's own validation; else one line naming the
    CSV column behind the bad value."""
    try:
        scenario_from_dict(plain_values(scenario), source="<fitted>")
    except ScenarioError as exc:
        raise CalibrationError(one_line(blame(exc.problems, tables))) from None
