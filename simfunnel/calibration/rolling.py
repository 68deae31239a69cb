"""Rolling-origin backtests: forecasts judged the way forecasters are judged.

One cutoff proves little: a forecast can be right once by luck. :func:`rolling_backtest` fits
at many cutoffs (a list, or every month between two dates), forecasts each calendar month of
the horizon from each, and scores every (cutoff, month, metric) against what the export shows
happened: whether the actual count fell in the P10-P90 band (coverage, to compare with 0.8
within its binomial tolerance; a count on the band's edge counts in part, see
:func:`central_share`), the absolute percentage error of the P50, the continuous
ranked probability score (CRPS, a proper score of the whole band) and the error of the
horizon total. The same table scores the baselines a team would otherwise use, so the verdict
can say whether the model beats them:

- ``naive cohort rate``: the spreadsheet, average monthly leads times each stage's rate among
  matured cohorts (cohorts older than the stage's P90 delay);
- ``recent cohort rate``: the same from the last three months of arrivals and of matured
  cohorts;
- ``last month``: each month as the last whole month before the cutoff;
- ``same month last year``: seasonal naive, where the history reaches back a year.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from ..data import (
    CalibrationError,
    ExportTable,
    check_exports,
    parse_timestamp,
    read_calls,
    read_leads,
    read_opportunities,
)
from .cohort_forecast import CohortForecast, forecast_cohorts
from .cohorts import DAY, METRIC_DATES, METRIC_NAMES, fit_cohorts

__all__ = [
    "BASELINES", "RollingBacktest", "central_share", "crps", "lead_frame", "rolling_backtest",
]  # fmt: skip

BASELINES = ("naive cohort rate", "recent cohort rate", "last month", "same month last year")
MODEL = "cohort model"
MODELS = {"cohort": MODEL, "simulation": "simulation"}
MIN_HISTORY_LEADS = 30
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
    frame = pd.DataFrame({
        "lead_id": o["opportunity_id"].astype(str),
        "created": o["created"],
        "source": "all",
        "won_date": o["close_date"].where(won.fillna(False).astype(bool)),
        "lost_date": o["close_date"].where((~won.fillna(True)).astype(bool)),
    })  # fmt: skip
    said = [f"{opportunities.path}: no lead table, so each of the {len(o):,} opportunities is "
            "a lead created on its created date, won or lost on its close date"]  # fmt: skip
    return frame, said


@dataclass(frozen=True)
class RollingBacktest:
    """``cells``: one row per cutoff, month, metric and method (the model and each
    baseline): ``actual``, the forecast (``p50``; the model also ``p10, p90``, ``inside``
    the band and ``central``, :func:`central_share`, whose mean is the coverage), ``ape``
    and ``crps``. ``totals``: per cutoff, metric and method, the horizon's actual and
    forecast totals and the relative error. ``variance``: per cutoff and metric, the share of
    the band's variance the parameter draws make. ``notes``: what was assumed or left out."""

    cells: pd.DataFrame
    totals: pd.DataFrame
    variance: pd.DataFrame
    cutoffs: tuple[pd.Timestamp, ...]
    horizon_months: int
    level: float
    notes: tuple[str, ...] = ()
    windows: tuple[str, ...] = ()
    method: str = MODEL  # the forecaster judged: "cohort model" or "simulation"

    def summary(self) -> pd.DataFrame:
        """Per metric and method: months scored, coverage of the band (the model) with the
        binomial 99% range a calibrated band would show, MAPE, mean CRPS, the mean error of
        the horizon total, and the model's own mean error over the same cutoffs
        (``model_total_error``: a baseline that needs a year of history is scored on later
        cutoffs only, and is compared with the model there)."""
        rows = []
        tot = self.totals
        for (metric, method), g in self.cells.groupby(["metric", "method"], sort=False):
            t = tot[(tot["metric"] == metric) & (tot["method"] == method)]
            mine = tot[(tot["metric"] == metric) & (tot["method"] == self.method)
                       & tot["cutoff"].isin(t["cutoff"])]  # fmt: skip
            row = {"metric": metric, "method": method, "months": len(g),
                   "cutoffs": int(t["cutoff"].nunique()),
                   "coverage": float(g["central"].mean()) if method == self.method else math.nan,
                   "mape": float(g["ape"].mean()), "crps": float(g["crps"].mean()),
                   "total_error": float(t["error"].mean()),
                   "model_total_error": float(mine["error"].mean()),
                   "difference_se": self._paired_se(t, mine)}  # fmt: skip
            lo, hi = stats.binom.interval(0.99, len(g), self.level)
            row["coverage_low"] = lo / len(g) if method == self.method else math.nan
            row["coverage_high"] = hi / len(g) if method == self.method else math.nan
            rows.append(row)
        return pd.DataFrame(rows)

    def _paired_se(self, base: pd.DataFrame, mine: pd.DataFrame) -> float:
        """Standard error of the mean difference in horizon-total error, model minus
        baseline, over the cutoffs both have. Horizons of consecutive cutoffs overlap, so
        the cutoffs count as one per horizon's length (a conservative effective count)."""
        d = (mine.set_index("cutoff")["error"] - base.set_index("cutoff")["error"]).dropna()
        n_eff = len(d) / max(1, self.horizon_months)
        if len(d) < 2 or n_eff < 1:
            return math.nan
        return float(d.std(ddof=1) / math.sqrt(n_eff))

    def verdict(self) -> list[str]:
        """One line per metric: does the model's horizon total beat every baseline on the
        cutoffs each baseline covers (named: the one it beats by the least, or loses to by the
        most), and is its band calibrated."""
        s = self.summary()
        lines = []
        for metric, g in s.groupby("metric", sort=False):
            model = g[g["method"] == self.method].iloc[0]
            base = g[(g["method"] != self.method) & g["total_error"].notna()]
            if base.empty:
                continue
            margin = base["total_error"] - base["model_total_error"]
            worst = base.loc[margin.idxmin()]
            beats = bool(margin.min() >= 0)
            cov_ok = model["coverage_low"] <= model["coverage"] <= model["coverage_high"]
            where = ("" if worst["cutoffs"] == model["cutoffs"]
                     else f" on the {int(worst['cutoffs'])} cutoffs it covers")  # fmt: skip
            gap, se = -float(margin.min()), float(worst["difference_se"])
            judged = ("does NOT beat every baseline" if not beats
                      else "ties with the best baseline" if gap > -0.0005  # equal as printed
                      else "beats every baseline")  # fmt: skip
            chance = ("" if beats or not math.isfinite(se) else
                      f", {'within' if gap <= 2 * se else 'beyond'} chance: two standard errors "
                      f"of the paired difference are {2 * se:.1%}")  # fmt: skip
            lines.append(
                f"{metric}: horizon total off by {model['total_error']:.0%} on average; "
                f"{judged}: "
                f"{worst['model_total_error']:.1%} against {worst['total_error']:.1%} for "
                f"{worst['method']}{where}{chance}; the P10-P90 band held "
                f"{model['coverage']:.0%} of "
                f"{int(model['months'])} months ({'within' if cov_ok else 'OUTSIDE'} the "
                f"{model['coverage_low']:.0%}-{model['coverage_high']:.0%} a calibrated band "
                "shows)"
            )
        return lines

    def plot(self, metric: str = "won", ahead: int = 1, ax: Any = None) -> Any:
        """Each month's actual count against what was forecast ``ahead`` months before it:
        the model's band and median, and each baseline's figure. Where the dots leave the
        band is where the model missed. Returns the axes."""
        c = self.cells[(self.cells["metric"] == metric) & (self.cells["ahead"] == ahead)]
        if c.empty:
            raise ValueError(f"no scored month for {metric!r} {ahead} month(s) ahead")
        if ax is None:
            import matplotlib.pyplot as plt

            _, ax = plt.subplots(figsize=(10, 4.5))
        model = c[c["method"] == self.method].sort_values("month")
        x = pd.PeriodIndex(model["month"], freq="M").to_timestamp()
        ax.fill_between(x, model["p10"], model["p90"], color="C0", alpha=0.3,
                        label=f"{self.method}, P10-P90")  # fmt: skip
        ax.plot(x, model["p50"], color="C0", label=f"{self.method}, median")
        styles = iter([(":", "0.35"), ("--", "#a6611a"), ("-.", "#018571"), ("--", "0.65")])
        for method, g in c[c["method"] != self.method].groupby("method", sort=False):
            g = g.sort_values("month")
            gx = pd.PeriodIndex(g["month"], freq="M").to_timestamp()
            line, colour = next(styles, ("--", "0.5"))
            ax.plot(gx, g["p50"], linestyle=line, color=colour, label=method)
        ax.plot(x, model["actual"], "o", color="black", label="actual")
        from matplotlib import dates

        ax.xaxis.set_major_locator(dates.MonthLocator(interval=max(1, math.ceil(len(x) / 8))))
        ax.xaxis.set_major_formatter(dates.DateFormatter("%b %Y"))
        ax.set_ylim(bottom=0)
        name = METRIC_NAMES.get(metric, metric.replace("_", " "))
        ax.set_ylabel(f"{name} per month")
        ax.set_title(f"{name[0].upper() + name[1:]}: each month against the forecast made "
                     f"{ahead} month{'s' if ahead > 1 else ''} before")  # fmt: skip
        ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), frameon=False)
        ax.grid(alpha=0.3)
        return ax

    def misses(self, n: int = 5) -> pd.DataFrame:
        """Where the model missed most: the months whose actual count fell outside the band,
        worst first by CRPS relative to the actual (a miss of 20 on 40 is worse than 20 on
        400), ``n`` per metric."""
        c = self.cells[self.cells["method"] == self.method]
        c = c[~c["inside"].astype(bool)].copy()
        c["relative_crps"] = c["crps"] / c["actual"].clip(lower=1)
        c = c.sort_values("relative_crps", ascending=False)
        cols = ["metric", "cutoff", "month", "ahead", "actual", "p10", "p50", "p90"]
        return c.groupby("metric", sort=False).head(n)[cols].reset_index(drop=True)

    def __repr__(self) -> str:
        cut = ", ".join(f"{c:%Y-%m-%d}" for c in self.cutoffs)
        return (f"RollingBacktest({len(self.cutoffs)} cutoffs: {cut}; {self.horizon_months} "
                f"months ahead)\n" + "\n".join(self.verdict()))  # fmt: skip


def _month_counts(frame: pd.DataFrame, col: str, months: list[str]) -> np.ndarray:
    when = frame[col].dropna() if col in frame else pd.Series([], dtype="datetime64[ns]")
    got = when.dt.to_period("M").astype(str).value_counts()
    return np.array([int(got.get(m, 0)) for m in months], dtype=float)


def _baselines(
    history: pd.DataFrame, cutoff: pd.Timestamp, metric: str, months: list[str],
    shares: np.ndarray,
) -> dict[str, np.ndarray]:  # fmt: skip
    """Point forecasts per month of each baseline (``shares``: the share of each month inside
    the horizon, for a partial first month)."""
    col = METRIC_DATES[metric]
    full = [str(p) for p in pd.period_range(history["created"].min(), cutoff, freq="M")
            if p.end_time < cutoff]  # fmt: skip
    out: dict[str, np.ndarray] = {}
    if not full or col not in history:
        return out
    leads = _month_counts(history, "created", full)
    if metric == "leads":
        rate_all = rate_recent = 1.0
    else:
        delay = ((history[col] - history["created"]) / DAY).dropna()
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


def _cutoffs(
    cutoffs: Iterable[Any] | None, every: str | None, first: Any, last: Any,
    start: pd.Timestamp, data_end: pd.Timestamp, horizon_months: int,
) -> list[pd.Timestamp]:  # fmt: skip
    if cutoffs is not None:
        if every is not None:
            raise ValueError("give cutoffs or every, not both")
        return sorted(parse_timestamp(c, "cutoff") for c in cutoffs)
    if every not in (None, "month"):
        raise ValueError(f"every must be 'month' (got {every!r})")
    lo = parse_timestamp(first, "first") if first is not None else (
        start.to_period("M").start_time + pd.DateOffset(months=6))  # fmt: skip
    hi = parse_timestamp(last, "last") if last is not None else (
        data_end.to_period("M").start_time - pd.DateOffset(months=horizon_months))  # fmt: skip
    out = list(pd.date_range(lo.to_period("M").start_time, hi, freq="MS"))
    if not out:
        raise CalibrationError(
            f"no month start between {lo:%Y-%m-%d} and {hi:%Y-%m-%d}: the data (from "
            f"{start:%Y-%m-%d} to {data_end:%Y-%m-%d}) are too short for {horizon_months}-month "
            "horizons after six months of history; give --cutoffs"
        )
    return out


def _read(
    leads: Any, opportunities: Any, kw: dict[str, Any]
) -> tuple[ExportTable | None, ExportTable | None, pd.Timestamp]:
    lt = leads if leads is None or isinstance(leads, ExportTable) else read_leads(leads, **kw)
    ot = (opportunities if opportunities is None or isinstance(opportunities, ExportTable)
          else read_opportunities(opportunities, **kw))  # fmt: skip
    if lt is not None:
        lt, _, ot, data_end = check_exports(lt, None, ot)
        return lt, ot, data_end
    if ot is None:
        raise CalibrationError("a rolling backtest needs a lead table or an opportunity table")
    o = ot.data
    data_end = max(o["created"].max(), o["close_date"].max())
    return None, ot, pd.Timestamp(data_end)


def rolling_backtest(
    leads: ExportTable | str | Path | None = None,
    opportunities: ExportTable | str | Path | None = None,
    *,
    calls: ExportTable | str | Path | None = None,
    model: str = "cohort",
    workers: int | None = None,
    cutoffs: Iterable[Any] | None = None,
    every: str | None = None,
    first: Any = None,
    last: Any = None,
    horizon_months: int | None = 3,
    horizon_weeks: int | None = None,
    reps: int = 200,
    seed: int = 0,
    since: Any = None,
    half_life_weeks: float | None = None,
    parameter_draws: bool = True,
    level: float = 0.8,
    style: str = "hubspot",
    mapping: Any = None,
    date_format: str | None = None,
    encoding: str | None = None,
    sep: str | None = None,
    progress: Callable[[str], None] | None = None,
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
    ``calls`` when given).
    """
    if model not in MODELS:
        raise ValueError(f"model must be one of {', '.join(MODELS)} (got {model!r})")
    if horizon_weeks is not None:
        _whole("horizon_weeks", horizon_weeks)
        horizon_months = None
    else:
        _whole("horizon_months", horizon_months)
    # The months a horizon spans, for the default last cutoff.
    months_span = math.ceil(horizon_weeks * 7 / 30.4375) if horizon_weeks else horizon_months
    kw = {"style": style, "mapping": mapping, "date_format": date_format, "encoding": encoding,
          "sep": sep}  # fmt: skip
    lt, ot, data_end = _read(leads, opportunities, kw)
    ct = calls if calls is None or isinstance(calls, ExportTable) else read_calls(calls, **kw)
    if model == "simulation" and lt is None:
        raise CalibrationError("the simulation's backtest needs a lead table (model='cohort' "
                               "reads an opportunity table alone)")  # fmt: skip
    frame, notes = lead_frame(lt, ot)
    frame = frame[frame["created"].notna()]
    start = frame["created"].min()
    assert months_span is not None
    cuts = _cutoffs(cutoffs, every, first, last, start, data_end, months_span)
    since_ts = parse_timestamp(since, "since") if since is not None else None
    cells, totals, variance, windows = [], [], [], []
    for cut in cuts:
        history = frame[frame["created"] < cut]
        if len(history) < MIN_HISTORY_LEADS:
            notes.append(f"cutoff {cut:%Y-%m-%d}: {len(history)} leads before it, fewer than "
                         f"{MIN_HISTORY_LEADS}: skipped")  # fmt: skip
            continue
        if progress:
            progress(f"cutoff {cut:%Y-%m-%d}")
        if model == "simulation":
            assert lt is not None
            fc = _simulation_samples(lt, ct, ot, cut, horizon_months, horizon_weeks, reps, seed,
                                     workers)  # fmt: skip
        else:
            use_since = since_ts if since_ts is not None and since_ts < cut - pd.Timedelta(weeks=8) else None  # fmt: skip
            fitted = fit_cohorts(history, cut, since=use_since, half_life_weeks=half_life_weeks)
            windows.append(f"{cut:%Y-%m-%d}: {fitted.window}")
            if horizon_weeks is not None:
                end = cut + pd.Timedelta(weeks=horizon_weeks)
            else:
                extra = 0 if cut == cut.to_period("M").start_time else 1
                end = cut.to_period("M").start_time + pd.DateOffset(months=months_span + extra)
            fc = _cohort_samples(forecast_cohorts(fitted, end, reps=reps, seed=seed, level=level,
                                                  parameter_draws=parameter_draws))  # fmt: skip
        _score_cutoff(fc, frame, history, cut, data_end, cells, totals, variance)
    if not cells:
        raise CalibrationError("no cutoff could be scored: " + "; ".join(notes[-3:]))
    return RollingBacktest(
        cells=pd.DataFrame(cells), totals=pd.DataFrame(totals), variance=pd.DataFrame(variance),
        cutoffs=tuple(cuts), horizon_months=months_span, level=level, notes=tuple(notes),
        windows=tuple(windows), method=MODELS[model],
    )  # fmt: skip


@dataclass(frozen=True)
class _Samples:
    """A forecaster's monthly samples at one cutoff, whatever made them."""

    method: str
    end: pd.Timestamp
    months: tuple[str, ...]
    metrics: tuple[str, ...]
    samples: np.ndarray  # (metrics, replications, months)
    split: pd.DataFrame  # metric, parameter_share


def _cohort_samples(fc: CohortForecast) -> _Samples:
    return _Samples(MODEL, fc.end, fc.months, fc.metrics, fc.samples, fc.variance_split())


def _simulation_samples(
    lt: ExportTable, ct: ExportTable | None, ot: ExportTable | None, cut: pd.Timestamp,
    horizon_months: int | None, horizon_weeks: int | None, reps: int, seed: int,
    workers: int | None,
) -> _Samples:  # fmt: skip
    """The simulation's backtest at one cutoff (:func:`simfunnel.calibration.backtesting.backtest`: the fit,
    the funnel at the cutoff, forecast arrivals), as monthly samples."""
    from .backtesting import STAGES, backtest

    bt = backtest(lt, cut, horizon_weeks, ct, ot, horizon_months=horizon_months, reps=reps,
                  seed=seed, workers=workers, freq="M")  # fmt: skip
    months, cube = bt.monthly_samples()
    split = getattr(bt.forecast, "variance_split", None)
    table = split() if callable(split) else pd.DataFrame(
        {"metric": list(STAGES), "parameter_share": math.nan})  # fmt: skip
    return _Samples("simulation", bt.horizon_end, tuple(months), tuple(STAGES), cube, table)


def _score_cutoff(
    fc: _Samples, frame: pd.DataFrame, history: pd.DataFrame, cut: pd.Timestamp,
    data_end: pd.Timestamp, cells: list[dict[str, Any]], totals: list[dict[str, Any]],
    variance: list[dict[str, Any]],
) -> None:  # fmt: skip
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
        q = np.quantile(fc.samples[i], [0.1, 0.5, 0.9], axis=0)
        variance.append({"cutoff": cut, "metric": metric, "parameter_share": float(split[metric])})
        for k in scored:
            y = actual[k]
            cells.append({"cutoff": cut, "month": months[k], "ahead": k + 1, "metric": metric,
                          "method": fc.method, "actual": y, "p10": q[0, k], "p50": q[1, k],
                          "p90": q[2, k], "inside": bool(q[0, k] <= y <= q[2, k]),
                          "central": central_share(fc.samples[i, :, k], y),
                          "ape": abs(q[1, k] - y) / y if y > 0 else math.nan,
                          "crps": crps(fc.samples[i, :, k], y)})  # fmt: skip
        tot_actual = actual[scored].sum()
        tot_model = float(np.median(fc.samples[i][:, scored].sum(axis=1)))
        totals.append(_total(cut, metric, fc.method, tot_actual, tot_model))
        for name, f in _baselines(history, cut, metric, months, shares).items():
            for k in scored:
                y = actual[k]
                cells.append({"cutoff": cut, "month": months[k], "ahead": k + 1,
                              "metric": metric, "method": name, "actual": y, "p50": f[k],
                              "ape": abs(f[k] - y) / y if y > 0 else math.nan,
                              "crps": abs(f[k] - y)})  # fmt: skip
            totals.append(_total(cut, metric, name, tot_actual, float(f[scored].sum())))


def _whole(name: str, value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{name} must be a whole number >= 1 (got {value!r})")


def _total(cut: pd.Timestamp, metric: str, method: str, actual: float, fc: float) -> dict:
    err = abs(fc - actual) / actual if actual > 0 else math.nan
    return {"cutoff": cut, "metric": metric, "method": method, "actual": actual,
            "forecast": fc, "error": err}  # fmt: skip
