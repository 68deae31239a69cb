"""Backtests: fit on the data before a cutoff, forecast past it, and score against what happened.

A fitted scenario earns trust only if its forecasts would have been right. :func:`backtest`
hides everything after ``cutoff`` (leads created later, stage dates reached later, calls and
closes after it), fits a scenario on the rest (:func:`simfunnel.calibration.fit`), forecasts
``horizon_weeks`` from the cutoff (:func:`simfunnel.forecast`, with forecast arrivals and a
warm-up that fills the pipeline), and compares each week's actual count of every stage with
the forecast band: the share of weeks inside the band (coverage, to compare with its nominal
level) and the mean absolute percentage error of the forecast mean (MAPE).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .calibration import (
    Calibration,
    CalibrationError,
    ExportTable,
    fit,
    read_calls,
    read_leads,
    read_opportunities,
)
from .forecast import Forecast, forecast

__all__ = ["STAGES", "Backtest", "backtest"]

# Forecast metric -> the lead-table date that counts it.
STAGES: dict[str, str] = {
    "leads": "created",
    "mqls": "mql_date",
    "sqls": "sql_date",
    "valid_opportunities": "opportunity_date",
    "won": "won_date",
    "lost": "lost_date",
}


@dataclass(frozen=True, eq=False)
class Backtest:
    """A backtest's result.

    ``weekly``: one row per week and stage: ``week, week_start, metric, actual, mean``, the
    band (``p10, p50, p90`` at level 0.8) and ``inside``. ``summary``: per stage, the weeks,
    ``coverage`` (share of weeks inside the band), ``nominal`` level, ``mape`` (of the mean,
    over weeks with an actual above 0), the actual total and the forecast total with its band.
    ``calibration``: the fit on the data before the cutoff; ``forecast``: the forecast.
    """

    cutoff: pd.Timestamp
    horizon_weeks: int
    calibration: Calibration
    forecast: Forecast
    weekly: pd.DataFrame
    summary: pd.DataFrame

    @property
    def coverage(self) -> float:
        """Share of all (week, stage) actuals inside their band."""
        return float(self.weekly["inside"].mean())

    def plot(self, metric: str = "sqls", ax: Any = None) -> Any:
        """The forecast band of one stage with the actual weekly counts drawn over it."""
        if metric not in STAGES:
            raise ValueError(f"unknown metric {metric!r}; use one of {', '.join(STAGES)}")
        ax = self.forecast.plot(metric, ax=ax)
        rows = self.weekly[self.weekly["metric"] == metric].sort_values("week")
        x = [d + dt.timedelta(days=7) for d in rows["week_start"]]
        ax.plot(x, rows["actual"], "o-", color="black", markersize=4, label="actual")
        s = self.summary.set_index("metric").loc[metric]
        ax.set_title(
            f"Backtest from {self.cutoff:%Y-%m-%d}: {metric}, coverage {s['coverage']:.0%} "
            f"(nominal {s['nominal']:.0%}), MAPE {s['mape']:.0%}"
        )
        ax.legend(loc="upper left")
        return ax

    def __repr__(self) -> str:
        return (
            f"Backtest(cutoff={self.cutoff:%Y-%m-%d}, weeks={self.horizon_weeks}, "
            f"coverage={self.coverage:.2f})"
        )


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


def backtest(
    leads: ExportTable | str | Path,
    cutoff: Any,
    horizon_weeks: int,
    calls: ExportTable | str | Path | None = None,
    opportunities: ExportTable | str | Path | None = None,
    *,
    style: str = "hubspot",
    mapping: Any = None,
    date_format: str | None = None,
    start: Any = None,
    reps: int = 19,
    seed: int = 0,
    workers: int | None = None,
    level: float = 0.8,
    progress: bool = False,
) -> Backtest:
    """Fit on the exports before ``cutoff``, forecast ``horizon_weeks`` weeks from it, and
    compare with the actual weekly counts of leads, MQLs, SQLs, valid opportunities, wins and
    losses after it. ``start``: where the data period begins (default: the first lead's day).
    ``reps`` replications (19 puts P10 and P90 exactly on order statistics).
    """
    if isinstance(horizon_weeks, bool) or not isinstance(horizon_weeks, int) or horizon_weeks < 1:
        raise ValueError(f"horizon_weeks must be a whole number >= 1 (got {horizon_weeks!r})")
    cut = pd.Timestamp(cutoff)
    kw = {"style": style, "mapping": mapping, "date_format": date_format}
    lt = leads if isinstance(leads, ExportTable) else read_leads(leads, **kw)
    ct = calls if calls is None or isinstance(calls, ExportTable) else read_calls(calls, **kw)
    ot = (
        opportunities
        if opportunities is None or isinstance(opportunities, ExportTable)
        else read_opportunities(opportunities, **kw)
    )
    end = cut + pd.Timedelta(weeks=horizon_weeks)
    latest = lt.data["created"].max()
    if latest < end - pd.Timedelta(days=7):
        raise CalibrationError(
            f"{lt.path}: the last lead was created {latest:%Y-%m-%d}; a {horizon_weeks}-week "
            f"backtest from {cut:%Y-%m-%d} needs data up to {end:%Y-%m-%d}"
        )
    lead_dates = ["mql_date", "sql_date", "opportunity_date", "won_date", "lost_date"]
    past_leads = _before(lt, cut, lead_dates, "created")
    past_calls = _before(ct, cut, [], "timestamp") if ct is not None else None
    past_opps = _before(ot, cut, ["close_date"], "created") if ot is not None else None
    calibration = fit(
        past_leads, past_calls, past_opps, start=start, as_of=cut, horizon_weeks=horizon_weeks,
        name=f"backtest from {cut:%Y-%m-%d}",
    )  # fmt: skip
    scenario = calibration.scenario()
    fc = forecast(scenario, reps=reps, seed=seed, workers=workers, level=level, progress=progress)
    origin = pd.Timestamp(scenario.start)
    rows = []
    for metric, col in STAGES.items():
        when = lt.data[col].dropna()
        week = ((when - origin).dt.total_seconds() // 604800).astype(int)
        counts = np.bincount(week[(week >= 0) & (week < horizon_weeks)], minlength=horizon_weeks)
        rows.append(pd.DataFrame({"week": np.arange(horizon_weeks), "metric": metric,
                                  "actual": counts[:horizon_weeks]}))  # fmt: skip
    actual = pd.concat(rows, ignore_index=True)
    low, mid, high = fc.quantile_columns
    bands = fc.bands[fc.bands["metric"].isin(list(STAGES))]
    weekly = bands.merge(actual, on=["week", "metric"], how="left")
    weekly = weekly[["week", "week_start", "metric", "actual", "mean", low, mid, high]].copy()
    weekly["inside"] = (weekly["actual"] >= weekly[low]) & (weekly["actual"] <= weekly[high])
    cum = fc.cumulative
    last = cum[(cum["week"] == horizon_weeks - 1) & cum["metric"].isin(list(STAGES))]
    summary_rows = []
    for metric in STAGES:
        w = weekly[weekly["metric"] == metric]
        pos = w[w["actual"] > 0]
        mape = (
            float((abs(pos["mean"] - pos["actual"]) / pos["actual"]).mean()) if len(pos) else np.nan
        )
        t = last[last["metric"] == metric].iloc[0]
        total = int(w["actual"].sum())
        summary_rows.append(
            {
                "metric": metric,
                "weeks": len(w),
                "coverage": float(w["inside"].mean()),
                "nominal": level,
                "mape": mape,
                "actual_total": total,
                "forecast_total": float(t["mean"]),
                f"total_{low}": float(t[low]),
                f"total_{high}": float(t[high]),
                "total_inside": bool(t[low] <= total <= t[high]),
            }
        )
    return Backtest(
        cutoff=cut,
        horizon_weeks=horizon_weeks,
        calibration=calibration,
        forecast=fc,
        weekly=weekly.reset_index(drop=True),
        summary=pd.DataFrame(summary_rows),
    )
