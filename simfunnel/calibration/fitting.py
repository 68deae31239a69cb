"""Calibration from CRM exports: ``fit`` reads lead, call and opportunity tables, fits what the
data can give and returns a :class:`Calibration`, whose scenario runs.

A simulation is only as credible as its parameters, and teams have CRM exports rather than
parameters. The readers (``read_leads``, ``read_calls``, ``read_opportunities``, in
:mod:`simfunnel.data`) take the three tables a team can pull: a documented column mapping per
style, dates in any common format, every bad row reported with its line and never dropped
silently. ``fit`` then measures arrivals, conversions, stage durations with censoring, call
rates, deal values and the score curve, and writes a scenario with each fitted value's
interval and basis in a comment and the capacity figures the data cannot give marked as
assumptions. The steps live beside this module: ``estimators`` (the statistics),
``lead_stats`` (what the lead table tells), ``calls`` (what the call log tells), ``capacity``
(who does the work), ``recent`` (the present rather than the average), ``builder`` (the
scenario), ``uncertainty``, ``overrides`` (the user's values) and ``checks`` (refusals and
warnings); the result, :class:`Calibration`, is ``fit_result``.

Two choices shape the scenario it writes (docs/calibration.md says more):

- rates are the *observed* ones, so speed-to-lead decay is switched off (``speed_to_lead:
  {enabled: false}``): the data show contact and qualification at the team's present response
  times, and applying the default decay on top would count it twice;
- quality effects are set to 0: exports do not show latent quality, so the fitted
  probabilities are averages over the leads seen. The score curve (``score_curve``) shows how
  much the score says, for setting them by hand.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

# The readers live in simfunnel.data; their names are imported back so that
# ``from simfunnel.calibration.fitting import read_leads, CalibrationError, ...`` keeps working.
from ..data import (
    CalibrationError,
    ExportTable,
    check_exports,
    parse_timestamp,
    read_calls,
    read_leads,
    read_opportunities,
)
from .builder import Estimates, build_scenario
from .calls import fit_calls
from .capacity import active_last_month, capacity_notes, capacity_table
from .checks import (
    MIN_LEADS,
    SHORT_PERIOD_WEEKS,
    check_horizon,
    collapsed_stages,
    enough,
    no_contacts,
    one_way,
    silent_sources,
    small_samples,
    statuses,
    unread_amounts,
    validate,
)
from .fit_result import Calibration
from .gaps import export_gaps, gap_weeks, gap_words
from .lead_stats import (
    arrival_tables,
    closes_from,
    conversion_table,
    deal_value_fits,
    score_tables,
    stage_durations,
    stand_in_stages,
)
from .overrides import apply_overrides
from .recent import present_rates
from .records import warn
from .uncertainty import known_by_the_user

__all__ = ["fit"]


def _as_table(x: ExportTable | str | Path | None, reader: Any, **kw: Any) -> ExportTable | None:
    """A table given as a path read with ``reader``; a table already read as it is."""
    if x is None or isinstance(x, ExportTable):
        return x
    return reader(x, **kw)


def fit(
    leads: ExportTable | str | Path,
    calls: ExportTable | str | Path | None = None,
    opportunities: ExportTable | str | Path | None = None,
    *,
    style: str = "hubspot",
    mapping: Any = None,
    date_format: str | None = None,
    start: Any = None,
    as_of: Any = None,
    horizon_weeks: int = 13,
    name: str = "fitted",
    encoding: str | None = None,
    sep: str | None = None,
    overrides: Mapping[str, Any] | None = None,
    since: Any = None,
    half_life_weeks: float | None = None,
    decimal: str | None = None,
) -> Calibration:
    """Fit a scenario from exports (paths, or tables from the ``read_*`` functions).

    ``start`` and ``as_of`` bound the period the data cover (defaults: the day of the first
    lead, and the latest plausible date in any table, :func:`simfunnel.data.check_exports`):
    arrival rates divide by it, and records still open at ``as_of`` are right-censored there.
    The scenario written starts at ``as_of`` and runs ``horizon_weeks``, after a warm-up long
    enough to fill the pipeline. ``overrides``: scenario fields by dotted path (``{"sdr.headcount":
    32, "sources[web].rate_per_week": 70}``) that the user knows better than the exports; set
    after the fit, validated like a scenario file, marked "set by the user" in the YAML.
    Arrival rates and the MQL->SQL and SQL->opportunity rates describe the present where the
    cohort model finds it differs from the average (:mod:`simfunnel.calibration.recent`); ``since`` and
    ``half_life_weeks`` choose its window (default: all cohorts, or those since a detected
    shift). ``decimal``: the decimal mark of the numbers, ``.`` or ``,`` (detected when not
    given, :func:`simfunnel.data.numbers.decimal_mark`).

    Refused with :class:`CalibrationError` (one line): fewer than ``MIN_LEADS`` usable leads
    in the period or fewer than ``MIN_MQLS`` MQLs, and a scenario that would fail its own
    validation (naming the CSV column behind the bad value). Values fitted from fewer than
    ``SMALL_SAMPLE`` events are kept with a warning (``warnings``, the report and the YAML).
    """
    kw = {"style": style, "mapping": mapping, "date_format": date_format}
    kw |= {"encoding": encoding, "sep": sep, "decimal": decimal}
    inputs = _checked_inputs(
        _as_table(leads, read_leads, **kw),
        _as_table(calls, read_calls, **kw),
        _as_table(opportunities, read_opportunities, **kw),
        start,
        as_of,
        horizon_weeks,
    )
    frames, est = _measure(inputs, since, half_life_weeks)
    scenario, params = build_scenario(name, inputs.as_of, horizon_weeks, est)
    small_samples(
        inputs.warned,
        {"sql->opportunity"} if "sql_date" in inputs.stand_ins else set(),
        inputs.tables,
        est.arrivals,
        est.conversion,
        est.chosen,
        est.deal_values,
        est.calls,
    )
    collapsed_stages(inputs.warned, inputs.tables["leads"], est.leads, est.cohorts, est.conversion)
    validate(scenario, inputs.tables)
    user = overrides or {}
    scenario = known_by_the_user(scenario, apply_overrides(scenario, user, params), user)
    return Calibration(
        exports=inputs.tables,
        start=inputs.start,
        as_of=inputs.as_of,
        horizon_weeks=horizon_weeks,
        parameters=pd.DataFrame(params),
        notes=inputs.notes,
        _scenario=scenario,
        warnings=inputs.warned,
        cohorts=est.cohorts,
        overrides=dict(user),
        **frames,
    )


@dataclass(eq=False)
class _Inputs:
    """The exports checked against each other and the data period: what each step reads.
    ``leads``: the lead table's rows, source filled (a stage date standing in for a missing
    one, ``stand_ins``); ``outside``: leads created outside the period; ``weeks``: the span
    the leads cover, which the rates divide by, ending at ``lead_end``; ``notes`` and
    ``warned`` gather what the steps say."""

    tables: dict[str, ExportTable]
    calls: ExportTable | None
    opportunities: ExportTable | None
    leads: pd.DataFrame
    start: pd.Timestamp
    as_of: pd.Timestamp
    weeks: float
    outside: pd.Series
    notes: list[str]
    warned: list[dict[str, Any]]
    lead_end: pd.Timestamp
    stand_ins: dict[str, str] = field(default_factory=dict)


# A start this long before the first lead, or an as-of date this long after the last, is
# outside the data: the rates would divide by weeks that hold no leads.
_SLACK = pd.Timedelta(weeks=2)


def _lift_warnings(
    tables: dict[str, ExportTable], warned: list[dict[str, Any]]
) -> dict[str, ExportTable]:
    """The readers' and checks' warnings (a stray date, unknown call outcomes, an encoding
    that garbles the text) moved from the tables' reports to the fit's warnings, so the
    scenario file shouts them and the report lists each once."""
    out = {}
    for kind, table in tables.items():
        loud = table.report["action"] == "warning"
        warned.extend(
            {str(k): v for k, v in r.items()} for r in table.report[loud].to_dict("records")
        )
        report = table.report[~loud].reset_index(drop=True)
        out[kind] = dataclasses.replace(table, report=report) if loud.any() else table
    return out


def _period(
    L: pd.DataFrame, lt: ExportTable, t0: pd.Timestamp | None, t1: pd.Timestamp, warned: list
) -> tuple[pd.Timestamp, pd.Timestamp, float]:
    """The data period's start, the end of the span the leads cover and its weeks (what the
    rates divide by). A stated start well before the first lead, or an as-of date well after
    the last, would divide the rates by weeks that hold no leads: the span is the leads',
    with a warning; so would a gap in the export (:mod:`simfunnel.calibration.gaps`), whose
    weeks are taken off, with a warning."""
    first = L["created"].min().normalize()
    column = lt.columns.get("created")
    if t0 is not None and t0 < first - _SLACK:
        warn(
            warned,
            lt.path,
            column,
            f"the start {t0:%Y-%m-%d} is {(first - t0).days} days before the first lead "
            f"({first:%Y-%m-%d}): the weeks before it hold no data, so the rates are measured "
            "from the first lead, not divided by them",
        )
        t0 = first
    t0 = first if t0 is None else t0
    last = L.loc[L["created"] <= t1, "created"].max()
    end = t1
    if pd.notna(last) and t1 - last > _SLACK:
        end = min(t1, last.normalize() + pd.Timedelta(days=1))
        warn(
            warned,
            lt.path,
            column,
            f"the last lead was created {last:%Y-%m-%d %H:%M}, {(t1 - last).days} days before "
            f"the as-of date {t1:%Y-%m-%d %H:%M}: the rates are measured over the span the "
            f"leads cover ({t0:%Y-%m-%d} to {end:%Y-%m-%d}), not over weeks that hold none; "
            "if no lead really came since, the export is not telling the present",
        )
    weeks = (end - t0).total_seconds() / 604800
    inside = L.loc[(L["created"] >= t0) & (L["created"] <= end), "created"]
    gaps = export_gaps(inside)
    if gaps:
        warn(warned, lt.path, column, gap_words(gaps, inside))
        weeks -= gap_weeks(gaps)
    if weeks <= 0:
        raise CalibrationError(
            f"{lt.path}: the data period is empty (start {t0:%Y-%m-%d %H:%M} is not before the "
            f"as-of date {t1:%Y-%m-%d %H:%M})"
        )
    return t0, end, weeks


def _checked_inputs(
    lt: ExportTable | None,
    ct: ExportTable | None,
    ot: ExportTable | None,
    start: Any,
    as_of: Any,
    horizon_weeks: Any,
) -> _Inputs:
    """The tables checked (:func:`simfunnel.data.check_exports`) and the data period set,
    refusing what no fit can use: no lead table, a bad horizon, an empty period, too few
    leads or MQLs; a short period is kept with a warning."""
    if lt is None:
        raise CalibrationError("fit needs a lead table")
    check_horizon(horizon_weeks)
    t0 = parse_timestamp(start, "start") if start is not None else None
    if len(lt.data) < MIN_LEADS:  # before the checks across tables, which would say less
        enough(lt, lt.data, pd.Series(False, index=lt.data.index), None, None)
    lt, ct, ot, t1 = check_exports(lt, ct, ot, as_of=as_of)
    warned: list[dict[str, Any]] = []
    tables = {"leads": lt} | ({"calls": ct} if ct else {}) | ({"opportunities": ot} if ot else {})
    tables = _lift_warnings(tables, warned)
    lt, ct, ot = tables["leads"], tables.get("calls"), tables.get("opportunities")
    L = lt.data.copy()
    L["source"] = L["source"].fillna("unknown")
    L, stand_ins, notes = stand_in_stages(L, lt.columns)
    t0, lead_end, weeks = _period(L, lt, t0, t1, warned)
    outside = (L["created"] < t0) | (L["created"] > t1)
    if outside.any():
        notes.append(f"{int(outside.sum())} leads created outside the period left out of rates")
    enough(lt, L, outside, t0, t1)
    if weeks < SHORT_PERIOD_WEEKS:
        warn(
            warned,
            lt.path,
            lt.columns.get("created"),
            f"the data period is {weeks * 7:.1f} days ({t0:%Y-%m-%d %H:%M} to "
            f"{lead_end:%Y-%m-%d %H:%M}): rates from under {SHORT_PERIOD_WEEKS} weeks",
        )
    return _Inputs(tables, ct, ot, L, t0, t1, weeks, outside, notes, warned, lead_end, stand_ins)


def _closes(inputs: _Inputs) -> str:
    """Which table tells how deals closed (:func:`simfunnel.calibration.lead_stats.closes_from`),
    with a note when it is the opportunities table and a warning when neither can tell."""
    lt, ot = inputs.tables["leads"], inputs.opportunities
    dated = {c for c in ("won_date", "lost_date") if inputs.leads[c].notna().any()}
    closes = closes_from(lt.columns, dated, ot)
    lacking = " or ".join(
        w for w, c in (("won", "won_date"), ("lost", "lost_date")) if c not in dated
    )
    lacking += " dates"
    if closes == "opportunities" and ot is not None:
        n = int(ot.data["won"].notna().sum())
        inputs.notes.append(
            f"the lead table has no {lacking}: the win rate and the sales "
            f"cycle are measured on the {n} closed deals of {ot.path}"
        )
        one_way(inputs.warned, ot)
    elif closes == "partial":
        warn(
            inputs.warned,
            lt.path,
            lt.columns.get("won_date") or lt.columns.get("lost_date"),
            f"the lead table has no {lacking} and no opportunities table was "
            "given: deals closed the other way cannot be told from open ones, so the win "
            "probability is assumed and the sales cycle rests on the closes dated; give "
            "--opportunities (opportunities=) or state them with --set",
        )
    return closes


def _conversions(
    inputs: _Inputs, closes: str, since: Any, half_life_weeks: float | None, rates: pd.DataFrame
) -> tuple[Any, pd.DataFrame, pd.DataFrame]:
    """The conversion table with the present put in (:mod:`simfunnel.calibration.recent`),
    the arrivals likewise, and the cohort model. The cohort model is fitted as of the end of
    the leads' span; a stage the export cannot count (no SQL, so no SQL->opportunity) keeps
    its empty row rather than a rate from another stage, and its note is dropped."""
    L, outside = inputs.leads, inputs.outside
    measured = conversion_table(L, inputs.opportunities, closes)
    cohorts, rates, conversion, said = present_rates(
        L[~outside], inputs.start, inputs.lead_end, rates, measured, since, half_life_weeks
    )
    empty = measured[(measured["source"] == "all") & (measured["n"] == 0)]["stage"].tolist()
    conversion = conversion.copy()
    for stage in empty:
        mine = conversion["stage"] == stage
        conversion.loc[mine] = measured.loc[mine]
    inputs.notes.extend(n for n in said if not any(n.startswith(f"{s}:") for s in empty))
    return cohorts, rates, conversion


def _measure(
    inputs: _Inputs, since: Any, half_life_weeks: float | None
) -> tuple[dict[str, pd.DataFrame], Estimates]:
    """Every table the fit reports (by the name of its :class:`Calibration` field) and what
    the scenario is built from; notes and warnings go to ``inputs``."""
    L, t0, t1, notes = inputs.leads, inputs.start, inputs.as_of, inputs.notes
    ct, ot, lt = inputs.calls, inputs.opportunities, inputs.tables["leads"]
    arrivals = arrival_tables(L[~inputs.outside], t0, t1, inputs.weeks)
    notes.extend(arrivals.notes)
    closes = _closes(inputs)
    statuses(inputs.warned, inputs.notes, lt, L)
    cohorts, rates, conversion = _conversions(
        inputs, closes, since, half_life_weeks, arrivals.rates
    )
    silent_sources(inputs.warned, lt, L[~inputs.outside], rates)  # the present's rates in
    durations, survival, chosen, said = stage_durations(L, ot, t1, closes, inputs.stand_ins)
    notes.extend(said)
    deal_values = deal_value_fits(L, ot)
    no_amounts = unread_amounts(inputs.warned, inputs.tables, fitted=not deal_values.empty)
    score_tab, thresholds, threshold = score_tables(L, lt, inputs.warned)
    # Calls (those for leads not in the lead table were excluded by check_exports).
    attempts, by_attempt, call_durations = pd.DataFrame(), pd.DataFrame(), pd.DataFrame()
    call_fit: dict[str, Any] = {}
    if ct is not None and not ct.data.empty:
        attempts, by_attempt, call_durations, call_fit = fit_calls(ct.data, L)
        no_contacts(ct, call_fit, inputs.warned)
    capacity = capacity_table(ct, ot, call_fit.get("reps", []), t0, t1)
    active = active_last_month(capacity)
    notes.extend(capacity_notes(capacity, active))
    frames = {
        "arrivals": rates,
        "weekly": arrivals.weekly,
        "dispersion": arrivals.dispersion,
        "conversion": conversion,
        "durations": durations,
        "survival": survival,
        "deal_values": deal_values,
        "score_curve": score_tab,
        "thresholds": thresholds,
        "attempts": attempts,
        "by_attempt": by_attempt,
        "call_durations": call_durations,
        "capacity": capacity,
    }
    est = Estimates(
        L,
        rates,
        arrivals.seasons,
        conversion,
        chosen,
        deal_values,
        threshold,
        call_fit,
        ot,
        active,
        cohorts,
        stand_ins=inputs.stand_ins,
        closes=closes,
        no_amounts=no_amounts or "no amounts",
    )
    return frames, est
