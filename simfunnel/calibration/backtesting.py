"""Backtests: fit on the data before a cutoff, forecast past it, and score against what happened.

A fitted scenario earns trust only if its forecasts would have been right. :func:`backtest`
hides everything after ``cutoff`` (leads created later, stage dates reached later, calls and
closes after it), fits a scenario on the rest (:func:`simfunnel.calibration.fitting.fit`), forecasts
``horizon_weeks`` from the cutoff (:func:`simfunnel.forecast`) and compares each period's actual
count of every stage with the forecast band: the share of periods inside the band (coverage, to
compare with its nominal level) and the mean absolute percentage error of the forecast mean
(MAPE). Three options shape it:

- ``start_from``: ``"snapshot"`` (the default) starts the forecast from the funnel as it stood
  at the cutoff, a lead table built from the exports by :func:`lead_snapshot`; ``"warm_up"``
  lets the fitted model fill its own pipeline first;
- ``arrivals``: ``"forecast"`` (the default) draws new leads from the fitted Poisson rates;
  ``"actual"`` replays the leads that did arrive after the cutoff (each source's created times,
  grouped by clock hour, become bursts of one hour), so the test isolates everything downstream
  of arrivals;
- ``freq``: ``"W"`` scores weekly counts, ``"M"`` calendar-month counts (the weekly table is
  always there); a horizon of ``horizon_months`` ends at a month's end and is scored by month.

The lead snapshot at the cutoff is :mod:`simfunnel.calibration.snapshot`'s, the MQL->SQL hazard
it draws old MQLs with :mod:`simfunnel.calibration.hazard`'s, and the result with its tables
:mod:`simfunnel.calibration.backtest_result`'s; this module runs the backtest.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Unpack, cast

import numpy as np
import pandas as pd

from ..base.units import WEEK
from ..data import (
    CalibrationError,
    ExportTable,
    check_exports,
    parse_timestamp,
    read_calls,
    read_leads,
    read_opportunities,
)
from ..decisions import FLOWS, Forecast, band_table, forecast, weekly_arrays
from ..experiments import RunnerKeywords, runner_keywords
from ..model import Snapshot, read_snapshot
from ..scenario import scenario_from_dict
from .backtest_result import (
    FREQS,
    Backtest,
    check_choice,
    forecast_origin,
    horizon_span,
    score_tables,
)
from .checks import MIN_LEADS
from .cohort_forecast import MAX_MONTHS
from .cohorts import CohortInputError, check_half_life
from .fit_result import Calibration
from .fitting import fit
from .pipeline import open_pipeline
from .snapshot import LEAD_DATES

__all__ = ["ARRIVALS", "MAX_HORIZON_WEEKS", "STARTS", "backtest"]

ARRIVALS = ("forecast", "actual")
STARTS = ("snapshot", "warm_up")
MAX_HORIZON_WEEKS = 520  # ten years (MAX_MONTHS in months): no export says more; pandas
# dates end in 2262


def backtest(
    leads: ExportTable | str | Path,
    cutoff: Any,
    horizon_weeks: int | None = None,
    calls: ExportTable | str | Path | None = None,
    opportunities: ExportTable | str | Path | None = None,
    *,
    style: str = "hubspot",
    mapping: Any = None,
    date_format: str | None = None,
    start: Any = None,
    reps: int = 19,
    level: float = 0.8,
    arrivals: str = "forecast",
    start_from: str = "snapshot",
    freq: str | None = None,
    encoding: str | None = None,
    sep: str | None = None,
    decimal: str | None = None,
    horizon_months: int | None = None,
    overrides: Mapping[str, Any] | None = None,
    parameter_draws: bool | None = None,
    since: Any = None,
    half_life_weeks: float | None = None,
    **keywords: Unpack[RunnerKeywords],
) -> Backtest:
    """Fit on the exports before ``cutoff``, forecast ``horizon_weeks`` weeks (or
    ``horizon_months`` calendar months) from it, and compare with the actual counts of leads,
    MQLs, SQLs, valid opportunities, wins and losses after it. ``start``: where the data
    period begins (default: the first lead's day). ``reps`` replications (19 puts P10 and P90
    exactly on order statistics).

    ``start_from``: ``"snapshot"`` starts from the funnel at the cutoff (:func:`lead_snapshot`
    of the exports), ``"warm_up"`` from a pipeline the fitted model fills itself.
    ``arrivals``: ``"forecast"`` (Poisson at the fitted rates) or ``"actual"`` (the leads that
    did arrive, as hourly bursts per source). ``freq``: ``"W"`` (default) or ``"M"``, the
    periods the summary scores (calendar months are counted from replays of the
    replications); ``"M"`` with ``horizon_months``, which ends at a month's end (a cutoff
    inside a month scores that partial month on its own row). ``overrides``: scenario fields
    by dotted path set on the fit (:func:`simfunnel.calibration.fitting.fit`); ``since`` and
    ``half_life_weeks``, the cohort window of that fit (a ``since`` from the first lead's day
    to before the cutoff; a half-life above 0). ``encoding``, ``sep`` and ``decimal`` read the
    files as :func:`simfunnel.calibration.fitting.fit` reads them.

    The exports are checked as :func:`simfunnel.calibration.fitting.fit` checks them (placeholder
    dates, calls for unknown leads, ...: :func:`simfunnel.data.check_exports`) before the
    cutoff hides anything. Refused with one line (CalibrationError): a cutoff or start that is
    not a date, ``reps`` below 2 (a band needs two replications), neither or both horizons
    (or one over MAX_HORIZON_WEEKS weeks or MAX_MONTHS months), no lead before the cutoff, a
    cutoff after the data end, and, with forecast arrivals, data (any date of any table) that
    end before the horizon does; with actual arrivals such a horizon runs, with a note.

    ``parameter_draws``: draw the fitted values per replication (the uncertainty ``fit``
    writes; default on), so that the band covers what the fit does not know; ``False`` holds
    them fixed (bands of process noise only). ``seed`` (default 0; it also draws the snapshot),
    ``workers``, ``executor`` and ``progress`` (default off) are those of :func:`simfunnel.run`.
    """
    freq = _horizon_freq(horizon_weeks, horizon_months, freq)
    _check_options(reps, arrivals, start_from, freq)
    check_half_life(half_life_weeks)
    cut = parse_timestamp(cutoff, "cutoff")
    if start is not None:
        start = parse_timestamp(start, "start")
    kw = {"style": style, "mapping": mapping, "date_format": date_format}
    kw |= {"encoding": encoding, "sep": sep, "decimal": decimal}
    lt, ct, ot, data_end = _read_exports(leads, calls, opportunities, kw)
    _enough_before(lt, cut, data_end)
    window = {"since": _since(lt, cut, since), "half_life_weeks": half_life_weeks}
    end, weeks = horizon_span(forecast_origin(cut), horizon_weeks, horizon_months)
    what = f"{horizon_weeks}-week" if horizon_months is None else f"{horizon_months}-month"
    notes = _data_until(lt, data_end, end, arrivals, what)
    calibration = _fit_before(lt, ct, ot, cut, start, weeks, overrides, window)
    runner = runner_keywords({"seed": 0, "progress": False}, keywords)
    fkw = {"reps": reps, "level": level, "parameter_draws": parameter_draws, **runner}
    run = _forecast(calibration, lt, ct, ot, cut, end, weeks, arrivals, start_from, fkw, notes)
    notes += _deal_value_note(run.snapshot_table, calibration)
    return _result(
        run, calibration, cut, end, weeks, horizon_months, freq, arrivals, start_from, level, notes
    )


def _result(
    run: _Run,
    calibration: Calibration,
    cut: pd.Timestamp,
    end: pd.Timestamp,
    weeks: int,
    months: int | None,
    freq: str,
    arrivals: str,
    start_from: str,
    level: float,
    notes: list[str],
) -> Backtest:
    """The forecast scored against the actual counts, period by period, as a :class:`Backtest`."""
    fc = run.forecast
    weekly, monthly, summary = score_tables(
        fc, run.actual_leads, run.origin, end, weeks, months, freq, level
    )
    return Backtest(
        cutoff=cut,
        horizon_weeks=weeks,
        calibration=calibration,
        forecast=fc,
        weekly=weekly,
        table=summary,
        freq=freq,
        arrivals=arrivals,
        start_from=start_from,
        monthly=monthly,
        snapshot=run.snapshot,
        snapshot_table=run.snapshot_table,
        notes=tuple(notes),
        horizon_months=months,
    )


def _check_options(reps: Any, arrivals: str, start_from: str, freq: str) -> None:
    """Refuse ``reps`` below 2 (a band needs two replications) and options outside their
    choices, before anything is read."""
    if isinstance(reps, bool) or not isinstance(reps, int | np.integer) or reps < 2:
        raise CalibrationError(
            f"reps must be a whole number >= 2: a band needs at least two replications (got "
            f"{reps!r}; 19 puts P10 and P90 on order statistics)"
        )
    check_choice("arrivals", arrivals, ARRIVALS)
    check_choice("start_from", start_from, STARTS)
    check_choice("freq", freq, FREQS)


def _fit_before(
    lt: ExportTable,
    ct: ExportTable | None,
    ot: ExportTable | None,
    cut: pd.Timestamp,
    start: pd.Timestamp | None,
    weeks: int,
    overrides: Mapping[str, Any] | None,
    window: Mapping[str, Any],
) -> Calibration:
    """The fit on the exports as they stood at the cutoff: nothing after it is seen;
    ``window``: the cohort window (``since``, ``half_life_weeks``) of its cohort model."""
    past_leads = _before(lt, cut, LEAD_DATES, "created")
    past_calls = _before(ct, cut, [], "timestamp") if ct is not None else None
    past_opps = _before(ot, cut, ["close_date"], "created") if ot is not None else None
    return fit(
        past_leads,
        past_calls,
        past_opps,
        start=start,
        as_of=cut,
        horizon_weeks=weeks,
        name=f"backtest from {cut:%Y-%m-%d}",
        overrides=overrides,
        **window,
    )


@dataclass(frozen=True)
class _Run:
    """A backtest's forecast, where it starts, the leads to score it on (all of them, source
    filled) and the funnel it started from (with ``start_from="snapshot"``)."""

    forecast: Forecast
    origin: pd.Timestamp
    actual_leads: pd.DataFrame
    snapshot: Snapshot | None = None
    snapshot_table: pd.DataFrame | None = None


def _forecast(
    calibration: Calibration,
    lt: ExportTable,
    ct: ExportTable | None,
    ot: ExportTable | None,
    cut: pd.Timestamp,
    end: pd.Timestamp,
    weeks: int,
    arrivals: str,
    start_from: str,
    fkw: dict[str, Any],
    notes: list[str],
) -> _Run:
    """The forecast from the cutoff as asked: from the funnel at the cutoff or from a warm-up,
    with forecast arrivals or the leads that did arrive."""
    data = calibration.scenario_dict()
    names = [s["name"] for s in data["sources"]]
    origin = pd.Timestamp(data["start_date"])
    actual_leads = lt.data.assign(source=lt.data["source"].fillna("unknown"))
    later = actual_leads[(actual_leads["created"] >= origin) & (actual_leads["created"] < end)]
    if arrivals == "actual":
        notes += _actual_note(later, names)
    if start_from == "snapshot":
        arrived = later if arrivals == "actual" else None
        fc, snap, table = _snapshot_forecast(
            data, calibration, lt, ct, ot, cut, arrived, names, fkw, notes
        )
        return _Run(fc, origin, actual_leads, snap, table)
    if arrivals == "actual":
        warm = round(calibration.scenario.warm_up / WEEK)
        fc = _extended_forecast(data, warm, weeks, actual_leads, names, fkw)
    else:
        fc = forecast(calibration.scenario, **fkw)
    return _Run(fc, origin, actual_leads)


def _snapshot_forecast(
    data: dict[str, Any],
    calibration: Calibration,
    lt: ExportTable,
    ct: ExportTable | None,
    ot: ExportTable | None,
    cut: pd.Timestamp,
    arrived: pd.DataFrame | None,
    names: list[str],
    fkw: dict[str, Any],
    notes: list[str],
) -> tuple[Forecast, Snapshot, pd.DataFrame]:
    """The forecast from the funnel at the cutoff (the lead snapshot of the exports, drawn
    with the backtest's seed), with no warm-up; with actual arrivals (``arrived``: the leads
    of the horizon) each source's rate gives way to bursts of the leads that did arrive."""
    data.pop("warm_up", None)
    if arrived is not None:
        bursts = _bursts(arrived["created"], arrived["source"], names)
        for s in data["sources"]:
            s["rate_per_week"] = 0
            s.pop("seasonality", None)
            s["bursts"] = bursts[s["name"]]
    scenario = scenario_from_dict(data, source=f"<backtest from {cut:%Y-%m-%d}>")
    snap_table, said = open_pipeline(calibration, cut, lt, ct, ot, seed=fkw["seed"], data=data)
    notes += said
    snap = read_snapshot(snap_table.drop(columns=["rule"]), scenario)
    return forecast(scenario, snapshot=snap, **fkw), snap, snap_table


def _before(
    table: ExportTable, cutoff: pd.Timestamp, dates: list[str], created: str
) -> ExportTable:
    """The table as it stood at the cutoff: rows created later dropped, later dates blanked."""
    data = table.data[table.data[created] < cutoff].copy()
    changed = pd.Series(False, index=data.index)
    for col in dates:
        if col in data:
            later = data[col] >= cutoff
            changed |= later
            data[col] = data[col].where(~later)
    if "status" in data:  # the status is as of the extract: unknown at the cutoff if it moved
        data["status"] = data["status"].where(~changed)
    if "won" in data and "close_date" in data:
        data["won"] = data["won"].where(data["close_date"].notna())
    return dataclasses.replace(table, data=data.reset_index(drop=True))


def _bursts(created: pd.Series, source: pd.Series, names: list[str]) -> dict[str, list[dict]]:
    """Per source, the leads created grouped by clock hour: one burst of an hour each."""
    hour = created.dt.floor("h")
    out: dict[str, list[dict]] = {n: [] for n in names}
    counts = pd.DataFrame({"source": source, "hour": hour}).groupby(["source", "hour"]).size()
    for key, k in counts.items():
        src, h = cast("tuple[str, pd.Timestamp]", key)  # the stubs type a row's key as Hashable
        if src in out:
            out[src].append({"start": f"{h:%Y-%m-%d %H:%M}", "leads": int(k), "over": "1 h"})
    return out


def _extended_forecast(
    data: dict[str, Any],
    warm_weeks: int,
    horizon_weeks: int,
    lt: pd.DataFrame,
    names: list[str],
    kw: dict[str, Any],
) -> Forecast:
    """With actual arrivals and a warm-up: the warm-up weeks run as the first weeks of a
    longer period fed by the actual leads of those weeks (known at the cutoff), and are then
    cut off the bands, since the engine's own warm-up draws its leads from the rates."""
    origin = pd.Timestamp(data["start_date"])
    first = origin - pd.Timedelta(weeks=warm_weeks)
    end = origin + pd.Timedelta(weeks=horizon_weeks)
    data.pop("warm_up", None)

    def period(start: pd.Timestamp, weeks: int) -> Any:
        """The fitted scenario over ``weeks`` from ``start``, fed the actual leads as bursts."""
        d = dict(data, start_date=f"{start:%Y-%m-%d}", horizon=f"{weeks} weeks")
        mine = lt[(lt["created"] >= start) & (lt["created"] < end)]
        bursts = _bursts(mine["created"], mine["source"], names)
        d["sources"] = [dict(s, rate_per_week=0, bursts=bursts[s["name"]]) for s in data["sources"]]
        return scenario_from_dict(d, source="<backtest, actual arrivals>")

    longer = period(first, warm_weeks + horizon_weeks)
    fc = forecast(longer, **kw, warm_up=0)  # its warm-up is the first weeks, fed actual leads
    cube = weekly_arrays(fc.experiment, longer.weeks)[:, :, warm_weeks:]
    flows = cube.copy()
    n = len(FLOWS)
    flows[:n] = np.cumsum(cube[:n], axis=2)
    scenario = period(origin, horizon_weeks)
    return Forecast(
        scenario=scenario,
        experiment=fc.experiment,
        level=fc.level,
        bands=band_table(cube, scenario, fc.level),
        cumulative=band_table(flows, scenario, fc.level),
        process_only=fc.process_only,
    )


def _horizon_freq(weeks: Any, months: Any, freq: str | None) -> str:
    """Check the horizon (weeks or calendar months, exactly one) and return the frequency
    scored: months are scored by month, since a horizon of months exists to fill them."""
    if (weeks is None) == (months is None):
        raise CalibrationError(
            "give horizon_weeks or horizon_months (one of them, not "
            f"{'both' if weeks is not None else 'neither'}): e.g. 13 weeks or 3 months"
        )
    for name, value, top in (
        ("horizon_weeks", weeks, MAX_HORIZON_WEEKS),
        ("horizon_months", months, MAX_MONTHS),
    ):
        if value is not None and (
            isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= top
        ):
            raise CohortInputError(f"{name} must be a whole number from 1 to {top} (got {value!r})")
    if months is not None and freq not in (None, "M"):
        raise ValueError(
            f"horizon_months scores calendar months: leave freq out or give 'M' (got {freq!r})"
        )
    return "M" if months is not None else (freq or "W")


def _data_until(
    lt: ExportTable, data_end: pd.Timestamp, end: pd.Timestamp, arrivals: str, what: str
) -> list[str]:
    """Data must reach the horizon (a week's slack). With forecast arrivals, any stage date
    in any table counts (a lead table exported before the deals is no reason to refuse); with
    actual arrivals, the end of the sample is the truth of it: a note, not a refusal."""
    slack = end - pd.Timedelta(days=7)
    last_lead = lt.data["created"].max()
    if arrivals == "forecast":
        if data_end < slack:
            raise CalibrationError(
                f"{lt.path}: the data end {data_end:%Y-%m-%d} (the last date in any table); "
                f"a {what} backtest from the cutoff needs data up to {end:%Y-%m-%d}"
            )
        return []
    if min(last_lead, data_end) >= slack:
        return []
    return [
        f"the sample ends {data_end:%Y-%m-%d} (last lead created {last_lead:%Y-%m-%d}), before "
        f"the horizon {end:%Y-%m-%d}: with actual arrivals no lead arrives after it, as in the "
        "data, and nothing is counted after it"
    ]


def _deal_value_note(snap_table: pd.DataFrame | None, calibration: Calibration) -> list[str]:
    """Say what the deal values rest on when the exports have no amounts."""
    params = calibration.parameters.set_index("parameter")
    if "ae.deal_value" not in params.index or params.at["ae.deal_value", "kind"] == "fitted":
        return []
    value, basis = params["value"]["ae.deal_value"], params["basis"]["ae.deal_value"]
    said = f"drawn from the scenario's deal value (ae.deal_value = {value}: {basis})"
    if snap_table is None:
        return [f"deal values are {said}"]
    open_deals = snap_table["end_state"] == "open_opportunity"
    blank = int((open_deals & snap_table["value"].isna()).sum())
    if not blank:
        return [f"new deals' values are {said}"]
    return [
        f"{blank} open opportunities at the cutoff have no amount: their deal values are {said}"
    ]


def _actual_note(later: pd.DataFrame, names: list[str]) -> list[str]:
    """Say which arrived leads are left out: a source unseen before the cutoff has no fit."""
    new = sorted(set(later["source"]) - set(names))
    if not new:
        return []
    return [
        f"{int(later['source'].isin(new).sum())} leads of sources unseen before the cutoff "
        f"({', '.join(new)}) have no fitted score or rates: left out of the actual arrivals"
    ]


def _read_exports(
    leads: Any, calls: Any, opportunities: Any, kw: dict[str, Any]
) -> tuple[ExportTable, ExportTable | None, ExportTable | None, pd.Timestamp]:
    """The three tables read (or as given) and checked against each other, with the last
    plausible date of any of them."""
    lt = leads if isinstance(leads, ExportTable) else read_leads(leads, **kw)
    ct = calls if calls is None or isinstance(calls, ExportTable) else read_calls(calls, **kw)
    ot = (
        opportunities
        if opportunities is None or isinstance(opportunities, ExportTable)
        else read_opportunities(opportunities, **kw)
    )
    return check_exports(lt, ct, ot)


def _enough_before(lt: ExportTable, cut: pd.Timestamp, data_end: pd.Timestamp) -> None:
    """Refuse a cutoff with too few leads before it to fit, or after the data end: nothing
    after it could be scored (and a fit a year past its last lead has nothing to go on)."""
    if cut > data_end:
        raise CalibrationError(
            f"{lt.path}: the cutoff {cut:%Y-%m-%d} is after the data end {data_end:%Y-%m-%d} "
            "(the last date in any table): nothing after it to score; give a cutoff within "
            "the data"
        )
    first = lt.data["created"].min()
    if first >= cut:
        raise CalibrationError(
            f"{lt.path}: no lead created before the cutoff {cut:%Y-%m-%d} (the first was "
            f"created {first:%Y-%m-%d}): nothing to fit"
        )
    before = int((lt.data["created"] < cut).sum())
    if before < MIN_LEADS:
        raise CalibrationError(
            f"{lt.path}: {before} leads created before the cutoff {cut:%Y-%m-%d}; a fit needs "
            f"at least {MIN_LEADS}"
        )


def _since(lt: ExportTable, cut: pd.Timestamp, since: Any) -> pd.Timestamp | None:
    """The cohort window's first day, refused outside the data before the cutoff (from the
    first lead's day; a fit on no cohort, or on cohorts before any lead, is no fit)."""
    if since is None:
        return None
    stamp = parse_timestamp(since, "since")
    first = lt.data["created"].min().normalize()
    if not first <= stamp < cut:
        raise CohortInputError(
            f"since {stamp:%Y-%m-%d} (--since) is outside the data before the cutoff: give a "
            f"date from the first lead's day {first:%Y-%m-%d} to before {cut:%Y-%m-%d}"
        )
    return stamp
