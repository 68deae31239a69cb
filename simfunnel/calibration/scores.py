"""Scores of forecasts of monthly counts, and the baselines a forecast must beat.

A band is judged by how often it holds the actual count (:func:`central_share`, which allows
for the steps of a count) and by the continuous ranked probability score of the whole band
(:func:`crps`); a point forecast by its absolute percentage error. The baselines are what a
team would otherwise use (:data:`BASELINES`):

- ``naive cohort rate``: the spreadsheet, average monthly leads times each stage's rate among
  matured cohorts (cohorts older than the stage's P90 delay);
- ``recent cohort rate``: the same from the last three months of arrivals and of matured
  cohorts;
- ``last month``: each month as the last whole month before the cutoff;
- ``same month last year``: seasonal naive, where the history reaches back a year.

:func:`score_cutoff` scores one cutoff's forecast (:class:`MonthlySamples`, whatever made it)
and the baselines month by month; :mod:`simfunnel.calibration.rolling` runs it at every cutoff.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from .stage_fit import DAY, METRIC_DATES, timedeltas

__all__ = [
    "BASELINES",
    "MonthlySamples",
    "central_share",
    "crps",
    "score_cutoff",
]

BASELINES = ("naive cohort rate", "recent cohort rate", "last month", "same month last year")
RECENT_MONTHS = 3


def crps(samples: np.ndarray, actual: float) -> float:
    """CRPS of an ensemble: E|X - y| - E|X - X'| / 2, exact for the empirical distribution."""
    x = np.sort(np.asarray(samples, dtype=float))
    n = len(x)
    spread = 2 * np.sum((2 * np.arange(1, n + 1) - n - 1) * x) / n**2
    return float(np.mean(np.abs(x - actual)) - spread / 2)


def central_share(samples: np.ndarray, actual: float, level: float = 0.8) -> float:
    """The chance that the randomised PIT of ``actual`` lies in the forecast's central
    ``level`` (Czado, Gneiting and Held 2009): a count has steps, so "P10 <= y <= P90" holds
    more than 80% of the time for a calibrated forecast of small counts (85% for a Poisson
    of mean 10, 95% for a mean of 2). The PIT is spread uniformly over the step at ``actual``; the share
    of that step inside [(1 - level) / 2, (1 + level) / 2] is returned, whose mean over
    months is 0.8 for a calibrated forecast."""
    x = np.asarray(samples, dtype=float)
    below, upto = float(np.mean(x < actual)), float(np.mean(x <= actual))
    lo, hi = (1 - level) / 2, (1 + level) / 2
    if upto <= below:  # no sample at the actual: the PIT is a point
        return float(lo <= upto <= hi)
    return max(0.0, min(upto, hi) - max(below, lo)) / (upto - below)


def _month_counts(frame: pd.DataFrame, col: str, months: list[str]) -> np.ndarray:
    """Each month's count of the dates in ``col`` (0 for a month with none), as floats."""
    when: pd.Series = frame[col].dropna() if col in frame else pd.Series([], dtype="datetime64[ns]")
    got = when.dt.to_period("M").astype(str).value_counts()
    return np.array([int(got.get(m, 0)) for m in months], dtype=float)


def _baselines(
    history: pd.DataFrame,
    cutoff: pd.Timestamp,
    metric: str,
    months: list[str],
    shares: np.ndarray,
) -> dict[str, np.ndarray]:
    """Point forecasts per month of each baseline (``shares``: the share of each month inside
    the horizon, for a partial first month)."""
    col = METRIC_DATES[metric]
    full = [
        str(p)
        for p in pd.period_range(history["created"].min(), cutoff, freq="M")
        if p.end_time < cutoff
    ]
    out: dict[str, np.ndarray] = {}
    if not full or col not in history:
        return out
    leads = _month_counts(history, "created", full)
    if metric == "leads":
        rate_all = rate_recent = 1.0
    else:
        delay = (timedeltas(history[col] - history["created"]) / DAY).dropna()
        maturity = float(delay.quantile(0.9)) if len(delay) >= 5 else 90.0
        matured = history[history["created"] <= cutoff - pd.Timedelta(days=maturity)]
        rate_all = matured[col].notna().mean() if len(matured) else math.nan
        recent_from = cutoff - pd.Timedelta(days=maturity) - pd.DateOffset(months=RECENT_MONTHS)
        rec = matured[matured["created"] > recent_from]
        rate_recent = rec[col].notna().mean() if len(rec) else rate_all
    out["naive cohort rate"] = leads.mean() * rate_all * shares
    out["recent cohort rate"] = leads[-RECENT_MONTHS:].mean() * rate_recent * shares
    own = _month_counts(history, col, full)
    out["last month"] = np.full(len(months), own[-1]) * shares
    last_year = [str(pd.Period(m) - 12) for m in months]
    if all(m in full for m in last_year):
        out["same month last year"] = _month_counts(history, col, last_year) * shares
    return out


@dataclass(frozen=True)
class MonthlySamples:
    """A forecaster's monthly samples at one cutoff, whatever made them."""

    method: str
    end: pd.Timestamp
    months: tuple[str, ...]
    metrics: tuple[str, ...]
    samples: np.ndarray  # (metrics, replications, months)
    split: pd.DataFrame  # metric, parameter_share


def score_cutoff(
    fc: MonthlySamples,
    frame: pd.DataFrame,
    history: pd.DataFrame,
    cut: pd.Timestamp,
    data_end: pd.Timestamp,
    cells: list[dict[str, Any]],
    totals: list[dict[str, Any]],
    variance: list[dict[str, Any]],
) -> None:
    """Score one cutoff's forecast and the baselines, month by month, into the lists."""
    months = list(fc.months)
    periods = [pd.Period(m) for m in months]
    ends = [min(p.end_time, fc.end) for p in periods]
    scored = [k for k, e in enumerate(ends) if e <= data_end]
    if not scored:
        return
    days = np.array(
        [(e - max(p.start_time, cut)) / DAY for p, e in zip(periods, ends, strict=True)]
    )
    shares = days / np.array([p.days_in_month for p in periods])
    split = fc.split.set_index("metric")["parameter_share"].reindex(list(fc.metrics))
    for i, metric in enumerate(fc.metrics):
        col = METRIC_DATES[metric]
        if col not in frame:
            continue
        after = frame[(frame[col] >= cut) & (frame[col] < fc.end)]
        actual = _month_counts(after, col, months)
        variance.append({"cutoff": cut, "metric": metric, "parameter_share": float(split[metric])})
        cells.extend(_model_cells(fc, i, cut, actual, scored))
        tot_actual = actual[scored].sum()
        tot_model = float(np.median(fc.samples[i][:, scored].sum(axis=1)))
        totals.append(_total(cut, metric, fc.method, tot_actual, tot_model))
        for name, f in _baselines(history, cut, metric, months, shares).items():
            cells.extend(
                {
                    "cutoff": cut,
                    "month": months[k],
                    "ahead": k + 1,
                    "metric": metric,
                    "method": name,
                    "actual": actual[k],
                    "p50": f[k],
                    "ape": abs(f[k] - actual[k]) / actual[k] if actual[k] > 0 else math.nan,
                    "crps": abs(f[k] - actual[k]),
                }
                for k in scored
            )
            totals.append(_total(cut, metric, name, tot_actual, float(f[scored].sum())))


def _model_cells(
    fc: MonthlySamples, i: int, cut: pd.Timestamp, actual: np.ndarray, scored: list[int]
) -> list[dict[str, Any]]:
    """The forecast's rows of metric ``i`` for the months scored: its band, whether the
    actual fell in it, and the errors; the baselines' rows have no band."""
    months = fc.months
    q = np.quantile(fc.samples[i], [0.1, 0.5, 0.9], axis=0)
    rows = []
    for k in scored:
        y = actual[k]
        rows.append(
            {
                "cutoff": cut,
                "month": months[k],
                "ahead": k + 1,
                "metric": fc.metrics[i],
                "method": fc.method,
                "actual": y,
                "p10": q[0, k],
                "p50": q[1, k],
                "p90": q[2, k],
                "inside": bool(q[0, k] <= y <= q[2, k]),
                "central": central_share(fc.samples[i, :, k], y),
                "ape": abs(q[1, k] - y) / y if y > 0 else math.nan,
                "crps": crps(fc.samples[i, :, k], y),
            }
        )
    return rows


def _total(cut: pd.Timestamp, metric: str, method: str, actual: float, fc: float) -> dict[str, Any]:
    """One row of the horizon totals: actual, forecast and the relative error."""
    err = abs(fc - actual) / actual if actual > 0 else math.nan
    return {
        "cutoff": cut,
        "metric": metric,
        "method": method,
        "actual": actual,
        "forecast": fc,
        "error": err,
    }
