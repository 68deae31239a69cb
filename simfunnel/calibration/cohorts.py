"""Cohort models of a funnel export: delayed conversion with a cure fraction, arrivals by a
count model, and shifts in conversion between cohorts.

A CRM export is a snapshot: a lead created last week that has not converted yet is not a
lead that failed. Counting it as one (the naive cohort rate) biases every recent rate down,
most of all when the business grows. Here each stage is fitted as *time to event with a cure
fraction*: a lead reaches the stage with probability ``pi`` after a lognormal delay, and a
lead still open at the as-of date is censored at its age, not counted as a failure. Each
stage is fitted from the stage before it that the export dates. Arrivals are
:mod:`simfunnel.calibration.arrival_model`'s count model. A shift in conversion between cohorts is tested by a
likelihood-ratio test over every weekly split (Bonferroni-adjusted); when one is found the
fit keeps the recent regime. Every fit keeps its covariance, so a forecast can draw the
parameters as well as the process (:mod:`simfunnel.calibration.cohort_forecast`).

Nothing here imports the simulation engine: these are statistics of the export.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd
from scipy import optimize, special, stats

from .arrival_model import ARRIVAL_WEEKS, ArrivalFit, fit_arrivals, recency

__all__ = [
    "METRIC_DATES",
    "METRIC_NAMES",
    "STAGE_DATES",
    "ArrivalFit",
    "CohortModel",
    "StageFit",
    "cohort_drift",
    "fit_cohorts",
]

# Forecast metric -> the lead-table date that marks it (leads: the created date).
STAGE_DATES: dict[str, str] = {
    "mqls": "mql_date",
    "sqls": "sql_date",
    "valid_opportunities": "opportunity_date",
    "won": "won_date",
    "lost": "lost_date",
}
# Every forecast metric -> its date (leads: the created date); one place for the mapping.
METRIC_DATES: dict[str, str] = {"leads": "created", **STAGE_DATES}
# What each metric is called where a person reads it (titles, axes).
METRIC_NAMES: dict[str, str] = {"leads": "leads", "mqls": "MQLs", "sqls": "SQLs",
                                "valid_opportunities": "valid opportunities", "won": "deals won",
                                "lost": "deals lost"}  # fmt: skip
DAY = pd.Timedelta(days=1)
MIN_DELAY_DAYS = 1 / 24  # an event within the hour counts as an hour: log(0) has no lognormal
IMMEDIATE_SHARE = 0.95  # a stage whose events are this often within a day is "immediate"
MIN_EVENTS = 5  # fewer events: the delay's shape is assumed (sigma 1), said in the notes
MIN_SOURCE_EVENTS = 10  # a source with fewer events of a stage shares the pooled rate
SHIFT_ALPHA = 0.01  # family-wise level of the cohort-shift test
SHIFT_MIN_RATIO = 1.25  # a shift smaller than this (either way) is not acted on
SHIFT_MIN_MONTHS = 3  # months of cohorts before a split
SHIFT_MIN_WEEKS_AFTER = 2  # and after it (a young regime is judged by its maturity, below)
MIN_MATURE = 0.5  # the cohorts after a split must be this mature on average to be compared
DRIFT_ALPHA = 0.05  # cohorts' rates vary beyond chance at this level before drift is drawn
DRIFT_MATURE = 0.8  # cohorts compared for drift: a young cohort's rate leans on the delay fit
# A stage that excludes another once reached (a lost lead will not be won, and vice versa).
_EXCLUDES = {"won": "lost_date", "lost": "won_date"}
_LABEL = {"mql_date": "MQL date", "sql_date": "SQL date", "opportunity_date": "opportunity date",
          "won_date": "won date", "lost_date": "lost date"}  # fmt: skip
_LOG_SQRT_2PI = 0.5 * math.log(2 * math.pi)


@dataclass(frozen=True)
class StageFit:
    """A stage's cure-fraction fit: per-source ``pi`` and one lognormal delay (days).

    ``theta`` = (mu, log sigma, logit pi per source); ``cov`` its covariance (inverse of the
    observed information), ``None`` for an immediate stage, whose delays are resampled from
    ``delays`` and whose rates have Beta posteriors (``counts``: n, k per source)."""

    stage: str
    sources: tuple[str, ...]
    theta: np.ndarray
    cov: np.ndarray | None
    n: dict[str, float]
    events: dict[str, int]
    kind: str  # "lognormal", "assumed_shape" or "immediate"
    delays: np.ndarray  # observed event delays in days (immediate stages resample these)
    dead_ages: np.ndarray  # for won/lost: a grid of ages ...
    dead_base: np.ndarray  # ... and the share of leads known out of the stage by each
    drift: float = 0.0  # between-cohort variance of the logit rate beyond chance (cohort_drift)

    def pi(self, theta: np.ndarray | None = None) -> dict[str, float]:
        th = self.theta if theta is None else theta
        return {s: float(special.expit(th[2 + i])) for i, s in enumerate(self.sources)}

    def median_days(self) -> float:
        if self.kind == "immediate":
            return float(np.median(self.delays)) if len(self.delays) else 0.0
        return float(math.exp(self.theta[0]))

    def p90_days(self) -> float:
        if self.kind == "immediate":
            return float(np.quantile(self.delays, 0.9)) if len(self.delays) else 0.0
        return float(math.exp(self.theta[0] + 1.2815515655446004 * math.exp(self.theta[1])))

    def draw(self, rng: np.random.Generator) -> np.ndarray:
        """Parameters drawn from the fit's uncertainty (Laplace: normal on the log/logit
        scale; Beta posteriors for an immediate stage)."""
        if self.cov is not None:
            return rng.multivariate_normal(self.theta, self.cov, method="eigh")
        th = self.theta.copy()
        for i, s in enumerate(self.sources):
            k, n = self.events[s], self.n[s]
            th[2 + i] = special.logit(np.clip(rng.beta(k + 0.5, n - k + 0.5), 1e-9, 1 - 1e-9))
        return th

    def dead_share(self, age: np.ndarray) -> np.ndarray:
        """Share of leads known to be out of the stage by ``age`` days (won leads for
        ``lost``, lost ones for ``won``): they are excluded from the open leads."""
        return _dead_share(self.dead_ages, self.dead_base, age)  # grid and share


def _dead_share(grid: np.ndarray, share: np.ndarray, age: np.ndarray) -> np.ndarray:
    if not len(grid):
        return np.zeros_like(age, dtype=float)
    return np.interp(age, grid, share)


def _out_share(
    out_age: np.ndarray, age: np.ndarray, points: int = 200
) -> tuple[np.ndarray, np.ndarray]:
    """Share of leads known out of a stage by each age of a grid: among leads at least that old
    at the as-of date, those out by then (``out_age``: age when out, NaN if not out)."""
    if not np.isfinite(out_age).any():
        return np.array([]), np.array([])
    grid = np.unique(np.quantile(age, np.linspace(0, 1, points)))
    older = age[:, None] >= grid[None, :]
    out = np.nan_to_num(out_age, nan=np.inf)[:, None] <= grid[None, :]
    n = older.sum(axis=0)
    share = np.where(n > 0, (older & out).sum(axis=0) / np.maximum(n, 1), 0.0)
    return grid, share


@dataclass(frozen=True)
class CohortModel:
    """What :func:`fit_cohorts` found: arrivals per source, a cure-fraction fit per stage,
    the cohort-shift tests, the window used, and notes a reader must see."""

    as_of: pd.Timestamp
    since: pd.Timestamp
    half_life_weeks: float | None
    window: str  # how the window was chosen, in words
    arrivals: dict[str, ArrivalFit]
    stages: dict[str, StageFit]
    shifts: pd.DataFrame
    cohorts: pd.DataFrame
    leads: pd.DataFrame  # the leads the open-lead forecast starts from (created <= as_of)
    offsets: np.ndarray  # hours into the week of past arrivals, to place new ones
    present: tuple[str, ...] = ()  # the stage date columns the export has
    missing: dict[str, str] = field(default_factory=dict)  # stage -> why not forecast
    notes: tuple[str, ...] = ()

    def report(self) -> pd.DataFrame:
        """One row per stage and source: n, events, fitted rate with its 95% interval (from
        the fit's covariance), the delay's median and P90 and how it was fitted."""
        rows = []
        for stage, f in self.stages.items():
            sd = np.sqrt(np.diag(f.cov)) if f.cov is not None else None
            for i, s in enumerate(f.sources):
                k, n = f.events[s], f.n[s]
                if sd is None:
                    low, high = stats.beta.ppf([0.025, 0.975], k + 0.5, n - k + 0.5)
                else:
                    z = f.theta[2 + i] + np.array([-1.96, 1.96]) * sd[2 + i]
                    low, high = special.expit(z)
                rows.append({"stage": stage, "source": s, "n": round(n, 1), "events": k,
                             "rate": f.pi()[s], "low": float(low), "high": float(high),
                             "median_days": f.median_days(), "p90_days": f.p90_days(),
                             "fit": f.kind})  # fmt: skip
        for stage, why in self.missing.items():
            rows.append({"stage": stage, "source": "all", "fit": f"not forecast: {why}"})
        return pd.DataFrame(rows)

    def arrivals_table(self) -> pd.DataFrame:
        return pd.DataFrame(
            [{"source": a.source, "weeks": a.weeks, "leads": a.leads, "terms": "+".join(a.terms),
              "per_week_now": a.rate_now(), "trend_per_year": (math.exp(a.beta[1]) - 1)
              if "trend" in a.terms else 0.0, "overdispersion": a.alpha,
              "level_error_sd": math.sqrt(a.drift)}
             for a in self.arrivals.values()]
        )  # fmt: skip


# --------------------------------------------------------------------------- stage fits


def _nll(theta: np.ndarray, d: _Data) -> Any:
    """Weighted negative log-likelihood of the cure model; ``theta`` may carry extra trailing
    dimensions (the Hessian evaluates many points at once).

    A lead that reached the stage at ``t``: pi f(t); one still open at age ``t``:
    1 - pi + pi S(t)."""
    shape = (len(d.t),) + (1,) * (theta.ndim - 1)
    t_, e_, w_ = d.t.reshape(shape), d.event.reshape(shape), d.weight.reshape(shape)
    mu, sig = theta[0][None], np.exp(theta[1])[None]
    pi = special.expit(theta[2:])[d.src]
    z = (np.log(t_) - mu) / sig
    log_event = np.log(pi) - 0.5 * z * z - _LOG_SQRT_2PI - np.log(sig) - np.log(t_)
    log_open = np.logaddexp(np.log1p(-pi), np.log(pi) + special.log_ndtr(-z))
    return -(w_ * np.where(e_, log_event, log_open)).sum(axis=0)


@dataclass(frozen=True)
class _Data:
    """One stage's leads for the likelihood: time (event delay or age), whether the stage was
    reached, weights and source index."""

    t: np.ndarray
    event: np.ndarray
    weight: np.ndarray
    src: np.ndarray


def _prior(theta: np.ndarray) -> Any:
    """Weakly informative priors, so that a young export (cohorts that have not had time to
    convert, a rate and a delay the data cannot tell apart) gives wide but finite draws: the
    median delay within a factor of e^3 of 30 days, sigma within a factor of e of 0.8 and a
    rate's logit within +/-3 of 0 (1 sd each)."""
    mu = (theta[0] - math.log(30.0)) / 3.0
    ls = theta[1] - math.log(0.8)
    return 0.5 * (mu * mu + ls * ls + ((theta[2:] / 3.0) ** 2).sum(axis=0))


CHAIN = ("created", "mql_date", "sql_date", "opportunity_date", "won_date")  # lost: as won


def parent_column(col: str, present: Iterable[str]) -> str:
    """The nearest earlier stage date the export has: each stage is fitted as a conversion
    from it (an opportunity from its SQL, a win from its opportunity), falling back towards
    the created date when a stage is missing (an export of MQL and won dates: won from MQL)."""
    have = set(present) | {"created"}
    order = CHAIN.index("won_date" if col == "lost_date" else col)
    return next(c for c in reversed(CHAIN[:order]) if c in have)


def stage_view(frame: pd.DataFrame, col: str, present: Iterable[str]) -> pd.DataFrame:
    """The leads at risk of a stage: those that reached its parent stage (and those that
    reached the stage itself having skipped the parent, dated from their latest earlier
    date), with ``parent`` the time the risk began."""
    parent = frame[parent_column(col, present)]
    earlier = [c for c in CHAIN[: CHAIN.index("won_date" if col == "lost_date" else col)]
               if c in frame]  # fmt: skip
    fallback = frame[earlier].max(axis=1)
    parent = parent.where(parent.notna() | frame[col].isna(), fallback)
    keep = parent.notna()
    view = frame.loc[keep].assign(parent=parent[keep])
    return view


def _arrays(
    stage: str, frame: pd.DataFrame, col: str, as_of: pd.Timestamp
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Per lead at risk (``frame`` from :func:`stage_view`): the delay from the parent stage
    or the age since it (days), whether the stage was reached; and the share of leads known
    out of the stage (lost, for won) by age, on a grid, for the forecast to condition on."""
    reached = frame[col].notna().to_numpy()
    delay = ((frame[col] - frame["parent"]) / DAY).to_numpy(float)
    age = ((as_of - frame["parent"]) / DAY).to_numpy(float)
    t = np.maximum(np.nan_to_num(np.where(reached, delay, age), nan=MIN_DELAY_DAYS), MIN_DELAY_DAYS)
    grid, share = np.array([]), np.array([])
    if stage in _EXCLUDES and _EXCLUDES[stage] in frame:
        other = frame[_EXCLUDES[stage]]
        grid, share = _out_share(((other - frame["parent"]) / DAY).to_numpy(float), age)
    return t, reached, grid, share


def _fit_stage(
    stage: str, frame: pd.DataFrame, col: str, as_of: pd.Timestamp, weights: np.ndarray,
    sources: list[str],
) -> tuple[StageFit, list[str]]:  # fmt: skip
    """Fit one stage on the leads of the window (``frame``), weighted."""
    notes: list[str] = []
    t, reached, dead_ages, dead_base = _arrays(stage, frame, col, as_of)
    counts = frame.assign(_w=weights, _e=reached).groupby("source")[["_w", "_e"]].sum()
    own = [s for s in sources if s in counts.index and counts.loc[s, "_e"] >= MIN_SOURCE_EVENTS]
    names = tuple(own) if len(own) == len(sources) else (*own, "other")
    names = ("all",) if len(names) == 1 else names
    index = {s: (names.index(s) if s in names else len(names) - 1) for s in sources}
    src = frame["source"].map(index).fillna(len(names) - 1).to_numpy(int)
    n = {s: float(weights[src == i].sum()) for i, s in enumerate(names)}
    k = {s: int(reached[src == i].sum()) for i, s in enumerate(names)}
    ev = t[reached]
    rates = [max(k[s], 0.5) / max(n[s], 1.0) for s in names]
    logit0 = special.logit(np.clip(rates, 1e-6, 1 - 1e-6))
    common = {"stage": stage, "sources": names, "n": n, "events": k, "delays": ev,
              "dead_ages": dead_ages, "dead_base": dead_base}  # fmt: skip
    # A lead known out (lost, for won) is fitted as open at its age, which is unbiased;
    # holding the known-out share fixed while the rate moves is not (that share depends on
    # the rate). The forecast uses the known-out share to condition on what is still open.
    data = _Data(t=t, event=reached, weight=weights, src=src)
    if len(ev) and np.mean(ev <= 1.0) >= IMMEDIATE_SHARE:
        theta = np.r_[0.0, 0.0, logit0]
        return StageFit(theta=theta, cov=None, kind="immediate", **common), notes
    if len(ev) >= MIN_EVENTS:
        x0 = np.r_[np.log(np.median(ev)), np.log(max(np.std(np.log(ev)), 0.3)), logit0]
        first, kind = 0, "lognormal"
    else:
        x0 = np.r_[np.log(np.median(ev)) if len(ev) else np.log(30.0), 0.0, logit0]
        first, kind = 2, "assumed_shape"
        notes.append(f"{stage}: {len(ev)} events, too few for the delay's shape: lognormal "
                     f"with sigma 1 around a median of {math.exp(x0[0]):.0f} days assumed")  # fmt: skip

    def f(x: np.ndarray) -> Any:
        """The posterior's negative log (the delay's fixed when assumed)."""
        if first:
            fixed = np.broadcast_to(x0[:2].reshape((2,) + (1,) * (x.ndim - 1)), (2, *x.shape[1:]))
            x = np.concatenate([fixed, x], axis=0)
        return _nll(x, data) + _prior(x)

    bounds = ([(-5.0, 8.0), (math.log(0.05), math.log(5.0))] + [(-18.0, 18.0)] * len(names))[first:]
    res = optimize.minimize(lambda x: float(f(x[:, None])[0]), x0[first:], method="L-BFGS-B",
                            bounds=bounds)  # fmt: skip
    theta = np.r_[x0[:first], res.x]
    cov = np.zeros((len(theta), len(theta)))
    cov[first:, first:] = _covariance(f, res.x)
    return StageFit(theta=theta, cov=cov, kind=kind, **common), notes


def _covariance(f: Any, x: np.ndarray) -> np.ndarray:
    """Inverse of the posterior's curvature at its mode (the Laplace approximation)."""
    from statsmodels.tools.numdiff import approx_hess3  # heavy import, needed only here

    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        h = approx_hess3(x, lambda v: float(f(v[:, None])[0]))
    h = np.nan_to_num((h + h.T) / 2, nan=0.0)
    vals, vecs = np.linalg.eigh(h)
    vals = np.maximum(vals, 1e-6)  # the priors keep it positive; this guards rounding
    return (vecs / vals) @ vecs.T


# --------------------------------------------------------------------------- cohort shifts


def _cure_ll(p: float, e: np.ndarray, s: np.ndarray) -> float:
    """The cure model's log-likelihood at ``pi = p`` with the delay fixed (``s``: survival at
    each open lead's age); constants left out."""
    p = min(max(p, 1e-9), 1 - 1e-9)
    return float(np.sum(np.where(e, math.log(p), np.log1p(-p + p * s))))


def _best_pi(e: np.ndarray, s: np.ndarray) -> tuple[float, float]:
    res = optimize.minimize_scalar(lambda x: -_cure_ll(special.expit(x), e, s),
                                   bounds=(-18, 18), method="bounded")  # fmt: skip
    return float(special.expit(res.x)), -float(res.fun)


def cohort_shifts(
    frame: pd.DataFrame, fits: dict[str, StageFit], as_of: pd.Timestamp, present: list[str]
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Per stage, the monthly cohorts' cure-model rates (delay fixed at the pooled fit; a
    cohort is the month a lead reached the parent stage) and the most likely split in two
    regimes: likelihood-ratio statistic, Bonferroni-adjusted p over the candidate splits, and
    the rates before and after."""
    cohort_rows, shift_rows = [], []
    for stage, f in fits.items():
        view = stage_view(frame, STAGE_DATES[stage], present)
        month = view["parent"].dt.to_period("M")
        months = sorted(month.unique())
        t, e, _, _ = _arrays(stage, view, STAGE_DATES[stage], as_of)
        if f.kind == "immediate":
            s = np.zeros_like(t)
        else:
            s = stats.norm.sf((np.log(t) - f.theta[0]) / math.exp(f.theta[1]))
        d = (e, s)
        for m in months:
            sel = (month == m).to_numpy()
            p, _ = _best_pi(*(a[sel] for a in d))
            cohort_rows.append({"stage": stage, "cohort": str(m), "leads": int(sel.sum()),
                                "events": int(e[sel].sum()), "rate": p,
                                "mature_share": float(np.mean(1 - s[sel]))})  # fmt: skip
        _, ll_all = _best_pi(*d)
        best: dict[str, Any] | None = None
        # Splits at every week (a change lands mid-month), with SHIFT_MIN_MONTHS of cohorts
        # before and SHIFT_MIN_WEEKS_AFTER after.
        parent = view["parent"]
        lo = months[0].start_time + pd.DateOffset(months=SHIFT_MIN_MONTHS) if months else as_of
        hi = as_of - pd.Timedelta(weeks=SHIFT_MIN_WEEKS_AFTER)
        candidates = pd.date_range(lo, hi, freq="W-MON")  # the Mondays from lo to hi
        for m in candidates:
            after = (parent >= m).to_numpy()
            if e[after].sum() < MIN_EVENTS or e[~after].sum() < MIN_EVENTS:
                continue
            if np.mean(1 - s[after]) < MIN_MATURE:  # too young to tell a rate from a delay
                continue
            p0, ll0 = _best_pi(*(a[~after] for a in d))
            p1, ll1 = _best_pi(*(a[after] for a in d))
            lr = 2 * (ll0 + ll1 - ll_all)
            if best is None or lr > best["lr"]:
                best = {"stage": stage, "change": m, "lr": lr, "before": p0,
                        "after": p1}  # fmt: skip
        if best is not None:
            best["p_value"] = min(1.0, len(candidates) * float(stats.chi2.sf(best["lr"], 1)))
            ratio = max(best["after"], 1e-9) / max(best["before"], 1e-9)
            best["ratio"] = ratio
            best["shift"] = bool(best["p_value"] < SHIFT_ALPHA and
                                 max(ratio, 1 / ratio) >= SHIFT_MIN_RATIO)  # fmt: skip
            shift_rows.append(best)
    cols = ["stage", "change", "lr", "p_value", "before", "after", "ratio", "shift"]
    return pd.DataFrame(shift_rows, columns=cols), pd.DataFrame(cohort_rows)


def cohort_drift(cohorts: pd.DataFrame, since: pd.Timestamp | None = None) -> float:
    """Variance of a stage's logit conversion between monthly cohorts beyond what chance
    gives (the DerSimonian-Laird estimate of a random-effects meta-analysis), on the mature
    cohorts (``cohorts``: one stage's rows of :func:`cohort_shifts`) from ``since``; zero
    unless Cochran's Q rejects equal rates at DRIFT_ALPHA (a spread of chance is not drift).

    A rate that moves from cohort to cohort (a new script, a new market, a shift too young
    for the test to act on) is a rate the next cohorts may not share: the forecast draws
    it, so the band widens by what the history shows, not by a guess."""
    c = cohorts[cohorts["mature_share"] >= DRIFT_MATURE]
    if since is not None:
        c = c[pd.PeriodIndex(c["cohort"], freq="M").start_time >= since]
    n = (c["leads"] * c["mature_share"]).to_numpy(float)
    c, n = c[n >= 20], n[n >= 20]
    if len(c) < 3:
        return 0.0
    p = np.clip(c["rate"].to_numpy(float), 0.5 / n, 1 - 0.5 / n)
    bar = float(np.clip(np.sum(n * p) / np.sum(n), 1e-6, 1 - 1e-6))
    w = n * bar * (1 - bar)  # inverse sampling variance of each cohort's logit rate
    y = special.logit(p)
    q = float(np.sum(w * (y - np.sum(w * y) / np.sum(w)) ** 2))
    if stats.chi2.sf(q, len(y) - 1) >= DRIFT_ALPHA:  # Cochran's Q: no spread beyond chance
        return 0.0
    return max(0.0, (q - (len(y) - 1)) / float(np.sum(w) - np.sum(w**2) / np.sum(w)))


def _check(leads: pd.DataFrame) -> None:
    missing = {"created", "source"} - set(leads.columns)
    if missing:
        raise ValueError(f"the lead table lacks {', '.join(sorted(missing))}")


def fit_cohorts(
    leads: pd.DataFrame,
    as_of: Any,
    *,
    start: Any = None,
    since: Any = None,
    half_life_weeks: float | None = None,
) -> CohortModel:
    """Fit arrivals and every stage the lead table dates, as of ``as_of``.

    ``leads``: canonical columns (``created``, ``source`` and the stage dates of
    :data:`STAGE_DATES` the export has). ``start``: where the history begins (default: the
    first lead). ``since``: use only cohorts created from then (the arrivals too);
    ``half_life_weeks``: weight each lead (and each week of arrivals) by its recency. With
    neither, cohort shifts are tested and the fit keeps the cohorts since the most significant
    one (the model's ``window`` says which it used, and why).
    """
    _check(leads)
    as_of = pd.Timestamp(as_of)
    frame = leads[leads["created"] <= as_of].copy()
    frame["source"] = frame["source"].fillna("unknown").astype(str)
    for col in STAGE_DATES.values():
        if col in frame:
            frame.loc[frame[col] > as_of, col] = pd.NaT  # not known at the as-of date
    first = pd.Timestamp(start) if start is not None else frame["created"].min().normalize()
    frame = frame[frame["created"] >= first]
    sources = sorted(frame["source"].unique())
    notes: list[str] = []
    missing: dict[str, str] = {}
    present = {}
    for stage, col in STAGE_DATES.items():
        if col not in frame or frame[col].isna().all():
            missing[stage] = f"the export has no {_LABEL[col]} column" if col not in frame \
                else f"no lead in the export has any {_LABEL[col]}"  # fmt: skip
        else:
            present[stage] = col
    chosen_since = pd.Timestamp(since) if since is not None else first
    user_window = since is not None or half_life_weeks is not None
    # First pass on all history: fits, then the cohort-shift tests on it.
    fits = _stage_fits(frame, present, as_of, None, sources, notes=[])
    shifts, cohorts = cohort_shifts(frame, fits, as_of, list(present.values()))
    windows: dict[str, pd.Timestamp] = {}
    if user_window:
        window = (f"cohorts from {chosen_since:%Y-%m-%d} (--since)" if since is not None
                  else f"all cohorts from {first:%Y-%m-%d}")  # fmt: skip
        if half_life_weeks is not None:
            window += f", weighted by recency with a half-life of {half_life_weeks:g} weeks"
        windows = dict.fromkeys(present, chosen_since)
    else:
        said = []
        for _, top in (shifts[shifts["shift"]] if len(shifts) else shifts).iterrows():
            windows[top["stage"]] = pd.Timestamp(top["change"])
            said.append(f"{top['stage']} from cohorts of {top['change']:%Y-%m-%d} on: its "
                        f"conversion shifted from {top['before']:.1%} to {top['after']:.1%} "
                        f"(likelihood-ratio test, adjusted p = {top['p_value']:.2g})")  # fmt: skip
        window = "; ".join(said) + "; other stages" if said else "every stage"
        window += f" from all cohorts since {first:%Y-%m-%d}"
        notes.extend(said)
    if windows or half_life_weeks is not None:
        fits = _stage_fits(frame, present, as_of, half_life_weeks, sources, notes, windows)
    else:
        notes.extend(_stage_fits_notes(fits))
    for stage, f in fits.items():
        rows = cohorts[cohorts["stage"] == stage] if len(cohorts) else cohorts
        tau2 = cohort_drift(rows, windows.get(stage, chosen_since)) if len(rows) else 0.0
        fits[stage] = replace(f, drift=tau2)
        if tau2 > 0.01:  # a standard deviation of 10% on the odds, or more
            notes.append(f"{stage}: conversion varies between monthly cohorts beyond chance "
                         f"(standard deviation of the log odds {math.sqrt(tau2):.2f}); the "
                         "forecast draws the next cohorts' rate with it")  # fmt: skip
    arrivals_from = chosen_since
    if as_of - arrivals_from < pd.Timedelta(weeks=2 * ARRIVAL_WEEKS):  # no yearly cycle to fit
        notes.append(
            f"arrivals: {(as_of - arrivals_from) / pd.Timedelta(weeks=1):.0f} weeks of history, "
            "under two years, so no yearly season is fitted (one year could not tell a season "
            "from a one-off): a seasonal lull or peak ahead is not foreseen, only the level's "
            "past errors widen the band; compare the same month last year"
        )
        arrivals_from = max(arrivals_from, as_of - pd.Timedelta(weeks=ARRIVAL_WEEKS))
    arriving = frame[frame["created"] >= arrivals_from]
    arrivals = {s: fit_arrivals(s, arriving.loc[arriving["source"] == s, "created"],
                                 arrivals_from, as_of, half_life_weeks) for s in sources}  # fmt: skip
    week_start = frame["created"].dt.normalize() - pd.to_timedelta(
        frame["created"].dt.day_of_week, "D"
    )
    offsets = ((frame["created"] - week_start) / pd.Timedelta(hours=1)).to_numpy(float)
    return CohortModel(
        as_of=as_of, since=chosen_since, half_life_weeks=half_life_weeks, window=window,
        arrivals=arrivals, stages=fits, shifts=shifts, cohorts=cohorts, leads=frame,
        offsets=offsets, present=tuple(present.values()), missing=missing, notes=tuple(notes),
    )  # fmt: skip


def _stage_fits(
    frame: pd.DataFrame, present: dict[str, str], as_of: pd.Timestamp,
    half_life_weeks: float | None, sources: list[str], notes: list[str],
    windows: dict[str, pd.Timestamp] | None = None,
) -> dict[str, StageFit]:  # fmt: skip
    """Fit every stage on the leads at its risk; ``windows``: per stage, the first parent
    date kept (a cohort shift, or ``since``)."""
    fits = {}
    for stage, col in present.items():
        view = stage_view(frame, col, present.values())
        if windows and stage in windows:
            view = view[view["parent"] >= windows[stage]]
        age_weeks = ((as_of - view["parent"]) / pd.Timedelta(weeks=1)).to_numpy(float)
        view = view.assign(_w=recency(age_weeks, half_life_weeks))
        fit, said = _fit_stage(stage, view, col, as_of, view["_w"].to_numpy(), sources)
        fits[stage] = fit
        notes.extend(said)
    return fits


def _stage_fits_notes(fits: dict[str, StageFit]) -> list[str]:
    return [f"{s}: {sum(f.events.values())} events, too few for the delay's shape: sigma 1 "
            "assumed" for s, f in fits.items() if f.kind == "assumed_shape"]  # fmt: skip
