"""A stage's cure-fraction fit: which leads are at risk of a stage, the likelihood of a delayed
conversion with a cure fraction, and the fit with its covariance.

A lead that has not reached a stage yet is censored at its age, not counted as a failure: it
reaches the stage with probability ``pi`` after a lognormal delay. This module holds the
stage dates and names every cohort module shares, :class:`StageFit`, the view of the leads at
risk of a stage (from the nearest earlier stage the export dates) and :func:`fit_stage`. The
cohort model that fits every stage (:mod:`simfunnel.calibration.cohorts`) and the cohort-shift
tests (:mod:`simfunnel.calibration.shifts`) build on it.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, cast

import numpy as np
import pandas as pd
from scipy import optimize, special

__all__ = [
    "CHAIN",
    "DAY",
    "METRIC_DATES",
    "METRIC_NAMES",
    "MIN_DELAY_DAYS",
    "MIN_EVENTS",
    "STAGE_DATES",
    "STAGE_LABELS",
    "StageFit",
    "fit_stage",
    "parent_column",
    "stage_arrays",
    "stage_view",
    "timedeltas",
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
METRIC_NAMES: dict[str, str] = {
    "leads": "leads",
    "mqls": "MQLs",
    "sqls": "SQLs",
    "valid_opportunities": "valid opportunities",
    "won": "deals won",
    "lost": "deals lost",
}
DAY = pd.Timedelta(days=1)
MIN_DELAY_DAYS = 1 / 24  # an event within the hour counts as an hour: log(0) has no lognormal
IMMEDIATE_SHARE = 0.95  # a stage whose events are this often within a day is "immediate"
MIN_EVENTS = 5  # fewer events: the delay's shape is assumed (sigma 1), said in the notes
MIN_SOURCE_EVENTS = 10  # a source with fewer events of a stage shares the pooled rate
# A stage that excludes another once reached (a lost lead will not be won, and vice versa).
_EXCLUDES = {"won": "lost_date", "lost": "won_date"}
# What each stage date is called in a note.
STAGE_LABELS: dict[str, str] = {
    "mql_date": "MQL date",
    "sql_date": "SQL date",
    "opportunity_date": "opportunity date",
    "won_date": "won date",
    "lost_date": "lost date",
}
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
    # The events weighted as ``n`` is (recency weights): the Beta posterior of an immediate
    # stage needs both on one scale. Without weights, equal to ``events``.
    weighted_events: dict[str, float] = field(default_factory=dict)

    def pi(self, theta: np.ndarray | None = None) -> dict[str, float]:
        """Each source's rate of reaching the stage, at ``theta`` (default: the fit)."""
        th = self.theta if theta is None else theta
        return {s: float(special.expit(th[2 + i])) for i, s in enumerate(self.sources)}

    def median_days(self) -> float:
        """The median delay to the stage, in days."""
        if self.kind == "immediate":
            return float(np.median(self.delays)) if len(self.delays) else 0.0
        return float(math.exp(self.theta[0]))

    def p90_days(self) -> float:
        """The delay within which 90% of the leads that reach the stage reach it, in days."""
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
            k, n = self.weighted_events.get(s, self.events[s]), self.n[s]
            th[2 + i] = special.logit(np.clip(rng.beta(k + 0.5, n - k + 0.5), 1e-9, 1 - 1e-9))
        return th

    def dead_share(self, age: np.ndarray) -> np.ndarray:
        """Share of leads known to be out of the stage by ``age`` days (won leads for
        ``lost``, lost ones for ``won``): they are excluded from the open leads."""
        return _dead_share(self.dead_ages, self.dead_base, age)  # grid and share


def _dead_share(grid: np.ndarray, share: np.ndarray, age: np.ndarray) -> np.ndarray:
    """The known-out share at each age, interpolated on the grid (none without one)."""
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


def timedeltas(delta: Any) -> pd.Series[pd.Timedelta]:
    """``delta``, a difference of dates, as the timedeltas it holds: the stubs type such a
    difference as ``Series[Any]``, which they will not divide by a ``Timedelta``."""
    return cast("pd.Series[pd.Timedelta]", delta)


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
    earlier = [
        c for c in CHAIN[: CHAIN.index("won_date" if col == "lost_date" else col)] if c in frame
    ]
    fallback = frame[earlier].max(axis=1)
    parent = parent.where(parent.notna() | frame[col].isna(), fallback)
    keep = parent.notna()
    view = frame.loc[keep].assign(parent=parent[keep])
    return view


def stage_arrays(
    stage: str, frame: pd.DataFrame, col: str, as_of: pd.Timestamp
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Per lead at risk (``frame`` from :func:`stage_view`): the delay from the parent stage
    or the age since it (days), whether the stage was reached; and the share of leads known
    out of the stage (lost, for won) by age, on a grid, for the forecast to condition on."""
    reached = frame[col].notna().to_numpy()
    delay = (timedeltas(frame[col] - frame["parent"]) / DAY).to_numpy(float)
    age = (timedeltas(as_of - frame["parent"]) / DAY).to_numpy(float)
    t = np.maximum(np.nan_to_num(np.where(reached, delay, age), nan=MIN_DELAY_DAYS), MIN_DELAY_DAYS)
    grid, share = np.array([]), np.array([])
    if stage in _EXCLUDES and _EXCLUDES[stage] in frame:
        other = frame[_EXCLUDES[stage]]
        grid, share = _out_share((timedeltas(other - frame["parent"]) / DAY).to_numpy(float), age)
    return t, reached, grid, share


def fit_stage(
    stage: str,
    frame: pd.DataFrame,
    col: str,
    as_of: pd.Timestamp,
    weights: np.ndarray,
    sources: list[str],
) -> tuple[StageFit, list[str]]:
    """Fit one stage on the leads of the window (``frame``), weighted."""
    notes: list[str] = []
    t, reached, dead_ages, dead_base = stage_arrays(stage, frame, col, as_of)
    counts = frame.assign(_w=weights, _e=reached).groupby("source")[["_w", "_e"]].sum()
    own = [s for s in sources if s in counts.index and counts["_e"][s] >= MIN_SOURCE_EVENTS]
    names = tuple(own) if len(own) == len(sources) else (*own, "other")
    names = ("all",) if len(names) == 1 else names
    index = {s: (names.index(s) if s in names else len(names) - 1) for s in sources}
    src = frame["source"].map(index).fillna(len(names) - 1).to_numpy(int)
    n = {s: float(weights[src == i].sum()) for i, s in enumerate(names)}
    k = {s: int(reached[src == i].sum()) for i, s in enumerate(names)}
    kw = {s: float(weights[(src == i) & reached].sum()) for i, s in enumerate(names)}
    ev = t[reached]
    rates = [max(k[s], 0.5) / max(n[s], 1.0) for s in names]
    logit0 = special.logit(np.clip(rates, 1e-6, 1 - 1e-6))
    common = {
        "stage": stage,
        "sources": names,
        "n": n,
        "events": k,
        "weighted_events": kw,
        "delays": ev,
        "dead_ages": dead_ages,
        "dead_base": dead_base,
    }
    # A lead known out (lost, for won) is fitted as open at its age, which is unbiased;
    # holding the known-out share fixed while the rate moves is not (that share depends on
    # the rate). The forecast uses the known-out share to condition on what is still open.
    data = _Data(t=t, event=reached, weight=weights, src=src)
    if len(ev) and np.mean(ev <= 1.0) >= IMMEDIATE_SHARE:
        # Its rates are weighted events over weighted leads (the raw count over a weighted
        # total could pass 1); without weights the two are the same.
        weighted = [max(kw[s], 0.5) / max(n[s], 1.0) for s in names]
        theta = np.r_[0.0, 0.0, special.logit(np.clip(weighted, 1e-6, 1 - 1e-6))]
        return StageFit(theta=theta, cov=None, kind="immediate", **common), notes
    if len(ev) >= MIN_EVENTS:
        x0 = np.r_[np.log(np.median(ev)), np.log(max(np.std(np.log(ev)), 0.3)), logit0]
        first, kind = 0, "lognormal"
    else:
        x0 = np.r_[np.log(np.median(ev)) if len(ev) else np.log(30.0), 0.0, logit0]
        first, kind = 2, "assumed_shape"
        notes.append(
            f"{stage}: {len(ev)} events, too few for the delay's shape: lognormal "
            f"with sigma 1 around a median of {math.exp(x0[0]):.0f} days assumed"
        )

    def f(x: np.ndarray) -> Any:
        """The posterior's negative log (the delay's fixed when assumed)."""
        if first:
            fixed = np.broadcast_to(x0[:2].reshape((2,) + (1,) * (x.ndim - 1)), (2, *x.shape[1:]))
            x = np.concatenate([fixed, x], axis=0)
        return _nll(x, data) + _prior(x)

    bounds = ([(-5.0, 8.0), (math.log(0.05), math.log(5.0))] + [(-18.0, 18.0)] * len(names))[first:]
    res = optimize.minimize(
        lambda x: float(f(x[:, None])[0]), x0[first:], method="L-BFGS-B", bounds=bounds
    )
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
