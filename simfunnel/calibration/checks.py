"""What the fit refuses and what it warns of: too few leads or MQLs, values fitted from small
samples, an export whose stages collapse, a source gone silent, statuses or deal stages the
export words its own way, and a fitted scenario that fails its own validation (one line naming
the CSV column behind the bad value)."""

from __future__ import annotations

from typing import Any

import pandas as pd

from ..base.formatting import one_line
from ..base.units import MAX_DURATION, WEEK
from ..data import CalibrationError, ExportTable
from ..model import END_STATES
from ..scenario import OUTCOMES, ScenarioError, scenario_from_dict
from .cohorts import CohortModel
from .gaps import GAP_EXPECTED, GAP_MIN_DAYS
from .records import plain_values, warn
from .stage_fit import parent_column

__all__ = [
    "MAX_HORIZON_WEEKS",
    "MIN_LEADS",
    "MIN_MQLS",
    "SHORT_PERIOD_WEEKS",
    "SMALL_SAMPLE",
    "blame",
    "check_horizon",
    "collapsed_stages",
    "enough",
    "no_contacts",
    "one_way",
    "silent_sources",
    "small_samples",
    "statuses",
    "unread_amounts",
    "validate",
]

# What a fit needs (docs/calibration.md, "What is refused, and why"): below these it refuses.
MIN_LEADS = 30  # usable leads created in the data period
MIN_MQLS = 5  # leads with an MQL date
SMALL_SAMPLE = 10  # a value fitted from fewer events than this is kept with a warning
SHORT_PERIOD_WEEKS = 4  # a data period shorter than this is kept with a warning
MAX_HORIZON_WEEKS = int(MAX_DURATION // WEEK)  # a scenario runs at most 10 years


def check_horizon(horizon_weeks: Any) -> None:
    """The horizon is the user's option, checked before any work: a whole number of weeks
    from 1 to 10 years (the longest a scenario runs)."""
    if isinstance(horizon_weeks, bool) or not isinstance(horizon_weeks, int) or horizon_weeks < 1:
        raise CalibrationError(f"horizon_weeks must be a whole number >= 1 (got {horizon_weeks!r})")
    if horizon_weeks > MAX_HORIZON_WEEKS:
        raise CalibrationError(
            f"horizon_weeks (--horizon) {horizon_weeks} is over 10 years, the longest a scenario "
            f"runs: give {MAX_HORIZON_WEEKS} weeks or fewer"
        )


def unread_amounts(
    warned: list[dict[str, Any]], tables: dict[str, ExportTable], fitted: bool = False
) -> str:
    """A warning when amounts were there but could not be read (a currency or a format the
    reader does not know), which a user would otherwise take for an export without amounts;
    and, without a deal value ``fitted``, why, for the assumption's basis (else empty). A
    fit on the amounts that were read says the rest were left out: they may be the largest
    (a format used only above some size, such as lakhs)."""
    said: list[str] = []
    for table in (tables.get("leads"), tables.get("opportunities")):
        column = table.columns.get("amount") if table is not None else None
        if table is None or column is None:
            continue
        r = table.report
        bad = r[(r["column"] == column) & r["problem"].str.startswith("not a")]
        if len(bad):
            text = (
                f"{len(bad)} amount{'s' if len(bad) > 1 else ''} could not be read (e.g. "
                f"{bad['value'].iloc[0]!r} on line "
                f"{bad['line'].iloc[0]}): blanked, see the report"
            )
            if fitted:
                text += "; the deal value is fitted on the others, which may leave out a kind"
            warn(warned, table.path, column, text)
            said.append(f"{text.split(':')[0]} in {table.path}")
    if fitted:
        return ""
    if said:
        return "no usable amounts: " + "; ".join(said)
    named = [t for t in tables.values() if "amount" in t.columns]
    found = sum(int((t.data["amount"] > 0).sum()) for t in named)
    if found:
        return "fewer than 3 positive amounts on the opportunities: too few to fit"
    return "the amount columns are blank" if named else "no amount column in the exports"


def no_contacts(ct: ExportTable, calls: dict[str, Any], warned: list[dict[str, Any]]) -> None:
    """A call log in which no call reached a person cannot give the qualification rate; the
    usual cause is an outcome word the reader does not know (its warning in ``warned``), so
    the line says which."""
    if calls.get("contacts"):
        return
    unknown = [w["problem"] for w in warned if "unknown outcome" in str(w["problem"])]
    why = (
        f": {unknown[0]}"
        if unknown
        else " (no outcome read as contact: Connected, Reached Contact, contact)"
    )
    raise CalibrationError(
        f"{ct.path}: no call of the {calls.get('dials', 0)} read reached a contact, so "
        f"outcomes.probabilities.qualified cannot be fitted{why}"
    )


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


_LABEL = {"mql_date": "MQL", "sql_date": "SQL", "opportunity_date": "opportunity"}


def collapsed_stages(
    warned: list[dict[str, Any]],
    lt: ExportTable,
    L: pd.DataFrame,
    model: CohortModel | None,
    conversion: pd.DataFrame,
) -> None:
    """A thin export (won dates without SQL or opportunity dates) fits a stage at 0, and the
    scenario would forecast no wins: say so loudly, naming the stages that cannot be fitted,
    with the conversion to won the export does show, from the stage the cohort model counts
    it from (censored cohorts, :mod:`simfunnel.calibration.cohorts`), and where to get its
    forecast."""
    gaps = [c for c in ("sql_date", "opportunity_date") if L[c].isna().all()]
    if not gaps or L["won_date"].isna().all() or model is None:
        return
    won = model.report()
    won = won[won["stage"] == "won"]
    rate = float((won["rate"] * won["n"]).sum() / won["n"].sum())
    median = float(won["median_days"].iloc[0])
    dated = [c for c in ("mql_date", "sql_date", "opportunity_date") if L[c].notna().any()]
    parent = _LABEL[parent_column("won_date", dated)] if dated else "lead"
    unfit = (["MQL->SQL"] if "sql_date" in gaps else []) + ["SQL->opportunity"]
    win = conversion[(conversion["stage"] == "opportunity->won") & (conversion["source"] == "all")]
    if "opportunity_date" in gaps and not (len(win) and win["n"].iloc[0] > 0):
        unfit.append("opportunity->won")
    names = " and ".join(f"{_LABEL[c]} dates" for c in gaps)
    warn(
        warned,
        lt.path,
        lt.columns.get(gaps[0]),
        f"COLLAPSED STAGES: the export has won dates but no {names}, so "
        f"{', '.join(unfit[:-1])}{' and ' if len(unfit) > 1 else ''}{unfit[-1]} cannot be "
        f"fitted and this scenario forecasts no wins from new MQLs. The export shows "
        f"{parent}->won at {rate:.1%} after a median {median:.0f} days (censored cohorts): "
        "`simfunnel outlook` forecasts from that, or state the stages with --set",
    )


def small_samples(
    rows: list[dict[str, Any]],
    skip: set[str],
    tables: dict[str, ExportTable],
    arrivals: pd.DataFrame,
    conversion: pd.DataFrame,
    chosen: dict[str, pd.Series],
    deal_values: pd.DataFrame,
    calls: dict[str, Any],
) -> None:
    """A warning for each value fitted from fewer than SMALL_SAMPLE events: a share from
    fewer than SMALL_SAMPLE successes or failures (0 won of 279 is a rate of 0 that a few
    wins would move), a count or duration from fewer than SMALL_SAMPLE records. ``skip``:
    stages whose rate is 1 by construction (a stand-in date)."""
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
        k, n = int(c["k"]), int(c["n"])
        which = _scarce(k, n)
        if n > 0 and which and c["stage"] not in skip:
            warn(
                rows,
                lt.path,
                lt.columns.get(STAGE_FIELD[c["stage"]]),
                f"{c['stage']}: {k} of {n} ({few} {which}): 95% {c['low']:.2f} to {c['high']:.2f}",
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
        _small_call_samples(rows, tables["calls"], calls)


def _scarce(k: float, n: float) -> str:
    """'events' or 'non-events' when a share of k in n rests on fewer than SMALL_SAMPLE of
    them (either side moves the rate as much), else ''."""
    if min(k, n - k) >= SMALL_SAMPLE:
        return ""
    return "events" if k <= n - k else "non-events"


def _small_call_samples(rows: list[dict[str, Any]], ct: ExportTable, calls: dict[str, Any]) -> None:
    """The call log's shares from fewer than SMALL_SAMPLE successes or failures, and the
    cadence from fewer than SMALL_SAMPLE leads never contacted."""
    few = f"fewer than {SMALL_SAMPLE}"
    for what, k, n, of in (
        ("cadence.connect_probability", calls["connects"], calls["dials"], "dials"),
        ("cadence.contact_probability", calls["contacts"], calls["connects"], "connects"),
        ("outcomes.probabilities.qualified", calls["sqls"], calls["contacts"], "contacts"),
    ):
        if which := _scarce(k, n):
            warn(
                rows,
                ct.path,
                ct.columns.get("outcome"),
                f"{what}: fitted from {int(k)} of {int(n)} {of} ({few} {which})",
            )
    if calls["never_contacted"] < SMALL_SAMPLE:
        warn(
            rows,
            ct.path,
            ct.columns.get("lead_id"),
            f"cadence.max_attempts and gaps: fitted from {int(calls['never_contacted'])} leads "
            f"never contacted ({few})",
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
    if plain in ("horizon", "start_date"):  # set from the options, not from a column
        option = "--horizon (horizon_weeks)" if plain == "horizon" else "--as-of (as_of)"
        return f"the option {option} gives the scenario's {plain} a value it refuses: {what}"
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


def silent_sources(
    warned: list[dict[str, Any]], lt: ExportTable, inside: pd.DataFrame, rates: pd.DataFrame
) -> None:
    """Warn of a source with no lead in the last weeks of the data where its fitted rate
    expects GAP_EXPECTED or more (as a gap in the export is judged): it has stopped, or been
    renamed, and that rate overstates the present. A rate the count model already brought to
    the present (:mod:`simfunnel.calibration.recent`) expects few, and is not warned."""
    end = inside["created"].max()
    moved = rates["basis"].notna() if "basis" in rates else pd.Series(False, index=rates.index)
    kept = rates[~moved]  # a rate the count model moved says so in its own note
    for source, rate in zip(kept["source"], kept["rate_per_week"].astype(float), strict=True):
        last = inside.loc[inside["source"] == source, "created"].max()
        silent = (end - last) / pd.Timedelta(weeks=1)
        due = rate * silent
        if silent * 7 >= GAP_MIN_DAYS and due >= GAP_EXPECTED:
            warn(
                warned,
                lt.path,
                lt.columns.get("source"),
                f"sources[{source}]: no lead since {last:%Y-%m-%d}, {silent:.0f} weeks before "
                f"the last lead of the export, where its rate of {rate:,.1f} a week "
                f"expects about {due:,.0f}: if it stopped (or was renamed), that rate overstates "
                f"the present; state it with --set 'sources[{source}].rate_per_week=...'",
            )


def statuses(
    warned: list[dict[str, Any]], notes: list[str], lt: ExportTable, leads: pd.DataFrame
) -> None:
    """Warn when the lead statuses name none of the conversation outcomes the fit counts
    (information_gathering, postponed, no_prospect, do_not_call) while statuses are given:
    a CRM's own labels ('Unqualified', 'Bad Timing') then leave every outcome at its split
    by default, which the report should say rather than fit silently."""
    status = leads["status"].dropna()
    if status.empty:
        return
    unknown = status[~status.isin(END_STATES)].value_counts()
    if status.isin(OUTCOMES[1:]).any():
        if unknown.sum() >= 0.01 * len(status):
            shown = ", ".join(f"{k!r} ({v:,})" for k, v in unknown.head(5).items())
            notes.append(
                f"lead statuses the model does not name, counted as no outcome: {shown} "
                f"(it names {', '.join(END_STATES)}; map a CRM's labels with statuses: in the "
                "column mapping)"
            )
        return
    seen = status.value_counts()
    shown = ", ".join(f"{k!r} ({v:,})" for k, v in seen.head(5).items())
    warn(
        warned,
        lt.path,
        lt.columns.get("status"),
        f"no lead status names a conversation outcome the fit counts ({', '.join(OUTCOMES[1:])}); "
        f"seen: {shown}: the outcomes of conversations keep their default split; map the "
        "CRM's labels with statuses: in the column mapping (e.g. statuses: {postponed: [Bad "
        "timing], no_prospect: [Unqualified]}), or state outcomes.probabilities with --set",
    )


ONE_WAY_MIN = 20  # this many closed deals all won (or all lost) is a reading, not a market


def one_way(warned: list[dict[str, Any]], ot: ExportTable) -> None:
    """Warn when every closed deal of the opportunities table reads as won, or every one as
    lost: a stage label the reader took the wrong way ('Closed - Not Won') gives a win rate of
    100% with an interval of a tenth of a point, which nothing else would question."""
    won = ot.data["won"].dropna().astype(bool)
    if len(won) < ONE_WAY_MIN or 0 < won.sum() < len(won):
        return
    how = "won" if won.all() else "lost"
    column = ot.columns.get("won") or ot.columns.get("stage")
    labels = ot.data.loc[won.index, "stage"].dropna().astype(str).value_counts().index[:3]
    shown = f" (stages {', '.join(repr(x) for x in labels)})" if len(labels) else ""
    warn(
        warned,
        ot.path,
        column,
        f"every one of the {len(won)} closed deals reads as {how}{shown}: check how the "
        "export says a deal was lost (or won), name the column with --mapping, or state "
        "ae.win.probability with --set",
    )
