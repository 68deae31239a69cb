"""A backtest's result, :class:`Backtest`, and the tables it holds: the actual counts of every
stage per week or calendar month, the forecast's band for each, and the summary that scores
them (coverage of the band, MAPE of the mean, the horizon's totals).

The driver that fits and forecasts is :func:`simfunnel.calibration.backtesting.backtest`; this
module says which stage counts where (:data:`STAGES`), where a horizon starts and ends, and
how a forecast is scored against what happened.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from ..decisions import Forecast
from ..model import Snapshot
from ..results.answer import AnswerBase, Report
from ..scenario import Scenario
from .backtest_report import STAGE_NAMES, backtest_report
from .fit_result import Calibration
from .stage_fit import METRIC_NAMES

__all__ = [
    "FREQS",
    "STAGES",
    "Backtest",
    "check_choice",
    "forecast_origin",
    "horizon_span",
    "score_tables",
]

# Forecast metric -> the lead-table date that counts it.
STAGES: dict[str, str] = {
    "leads": "created",
    "mqls": "mql_date",
    "sqls": "sql_date",
    "valid_opportunities": "opportunity_date",
    "won": "won_date",
    "lost": "lost_date",
}
FREQS = ("W", "M")


@dataclass(frozen=True, eq=False, repr=False)
class Backtest(AnswerBase):
    """A backtest's result.

    ``weekly``: one row per week and stage: ``week, week_start, metric, actual, mean``, the
    band (``p10, p50, p90`` at level 0.8) and ``inside``. ``monthly`` (with ``freq="M"``, else
    None): the same per calendar month (``month, month_start, days`` in the horizon,
    ``partial``, ...). ``horizon_months``: the horizon in months when given so (then
    ``horizon_weeks`` is the whole weeks simulated to reach its end).
    ``table`` (also ``summary()``): per stage, the weeks of the horizon, ``freq`` and the ``periods`` scored,
    ``coverage`` (share of periods inside the band), ``nominal`` level, ``mape`` (of the mean,
    over periods with an actual above 0), the actual total and the forecast total with its band.
    ``calibration``: the fit on the data before the cutoff; ``forecast``: the forecast;
    ``snapshot``: the funnel it started from (``start_from="snapshot"``), ``snapshot_table``
    the lead table it was read from; ``notes``: what was left out, and why.
    """

    cutoff: pd.Timestamp
    horizon_weeks: int
    calibration: Calibration
    forecast: Forecast
    weekly: pd.DataFrame
    table: pd.DataFrame  # the summary: one row per stage
    freq: str = "W"
    arrivals: str = "forecast"
    start_from: str = "snapshot"
    monthly: pd.DataFrame | None = None
    snapshot: Snapshot | None = None
    snapshot_table: pd.DataFrame | None = None
    notes: tuple[str, ...] = ()
    horizon_months: int | None = None
    roll_up: str | None = None  # "Q": text() and save() add the quarters (by_quarter)

    @property
    def periods(self) -> pd.DataFrame:
        """The table the summary scores: ``monthly`` with ``freq="M"``, else ``weekly``."""
        if self.freq == "M" and self.monthly is not None:
            return self.monthly
        return self.weekly

    def monthly_samples(self) -> tuple[list[str], np.ndarray]:
        """Each replication's count of every stage (``STAGES``) per calendar month of the
        horizon: the months, and an array (stages, replications, months), for scoring the
        whole band (CRPS) beside other forecasters (:mod:`simfunnel.calibration.rolling`)."""
        return _simulated_monthly(self.forecast, forecast_origin(self.cutoff), self.horizon_end)

    def by_quarter(self) -> pd.DataFrame:
        """The monthly scores rolled up to calendar quarters (``freq="M"`` backtests): per
        quarter and stage, the actual count, the band of the replications' quarter totals and
        whether the actual fell inside; ``months`` and ``partial`` say how much of the quarter
        the horizon holds. The summary still scores months: a quarter is a reading aid."""
        if self.monthly is None:
            raise ValueError("a quarterly roll-up needs a backtest scored by month (freq='M')")
        months, cube = self.monthly_samples()
        low, mid, high = self.forecast.quantile_columns
        q = (1 - self.forecast.level) / 2
        quarters = [str(pd.Period(m, freq="M").asfreq("Q")) for m in months]
        actual = self.monthly.pivot_table(index="metric", columns="month", values="actual")
        partial = self.monthly.groupby("month")["partial"].first()
        rows = []
        for quarter in dict.fromkeys(quarters):
            idx = [k for k, qq in enumerate(quarters) if qq == quarter]
            names = [months[k] for k in idx]
            for i, metric in enumerate(STAGES):
                totals = cube[i][:, idx].sum(axis=1)
                lo, md, hi = np.quantile(totals, [q, 0.5, 1 - q], method="weibull")
                got = float(actual.loc[metric, names].to_numpy().sum())
                rows.append(
                    {
                        "quarter": quarter,
                        "months": len(idx),
                        "partial": len(idx) < 3 or bool(partial.loc[names].any()),
                        "metric": metric,
                        "actual": got,
                        "mean": float(totals.mean()),
                        low: float(lo),
                        mid: float(md),
                        high: float(hi),
                        "inside": bool(lo <= got <= hi),
                    }
                )
        return pd.DataFrame(rows)

    @property
    def horizon_end(self) -> pd.Timestamp:
        """Where the horizon ends (a month's end with a horizon in months)."""
        weeks = None if self.horizon_months else self.horizon_weeks
        return horizon_span(forecast_origin(self.cutoff), weeks, self.horizon_months)[0]

    @property
    def coverage(self) -> float:
        """Share of all (period, stage) actuals inside their band, at the chosen frequency."""
        return float(self.periods["inside"].mean())

    @property
    def scenario(self) -> Scenario:
        """The scenario the forecast ran: the one fitted on the data before the cutoff."""
        return self.forecast.scenario

    @property
    def verdict(self) -> str:
        """Coverage of the bands against their nominal level, and per stage the share of
        periods inside and the mean error, in words."""
        return _verdict(self)

    def plot(self, what: str | None = None, *, ax: Any = None, freq: str | None = None) -> Any:
        """The forecast band of one stage (``what``, default ``sqls``) with the actual counts
        drawn over it: weekly (the forecast's fan chart) or, with ``freq="M"`` (default: the
        backtest's), by month."""
        metric = "sqls" if what is None else what
        if metric not in STAGES:
            raise ValueError(f"unknown metric {metric!r}; use one of {', '.join(STAGES)}")
        freq = self.freq if freq is None else freq
        check_choice("freq", freq, FREQS)
        s = self.table.set_index("metric").loc[metric]
        if freq == "M":
            if self.monthly is None:
                raise ValueError("no monthly table: run the backtest with freq='M'")
            if ax is None:
                import matplotlib.pyplot as plt  # heavy: loaded only to draw

                _, ax = plt.subplots(figsize=(9, 4.5))
            table = self.monthly
            rows = table[table["metric"] == metric]
            low, _, high = self.forecast.quantile_columns
            x = np.arange(len(rows))
            ax.bar(
                x,
                rows[high] - rows[low],
                bottom=rows[low],
                color="C0",
                alpha=0.3,
                label=f"{self.forecast.level:.0%} band",
            )
            ax.plot(x, rows["mean"], "_", color="C0", markersize=20, label="mean")
            ax.plot(x, rows["actual"], "o", color="black", label="actual")
            ax.set_xticks(
                x, [f"{m} ({d} d)" for m, d in zip(rows["month"], rows["days"], strict=True)]
            )
            ax.set_ylabel(f"{metric} per month (days in the horizon)")
            ax.grid(alpha=0.3)
        else:
            ax = self.forecast.plot(metric, ax=ax)
            table = self.weekly
            rows = table[table["metric"] == metric].sort_values("week")
            week_ends = [d + dt.timedelta(days=7) for d in rows["week_start"]]
            ax.plot(week_ends, rows["actual"], "o-", color="black", markersize=4, label="actual")
            # The fan chart fixed its y limits; the actual weeks must fit too.
            ax.set_autoscaley_on(True)
            ax.relim()
            ax.autoscale_view(scalex=False)
            ax.set_ylim(bottom=0)
        w = table[table["metric"] == metric]
        coverage = float(w["inside"].mean())
        pos = w[w["actual"] > 0]
        mape = float((abs(pos["mean"] - pos["actual"]) / pos["actual"]).mean()) if len(pos) else 0
        ax.set_title(
            f"Backtest from {self.cutoff:%Y-%m-%d}: {metric}, coverage {coverage:.0%} "
            f"(nominal {s['nominal']:.0%}), MAPE {mape:.0%}"
        )
        ax.legend(loc="upper left")
        return ax

    def tables(self) -> Mapping[str, pd.DataFrame]:
        """``periods`` (the periods scored, at the backtest's frequency) and ``summary``; with
        ``roll_up="Q"``, ``quarters`` (:meth:`by_quarter`)."""
        out = {"periods": self.periods, "summary": self.table}
        if self.roll_up == "Q":
            out["quarters"] = self.by_quarter()
        return out

    def charts(self) -> Mapping[str, str | None]:
        """One chart per stage, named after it: its band with the actual counts."""
        return {metric: metric for metric in STAGES}

    def text(self) -> str:
        """What ``simfunnel backtest --cutoff`` prints: the verdict, the scores per stage as
        the report writes them, and with ``roll_up="Q"`` the quarters."""
        report = self.report()
        parts = ["\n".join(report.verdict), report.kpis.to_string(index=False)]
        if self.roll_up == "Q":
            q = self.by_quarter()
            low, mid, high = self.forecast.quantile_columns
            shown = pd.DataFrame(
                {
                    "quarter": q["quarter"] + q["partial"].map({True: " (part)", False: ""}),
                    "stage": q["metric"].map(lambda m: STAGE_NAMES.get(m, m)),
                    "actual": q["actual"].map("{:,.0f}".format),
                    f"median ({low.upper()} to {high.upper()})": [
                        f"{m:,.0f} ({lo:,.0f} to {hi:,.0f})"
                        for m, lo, hi in zip(q[mid], q[low], q[high], strict=True)
                    ],
                    "inside": q["inside"].map({True: "yes", False: "no"}),
                }
            )
            parts.append("By quarter:\n" + shown.to_string(index=False))
        return "\n\n".join(parts)

    def report(self) -> Report:
        """The HTML report's content: coverage, errors and totals against what happened."""
        return backtest_report(self)

    def __repr__(self) -> str:
        horizon = (
            f"weeks={self.horizon_weeks}"
            if self.horizon_months is None
            else f"months={self.horizon_months}"
        )
        return (
            f"Backtest(cutoff={self.cutoff:%Y-%m-%d}, {horizon}, "
            f"freq={self.freq}, start_from={self.start_from}, arrivals={self.arrivals}, "
            f"coverage={self.coverage:.2f})"
        )


def _verdict(bt: Backtest) -> str:
    """The backtest's verdict: the bands' coverage against nominal, then per stage the share
    of periods inside the band and the mean absolute percentage error, and the totals."""
    unit = "month" if bt.freq == "M" and bt.monthly is not None else "week"
    level = bt.forecast.level
    horizon = f"{bt.horizon_months} months" if bt.horizon_months else f"{bt.horizon_weeks} weeks"
    per_stage = "; ".join(
        f"{METRIC_NAMES.get(str(r['metric']), str(r['metric']))} {r['coverage']:.0%} inside, "
        + ("MAPE n/a" if pd.isna(r["mape"]) else f"MAPE {r['mape']:.0%}")
        for r in bt.table.to_dict("records")
    )
    inside = int(bt.table["total_inside"].sum())
    return (
        f"Fitted on the exports up to {bt.cutoff:%Y-%m-%d} and forecast {horizon} on, the "
        f"{level:.0%} bands held {bt.coverage:.0%} of {len(bt.periods)} stage-{unit}s "
        f"(nominal {level:.0%}). Per stage, the {unit}s inside the band and the {unit}ly "
        f"mean's error: {per_stage}. {inside} of {len(bt.table)} horizon totals fell inside "
        "their band."
    )


def check_choice(name: str, value: Any, choices: tuple[str, ...]) -> None:
    """Refuse an option outside its choices, naming them."""
    if value not in choices:
        raise ValueError(f"{name} must be one of {', '.join(map(repr, choices))} (got {value!r})")


def forecast_origin(cut: pd.Timestamp) -> pd.Timestamp:
    """Where the forecast starts: the cutoff, or the next midnight (the fitted scenario's
    start date, which is a day)."""
    return (cut + pd.Timedelta(days=1)).normalize() if cut != cut.normalize() else cut


def horizon_span(
    origin: pd.Timestamp, weeks: int | None, months: int | None
) -> tuple[pd.Timestamp, int]:
    """The end of the horizon and the whole weeks to simulate to reach it. Months end at the
    end of the Nth calendar month counted from the origin's month when it starts a month,
    else from the next month (the partial first month is scored on its own row)."""
    if months is None:
        assert weeks is not None
        return origin + pd.Timedelta(weeks=weeks), weeks
    first = origin if origin.day == 1 else origin + pd.offsets.MonthBegin(1)
    end = first + pd.DateOffset(months=months)
    return end, math.ceil((end - origin) / pd.Timedelta(weeks=1))


def score_tables(
    fc: Forecast,
    actual_leads: pd.DataFrame,
    origin: pd.Timestamp,
    end: pd.Timestamp,
    weeks: int,
    months: int | None,
    freq: str,
    level: float,
) -> tuple[pd.DataFrame, pd.DataFrame | None, pd.DataFrame]:
    """The weekly table (each week's band and actual count per stage), the monthly one (with
    ``freq="M"``, else None) and the summary that scores the one of ``freq``."""
    low, mid, high = fc.quantile_columns
    actual = _actual_counts(actual_leads, origin, origin + pd.Timedelta(weeks=weeks), "W")
    bands = fc.bands[fc.bands["metric"].isin(list(STAGES))]
    weekly = bands.merge(actual, on=["week", "metric"], how="left")
    weekly = weekly[["week", "week_start", "metric", "actual", "mean", low, mid, high]].copy()
    weekly = _score(weekly, low, high).reset_index(drop=True)
    monthly, cube = None, None
    if freq == "M":
        monthly, cube = _monthly(fc, origin, end, level, actual_leads)
    totals = _totals(fc, weeks, cube if months is not None else None, level)
    scored = monthly if monthly is not None else weekly
    return weekly, monthly, _summary(scored, totals, fc, weeks, months, freq, level)


def _actual_counts(
    lt: pd.DataFrame, origin: pd.Timestamp, end: pd.Timestamp, freq: str
) -> pd.DataFrame:
    """Actual counts of every stage per week (``week``) or calendar month (``month``)."""
    rows = []
    for metric, col in STAGES.items():
        when = lt[col].dropna()
        when = when[(when >= origin) & (when < end)]
        if freq == "W":
            horizon = round((end - origin) / pd.Timedelta(weeks=1))
            week = ((when - origin).dt.total_seconds() // 604800).astype(int)
            counts = np.bincount(week, minlength=horizon)[:horizon]
            rows.append(
                pd.DataFrame({"week": np.arange(horizon), "metric": metric, "actual": counts})
            )
        else:
            months = _months(origin, end)
            got = when.dt.to_period("M").astype(str).value_counts()
            rows.append(
                pd.DataFrame(
                    {
                        "month": months,
                        "metric": metric,
                        "actual": [int(got.get(m, 0)) for m in months],
                    }
                )
            )
    return pd.concat(rows, ignore_index=True)


def _months(origin: pd.Timestamp, end: pd.Timestamp) -> list[str]:
    """The calendar months [origin, end) touches, as ``YYYY-MM``."""
    return [str(p) for p in pd.period_range(origin, end - pd.Timedelta(seconds=1), freq="M")]


def _simulated_monthly(
    fc: Forecast, origin: pd.Timestamp, end: pd.Timestamp
) -> tuple[list[str], np.ndarray]:
    """Per replication, the count of every stage per calendar month of [origin, end), from
    the replications replayed (the same draws as the forecast's bands; weekly tables cannot
    be split at a month's edge). Shape (stages, replications, months)."""
    months = _months(origin, end)
    reps = sorted(fc.experiment.long["replication"].unique())
    inbound = set(fc.scenario.source_names)
    cube = np.zeros((len(STAGES), len(reps), len(months)))
    for j, r in enumerate(reps):
        leads = fc.experiment.replay(int(r)).leads
        state = leads["end_state"].astype(str)
        times = {
            "leads": leads["arrived"].where(leads["source"].astype(str).isin(inbound)),
            "mqls": leads["arrived"].where(
                leads["source"].astype(str).isin(inbound) & leads["mql"].astype(bool)
            ),
            "sqls": leads["tossed_up"],
            "valid_opportunities": leads["valid_opportunity"],
            "won": leads["closed"].where(state == "won"),
            "lost": leads["closed"].where(state == "lost"),
        }
        for i, metric in enumerate(STAGES):
            t = times[metric].dropna()
            t = t[(t >= origin) & (t < end)]
            got = t.dt.to_period("M").astype(str).value_counts()
            cube[i, j] = [got.get(m, 0) for m in months]
    return months, cube


def _score(table: pd.DataFrame, low: str, high: str) -> pd.DataFrame:
    """Mark each row whose actual count lies inside its band (ends included)."""
    table["inside"] = (table["actual"] >= table[low]) & (table["actual"] <= table[high])
    return table


def _monthly(
    fc: Forecast,
    origin: pd.Timestamp,
    end: pd.Timestamp,
    level: float,
    actual_leads: pd.DataFrame,
) -> tuple[pd.DataFrame, np.ndarray]:
    """Per calendar month of [origin, end) and stage: the band from the replays, the actual
    count, ``days`` in the horizon and ``partial`` (fewer days than the month has)."""
    low, mid, high = fc.quantile_columns
    months, cube = _simulated_monthly(fc, origin, end)
    q = (1 - level) / 2
    qs = np.quantile(cube, [q, 0.5, 1 - q], axis=1, method="weibull")
    firsts = [max(pd.Period(m).start_time, origin) for m in months]
    lasts = [min(pd.Period(m).end_time + pd.Timedelta(1, "ns"), end) for m in months]
    days = [round((lasts[k] - firsts[k]) / pd.Timedelta(days=1)) for k in range(len(months))]
    rows = [
        {
            "month": m,
            "month_start": firsts[k].date(),
            "days": days[k],
            "partial": days[k] < pd.Period(m).days_in_month,
            "metric": metric,
            "mean": float(cube[i, :, k].mean()),
            low: float(qs[0, i, k]),
            mid: float(qs[1, i, k]),
            high: float(qs[2, i, k]),
        }
        for i, metric in enumerate(STAGES)
        for k, m in enumerate(months)
    ]
    monthly = pd.DataFrame(rows).merge(
        _actual_counts(actual_leads, origin, end, "M"), on=["month", "metric"], how="left"
    )
    cols = ["month", "month_start", "days", "partial", "metric", "actual", "mean", low, mid, high]
    return _score(monthly[cols].copy(), low, high), cube


def _totals(
    fc: Forecast, weeks: int, cube: np.ndarray | None, level: float
) -> dict[str, tuple[float, float, float]]:
    """Per stage, the horizon's forecast total: mean and band. From the weekly cumulative
    bands, or (a horizon of months, which whole weeks overrun) from the monthly replays."""
    low, _, high = fc.quantile_columns
    if cube is not None:
        sums = cube.sum(axis=2)
        q = (1 - level) / 2
        qs = np.quantile(sums, [q, 1 - q], axis=1, method="weibull")
        return {
            m: (float(sums[i].mean()), float(qs[0, i]), float(qs[1, i]))
            for i, m in enumerate(STAGES)
        }
    cum = fc.cumulative
    last = cum[(cum["week"] == weeks - 1) & cum["metric"].isin(list(STAGES))].set_index("metric")
    return {m: (float(last["mean"][m]), float(last[low][m]), float(last[high][m])) for m in STAGES}


def _summary(
    scored: pd.DataFrame,
    totals: dict[str, tuple[float, float, float]],
    fc: Forecast,
    weeks: int,
    months: int | None,
    freq: str,
    level: float,
) -> pd.DataFrame:
    """Per stage: coverage and MAPE over the periods scored, and the totals with their band."""
    low, _, high = fc.quantile_columns
    rows = []
    for metric in STAGES:
        w = scored[scored["metric"] == metric]
        pos = w[w["actual"] > 0]
        mape = (
            float((abs(pos["mean"] - pos["actual"]) / pos["actual"]).mean())
            if len(pos)
            else math.nan
        )
        mean, lo, hi = totals[metric]
        total = int(w["actual"].sum())
        row = {"metric": metric, "weeks": weeks}
        if months is not None:
            row["months"] = months
        row |= {
            "freq": freq,
            "periods": len(w),
            "coverage": float(w["inside"].mean()),
            "nominal": level,
            "mape": mape,
            "actual_total": total,
            "forecast_total": mean,
            f"total_{low}": lo,
            f"total_{high}": hi,
            "total_inside": bool(lo <= total <= hi),
        }
        rows.append(row)
    return pd.DataFrame(rows)
