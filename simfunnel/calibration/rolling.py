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
:mod:`simfunnel.calibration.scores`'). This module picks the cutoffs, makes the forecast at
each (the cohort model, or the simulation's own backtest) and holds the result,
:class:`RollingBacktest`.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

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
from .backtesting import STAGES, backtest
from .cohort_forecast import CohortForecast, forecast_cohorts
from .cohorts import fit_cohorts
from .scores import BASELINES, MonthlySamples, central_share, crps, score_cutoff
from .stage_fit import METRIC_NAMES

__all__ = [
    "BASELINES",
    "RollingBacktest",
    "central_share",
    "crps",
    "lead_frame",
    "rolling_backtest",
]

MODEL = "cohort model"
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
            mine = tot[
                (tot["metric"] == metric)
                & (tot["method"] == self.method)
                & tot["cutoff"].isin(t["cutoff"])
            ]
            row = {
                "metric": metric,
                "method": method,
                "months": len(g),
                "cutoffs": int(t["cutoff"].nunique()),
                "coverage": float(g["central"].mean()) if method == self.method else math.nan,
                "mape": float(g["ape"].mean()),
                "crps": float(g["crps"].mean()),
                "total_error": float(t["error"].mean()),
                "model_total_error": float(mine["error"].mean()),
                "difference_se": self._paired_se(t, mine),
            }
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
            label = cast(int, margin.idxmin())  # the stubs type an index label as Hashable
            worst = base.loc[label]
            assert isinstance(worst, pd.Series)  # the summary's labels are unique: one row
            beats = bool(margin.min() >= 0)
            cov_ok = model["coverage_low"] <= model["coverage"] <= model["coverage_high"]
            where = (
                ""
                if worst["cutoffs"] == model["cutoffs"]
                else f" on the {int(worst['cutoffs'])} cutoffs it covers"
            )
            gap, se = -float(margin.min()), float(worst["difference_se"])
            judged = (
                "does NOT beat every baseline"
                if not beats
                else "ties with the best baseline"
                if gap > -0.0005  # equal as printed
                else "beats every baseline"
            )
            chance = (
                ""
                if beats or not math.isfinite(se)
                else f", {'within' if gap <= 2 * se else 'beyond'} chance: two standard errors "
                f"of the paired difference are {2 * se:.1%}"
            )
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
            import matplotlib.pyplot as plt  # heavy: loaded only to draw

            _, ax = plt.subplots(figsize=(10, 4.5))
        model = c[c["method"] == self.method].sort_values("month")
        x = pd.PeriodIndex(model["month"], freq="M").to_timestamp()
        ax.fill_between(
            x, model["p10"], model["p90"], color="C0", alpha=0.3, label=f"{self.method}, P10-P90"
        )
        ax.plot(x, model["p50"], color="C0", label=f"{self.method}, median")
        styles = iter([(":", "0.35"), ("--", "#a6611a"), ("-.", "#018571"), ("--", "0.65")])
        for method, g in c[c["method"] != self.method].groupby("method", sort=False):
            g = g.sort_values("month")
            gx = pd.PeriodIndex(g["month"], freq="M").to_timestamp()
            line, colour = next(styles, ("--", "0.5"))
            ax.plot(gx, g["p50"], linestyle=line, color=colour, label=method)
        ax.plot(x, model["actual"], "o", color="black", label="actual")
        from matplotlib import dates  # heavy: loaded only to draw

        ax.xaxis.set_major_locator(dates.MonthLocator(interval=max(1, math.ceil(len(x) / 8))))
        ax.xaxis.set_major_formatter(dates.DateFormatter("%b %Y"))
        ax.set_ylim(bottom=0)
        name = METRIC_NAMES.get(metric, metric.replace("_", " "))
        ax.set_ylabel(f"{name} per month")
        ax.set_title(
            f"{name[0].upper() + name[1:]}: each month against the forecast made "
            f"{ahead} month{'s' if ahead > 1 else ''} before"
        )
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
        return (
            f"RollingBacktest({len(self.cutoffs)} cutoffs: {cut}; {self.horizon_months} "
            f"months ahead)\n" + "\n".join(self.verdict())
        )


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
        raise CalibrationError(
            f"no month start between {lo:%Y-%m-%d} and {hi:%Y-%m-%d}: the data (from "
            f"{start:%Y-%m-%d} to {data_end:%Y-%m-%d}) are too short for {horizon_months}-month "
            "horizons after six months of history; give --cutoffs"
        )
    return out


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
    horizon_months, months_span = _horizon(horizon_months, horizon_weeks)
    kw = {"style": style, "mapping": mapping, "date_format": date_format}
    kw |= {"encoding": encoding, "sep": sep}
    lt, ct, ot, data_end = _read(leads, opportunities, calls, model, kw)
    frame, notes = lead_frame(lt, ot)
    frame = frame[frame["created"].notna()]
    cuts = _cutoffs(cutoffs, every, first, last, frame["created"].min(), data_end, months_span)
    forecaster = _Forecaster(
        model=model,
        leads=lt,
        calls=ct,
        opportunities=ot,
        horizon_months=horizon_months,
        horizon_weeks=horizon_weeks,
        months_span=months_span,
        reps=reps,
        seed=seed,
        workers=workers,
        since=parse_timestamp(since, "since") if since is not None else None,
        half_life_weeks=half_life_weeks,
        level=level,
        parameter_draws=parameter_draws,
    )
    return _roll(forecaster, cuts, frame, data_end, notes, progress)


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
    seed: int
    workers: int | None
    since: pd.Timestamp | None
    half_life_weeks: float | None
    level: float
    parameter_draws: bool

    def at(self, cut: pd.Timestamp, history: pd.DataFrame) -> tuple[MonthlySamples, str | None]:
        """The forecast at one cutoff as monthly samples, and the cohort window it used (None
        for the simulation)."""
        if self.model == "simulation":
            assert self.leads is not None
            fc = _simulation_samples(
                self.leads,
                self.calls,
                self.opportunities,
                cut,
                self.horizon_months,
                self.horizon_weeks,
                self.reps,
                self.seed,
                self.workers,
            )
            return fc, None
        # A ``since`` too close to the cutoff leaves too little to fit: all history is used.
        late = self.since is None or self.since >= cut - pd.Timedelta(weeks=8)
        fitted = fit_cohorts(
            history, cut, since=None if late else self.since, half_life_weeks=self.half_life_weeks
        )
        cohort: CohortForecast = forecast_cohorts(
            fitted,
            _horizon_end(cut, self.horizon_weeks, self.months_span),
            reps=self.reps,
            seed=self.seed,
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
    progress: Callable[[str], None] | None,
) -> RollingBacktest:
    """Forecast at each cutoff with enough history and score it with the baselines."""
    cells: list[dict[str, Any]] = []
    totals: list[dict[str, Any]] = []
    variance: list[dict[str, Any]] = []
    windows = []
    for cut in cuts:
        history = frame[frame["created"] < cut]
        if len(history) < MIN_HISTORY_LEADS:
            notes.append(
                f"cutoff {cut:%Y-%m-%d}: {len(history)} leads before it, fewer than "
                f"{MIN_HISTORY_LEADS}: skipped"
            )
            continue
        if progress:
            progress(f"cutoff {cut:%Y-%m-%d}")
        fc, window = forecaster.at(cut, history)
        if window is not None:
            windows.append(window)
        score_cutoff(fc, frame, history, cut, data_end, cells, totals, variance)
    if not cells:
        raise CalibrationError("no cutoff could be scored: " + "; ".join(notes[-3:]))
    return RollingBacktest(
        cells=pd.DataFrame(cells),
        totals=pd.DataFrame(totals),
        variance=pd.DataFrame(variance),
        cutoffs=tuple(cuts),
        horizon_months=forecaster.months_span,
        level=forecaster.level,
        notes=tuple(notes),
        windows=tuple(windows),
        method=MODELS[forecaster.model],
    )


def _horizon(horizon_months: int | None, horizon_weeks: int | None) -> tuple[int | None, int]:
    """Check the horizon and return the months to forecast (None with a horizon of weeks) and
    the months a horizon spans, for the default last cutoff."""
    if horizon_weeks is not None:
        _whole("horizon_weeks", horizon_weeks)
        return None, math.ceil(horizon_weeks * 7 / 30.4375)
    _whole("horizon_months", horizon_months)
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
    seed: int,
    workers: int | None,
) -> MonthlySamples:
    """The simulation's backtest at one cutoff (:func:`simfunnel.calibration.backtesting.backtest`:
    the fit, the funnel at the cutoff, forecast arrivals), as monthly samples."""
    bt = backtest(
        lt,
        cut,
        horizon_weeks,
        ct,
        ot,
        horizon_months=horizon_months,
        reps=reps,
        seed=seed,
        workers=workers,
        freq="M",
    )
    months, cube = bt.monthly_samples()
    split = getattr(bt.forecast, "variance_split", None)
    table = (
        split()
        if callable(split)
        else pd.DataFrame({"metric": list(STAGES), "parameter_share": math.nan})
    )
    return MonthlySamples("simulation", bt.horizon_end, tuple(months), tuple(STAGES), cube, table)


def _whole(name: str, value: Any) -> None:
    """Refuse a horizon that is not a whole number of at least 1."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{name} must be a whole number >= 1 (got {value!r})")
