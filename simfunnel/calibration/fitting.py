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

from collections.abc import Mapping
from dataclasses import dataclass
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
    collapsed_stages,
    enough,
    small_samples,
    validate,
)
from .fit_result import Calibration
from .lead_stats import (
    arrival_tables,
    conversion_table,
    deal_value_fits,
    score_tables,
    stage_durations,
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
    shift).

    Refused with :class:`CalibrationError` (one line): fewer than ``MIN_LEADS`` usable leads
    in the period or fewer than ``MIN_MQLS`` MQLs, and a scenario that would fail its own
    validation (naming the CSV column behind the bad value). Values fitted from fewer than
    ``SMALL_SAMPLE`` events are kept with a warning (``warnings``, the report and the YAML).
    """
    kw = {"style": style, "mapping": mapping, "date_format": date_format}
    kw |= {"encoding": encoding, "sep": sep}
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
        inputs.tables,
        est.arrivals,
        est.conversion,
        est.chosen,
        est.deal_values,
        est.calls,
    )
    collapsed_stages(inputs.warned, inputs.tables["leads"], est.leads, est.cohorts)
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
    ``leads``: the lead table's rows, source filled; ``outside``: leads created outside the
    period; ``notes`` and ``warned`` gather what the steps say."""

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
    if isinstance(horizon_weeks, bool) or not isinstance(horizon_weeks, int) or horizon_weeks < 1:
        raise CalibrationError(f"horizon_weeks must be a whole number >= 1 (got {horizon_weeks!r})")
    t0 = parse_timestamp(start, "start") if start is not None else None
    if len(lt.data) < MIN_LEADS:  # before the checks across tables, which would say less
        enough(lt, lt.data, pd.Series(False, index=lt.data.index), None, None)
    lt, ct, ot, t1 = check_exports(lt, ct, ot, as_of=as_of)
    tables = {"leads": lt} | ({"calls": ct} if ct else {}) | ({"opportunities": ot} if ot else {})
    L = lt.data.copy()
    L["source"] = L["source"].fillna("unknown")
    notes: list[str] = []
    warned: list[dict[str, Any]] = []
    if t0 is None:
        t0 = L["created"].min().normalize()
    weeks = (t1 - t0).total_seconds() / 604800
    if weeks <= 0:
        raise CalibrationError(
            f"{lt.path}: the data period is empty (start {t0:%Y-%m-%d %H:%M} is not before the "
            f"as-of date {t1:%Y-%m-%d %H:%M})"
        )
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
            f"{t1:%Y-%m-%d %H:%M}): rates from under {SHORT_PERIOD_WEEKS} weeks",
        )
    return _Inputs(tables, ct, ot, L, t0, t1, weeks, outside, notes, warned)


def _measure(
    inputs: _Inputs, since: Any, half_life_weeks: float | None
) -> tuple[dict[str, pd.DataFrame], Estimates]:
    """Every table the fit reports (by the name of its :class:`Calibration` field) and what
    the scenario is built from; notes and warnings go to ``inputs``."""
    L, t0, t1, notes = inputs.leads, inputs.start, inputs.as_of, inputs.notes
    ct, ot = inputs.calls, inputs.opportunities
    arrivals = arrival_tables(L[~inputs.outside], t0, t1, inputs.weeks)
    notes.extend(arrivals.notes)
    conversion = conversion_table(L)
    cohorts, rates, conversion, said = present_rates(
        L[~inputs.outside], t0, t1, arrivals.rates, conversion, since, half_life_weeks
    )
    notes.extend(said)
    durations, survival, chosen, said = stage_durations(L, ot, t1)
    notes.extend(said)
    deal_values = deal_value_fits(L, ot)
    score_tab, thresholds, threshold = score_tables(L, inputs.tables["leads"], inputs.warned)
    # Calls (those for leads not in the lead table were excluded by check_exports).
    attempts, by_attempt, call_durations = pd.DataFrame(), pd.DataFrame(), pd.DataFrame()
    call_fit: dict[str, Any] = {}
    if ct is not None and not ct.data.empty:
        attempts, by_attempt, call_durations, call_fit = fit_calls(ct.data, L)
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
    )
    return frames, est
