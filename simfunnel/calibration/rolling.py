"""Rolling-origin backtests: forecasts judged the way forecasters are judged.

One cutoff proves little: a forecast can be right once by luck. :func:`rolling_backtest` fits
at many cutoffs (a list, or every month between two dates), forecasts each calendar month of
the horizon from each, and scores every (cutoff, month, metric) against what the export shows
happened: whether the actual count fell in the P10-P90 band (coverage, to compare with 0.8
within its binomial tolerance; a count on the band's edge counts in part, see
:func:`central_share`), the absolute percentage error of the P50, the continuous
ranked probability score (CRPS, a proper score of the whole band) and the error of the
horizon total. The same table scores the baselines a team would otherwise use, so the verdict
can say whether the model beats them (the scores and the baselines are
:mod:`simfunnel.calibration.scores`'). This module picks the cutoffs and makes the forecast at
each (the cohort model, or the simulation's own backtest); the result,
:class:`RollingBacktest`, is :mod:`simfunnel.calibration.rolling_result`'s.
"""

from __future__ import annotations

import math
import numbers
import sys
from collections.abc import Iterable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Unpack

import pandas as pd

from ..data import (
    CalibrationError,
    ExportTable,
    check_exports,
    parse_timestamp,
    read_calls,
    read_leads,
    read_opportunities,
)
from ..experiments import RunnerKeywords, runner_keywords
from .backtest_result import STAGES
from .backtesting import MAX_HORIZON_WEEKS, backtest
from .cohort_forecast import MAX_MONTHS, MAX_REPS, CohortForecast, forecast_cohorts
from .cohorts import CohortInputError, check_half_life, fit_cohorts
from .rolling_result import MODEL, RollingBacktest
from .scores import MonthlySamples, score_cutoff

__all__ = ["lead_frame", "rolling_backtest"]

MODELS = {"cohort": MODEL, "simulation": "simulation"}
MIN_HISTORY_LEADS = 30


def lead_frame(
    leads: ExportTable | None, opportunities: ExportTable | None
) -> tuple[pd.DataFrame, list[str]]:
    """The canonical lead table the cohort model reads, and what was assumed to build it.
    Without a lead table, each opportunity is a lead created on its created date, won or
    lost on its close date (an export of deals only, such as an opportunity pipeline)."""
    if leads is not None:
        return leads.data.copy(), []
    if opportunities is None:
        raise CalibrationError("a rolling backtest needs a lead table or an opportunity table")
    o = opportunities.data
    won = o["won"].astype("boolean") if "won" in o else pd.Series(pd.NA, index=o.index)
    frame = pd.DataFrame(
        {
            "lead_id": o["opportunity_id"].astype(str),
            "created": o["created"],
            "source": "all",
            "won_date": o["close_date"].where(won.fillna(False).astype(bool)),
            "lost_date": o["close_date"].where((~won.fillna(True)).astype(bool)),
        }
    )
    said = [
        f"{opportunities.path}: no lead table, so each of the {len(o):,} opportunities is "
        "a lead created on its created date, won or lost on its close date"
    ]
    return frame, said


def _cutoffs(
    cutoffs: Iterable[Any] | None,
    every: str | None,
    first: Any,
    last: Any,
    start: pd.Timestamp,
    data_end: pd.Timestamp,
    horizon_months: int,
) -> list[pd.Timestamp]:
    """The cutoffs given, or every month start from ``first`` to ``last`` (defaults: six
    months into the data; the last month start whose horizon the data cover)."""
    if cutoffs is not None:
        if every is not None:
            raise ValueError("give cutoffs or every, not both")
        return sorted(parse_timestamp(c, "cutoff") for c in cutoffs)
    if every not in (None, "month"):
        raise ValueError(f"every must be 'month' (got {every!r})")
    lo = (
        parse_timestamp(first, "first")
        if first is not None
        else (start.to_period("M").start_time + pd.DateOffset(months=6))
    )
    hi = (
        parse_timestamp(last, "last")
        if last is not None
        else (data_end.to_period("M").start_time - pd.DateOffset(months=horizon_months))
    )
    out = list(pd.date_range(lo.to_period("M").start_time, hi, freq="MS"))
    if not out:
        why_lo = "--from" if first is not None else "six months after the first lead"
        why_hi = (
            "--to"
            if last is not None
            else f"the last month start with {horizon_months} months of data after it"
        )
        raise CalibrationError(
            f"no cutoff to score: the first would be {lo:%Y-%m-%d} ({why_lo}), the last "
            f"{hi:%Y-%m-%d} ({why_hi}); the data run from {start:%Y-%m-%d} to "
            f"{data_end:%Y-%m-%d}" + ("" if first is not None else "; give --cutoffs")
        )
    return out


def _once(cuts: list[pd.Timestamp], notes: list[str]) -> list[pd.Timestamp]:
    """Each cutoff once, with a note for any given twice: scored twice, it would weigh twice
    in every figure of the table."""
    twice = sorted({c for c in cuts if cuts.count(c) > 1})
    if twice:
        said = ", ".join(f"{c:%Y-%m-%d}" for c in twice)
        notes.append(f"cutoff {said} given more than once: scored once")
    return sorted(set(cuts))


def _read(
    leads: Any, opportunities: Any, calls: Any, model: str, kw: dict[str, Any]
) -> tuple[ExportTable | None, ExportTable | None, ExportTable | None, pd.Timestamp]:
    """The lead, call and opportunity tables read (or as given) and checked, with the last date
    of the data; refused without the table the model needs."""
    lt = leads if leads is None or isinstance(leads, ExportTable) else read_leads(leads, **kw)
    ot = (
        opportunities
        if opportunities is None or isinstance(opportunities, ExportTable)
        else read_opportunities(opportunities, **kw)
    )
    if lt is not None:
        lt, _, ot, data_end = check_exports(lt, None, ot)
    elif ot is None:
        raise CalibrationError("a rolling backtest needs a lead table or an opportunity table")
    else:
        o = ot.data
        data_end = pd.Timestamp(max(o["created"].max(), o["close_date"].max()))
    ct = calls if calls is None or isinstance(calls, ExportTable) else read_calls(calls, **kw)
    if model == "simulation" and lt is None:
        raise CalibrationError(
            "the simulation's backtest needs a lead table (model='cohort' "
            "reads an opportunity table alone)"
        )
    return lt, ct, ot, data_end


def rolling_backtest(
    leads: ExportTable | str | Path | None = None,
    opportunities: ExportTable | str | Path | None = None,
    *,
    calls: ExportTable | str | Path | None = None,
    model: str = "cohort",
    cutoffs: Iterable[Any] | None = None,
    every: str | None = None,
    first: Any = None,
    last: Any = None,
    horizon_months: int | None = 3,
    horizon_weeks: int | None = None,
    reps: int = 200,
    since: Any = None,
    half_life_weeks: float | None = None,
    parameter_draws: bool = True,
    level: float = 0.8,
    style: str = "hubspot",
    mapping: Any = None,
    date_format: str | None = None,
    encoding: str | None = None,
    sep: str | None = None,
    decimal: str | None = None,
    **keywords: Unpack[RunnerKeywords],
) -> RollingBacktest:
    """Fit at each cutoff on the data known then, forecast ``horizon_months`` calendar months
    (or ``horizon_weeks`` weeks; months cut by the horizon are scored for the part inside it,
    the baselines scaled to it), and score each month against the export, with the baselines
    in the same table.

    Cutoffs: ``cutoffs`` (dates), or ``every="month"`` from ``first`` to ``last`` (defaults:
    six months after the first lead; the last month start whose horizon the data cover).
    Months past the end of the data are not scored (the export cannot say what happened).
    ``since`` and ``half_life_weeks`` are those of :func:`simfunnel.calibration.cohorts.fit_cohorts`
    (``since`` may fall after an early cutoff: that cutoff then uses all its history).
    ``model``: ``"cohort"`` (the cohort forecast, fast) or ``"simulation"`` (the simulation's
    own backtest at each cutoff, :func:`simfunnel.calibration.backtesting.backtest`, with ``reps``
    replications on ``workers`` processes: slower; it needs the lead table, and reads
    ``calls`` when given). ``style``, ``mapping``, ``date_format``, ``encoding``, ``sep`` and
    ``decimal`` read the files as :func:`simfunnel.calibration.fitting.fit` reads them. ``seed`` (default 0), ``workers`` and ``executor`` are those of
    :func:`simfunnel.run`; ``progress`` (default off) names each cutoff on stderr as it starts.
    A cutoff that cannot be scored (at or after the data end, too few leads before it, a fit
    the cohort model refuses) is skipped, with a note (the result's ``skipped``); refused
    (CohortInputError, a ValueError): ``reps`` outside 2 to MAX_REPS, a horizon past ten
    years, a ``half_life_weeks`` not above 0, a ``since`` outside the data.
    """
    if model not in MODELS:
        raise ValueError(f"model must be one of {', '.join(MODELS)} (got {model!r})")
    horizon_months, months_span = _horizon(horizon_months, horizon_weeks)
    _check_reps(reps)
    check_half_life(half_life_weeks)
    kw = {"style": style, "mapping": mapping, "date_format": date_format}
    kw |= {"encoding": encoding, "sep": sep, "decimal": decimal}
    lt, ct, ot, data_end = _read(leads, opportunities, calls, model, kw)
    frame, notes = lead_frame(lt, ot)
    frame = frame[frame["created"].notna()]
    since = _since(frame, since)
    cuts = _cutoffs(cutoffs, every, first, last, frame["created"].min(), data_end, months_span)
    cuts = _once(cuts, notes)
    runner = runner_keywords({"seed": 0, "progress": False}, keywords)
    progress = runner.pop("progress", False)  # per cutoff here; the runs inside stay quiet
    forecaster = _Forecaster(
        model=model,
        leads=lt,
        calls=ct,
        opportunities=ot,
        horizon_months=horizon_months,
        horizon_weeks=horizon_weeks,
        months_span=months_span,
        reps=reps,
        runner=runner,
        since=since,
        half_life_weeks=half_life_weeks,
        level=level,
        parameter_draws=parameter_draws,
    )
    rb = _roll(forecaster, cuts, frame, data_end, notes, progress)
    reports = [t.report for t in (lt, ct, ot) if t is not None and not t.report.empty]
    return replace(rb, problems=pd.concat(reports, ignore_index=True)) if reports else rb


@dataclass(frozen=True)
class _Forecaster:
    """How to forecast at each cutoff (the cohort model fitted on the history known then, or
    the simulation's own backtest), with the settings every cutoff shares."""

    model: str
    leads: ExportTable | None
    calls: ExportTable | None
    opportunities: ExportTable | None
    horizon_months: int | None
    horizon_weeks: int | None
    months_span: int
    reps: int
    runner: RunnerKeywords  # seed, workers, executor of the runs at each cutoff
    since: pd.Timestamp | None
    half_life_weeks: float | None
    level: float
    parameter_draws: bool

    def since_at(self, cut: pd.Timestamp, history: pd.DataFrame) -> pd.Timestamp | None:
        """``since`` at this cutoff: None (all history) when it leaves too little to fit, too
        close to the cutoff or with fewer than MIN_HISTORY_LEADS leads from it."""
        if self.since is None or self.since >= cut - pd.Timedelta(weeks=8):
            return None
        enough = int((history["created"] >= self.since).sum()) >= MIN_HISTORY_LEADS
        return self.since if enough else None

    def at(self, cut: pd.Timestamp, history: pd.DataFrame) -> tuple[MonthlySamples, str | None]:
        """The forecast at one cutoff as monthly samples, and the cohort window it used (None
        for the simulation)."""
        if self.model == "simulation":
            assert self.leads is not None
            window = {
                "since": self.since_at(cut, history),
                "half_life_weeks": self.half_life_weeks,
                "parameter_draws": None if self.parameter_draws else False,
            }
            fc = _simulation_samples(
                self.leads,
                self.calls,
                self.opportunities,
                cut,
                self.horizon_months,
                self.horizon_weeks,
                self.reps,
                self.runner,
                window,
            )
            return fc, None
        fitted = fit_cohorts(
            history, cut, since=self.since_at(cut, history), half_life_weeks=self.half_life_weeks
        )
        cohort: CohortForecast = forecast_cohorts(
            fitted,
            _horizon_end(cut, self.horizon_weeks, self.months_span),
            reps=self.reps,
            seed=self.runner.get("seed") or 0,  # runner_keywords made a seed of None a number
            level=self.level,
            parameter_draws=self.parameter_draws,
        )
        samples = MonthlySamples(
            MODEL,
            cohort.end,
            cohort.months,
            cohort.metrics,
            cohort.samples,
            cohort.variance_split(),
        )
        return samples, f"{cut:%Y-%m-%d}: {fitted.window}"


def _roll(
    forecaster: _Forecaster,
    cuts: list[pd.Timestamp],
    frame: pd.DataFrame,
    data_end: pd.Timestamp,
    notes: list[str],
    progress: bool,
) -> RollingBacktest:
    """Forecast at each cutoff with enough history and score it with the baselines; the
    cutoffs that cannot be are counted as skipped, each with why (and a note)."""
    cells: list[dict[str, Any]] = []
    totals: list[dict[str, Any]] = []
    variance: list[dict[str, Any]] = []
    windows, used, skipped = [], [], []
    for cut in cuts:
        history = frame[frame["created"] < cut]
        why, said = _unusable(cut, history, data_end)
        if why is None:
            if progress:
                print(f"cutoff {cut:%Y-%m-%d}", file=sys.stderr, flush=True)
            try:
                fc, window = forecaster.at(cut, history)
            except CohortInputError as exc:  # e.g. a year without a lead before it
                why, said = "that the cohort model could not fit", str(exc)
        if why is None:
            before = len(cells)
            score_cutoff(fc, frame, history, cut, data_end, cells, totals, variance)
            if len(cells) > before:
                used.append(cut)
                windows += [window] if window is not None else []
                continue
            why, said = (
                "with no month to score before the data end",
                f"data end {data_end:%Y-%m-%d}",
            )
        skipped.append((cut, why))
        notes.append(f"cutoff {cut:%Y-%m-%d}: {said}: skipped")
    if not cells:
        raise CalibrationError("no cutoff could be scored: " + "; ".join(notes[-3:]))
    return RollingBacktest(
        cells=pd.DataFrame(cells),
        totals=pd.DataFrame(totals),
        variance=pd.DataFrame(variance),
        cutoffs=tuple(used),
        horizon_months=forecaster.months_span,
        level=forecaster.level,
        notes=tuple(notes),
        windows=tuple(windows),
        method=MODELS[forecaster.model],
        horizon_weeks=forecaster.horizon_weeks,
        skipped=tuple(skipped),
    )


def _unusable(
    cut: pd.Timestamp, history: pd.DataFrame, data_end: pd.Timestamp
) -> tuple[str | None, str]:
    """Why a cutoff cannot be scored before anything is fitted (None: it can), by kind and in
    full: at or after the data end nothing follows it, and too few leads before it are noise."""
    if cut >= data_end:
        return "after the end of the data", f"at or after the data end {data_end:%Y-%m-%d}"
    if len(history) < MIN_HISTORY_LEADS:
        return (
            f"with fewer than {MIN_HISTORY_LEADS} leads before them",
            f"{len(history)} leads before it, fewer than {MIN_HISTORY_LEADS}",
        )
    return None, ""


def _horizon(horizon_months: int | None, horizon_weeks: int | None) -> tuple[int | None, int]:
    """Check the horizon and return the months to forecast (None with a horizon of weeks) and
    the months a horizon spans, for the default last cutoff."""
    if horizon_weeks is not None:
        _whole("horizon_weeks", horizon_weeks, MAX_HORIZON_WEEKS)
        return None, math.ceil(horizon_weeks * 7 / 30.4375)
    _whole("horizon_months", horizon_months, MAX_MONTHS)
    assert horizon_months is not None
    return horizon_months, horizon_months


def _horizon_end(cut: pd.Timestamp, horizon_weeks: int | None, months: int) -> pd.Timestamp:
    """Where the cohort forecast from ``cut`` ends: ``horizon_weeks`` on, else the end of the
    ``months``-th whole calendar month (a cutoff inside a month adds that partial month)."""
    if horizon_weeks is not None:
        return cut + pd.Timedelta(weeks=horizon_weeks)
    extra = 0 if cut == cut.to_period("M").start_time else 1
    return cut.to_period("M").start_time + pd.DateOffset(months=months + extra)


def _simulation_samples(
    lt: ExportTable,
    ct: ExportTable | None,
    ot: ExportTable | None,
    cut: pd.Timestamp,
    horizon_months: int | None,
    horizon_weeks: int | None,
    reps: int,
    runner: RunnerKeywords,
    window: dict[str, Any],
) -> MonthlySamples:
    """The simulation's backtest at one cutoff (:func:`simfunnel.calibration.backtesting.backtest`:
    the fit, the funnel at the cutoff, forecast arrivals), as monthly samples; ``window``: the
    fit's ``since`` and ``half_life_weeks``, and ``parameter_draws``."""
    bt = backtest(
        lt,
        cut,
        horizon_weeks,
        ct,
        ot,
        horizon_months=horizon_months,
        reps=reps,
        freq="M",
        **window,
        **runner,
    )
    months, cube = bt.monthly_samples()
    split = getattr(bt.forecast, "variance_split", None)
    table = (
        split()
        if callable(split)
        else pd.DataFrame({"metric": list(STAGES), "parameter_share": math.nan})
    )
    return MonthlySamples("simulation", bt.horizon_end, tuple(months), tuple(STAGES), cube, table)


def _whole(name: str, value: Any, top: int) -> None:
    """Refuse a horizon that is not a whole number from 1 to ``top`` (ten years)."""
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= top:
        raise CohortInputError(f"{name} must be a whole number from 1 to {top} (got {value!r})")


def _check_reps(reps: Any) -> None:
    """Refuse replications that cannot make a band (under 2) or would run for hours."""
    whole = isinstance(reps, numbers.Integral) and not isinstance(reps, bool)
    if not whole or not 2 <= int(reps) <= MAX_REPS:
        raise CohortInputError(f"reps must be a whole number from 2 to {MAX_REPS:,} (got {reps!r})")


def _since(frame: pd.DataFrame, since: Any) -> pd.Timestamp | None:
    """``since`` as a date, refused outside the data (before the first lead's day, or after
    the last lead): a window with no cohort in it fits nothing at any cutoff."""
    if since is None:
        return None
    stamp = parse_timestamp(since, "since")
    first, last = frame["created"].min(), frame["created"].max()
    if not first.normalize() <= stamp <= last:
        raise CohortInputError(
            f"since {stamp:%Y-%m-%d} (--since) is outside the data: give a date from the first "
            f"lead's day {first:%Y-%m-%d} to the last lead's {last:%Y-%m-%d}"
        )
    return stamp
