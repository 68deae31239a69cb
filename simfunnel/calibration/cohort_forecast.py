"""Forecasts from a cohort model: the leads open at the as-of date and the leads still to come,
each drawn through every stage, with the parameters drawn from the fit's uncertainty.

A band that holds only the process noise (which lead converts, how many arrive) is too narrow
whenever a fitted rate is off, and a young export's rates are uncertain. Each replication here
first draws its parameters (rates, delays, the arrival trend) from the fit's covariance, then
the process; :meth:`CohortForecast.variance_split` says how much of the spread each part makes
(a second set of replications with the parameters held at their estimates gives the process
share, by the law of total variance). Counts are per calendar month, the period leaders plan
by. The result, :class:`CohortForecast`, offers the answer interface; its terminal text is
:mod:`simfunnel.calibration.terminal`'s.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, cast

import numpy as np
import numpy.typing as npt
import pandas as pd
from scipy import special, stats

from ..base.units import WEEK
from ..results.answer import Report, Tile
from ..scenario import memory_limit
from ..scenario.limits import format_size
from .cohorts import CohortInputError, CohortModel
from .model_answer import ModelAnswer, model_report
from .stage_fit import (
    CHAIN,
    METRIC_DATES,
    METRIC_NAMES,
    MIN_DELAY_DAYS,
    STAGE_DATES,
    StageFit,
    parent_column,
)
from .terminal import outlook_text

__all__ = ["MAX_MONTHS", "MAX_REPS", "METRICS", "CohortForecast", "forecast_cohorts"]

METRICS = ("leads", *STAGE_DATES)
MAX_DELAY_DAYS = 3650.0  # a drawn delay beyond ten years lands outside any horizon anyway
# The most a forecast is asked for: replications (a few milliseconds each on an export of
# thousands of leads, twice with the variance split; a band's P10 and P90 are settled to a
# fraction of a percent long before) and calendar months past the as-of date (ten years).
# simfunnel.cli.cohorts checks the same numbers when the command line is read.
MAX_REPS = 20_000
MAX_MONTHS = 120
# Memory one replication holds per lead (open at the as-of date or drawn): the lead's source,
# creation and stage dates and the working arrays of a stage (measured: about 175 bytes).
BYTES_PER_LEAD = 200


@dataclass(frozen=True, repr=False)
class CohortForecast(ModelAnswer):
    """Monthly counts per metric: ``samples`` has shape (metrics, replications, months);
    ``process`` the same with the parameters held at their estimates (None when not run).
    ``source``: the export it was fitted from, for its text. No scenario: a cohort model is
    fitted to the export directly."""

    model: CohortModel
    start: pd.Timestamp
    end: pd.Timestamp
    months: tuple[str, ...]
    metrics: tuple[str, ...]
    samples: np.ndarray
    process: np.ndarray | None
    parameter_draws: bool
    level: float = 0.8
    source: str | None = None

    def _q(self) -> tuple[float, float, float]:
        a = (1 - self.level) / 2
        return a, 0.5, 1 - a

    @property
    def table(self) -> pd.DataFrame:
        """One row per month and metric: mean and the band (P10, P50, P90 at level 0.8)."""
        lo, mid, hi = self._q()
        q = np.quantile(self.samples, [lo, mid, hi], axis=1)
        rows = [
            {
                "month": m,
                "metric": metric,
                "mean": float(self.samples[i, :, k].mean()),
                "p10": float(q[0, i, k]),
                "p50": float(q[1, i, k]),
                "p90": float(q[2, i, k]),
            }
            for i, metric in enumerate(self.metrics)
            for k, m in enumerate(self.months)
        ]
        return pd.DataFrame(rows)

    def totals(self) -> np.ndarray:
        """Per metric and replication, the count over the whole horizon."""
        return self.samples.sum(axis=2)

    def summary(self) -> pd.DataFrame:
        """One row per metric: the horizon total's mean and band (P10, P50, P90 at level 0.8)."""
        totals = self.totals()
        q = np.quantile(totals, self._q(), axis=1)
        return pd.DataFrame(
            {
                "metric": self.metrics,
                "mean": totals.mean(axis=1),
                "p10": q[0],
                "p50": q[1],
                "p90": q[2],
            }
        )

    @property
    def verdict(self) -> str:
        """The median and band of each metric's total over the months forecast, in words."""
        partial = "" if self.start.day == 1 else f", {self.months[0]} from {self.start:%Y-%m-%d}"
        s = self.summary()
        figures = ", ".join(
            f"{METRIC_NAMES.get(m, m)} {mid:,.0f} ({low:,.0f}-{high:,.0f})"
            for m, low, mid, high in zip(self.metrics, s["p10"], s["p50"], s["p90"], strict=True)
        )
        months = f"{len(self.months)} calendar month{'s' if len(self.months) != 1 else ''}"
        text = (
            f"Over {self.months[0]} to {self.months[-1]} ({months}{partial}), the cohort model "
            f"forecasts in total, median ({self.level:.0%} band): {figures}."
        )
        if self.model.missing:
            names = ", ".join(METRIC_NAMES.get(m, m) for m in self.model.missing)
            text += f" Not forecast, for the export gives none of their dates to fit: {names}."
        return "\n".join([text, *self.warnings])

    @property
    def warnings(self) -> list[str]:
        """What qualifies the whole forecast, shown with it (verdict, text, JSON notes): the
        model's WARNING notes (no lead in the last weeks) and any metric forecast at zero,
        which is never said silently."""
        said = [n for n in self.model.notes if n.startswith("WARNING")]
        s = self.summary()
        zero = [m for m, high in zip(s["metric"], s["p90"], strict=True) if high <= 0]
        if not zero:
            return said
        what = (
            "every metric is"
            if len(zero) == len(self.metrics)
            else ", ".join(METRIC_NAMES.get(m, m) for m in zero)
            + (" is" if len(zero) == 1 else " are")
        )
        why = ""
        if "leads" in zero:
            last = self.model.leads["created"].max()
            rate = sum(a.rate_now() for a in self.model.arrivals.values())
            why = (
                f": the arrival model's rate now is {rate:,.2f} leads a week (the last lead was "
                f"created {last:%Y-%m-%d}, {(self.start - last).days // 7} weeks before the "
                f"as-of date {self.start:%Y-%m-%d})"
            )
        said.append(
            f"WARNING: {what} forecast at zero over the horizon (P90 0){why}; check that the "
            "export is complete and the as-of date right before reading it as a fact"
        )
        return said

    @property
    def subject(self) -> str:
        return f"of the cohort model as of {self.start:%Y-%m-%d}"

    def plot(self, what: str | None = None, *, ax: Any = None, history_months: int = 6) -> Any:
        """The last ``history_months`` whole months of a metric (``what``, default ``won``,
        else the last one forecast) as the export shows them, then each forecast month's
        P10-P90 band and median: where the forecast stands against the recent past, at a
        glance. Returns the axes."""
        metric = (
            what if what is not None else ("won" if "won" in self.metrics else self.metrics[-1])
        )
        if metric not in self.metrics:
            raise ValueError(f"no forecast of {metric!r}; forecast: {', '.join(self.metrics)}")
        if ax is None:
            import matplotlib.pyplot as plt  # heavy: loaded only to draw

            _, ax = plt.subplots(figsize=(9, 4.5))
        col = METRIC_DATES[metric]
        past = pd.period_range(end=self.start.to_period("M") - 1, periods=history_months, freq="M")
        when = self.model.leads[col].dropna() if col in self.model.leads else pd.Series([])
        counts = when.dt.to_period("M").value_counts()
        i = self.metrics.index(metric)
        lo, mid, hi = np.quantile(self.samples[i], self._q(), axis=0)
        x_past = np.arange(len(past))
        x_next = np.arange(len(past), len(past) + len(self.months))
        ax.bar(x_past, [counts.get(p, 0) for p in past], color="0.6", label="actual")
        ax.bar(
            x_next,
            hi - lo,
            bottom=lo,
            color="C0",
            alpha=0.35,
            label=f"forecast, {self.level:.0%} band",
        )
        ax.plot(x_next, mid, "_", color="C0", markersize=22, markeredgewidth=2, label="median")
        labels = [str(p) for p in past] + list(self.months)
        ax.set_xticks(np.r_[x_past, x_next], labels, rotation=45, ha="right")
        ax.set_ylim(bottom=0)
        name = METRIC_NAMES.get(metric, metric)
        ax.set_ylabel(f"{name} per month")
        draws = "with" if self.parameter_draws else "without"
        ax.set_title(
            f"{name[0].upper() + name[1:]}: the last {history_months} months and the "
            f"forecast ({draws} parameter draws)"
        )
        ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), frameon=False)
        ax.grid(axis="y", alpha=0.3)
        return ax

    def tables(self) -> Mapping[str, pd.DataFrame]:
        """``stages`` (each stage's fit), ``arrivals`` (per source), ``forecast`` (the table),
        ``variance`` (:meth:`variance_split`), ``cohorts`` and ``shifts``."""
        return {
            "stages": self.model.report(),
            "arrivals": self.model.arrivals_table(),
            "forecast": self.table,
            "variance": self.variance_split(),
            "cohorts": self.model.cohorts,
            "shifts": self.model.shifts,
        }

    def charts(self) -> Mapping[str, str | None]:
        """One chart per metric forecast, named after it."""
        return {m: m for m in self.metrics}

    def text(self) -> str:
        """What ``simfunnel outlook`` prints."""
        return outlook_text(self)

    def report(self) -> Report:
        """A simple report: the totals' verdict, the monthly table and the main chart."""
        return model_report(
            self,
            title=f"Outlook as of {self.start:%Y-%m-%d}: the cohort model's monthly forecast",
            subtitle=(
                f"{self.months[0]} to {self.months[-1]}, {self.samples.shape[1]} replications "
                f"{'with' if self.parameter_draws else 'without'} parameter draws"
            ),
            caption=(
                "The last months as the export shows them, then each forecast month's band "
                "and median."
            ),
            kpi_note=f"Per month and metric: the mean and the {self.level:.0%} band.",
            notes=[f"window: {self.model.window}", *self.model.notes],
            tiles=self._tiles(),
            points=self._points(),
        )

    def _tiles(self) -> list[Tile]:
        """The horizon total of the last stages forecast (the ones a forecast call is about):
        the median, with the band."""
        s = self.summary()
        low, high = (f"P{round(100 * q)}" for q in (self._q()[0], self._q()[2]))
        rows = zip(s["metric"], s["p10"], s["p50"], s["p90"], strict=True)
        return [
            Tile(
                f"{_first_upper(METRIC_NAMES.get(m, m))}, {len(self.months)} months",
                f"{float(mid):,.0f}",
                f"{low} {float(lo):,.0f} to {high} {float(hi):,.0f}",
            )
            for m, lo, mid, hi in list(rows)[-4:]
        ]

    def _points(self) -> list[tuple[str, str]]:
        """The band in a forecast call's words: P50 most likely, the low end the floor, the
        high end the best case, each over every metric forecast."""
        s = self.summary()
        low, high = (round(100 * q) for q in (self._q()[0], self._q()[2]))

        def said(col: str) -> str:
            return ", ".join(
                f"{v:,.0f} {METRIC_NAMES.get(m, m)}"
                for m, v in zip(s["metric"], s[col], strict=True)
            )

        return [
            ("Most likely (P50)", said("p50")),
            (f"Floor (P{low}: {100 - low} in 100 runs do better)", said("p10")),
            (f"Best case (P{high}: {100 - high} in 100 runs do better)", said("p90")),
        ]

    def variance_split(self) -> pd.DataFrame:
        """Per metric, the variance of the horizon total and the share the parameters make
        (total minus process variance, over total; 0 when draws are off)."""
        total = self.totals().var(axis=1, ddof=1)
        if self.process is None:
            proc = total if not self.parameter_draws else np.full_like(total, np.nan)
        else:
            proc = self.process.sum(axis=2).var(axis=1, ddof=1)
        with np.errstate(invalid="ignore", divide="ignore"):
            share = np.where(total > 0, np.clip(1 - proc / total, 0, 1), 0.0)
        return pd.DataFrame(
            {
                "metric": self.metrics,
                "sd_total": np.sqrt(total),
                "sd_process_only": np.sqrt(proc),
                "parameter_share": share,
            }
        )


def _months(start: pd.Timestamp, end: pd.Timestamp) -> tuple[list[str], np.ndarray]:
    """Calendar months of [start, end) and their edges (as datetime64, for searchsorted)."""
    periods = pd.period_range(start, end - pd.Timedelta(seconds=1), freq="M")
    edges = [max(p.start_time, start) for p in periods] + [end]
    return [str(p) for p in periods], np.array(edges, dtype="datetime64[ns]")


def survival(f: StageFit, theta: np.ndarray, age: np.ndarray) -> np.ndarray:
    if f.kind == "immediate":
        d = np.sort(f.delays)
        return 1 - np.searchsorted(d, age, side="right") / max(len(d), 1)
    return stats.norm.sf((np.log(np.maximum(age, MIN_DELAY_DAYS)) - theta[0]) / math.exp(theta[1]))


def _delays(
    f: StageFit, theta: np.ndarray, age: np.ndarray, rng: np.random.Generator
) -> np.ndarray:
    """Delays (days from creation) drawn given no event by ``age`` (0 for new leads)."""
    if f.kind == "immediate":
        d = np.sort(f.delays)
        lo = np.searchsorted(d, age, side="right")
        pick = lo + np.floor(rng.random(len(age)) * np.maximum(len(d) - lo, 0)).astype(int)
        return d[np.minimum(pick, len(d) - 1)] if len(d) else age
    mu, sig = theta[0], math.exp(theta[1])
    lower = stats.norm.cdf((np.log(np.maximum(age, MIN_DELAY_DAYS)) - mu) / sig)
    u = lower + rng.random(len(age)) * (1 - lower)
    z = stats.norm.ppf(np.clip(u, 1e-12, 1 - 1e-12))
    return np.minimum(np.exp(np.minimum(mu + sig * z, 12.0)), MAX_DELAY_DAYS)


def pi_per_lead(
    f: StageFit, theta: np.ndarray, codes: np.ndarray, names: Sequence[str]
) -> np.ndarray:
    """Each lead's cure fraction (the share that ever converts), by its source: ``codes``
    index ``names``; a source the stage was not fitted on takes its last rate (the pooled
    one). Sources come as codes, made once for every replication: looking up the names of
    300,000 leads in each replication took a third of the forecast."""
    rates = special.expit(theta[2:])
    index = {s: i for i, s in enumerate(f.sources)}
    fallback = len(f.sources) - 1
    per_name = np.array([index.get(s, fallback) for s in names], dtype=int)
    return rates[per_name[codes]] if len(codes) else rates[:0]


def _arrivals(
    model: CohortModel,
    start: pd.Timestamp,
    end: pd.Timestamp,
    draw: bool,
    rng: np.random.Generator,
    names: Sequence[str],
) -> tuple[np.ndarray, np.ndarray]:
    """New leads in [start, end): times (datetime64) and sources (codes into ``names``), week
    by week (Monday-based weeks, times placed like the past arrivals within a week)."""
    monday = start.normalize() - pd.Timedelta(days=start.day_of_week)
    n_weeks = math.ceil((end - monday) / pd.Timedelta(weeks=1))
    mids = monday + pd.to_timedelta(np.arange(n_weeks) * 7 + 3.5, unit="D")
    t = ((mids - model.as_of) / pd.Timedelta(days=365.25)).to_numpy(float)
    doy = mids.day_of_year.to_numpy(float)
    times, sources = [], []
    # The level's unexplained error is shared by the sources (a season, a market moves them
    # together): one draw per replication, scaled by each source's own measured size.
    z = rng.standard_normal()
    for src, a in model.arrivals.items():
        beta = rng.multivariate_normal(a.beta, a.cov, method="eigh") if draw else a.beta
        lam = np.exp(np.clip(a.design(a.future_time(t), doy) @ beta, -50, 20))
        if a.drift > 0:
            lam = lam * math.exp(math.sqrt(a.drift) * z - a.drift / 2)
        if a.alpha > 0:
            lam = lam * rng.gamma(1 / a.alpha, a.alpha, size=len(lam))
        k = rng.poisson(np.minimum(lam, a.cap))  # never past what the data support
        week = np.repeat(np.arange(n_weeks), k)
        off = (
            rng.choice(model.offsets, size=len(week))
            if len(model.offsets)
            else rng.random(len(week)) * WEEK
        )
        when = monday + pd.to_timedelta(week * WEEK + off, unit="h")
        keep = (when >= start) & (when < end)
        times.append(when[keep].to_numpy())
        sources.append(np.full(int(keep.sum()), names.index(src), dtype=np.intp))
    if not times:
        return np.array([], dtype="datetime64[ns]"), np.array([], dtype=np.intp)
    return np.concatenate(times), np.concatenate(sources)


def _past(model: CohortModel) -> tuple[dict[str, np.ndarray], list[str]]:
    """The leads open at the as-of date as arrays, made once for every replication: source
    (as codes), created and each stage date the export has; and the source names the codes
    index (the past leads' and the arrival model's)."""
    old = model.leads
    codes, uniques = pd.factorize(old["source"].to_numpy(object))
    names = [str(u) for u in uniques]
    names += [str(s) for s in model.arrivals if str(s) not in names]
    arrays = {"source": codes.astype(np.intp)}
    for col in ("created", *model.present):
        arrays[col] = old[col].to_numpy("datetime64[ns]")
    return arrays, names


def _one(
    model: CohortModel,
    prepared: tuple[dict[str, np.ndarray], list[str]],
    start: pd.Timestamp,
    end: pd.Timestamp,
    edges: np.ndarray,
    metrics: tuple[str, ...],
    draw: bool,
    seq: np.random.SeedSequence,
) -> np.ndarray:
    """One replication: counts per metric and month. Stages are drawn in funnel order, each
    from its parent stage: a lead open at the as-of date converts with the chance left at its
    age, a parent event still to come converts at the stage's rate after a fresh delay."""
    r_params, r_arr, r_conv = (np.random.default_rng(s) for s in seq.spawn(3))
    past, names = prepared
    out = np.zeros((len(metrics), len(edges) - 1))
    new_t, new_s = _arrivals(model, start, end, draw, r_arr, names)
    n_old = len(past["source"])
    src = np.concatenate([past["source"], new_s])
    when = {"created": np.concatenate([past["created"], new_t])}
    as_of = np.datetime64(model.as_of, "ns")
    nat = np.full(len(new_t), np.datetime64("NaT"), dtype="datetime64[ns]")
    for col in sorted(
        model.present, key=lambda c: CHAIN.index("won_date" if c == "lost_date" else c)
    ):
        metric = next(m for m, c in STAGE_DATES.items() if c == col)
        f = model.stages[metric]
        theta = f.draw(r_params) if draw else f.theta
        if draw and f.drift > 0:  # the next cohorts' rate, as it has moved between cohorts
            theta = theta.copy()
            theta[2:] += math.sqrt(f.drift) * r_params.standard_normal()
        known = np.concatenate([past[col], nat])
        parent = when[parent_column(col, model.present)]
        other = {"won_date": "lost_date", "lost_date": "won_date"}.get(col)
        blocked = np.zeros(len(known), dtype=bool)
        if other and other in past:
            blocked[:n_old] = ~np.isnat(past[other])
        risk = ~np.isnat(parent) & np.isnat(known) & ~blocked
        # The stubs type a date minus dates as dates; it is timedeltas.
        since = cast("npt.NDArray[np.timedelta64]", as_of - parent)
        age = np.where(parent <= as_of, since / np.timedelta64(1, "D"), 0.0)[risk]
        pi = pi_per_lead(f, theta, src[risk], names)
        s = np.where(age > 0, survival(f, theta, age), 1.0)
        with np.errstate(invalid="ignore", divide="ignore"):
            p = pi * s / (1 - pi * (1 - s) - f.dead_share(age) * (age > 0))
        hit = r_conv.random(len(p)) < np.clip(np.nan_to_num(p, nan=0.0), 0.0, 1.0)
        idx = np.flatnonzero(risk)[hit]
        delay = _delays(f, theta, age[hit], r_conv)
        event = known.copy()
        event[idx] = parent[idx] + (delay * 86400e9).astype("timedelta64[ns]")
        when[col] = event
        if metric in metrics:
            fresh = event[idx]
            fresh = fresh[(fresh >= edges[0]) & (fresh < edges[-1])]
            out[metrics.index(metric)] = np.bincount(
                np.searchsorted(edges, fresh, side="right") - 1, minlength=len(edges) - 1
            )[: len(edges) - 1]
    out[0] = np.bincount(np.searchsorted(edges, new_t, side="right") - 1, minlength=len(edges) - 1)[
        : len(edges) - 1
    ]
    return out


def _first_upper(text: str) -> str:
    """'SQLs' stays 'SQLs', 'deals won' becomes 'Deals won' (str.capitalize lowers the rest)."""
    return text[:1].upper() + text[1:]


def forecast_cohorts(
    model: CohortModel,
    end: Any,
    *,
    reps: int = 200,
    seed: int = 0,
    parameter_draws: bool = True,
    split: bool = True,
    level: float = 0.8,
    source: str | None = None,
    progress: bool = False,
) -> CohortForecast:
    """Forecast every metric per calendar month from the model's as-of date to ``end``.

    ``parameter_draws``: draw the fitted values per replication (the default); off, the band
    holds only the process noise. ``split``: also run the replications with the parameters
    held, for :meth:`CohortForecast.variance_split` (twice the work). ``source``: the export
    the model was fitted from, named in the forecast's text. ``progress``: a progress bar over
    the replications (a large export takes minutes)."""
    start, end = model.as_of, _checked_end(model.as_of, end)
    if isinstance(reps, bool) or not isinstance(reps, numbers.Integral) or reps < 2:
        raise CohortInputError(f"reps must be a whole number >= 2 (got {reps!r})")
    if reps > MAX_REPS:
        raise CohortInputError(
            f"reps {reps:,} is above the most a forecast runs, {MAX_REPS:,} (its P10 and P90 "
            "are settled long before; more only takes longer)"
        )
    reps = int(reps)
    months, edges = _months(start, end)
    _check_size(model, start, end, reps, len(months))
    metrics = tuple(m for m in METRICS if m == "leads" or m in model.stages)
    root = np.random.SeedSequence(seed)
    seqs = root.spawn(reps)
    past = _past(model)
    runs = [(parameter_draws, s) for s in seqs]
    if split and parameter_draws:
        runs += [(False, s) for s in seqs]
    if progress:
        from tqdm.auto import tqdm  # slow to import: only when a bar is asked for

        runs = tqdm(runs, desc="replications", unit="rep", leave=False)
    done = [_one(model, past, start, end, edges, metrics, draw, s) for draw, s in runs]
    samples = np.stack(done[:reps], axis=1)
    process = np.stack(done[reps:], axis=1) if len(done) > reps else None
    return CohortForecast(
        model=model,
        start=start,
        end=end,
        months=tuple(months),
        metrics=metrics,
        samples=samples,
        process=process,
        parameter_draws=parameter_draws,
        level=level,
        source=source,
    )


def _checked_end(start: pd.Timestamp, end: Any) -> pd.Timestamp:
    """The forecast's end: after the as-of date and at most MAX_MONTHS calendar months past
    its month (a date beyond pandas' range is refused as such, not with its traceback)."""
    try:
        stamp = pd.Timestamp(end)
    except (ValueError, TypeError, OverflowError) as exc:
        raise CohortInputError(f"the forecast's end {end!r} is not a usable date ({exc})") from None
    if stamp <= start:
        raise CohortInputError(
            f"the forecast must end after the as-of date {start:%Y-%m-%d} (got {stamp:%Y-%m-%d})"
        )
    furthest = start.to_period("M").start_time + pd.DateOffset(months=MAX_MONTHS + 1)
    if stamp > furthest:
        raise CohortInputError(
            f"the forecast's end {stamp:%Y-%m-%d} is more than {MAX_MONTHS} months past the "
            f"as-of date {start:%Y-%m-%d}: a cohort model says nothing that far ahead"
        )
    return stamp


def _check_size(
    model: CohortModel, start: pd.Timestamp, end: pd.Timestamp, reps: int, months: int
) -> None:
    """Refuse, before drawing anything, a forecast whose replication would hold more leads than
    the memory limit allows (SIMFUNNEL_MAX_MEMORY, --max-memory; 4 GiB by default): the open
    leads and, at most, each source's cap a week (:data:`ArrivalFit.cap`) over the horizon."""
    weeks = math.ceil((end - start) / pd.Timedelta(weeks=1)) + 1
    caps = {s: a.cap for s, a in model.arrivals.items()}
    new = weeks * sum(caps.values())
    old = len(model.leads)
    need = (old + new) * BYTES_PER_LEAD + 2 * len(METRICS) * reps * months * 8
    limit = memory_limit()
    if need <= limit:
        return
    top = max(caps, key=lambda s: caps[s]) if caps else None
    biggest = f"; {top} up to {caps[top]:,.0f} a week" if top is not None else ""
    raise CohortInputError(
        f"the forecast would draw up to {old + new:,.0f} leads a replication ({old:,} at the "
        f"as-of date, up to {new:,.0f} new over {weeks} weeks{biggest}) for {reps:,} "
        f"replications of {months} months: about {format_size(need)}, above the limit of "
        f"{format_size(limit)}; shorten the horizon, or raise the limit "
        "(SIMFUNNEL_MAX_MEMORY=16GiB or --max-memory)"
    )
